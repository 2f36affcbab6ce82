"""The PoseNet model family: Coral's multi-pose PoseNet (MobileNet V1) models.

Recognised by signature, never by file name: one uint8 image input (1, H, W, 3) and either the
``PosenetDecoderOp`` custom op fed by three maps with 17 / 34 / 64 channels, or those three raw
maps as the outputs. Preparing strips the decoder op (:mod:`posestage.engine.tflite`) and keeps
its options as decoding defaults; decoding runs :func:`posestage.engine.decoding.decode_quantized` on
the interpreter's uint8 outputs (or :func:`~posestage.engine.decoding.decode_poses` on float ones).

CPU PoseNet models are fully convolutional, so they run at any input size of the form
``stride * k + 1`` (353x481, 481x641, 721x1281, ...).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from posestage.engine.decoding import decode_poses, decode_quantized, kernel_in_use
from posestage.engine.family import DecodeSettings, ModelFamily
from posestage.engine.tflite import (
    POSENET_DECODER_OP,
    TensorInfo,
    TfliteModel,
    strip_posenet_decoder,
)
from posestage.errors import ModelError

MAP_CHANNELS = (17, 34, 64)  # heatmaps, short offsets, mid offsets

# Decoder defaults when a model carries no PosenetDecoderOp (docs/posenet-decoding.md §2).
DEFAULT_OPTIONS = {"max_detections": 10, "score_threshold": 0.2, "nms_radius": 10.0, "stride": 16}


def _raw_maps(model: TfliteModel) -> list[TensorInfo] | None:
    """The three raw maps in (heatmaps, short, mid) order, or ``None`` if not PoseNet-shaped."""
    op = model.custom_op(POSENET_DECODER_OP)
    tensors = [model.tensor(i) for i in op.inputs[:3]] if op else list(model.outputs)
    by_channels = {t.channels: t for t in tensors if len(t.shape) == 4}
    if any(c not in by_channels for c in MAP_CHANNELS):
        return None
    maps = [by_channels[c] for c in MAP_CHANNELS]
    if len({t.shape[1:3] for t in maps}) != 1:
        return None
    return maps


class PoseNetFamily(ModelFamily):
    """PoseNet multi-pose: decoder op stripped, poses decoded by :mod:`posestage.engine.decoding`."""

    name: ClassVar[str] = "posenet"
    resizable: ClassVar[bool] = True

    @classmethod
    def recognises(cls, model: TfliteModel) -> bool:
        if len(model.inputs) != 1:
            return False
        image = model.inputs[0]
        if len(image.shape) != 4 or image.shape[0] != 1 or image.shape[3] != 3:
            return False
        return image.dtype == "uint8" and _raw_maps(model) is not None

    def __init__(self, model: TfliteModel, settings: DecodeSettings):
        super().__init__(model, settings)
        op = model.custom_op(POSENET_DECODER_OP)
        options = {**DEFAULT_OPTIONS, **(op.options if op else {})}
        self.stride = int(options["stride"])
        self.max_poses = int(
            settings.max_poses if settings.max_poses is not None else options["max_detections"]
        )
        self.score_threshold = float(
            settings.score_threshold
            if settings.score_threshold is not None
            else options["score_threshold"]
        )
        self.nms_radius = float(
            settings.nms_radius if settings.nms_radius is not None else options["nms_radius"]
        )
        self._outputs: list[int] = []
        self._quant = None
        self._kernel = kernel_in_use()  # POSESTAGE_DECODER checked once, at load

    def prepare(self) -> bytes:
        return strip_posenet_decoder(self.model)

    def check_input_size(self, size: tuple[int, int]) -> None:
        h, w = size
        s = self.stride
        if h < s + 1 or w < s + 1 or (h - 1) % s or (w - 1) % s:
            raise ModelError(
                f"input size {h}x{w} does not fit {self.model.name}: PoseNet needs "
                f"HxW of the form {s}k+1, e.g. 353x481, 481x641, 721x1281"
            )

    def bind(self, interpreter) -> None:
        details = interpreter.get_output_details()
        by_channels = {int(d["shape"][-1]): d for d in details if len(d["shape"]) == 4}
        if any(c not in by_channels for c in MAP_CHANNELS):
            raise ModelError(f"{self.model.name}: PoseNet outputs with 17/34/64 channels not found")
        maps = [by_channels[c] for c in MAP_CHANNELS]
        self._outputs = [int(d["index"]) for d in maps]
        if all(d["dtype"] == np.uint8 for d in maps):
            self._quant = tuple(
                (float(d["quantization"][0]), int(d["quantization"][1])) for d in maps
            )
        else:
            self._quant = None

    @property
    def kernel(self) -> str:
        return self._kernel

    def decode(self, interpreter) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Views on the interpreter's output buffers (no copy); released before returning.
        heatmaps, short, mid = (interpreter.tensor(i)() for i in self._outputs)
        kwargs = dict(
            stride=self.stride,
            max_poses=self.max_poses,
            score_threshold=self.score_threshold,
            nms_radius=self.nms_radius,
            kernel=self._kernel,
        )
        if self._quant is not None:
            result = decode_quantized(heatmaps, short, mid, self._quant, **kwargs)
        else:
            result = decode_poses(heatmaps, short, mid, **kwargs)  # float32: read as they are
        del heatmaps, short, mid
        return result
