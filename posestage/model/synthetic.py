"""Synthetic people: stick-figure poses for tests, benchmarks and rehearsing without a camera."""

from __future__ import annotations

import numpy as np

from posestage.model.poses import Pose

#: A standing person one unit tall, facing the camera: (x, y) per COCO keypoint, x from the
#: body's centre line (their left is the image's right), y down from the top of the head.
STANDING = np.array(
    [
        [0.0, 0.06], [0.02, 0.04], [-0.02, 0.04], [0.04, 0.05], [-0.04, 0.05],
        [0.10, 0.18], [-0.10, 0.18], [0.13, 0.33], [-0.13, 0.33], [0.14, 0.47],
        [-0.14, 0.47], [0.07, 0.52], [-0.07, 0.52], [0.08, 0.74], [-0.08, 0.74],
        [0.08, 0.96], [-0.08, 0.96],
    ],
    dtype=np.float32,
)  # fmt: skip
#: Where the ankles are, in units of height.
FEET = 0.96


def standing_xy(x: float, feet_y: float, height: float) -> np.ndarray:
    """(17, 2) float32 keypoints of a person ``height`` pixels tall, centred on ``x``, ankles
    at ``feet_y``."""
    return STANDING * np.float32(height) + np.array([x, feet_y - FEET * height], np.float32)


def standing_person(
    x: float,
    feet_y: float,
    height: float,
    *,
    score: float = 0.8,
    keypoint_score: float = 0.9,
    jitter: float = 0.0,
    rng: np.random.Generator | None = None,
) -> Pose:
    """A :class:`Pose` of a standing person; ``jitter`` adds Gaussian noise (pixels)."""
    xy = standing_xy(x, feet_y, height)
    if jitter:
        rng = rng if rng is not None else np.random.default_rng()
        xy = xy + rng.normal(0.0, jitter, xy.shape).astype(np.float32)
    scores = np.full(17, keypoint_score, dtype=np.float32)
    return Pose(score=score, xy=xy.astype(np.float32), scores=scores)
