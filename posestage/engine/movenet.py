"""MoveNet single-pose (Lightning): recognise the model, decode its output, track the crop.

MoveNet is the second model family next to PoseNet. It finds **one** person per image, fast,
and is best when that person is alone on stage (a solo dancer) — see ``docs/models.md``.

The model (``movenet_single_pose_lightning_ptq[_edgetpu].tflite``) takes one 1x192x192x3 uint8
RGB image and returns one float32 tensor [1, 1, 17, 3]: for each COCO keypoint (y, x, score),
y and x normalised 0..1 over the input tensor. It gives no pose score; ours is the mean of the
keypoint scores above :data:`KEYPOINT_THRESHOLD` (0.2), and no pose at all when none is above
it. The Edge TPU build has the same input and output, its body replaced by one
``edgetpu-custom-op``.

**Crop tracking** (video only). MoveNet sees 192x192 pixels: a person far from the camera is a
few dozen pixels tall there and is found badly. On video, the next frame is cropped around where
the person was in this one (:class:`CropTracker`), which is how MoveNet is meant to be run:

1. Lost (no pose, or no shoulder or no hip scoring at least :data:`CROP_KEYPOINT_THRESHOLD`):
   look at the whole frame, padded to a square around its centre so the person is not
   stretched.
2. Found: centre the square on the middle of the hips. Its half side is the largest of 1.9 x
   the furthest torso keypoint (shoulders, hips) from that centre and 1.2 x the furthest
   confident keypoint of the whole body, in x or in y — so a standing person and one with arms
   up both fit, with room to move until the next frame.
3. The half side never exceeds the furthest image edge from the centre, and when it would be
   more than half the image's longer side, the whole square-padded frame (1.) is used instead.

:class:`MoveNetFamily` plugs this into :class:`~posestage.engine.pose_engine.PoseEngine`: the engine
crops the region the family chooses, resizes it into the input tensor and maps the keypoints
back into source pixels. Tracking is on with ``PoseEngine(..., tracking=True)``; stills keep it
off and each image is looked at whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from posestage.engine.family import DecodeSettings, ModelFamily, Region
from posestage.errors import ModelError
from posestage.model.keypoints import KEYPOINT_INDEX, NUM_KEYPOINTS
from posestage.model.poses import Pose

#: Keypoints scoring above this count towards the pose score; none above it → no pose.
KEYPOINT_THRESHOLD = 0.2
#: A keypoint must score at least this to shape the next crop (the MoveNet tutorial's 0.2).
CROP_KEYPOINT_THRESHOLD = 0.2
#: Half side of the crop square over the furthest torso / body keypoint from the hip centre.
TORSO_EXPANSION = 1.9
BODY_EXPANSION = 1.2

_TORSO = tuple(
    KEYPOINT_INDEX[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
)
_SHOULDERS = (KEYPOINT_INDEX["left_shoulder"], KEYPOINT_INDEX["right_shoulder"])
_HIPS = (KEYPOINT_INDEX["left_hip"], KEYPOINT_INDEX["right_hip"])


# --------------------------------------------------------------------------------------------
# Recognising the model


def _shape(detail: Any) -> tuple[int, ...]:
    if isinstance(detail, dict):
        shape = detail["shape"]
    else:
        shape = getattr(detail, "shape", detail)
    return tuple(int(s) for s in shape)


def _dtype(detail: Any) -> Any:
    dtype = detail.get("dtype") if isinstance(detail, dict) else getattr(detail, "dtype", None)
    return None if dtype is None else np.dtype(dtype)


def matches_signature(inputs: Sequence[Any], outputs: Sequence[Any]) -> bool:
    """True when interpreter input/output details look like MoveNet single-pose.

    One 1xHxWx3 uint8 input (192x192 for Lightning, 256x256 for Thunder) and one [1, 1, 17, 3]
    float32 output. Details are LiteRT ``get_input_details()`` dicts, ``TensorInfo`` from
    :mod:`posestage.engine.tflite`, or bare shapes. The file name plays no part: a renamed model
    is still recognised.
    """
    if len(inputs) != 1 or len(outputs) != 1:
        return False
    in_shape, out_shape = _shape(inputs[0]), _shape(outputs[0])
    if len(in_shape) != 4 or in_shape[0] != 1 or in_shape[3] != 3:
        return False
    if out_shape != (1, 1, NUM_KEYPOINTS, 3):
        return False
    in_type, out_type = _dtype(inputs[0]), _dtype(outputs[0])
    if in_type is not None and in_type != np.uint8:
        return False
    return out_type is None or out_type == np.float32


# --------------------------------------------------------------------------------------------
# Decoding


def decode_movenet(
    output: np.ndarray,
    input_size: tuple[int, int],
    threshold: float = KEYPOINT_THRESHOLD,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn MoveNet's [1, 1, 17, 3] (y, x, score) output into (xy, scores, pose_scores).

    ``input_size`` is the input tensor's (height, width). Returns ``xy`` (N, 17, 2) float32 (x, y)
    in input-tensor pixels, ``scores`` (N, 17) float32 and ``pose_scores`` (N,) float32, with N
    = 1 — or N = 0 when no keypoint scores above ``threshold``. The pose score is the mean of
    the keypoint scores above ``threshold``.
    """
    out = np.asarray(output, dtype=np.float32).reshape(-1, 3)[:NUM_KEYPOINTS]
    scores = np.clip(out[:, 2], 0.0, 1.0)
    above = scores > threshold
    if not above.any():
        return (
            np.zeros((0, NUM_KEYPOINTS, 2), np.float32),
            np.zeros((0, NUM_KEYPOINTS), np.float32),
            np.zeros((0,), np.float32),
        )
    height, width = input_size
    xy = np.stack([out[:, 1] * width, out[:, 0] * height], axis=1).astype(np.float32)
    pose_score = np.float32(scores[above].mean())
    return xy[None], scores[None].astype(np.float32), np.array([pose_score], np.float32)


