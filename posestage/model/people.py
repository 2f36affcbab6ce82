"""A tracked person: :class:`Person`, what the tracker hands the stage for each frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posestage.model.floor import FloorPosition
from posestage.model.frozen import frozen_array
from posestage.model.keypoints import KeypointAccess

__all__ = ["Person"]


@dataclass(frozen=True, slots=True)
class Person(KeypointAccess):
    """One tracked person in one frame.

    ``id`` is unique for the life of the stage and never reused. ``slot`` is the lowest free
    small index (0, 1, 2, …) held while the person stays and reused after they leave: map
    ``/pose/0/...`` once and it keeps working as people come and go.

    ``xy`` (17, 2) is smoothed (x, y) in source-image pixels; ``raw_xy`` the same before
    smoothing; ``scores`` (17,) keypoint confidences; ``age`` the number of frames this person
    has been tracked; ``missing`` how many consecutive frames they have not been seen (a person
    kept through a short dropout has missing > 0 and their last position).

    ``floor`` is where they stand on the room's floor in metres (:class:`FloorPosition`), or
    None when the stage has no floor calibration.

    A person is immutable: its fields cannot be set (``dataclasses.replace`` makes a changed
    copy) and its arrays are read-only copies of its own — ``flags.writeable`` is False and
    cannot be set True again, and no array anyone else keeps writing (the engine's, the
    tracker's, the caller's) shares their memory. Built from writeable arrays, it copies them.
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
    floor: FloorPosition | None = None

    def __post_init__(self) -> None:
        for name in ("xy", "scores", "raw_xy"):  # frozen: set once, here, and never again
            object.__setattr__(self, name, frozen_array(getattr(self, name)))

    @property
    def xy_norm(self) -> np.ndarray:
        """(17, 2) keypoints normalised to 0..1 by the image size (x right, y down)."""
        return self.xy / np.array([self.width, self.height], dtype=np.float32)
