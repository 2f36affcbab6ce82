"""What the engine produces: poses of the people in one image.

numpy arrays inside for speed, friendly names outside: ``pose.xy`` is a (17, 2) float array of
(x, y) pixels, ``pose.keypoints`` the same data as 17 named :class:`Keypoint` tuples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posestage.model.floor import FloorPosition
from posestage.model.keypoints import Keypoint, KeypointAccess

__all__ = ["DetectionResult", "Keypoint", "Pose"]


@dataclass
class Pose(KeypointAccess):
    """One person found in one image.

    ``xy`` is (17, 2) float32, (x, y) in source-image pixels, COCO order; ``scores`` is (17,)
    float32 keypoint confidences in 0..1; ``score`` is the pose score. ``floor``: where the
    person stands on the room's floor when the source knows it (a replayed stream that recorded
    it, a merge of calibrated cameras); the tracker then takes it rather than measure one.
    """

    score: float
    xy: np.ndarray
    scores: np.ndarray
    floor: FloorPosition | None = None

    def to_dict(self) -> dict:
        return {
            "score": round(float(self.score), 6),
            "keypoints": [
                {"name": k.name, "x": round(k.x, 3), "y": round(k.y, 3), "score": round(k.score, 6)}
                for k in self.keypoints
            ],
        }


@dataclass
class DetectionResult:
    """What :meth:`posestage.PoseEngine.detect` returns for one image.

    ``input_size`` and ``image_size`` are (height, width): the network input tensor and the
    source image. ``inference_ms`` is the interpreter's invoke time, ``decode_ms`` the time
    turning its outputs into poses.
    """

    poses: list[Pose]
    inference_ms: float
    decode_ms: float
    input_size: tuple[int, int]
    image_size: tuple[int, int]
    preprocess_ms: float = 0.0
    model: str = ""
    device: str = "cpu"

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "device": self.device,
            "input_size": list(self.input_size),
            "image_size": list(self.image_size),
            "inference_ms": round(self.inference_ms, 3),
            "decode_ms": round(self.decode_ms, 3),
            "poses": [p.to_dict() for p in self.poses],
        }