# --------------------------------------------------------------------------------------------
# Crop regions


@dataclass(frozen=True)
class CropRegion:
    """A rectangle of the source image, in source pixels (float; may reach outside the image).

    ``top``/``left`` inclusive, ``bottom``/``right`` exclusive edges, like array slicing: the
    whole of an H x W image is ``CropRegion(0, 0, H, W)``. Parts outside the image are black.
    """

    top: float
    left: float
    bottom: float
    right: float

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def width(self) -> float:
        return self.right - self.left

    def as_tuple(self) -> tuple[float, float, float, float]:
        """(top, left, bottom, right), what the engine's crop takes."""
        return (self.top, self.left, self.bottom, self.right)

    def to_source(self, xy: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
        """Map (..., 2) (x, y) pixels of a ``input_size`` (H, W) tensor cropped from here."""
        in_h, in_w = input_size
        scale = np.array([self.width / in_w, self.height / in_h], np.float32)
        return (np.asarray(xy, np.float32) * scale + [self.left, self.top]).astype(np.float32)


def full_frame_region(image_size: tuple[int, int]) -> CropRegion:
    """The whole (H, W) image padded to a square around its centre (black bars on the short side)."""
    height, width = image_size
    side = float(max(height, width))
    top = (height - side) / 2.0
    left = (width - side) / 2.0
    return CropRegion(top, left, top + side, left + side)


def torso_visible(scores: np.ndarray, threshold: float = CROP_KEYPOINT_THRESHOLD) -> bool:
    """At least one shoulder and at least one hip are confident enough to centre a crop on."""
    s = np.asarray(scores)
    return bool(s[list(_SHOULDERS)].max() >= threshold and s[list(_HIPS)].max() >= threshold)


def region_from_pose(
    xy: np.ndarray,
    scores: np.ndarray,
    image_size: tuple[int, int],
    threshold: float = CROP_KEYPOINT_THRESHOLD,
) -> CropRegion:
    """The square to crop for the next frame, from a pose in source pixels (see module doc).

    ``xy`` (17, 2) is (x, y) in source pixels, ``scores`` (17,), ``image_size`` (H, W). Falls
    back to :func:`full_frame_region` when the torso is not visible or the body fills most of
    the frame.
    """
    height, width = image_size
    xy = np.asarray(xy, np.float64)
    scores = np.asarray(scores)
    if not torso_visible(scores, threshold):
        return full_frame_region(image_size)
    cx, cy = (float(v) for v in xy[list(_HIPS)].mean(axis=0))
    torso = np.abs(xy[list(_TORSO)] - (cx, cy))
    body = np.abs(xy[scores >= threshold] - (cx, cy))
    half = max(
        TORSO_EXPANSION * float(torso.max()),
        BODY_EXPANSION * float(body.max()),
    )
    half = min(half, max(cx, width - cx, cy, height - cy))
    if half > max(height, width) / 2.0 or not np.isfinite(half) or half <= 0:
        return full_frame_region(image_size)
    return CropRegion(cy - half, cx - half, cy + half, cx + half)


class CropTracker:
    """Chooses where to look in the next video frame, from what was found in this one.

    ``region(image_size)`` gives the crop for the coming frame (the square-padded full frame
    when nothing is known yet, the person was lost, or the frame size changed);
    ``observe(xy, scores, image_size)`` feeds it the pose found (source pixels) or ``None``.
    ``reset()`` forgets the person (a new source, a scene change).
    """

    def __init__(self, threshold: float = CROP_KEYPOINT_THRESHOLD) -> None:
        self.threshold = threshold
        self._next: CropRegion | None = None
        self._size: tuple[int, int] | None = None

    def reset(self) -> None:
        self._next = None
        self._size = None

    def region(self, image_size: tuple[int, int]) -> CropRegion:
        size = (int(image_size[0]), int(image_size[1]))
        if self._next is None or self._size != size:
            return full_frame_region(size)
        return self._next

    def observe(
        self, xy: np.ndarray | None, scores: np.ndarray | None, image_size: tuple[int, int]
    ) -> None:
        size = (int(image_size[0]), int(image_size[1]))
        self._size = size
        if xy is None or scores is None or len(xy) == 0:
            self._next = None
            return
        self._next = region_from_pose(xy, scores, size, self.threshold)


# --------------------------------------------------------------------------------------------
# The engine's model family


class MoveNetFamily(ModelFamily):
    """MoveNet single-pose in :class:`~posestage.engine.pose_engine.PoseEngine`: at most one pose per image.

    Recognised from the signature (:func:`matches_signature`), CPU and Edge TPU builds alike.
    With ``PoseEngine(..., tracking=True)`` (live video) it crops each frame around the person
    found in the previous one (:class:`CropTracker`); otherwise the engine looks at the whole
    image. ``score_threshold``, when given, drops a pose scoring below it; ``max_poses=0``
    finds nothing.
    """

    name: ClassVar[str] = "movenet"
    resizable: ClassVar[bool] = False

    @classmethod
    def recognises(cls, model: Any) -> bool:
        return matches_signature(model.inputs, model.outputs)

    def __init__(self, model: Any, settings: DecodeSettings):
        super().__init__(model, settings)
        self.tracking = bool(getattr(settings, "tracking", False))
        self.min_pose_score = float(settings.score_threshold or 0.0)
        self.max_poses = 1 if settings.max_poses is None else min(1, int(settings.max_poses))
        self.tracker = CropTracker()
        shape = _shape(model.inputs[0])
        self._input_size = (shape[1], shape[2])
        self._output: int | None = None

    def bind(self, interpreter: Any) -> None:
        (image,) = interpreter.get_input_details()
        self._input_size = (int(image["shape"][1]), int(image["shape"][2]))
        outputs = [
            d for d in interpreter.get_output_details() if _shape(d) == (1, 1, NUM_KEYPOINTS, 3)
        ]
        if len(outputs) != 1:
            raise ModelError(f"{self.model.name}: MoveNet's [1, 1, 17, 3] output not found")
        self._output = int(outputs[0]["index"])

    def decode(self, interpreter: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        xy, scores, pose_scores = decode_movenet(
            interpreter.get_tensor(self._output), self._input_size
        )
        if self.max_poses < 1 or (len(pose_scores) and pose_scores[0] < self.min_pose_score):
            return xy[:0], scores[:0], pose_scores[:0]
        return xy, scores, pose_scores

    def region(self, image_hw: tuple[int, int]) -> Region | None:
        return self.tracker.region(image_hw).as_tuple() if self.tracking else None

    def observe(self, poses: list[Pose], image_hw: tuple[int, int]) -> None:
        if not self.tracking:
            return
        if poses:
            self.tracker.observe(poses[0].xy, poses[0].scores, image_hw)
        else:
            self.tracker.observe(None, None, image_hw)

    def reset(self) -> None:
        self.tracker.reset()
