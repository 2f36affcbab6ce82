"""Hand-made people for the synth tests: a standing figure whose wrists go where we say.

The figure (400 px tall, ankles at y = 460) has its right elbow at y = 208: a right wrist above
that plays. With the default scale (major pentatonic, 2 octaves over the image height) a wrist
at row y sits on scale step floor((1 - y / 480) * 10).
"""

from __future__ import annotations

import numpy as np

from posestage.model.frames import PoseFrame
from posestage.model.keypoints import KEYPOINT_INDEX
from posestage.model.people import Person
from posestage.model.synthetic import standing_xy

W, H = 640, 480
RIGHT, LEFT = KEYPOINT_INDEX["right_wrist"], KEYPOINT_INDEX["left_wrist"]
DOWN = 264.0  # where the wrists hang: below the elbows (y = 208)


def person(pid: int, slot: int, right_y: float = DOWN, left_y: float = DOWN,
           x: float = 320.0, missing: int = 0) -> Person:  # fmt: skip
    xy = standing_xy(x, 460.0, 400.0)
    xy[RIGHT, 1] = right_y
    xy[LEFT, 1] = left_y
    scores = np.full(17, 0.9, np.float32)
    return Person(pid, slot, 0.9, xy, scores, xy.copy(), missing=missing, width=W, height=H)


def frame(index: int, *people: Person) -> PoseFrame:
    stamp = 1000.0 + index / 30
    return PoseFrame(index, stamp, stamp, W, H, people=list(people))


def volume(y: float, low: int = 40, high: int = 127) -> int:
    return int(round(low + (high - low) * (1.0 - y / H)))
