"""Hand-made people for the MIDI tests: a standing figure whose wrists go where we say."""

from __future__ import annotations

import numpy as np

from posestage.model.frames import PoseFrame
from posestage.model.keypoints import KEYPOINT_INDEX
from posestage.model.people import Person
from posestage.model.synthetic import standing_xy

W, H = 640, 480
RIGHT, LEFT = KEYPOINT_INDEX["right_wrist"], KEYPOINT_INDEX["left_wrist"]
#: The figure's nose is at y = 100 (ankles at 460, 400 px tall).
HEAD_Y = 100.0


def person(pid: int, slot: int, right_y: float | None = None, left_y: float | None = None,
           x: float = 320.0, missing: int = 0, low: tuple[int, ...] = ()) -> Person:  # fmt: skip
    xy = standing_xy(x, 460.0, 400.0)
    if right_y is not None:
        xy[RIGHT, 1] = right_y
    if left_y is not None:
        xy[LEFT, 1] = left_y
    scores = np.full(17, 0.9, np.float32)
    scores[list(low)] = 0.05
    return Person(pid, slot, 0.9, xy, scores, xy.copy(), missing=missing, width=W, height=H)


def frame(index: int, *people: Person, t0: float = 1000.0, fps: float = 30.0) -> PoseFrame:
    stamp = t0 + index / fps
    return PoseFrame(index, stamp, stamp, W, H, people=list(people))


def up(y: float) -> int:
    """What ``right_wrist.y`` becomes on the wire (7 bit) for a wrist at pixel row ``y``."""
    return int(round((1.0 - y / H) * 127))
