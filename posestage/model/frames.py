"""What flows through the stage: tracked people and the frame handed to plugins."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from posestage.model.keypoints import KEYPOINT_INDEX, KEYPOINT_NAMES
from posestage.model.poses import Keypoint


@dataclass
class Person:
    """One tracked person in one frame.

    ``id`` is unique for the life of the stage and never reused. ``slot`` is the lowest free
    small index (0, 1, 2, …) held while the person stays and reused after they leave: map
    ``/pose/0/...`` once and it keeps working as people come and go.

    ``xy`` (17, 2) is smoothed (x, y) in source-image pixels; ``raw_xy`` the same before
    smoothing; ``scores`` (17,) keypoint confidences; ``age`` the number of frames this person
    has been tracked; ``missing`` how many consecutive frames they have not been seen (a person
    kept through a short dropout has missing > 0 and their last position).
    """

    id: int
    slot: int
    score: float
    xy: np.ndarray
    scores: np.ndarray
    raw_xy: np.ndarray
    age: int = 1
    missing: int = 0
    width: int = 1
    height: int = 1
    first_seen: float = 0.0

    @property
    def xy_norm(self) -> np.ndarray:
        """(17, 2) keypoints normalised to 0..1 by the image size (x right, y down)."""
        return self.xy / np.array([self.width, self.height], dtype=np.float32)

    @property
    def keypoints(self) -> list[Keypoint]:
        return [
            Keypoint(name, float(x), float(y), float(s))
            for name, (x, y), s in zip(KEYPOINT_NAMES, self.xy, self.scores)
        ]

    def __getitem__(self, name: str) -> Keypoint:
        i = KEYPOINT_INDEX[name]
        return Keypoint(name, float(self.xy[i, 0]), float(self.xy[i, 1]), float(self.scores[i]))


@dataclass
class PoseFrame:
    """Everything plugins get about one processed frame.

    - ``index``: frame number since the stage started (0, 1, 2…; gaps mean frames were dropped
      because newer ones were ready — the newest frame always wins).
    - ``timestamp``: wall-clock capture time in this run (seconds since the epoch; use it for
      OSC time tags). For a replay it is this run's time too, advancing as the recording did.
    - ``captured``: capture time on ``time.perf_counter()`` in this run, for latency arithmetic.
    - ``recorded``: for a replayed frame, the wall-clock time it was recorded at; None for
      live sources (camera, video, stills).
    - ``width``, ``height``: source image size in pixels.
    - ``people``: tracked :class:`Person` objects, ordered by slot.
    - ``fps``: frames dispatched per second (smoothed); ``inference_ms`` engine time for this
      frame; ``latency_ms``: capture → dispatch to ``posestage_frame``.
    - ``image``: the camera image (H, W, 3) uint8 RGB, read-only. In privacy mode it is ``None``
      for every plugin except the one that asked for privacy (``posestage_privacy``, e.g. the
      anonymizer, which needs it to build the empty background), and the window never shows a
      live frame.
    - ``source``: a short description of where frames come from.
    - ``mirrored``: True when image and coordinates were mirrored (``[stage] mirror``; by
      default cameras are, files are not).
    """

    index: int
    timestamp: float
    captured: float
    width: int
    height: int
    people: list[Person] = field(default_factory=list)
    fps: float = 0.0
    inference_ms: float = 0.0
    latency_ms: float = 0.0
    image: np.ndarray | None = None
    source: str = ""
    mirrored: bool = False
    recorded: float | None = None

    def person(self, slot: int) -> Person | None:
        """The person holding ``slot``, or None."""
        for p in self.people:
            if p.slot == slot:
                return p
        return None
