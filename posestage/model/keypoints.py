"""The 17 COCO keypoints, the skeleton drawn between them, and named access to a keypoint array.

:class:`Keypoint` is one named keypoint; :class:`KeypointAccess` gives ``thing["left_wrist"]``
and ``thing.keypoints`` to anything holding ``xy`` (17, 2) and ``scores`` (17,) arrays — a
:class:`~posestage.model.poses.Pose` and a :class:`~posestage.model.people.Person` alike.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "BONES",
    "KEYPOINT_INDEX",
    "KEYPOINT_NAMES",
    "NUM_KEYPOINTS",
    "Keypoint",
    "KeypointAccess",
]

KEYPOINT_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
NUM_KEYPOINTS = len(KEYPOINT_NAMES)
KEYPOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(KEYPOINT_NAMES)}

# Bones for drawing (pairs of keypoint indices). This is the usual "stick figure",
# not the decoder's tree: it joins the shoulders and the hips to each other.
BONES: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4),          # face
    (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),  # shoulders and arms
    (5, 11), (6, 12), (11, 12),               # torso
    (11, 13), (13, 15), (12, 14), (14, 16),   # legs
)  # fmt: skip


class Keypoint(NamedTuple):
    """One body keypoint: COCO name, position in source-image pixels, confidence 0..1."""

    name: str
    x: float
    y: float
    score: float


class KeypointAccess:
    """Named keypoints over ``self.xy`` (17, 2) and ``self.scores`` (17,): numpy inside,
    friendly names outside."""

    __slots__ = ()
    xy: object
    scores: object

    @property
    def keypoints(self) -> list[Keypoint]:
        """The 17 keypoints as :class:`Keypoint` tuples, COCO order."""
        return [
            Keypoint(name, float(x), float(y), float(s))
            for name, (x, y), s in zip(KEYPOINT_NAMES, self.xy, self.scores)
        ]

    def __getitem__(self, name: str) -> Keypoint:
        """``pose["left_wrist"]`` → that :class:`Keypoint`."""
        i = KEYPOINT_INDEX[name]
        return Keypoint(name, float(self.xy[i, 0]), float(self.xy[i, 1]), float(self.scores[i]))
