"""Camera-like frames whose people are known: real pixels reach the stage, no model runs.

For tests where pixels matter without inference — privacy, the empty room, anything drawn
over the camera — :class:`PosedImages` hands the stage images *and* their poses, as a camera
whose detections you wrote yourself::

    from posestage.testing import PosedImages, run_scene

    room = np.full((480, 640, 3), 90, np.uint8)
    busy = room.copy(); busy[100:460, 280:360] = (255, 0, 255)   # "a person"
    source = PosedImages([busy] * 10 + [room] * 40, [1] * 10 + [0] * 40)
    run = run_scene("[plugins.anonymizer]\\n", source=source, headless=False)

``people[i]`` is frame ``i``'s people: a count (that many standing figures side by side, see
:func:`standing_poses`) or a sequence of poses (:class:`~posestage.Pose` or (17, 2) arrays of
image pixels). The stage tracks them as it tracks the model's poses. ``None`` leaves the frame
to the model (give ``model=`` to the run): the real detections on your images.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from posestage.model.poses import Pose
from posestage.model.synthetic import standing_xy
from posestage.sources import ArraySource, SourceFrame

__all__ = ["PosedImages", "standing_poses"]


def standing_poses(count: int, size: tuple[int, int]) -> list[Pose]:
    """``count`` standing figures side by side on a ``size`` (width, height) image: the k-th
    centred on ``x = width * (k + 0.5) / count``, ankles at 95 % of the height, 80 % tall."""
    width, height = size
    scores = np.full(17, 0.9, np.float32)
    return [
        Pose(0.9, standing_xy(width * (k + 0.5) / count, 0.95 * height, 0.8 * height), scores)
        for k in range(count)
    ]


class PosedImages(ArraySource):
    """Frames of ``images`` (RGB uint8, cycled) carrying the poses ``people`` says, one entry
    per frame (their number is the source's length; None: the model detects them). ``fps``: paced like a camera (a live
    source: the stage keeps the newest frame); without, every frame is processed and frame
    ``i`` is stamped ``start_time + i / 30``. ``mirror_by_default``: mirrored unless the scene
    says (as a camera is); False by default, like a file."""

    gives_poses = True

    def __init__(
        self,
        images: Sequence[np.ndarray],
        people: Sequence[int | Sequence[Any] | None],
        *,
        fps: float | None = None,
        name: str = "posed",
        start_time: float = 1_700_000_000.0,
        mirror_by_default: bool = False,
    ) -> None:
        self.people = list(people)
        super().__init__(images, fps=fps, count=len(self.people), name=name, start_time=start_time)
        self.mirror_by_default = bool(mirror_by_default)
        self.gives_poses = all(p is not None for p in self.people)

    def poses(self, i: int) -> list[Pose] | None:
        """Frame ``i``'s poses, fresh each time (the stage may mirror them in place); None
        when the model is to find them."""
        given = self.people[i]
        if given is None:
            return None
        if isinstance(given, (int, np.integer)):
            return standing_poses(int(given), (self.width, self.height))
        out = []
        for p in given:
            if isinstance(p, Pose):
                out.append(Pose(p.score, np.array(p.xy, np.float32), np.array(p.scores), p.floor))
            else:
                out.append(Pose(0.9, np.array(p, np.float32), np.full(17, 0.9, np.float32)))
        return out

    def _read(self) -> SourceFrame | None:
        i = self._i
        got = super()._read()
        if got is not None:
            got.poses = self.poses(i)
        return got
