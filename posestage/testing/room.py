"""A room with known truth: a pinhole camera over a floor, and people walking on it.

:class:`RoomCamera` looks at the floor (z = 0, metres) from a known place; :meth:`RoomCamera.pose`
gives the 17 keypoints of an upright person standing at a floor point, projected through it,
with pixel noise and hidden feet when asked — what a pose engine would find, with the answer
known. :meth:`RoomCamera.room` is the ``[room]`` table calibrating that floor from four of its
points (image points measured with ``error`` pixels of noise, if any)::

    cam = RoomCamera()
    run = run_plugins([...], source=PosedImages(...), room=cam.room())

Ankles are on the floor (z = 0): the point between them is where the person stands.
"""

from __future__ import annotations

import math

import numpy as np

from posestage.model.poses import Pose

__all__ = ["BODY", "RoomCamera"]

#: An upright person of height 1: (lateral offset, height) of each COCO keypoint, facing +x
#: of their own frame (lateral is to their left).
BODY = np.array(
    [
        (0.0, 0.94), (0.03, 0.96), (-0.03, 0.96), (0.06, 0.94), (-0.06, 0.94),  # head
        (0.11, 0.82), (-0.11, 0.82), (0.13, 0.63), (-0.13, 0.63), (0.12, 0.48), (-0.12, 0.48),
        (0.06, 0.53), (-0.06, 0.53), (0.06, 0.29), (-0.06, 0.29), (0.06, 0.0), (-0.06, 0.0),
    ]
)  # fmt: skip


class RoomCamera:
    """A pinhole camera (``width`` x ``height`` pixels, focal length ``focal`` pixels) at
    ``position`` (x, y, z metres) looking at ``target`` on the floor."""

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        position: tuple[float, float, float] = (2.0, -3.0, 2.6),
        target: tuple[float, float, float] = (2.0, 2.0, 0.0),
        focal: float = 520.0,
    ):
        self.width, self.height = width, height
        eye, at = np.array(position, float), np.array(target, float)
        forward = (at - eye) / np.linalg.norm(at - eye)
        right = np.cross(forward, (0.0, 0.0, 1.0))
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        rot = np.stack([right, down, forward])
        k = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1.0]])
        self.matrix = k @ np.hstack([rot, (-rot @ eye)[:, None]])  # 3x4 projection

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) metres → (N, 2) image pixels."""
        p = np.hstack([np.asarray(points, float).reshape(-1, 3), np.ones((len(points), 1))])
        q = p @ self.matrix.T
        return q[:, :2] / q[:, 2:]

    def to_image(self, floor_points) -> np.ndarray:
        """(N, 2) floor metres → (N, 2) image pixels."""
        f = np.asarray(floor_points, float).reshape(-1, 2)
        return self.project(np.hstack([f, np.zeros((len(f), 1))]))

    def room(
        self,
        floor: tuple = ((0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0)),
        error: float = 0.0,
        seed: int = 0,
        **more,
    ) -> dict:
        """The ``[room]`` table calibrating this camera from ``floor`` points (image points
        off by ``error`` pixels of noise), plus ``more`` keys (zones, view)."""
        image = self.to_image(floor)
        if error:
            image = image + np.random.default_rng(seed).normal(0, error, image.shape)
        return {"image": image.round(3).tolist(), "floor": [list(p) for p in floor], **more}

    def pose(
        self,
        x: float,
        y: float,
        heading: float = 0.0,
        tall: float = 1.7,
        noise: float = 0.0,
        rng: np.random.Generator | None = None,
        feet_hidden: bool = False,
        stride: float = 0.0,
        score: float = 0.9,
    ) -> Pose:
        """The keypoints of a person ``tall`` metres standing at (x, y) facing ``heading``
        (radians), ankles ``stride`` metres apart along it, seen by this camera, with
        ``noise`` pixels of Gaussian noise; ``feet_hidden``: ankle and knee scores low."""
        forward = np.array([math.cos(heading), math.sin(heading)])
        side = np.array([-forward[1], forward[0]])
        pts = np.zeros((17, 3))
        pts[:, :2] = (x, y) + BODY[:, :1] * tall * side
        pts[:, 2] = BODY[:, 1] * tall
        pts[15, :2] += forward * stride / 2
        pts[16, :2] -= forward * stride / 2
        xy = self.project(pts)
        if noise:
            xy = xy + (rng or np.random.default_rng()).normal(0, noise, xy.shape)
        scores = np.full(17, score, np.float32)
        if feet_hidden:
            scores[13:] = 0.05
        return Pose(score, xy.astype(np.float32), scores)
