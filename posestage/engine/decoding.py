"""PoseNet multi-pose decoding: the entry points, and the choice of kernel.

This is what Coral's ``PosenetDecoderOp`` custom operator computes, written from
``docs/posenet-decoding.md`` (shared design notes): local maxima of the heatmap become root
candidates; from the strongest down, each root not already covered by an accepted pose grows a
17-keypoint skeleton along the mid-range displacements, refined by the short-range offsets;
accepted poses are re-scored with a soft keypoint suppression, sorted and thresholded.

Arithmetic follows the upstream float32 recipe (float32 throughout, bilinear sampling in the
same operation order, probability sums accumulated largest first), and tied root candidates are
ordered by the same binary heap, so the output matches the operator pose for pose.

Two kernels compute the same thing, bit for bit. ``c``, the compiled ``posestage.engine._kernels``
(built by ``pip install`` when a C compiler is there), runs the whole decoder over the maps as
the interpreter left them, with only the sigmoid's ``exp`` handed back to numpy (the C
library's ``expf`` rounds differently from numpy's float32 ``exp``). ``numpy``
(:mod:`posestage.engine.numpy_decoder`) is the reference and the fallback. :func:`kernel_in_use` says which one runs; the environment variable
``POSESTAGE_DECODER`` (``auto``, ``c``, ``numpy``) or the ``kernel`` argument chooses.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache, partial

import numpy as np

from posestage.engine.numpy_decoder import (
    PARENT_CHILD,
    decode_maps,
    dequantized,
    empty_result,
    logit_threshold,
    tree_levels,
)
from posestage.errors import ModelError
from posestage.model.keypoints import NUM_KEYPOINTS

try:
    from posestage.engine import _kernels
except ImportError:  # built without a C compiler: the numpy kernel runs
    _kernels = None

__all__ = [
    "KERNELS",
    "KERNEL_ENV",
    "PARENT_CHILD",
    "available_kernels",
    "decode_poses",
    "decode_quantized",
    "kernel_in_use",
]

F32 = np.float32
K = NUM_KEYPOINTS

KERNEL_ENV = "POSESTAGE_DECODER"
KERNELS = ("c", "numpy")


def available_kernels() -> tuple[str, ...]:
    """The decoder kernels this installation has: ``("c", "numpy")`` or ``("numpy",)``."""
    return KERNELS if _kernels is not None else ("numpy",)


def kernel_in_use(kernel: str | None = None) -> str:
    """The kernel that decodes: ``kernel`` if given, else ``$POSESTAGE_DECODER``, else the
    fastest available (``auto``). Asking for ``c`` where it was not built raises one line."""
    choice = (kernel or os.environ.get(KERNEL_ENV) or "auto").strip().lower()
    source = f"{KERNEL_ENV}={choice}" if kernel is None else f"kernel={choice!r}"
    if choice == "auto":
        return available_kernels()[0]
    if choice not in KERNELS:
        raise ModelError(f"{source}: unknown decoder; use auto, c or numpy")
    if choice == "c" and _kernels is None:
        raise ModelError(
            f"{source}: the compiled decoder is not built; reinstall posestage with a C "
            f"compiler and Python's headers (e.g. apt install gcc python3-dev), or use numpy"
        )
    return choice


def decode_poses(
    heatmaps: np.ndarray,
    short_offsets: np.ndarray,
    mid_offsets: np.ndarray,
    *,
    stride: int = 16,
    max_poses: int = 10,
    score_threshold: float = 0.2,
    nms_radius: float = 10.0,
    legacy_left_eye: bool = False,
    kernel: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode the three raw PoseNet maps into poses.

    Args:
        heatmaps: float (rows, cols, 17) keypoint logits (pre-sigmoid).
        short_offsets: float (rows, cols, 34): dy for keypoints 0..16, then dx; input pixels.
        mid_offsets: float (rows, cols, 64): forward dy, forward dx, backward dy, backward dx
            blocks of 16 skeleton edges each; input pixels.
        stride: input pixels per grid cell.
        max_poses: poses accepted before re-scoring (the operator's ``max_detections``).
        score_threshold: minimum pose score (mean keypoint probability); also sets the root
            candidate logit threshold.
        nms_radius: suppression radius in input pixels, per keypoint type.
        legacy_left_eye: reproduce the channel bug of decoder builds before libcoral "Grouper"
            (2021-07) for the left_eye → nose move; only for bit-parity with those builds.
        kernel: ``c`` or ``numpy``; ``None`` follows :func:`kernel_in_use`.

    A leading batch dimension of 1 is accepted on each map.

    Returns:
        ``(keypoints, keypoint_scores, pose_scores)``: float32 arrays shaped (N, 17, 2) with
        (x, y) in input-tensor pixels, (N, 17) keypoint probabilities and (N,) pose scores,
        best pose first.
    """
    one, inv_stride = (F32(1), 0), (F32(1.0 / stride), 0)
    options = (stride, max_poses, score_threshold, nms_radius, legacy_left_eye)
    raw, scaled = _squeeze_maps(heatmaps, short_offsets, mid_offsets), (one, inv_stride, inv_stride)
    return _decode(raw, scaled, options, kernel)


def decode_quantized(
    heatmaps: np.ndarray,
    short_offsets: np.ndarray,
    mid_offsets: np.ndarray,
    quant: tuple[tuple[float, int], tuple[float, int], tuple[float, int]],
    *,
    stride: int = 16,
    max_poses: int = 10,
    score_threshold: float = 0.2,
    nms_radius: float = 10.0,
    legacy_left_eye: bool = False,
    kernel: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like :func:`decode_poses`, for uint8 maps as the network outputs them.

    ``quant`` holds each map's ``(scale, zero_point)``. Dequantisation is done as the operator
    does it: ``(q - zero_point) * scale`` in float32, with the offsets' ``1/stride`` folded into
    their scale.
    """
    (hs, hz), (ss, sz), (ms, mz) = quant
    inv_stride = F32(1.0 / stride)
    scaled = ((F32(hs), hz), (F32(ss) * inv_stride, sz), (F32(ms) * inv_stride, mz))
    raw = _squeeze_maps(heatmaps, short_offsets, mid_offsets)
    options = (stride, max_poses, score_threshold, nms_radius, legacy_left_eye)
    return _decode(raw, scaled, options, kernel)


def _decode(raw, scaled, options, kernel):
    """The chosen kernel on the squeezed maps and their (scale, zero point) pairs."""
    if kernel_in_use(kernel) == "c":
        return _decode_c(raw, scaled, *options)
    return decode_maps(dequantized(raw, scaled), *options)


def _decode_c(raw, scaled, stride, max_poses, score_threshold, nms_radius, legacy_left_eye):
    """The compiled kernel on the maps as they are (no dequantised copy is made): same
    thresholds and radius as the numpy kernel, the same float32 results."""
    if max_poses <= 0:
        return empty_result()
    maps = [
        np.ascontiguousarray(a) if a.dtype in _KERNEL_DTYPES else np.ascontiguousarray(a, F32)
        for a in raw
    ]  # the interpreter's outputs are already both: no copy
    buffer, exp = _exp_buffer()
    xy = np.empty((max_poses, K, 2), F32)
    prob = np.empty((max_poses, K), F32)
    score = np.empty((max_poses,), F32)
    n = _kernels.decode(
        *maps,
        *_kernel_parameters(scaled, stride, score_threshold, nms_radius, legacy_left_eye),
        int(max_poses),
        buffer,
        exp,
        xy,
        prob,
        score,
    )
    return xy[:n], prob[:n], score[:n]


_KERNEL_DTYPES = (np.dtype(np.uint8), np.dtype(np.int8), np.dtype(np.float32))


@lru_cache(maxsize=16)
def _kernel_parameters(scaled, stride, score_threshold, nms_radius, legacy_left_eye):
    """The kernel's constants for one model and settings (worked out once, not per frame):
    scales, zero points, tree, θ, τ, R² and the stride, as the numpy kernel computes them."""
    tau = F32(score_threshold)
    radius = F32(nms_radius) / F32(stride)
    return (
        tuple(float(scale) for scale, _ in scaled),
        tuple(int(zero_point) for _, zero_point in scaled),
        _kernel_tree(legacy_left_eye),
        float(logit_threshold(score_threshold)),
        float(tau),
        float(radius * radius),
        float(F32(stride)),
    )


def _exp_buffer():
    """This thread's 17-value buffer and the call that replaces it by numpy's exp of it."""
    cached = _buffers.__dict__.get("exp")
    if cached is None:
        buffer = np.empty(K, F32)
        cached = _buffers.__dict__["exp"] = (buffer, partial(np.exp, buffer, out=buffer))
    return cached


@lru_cache(maxsize=2)
def _kernel_tree(legacy_left_eye: bool) -> np.ndarray:
    """int32 (17, 16, 4): per root keypoint, the moves (from, to, mid dy, mid dx channel) that
    place the other 16 keypoints, breadth first (each ``from`` is placed before it is used)."""
    tree = np.zeros((K, K - 1, 4), np.int32)
    for root, per_level in enumerate(tree_levels(legacy_left_eye)):
        moves = [(a, b, *ch) for level in per_level for a, b, ch in level]
        tree[root] = moves
    tree.flags.writeable = False
    return tree


def _squeeze_maps(heatmaps, short_offsets, mid_offsets) -> list[np.ndarray]:
    return [
        _squeeze(heatmaps, 17, "heatmaps"),
        _squeeze(short_offsets, 34, "short_offsets"),
        _squeeze(mid_offsets, 64, "mid_offsets"),
    ]


def _squeeze(a: np.ndarray, channels: int, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 3 or a.shape[2] != channels:
        raise ValueError(f"{name}: expected shape (rows, cols, {channels}), got {a.shape}")
    return a


_buffers = threading.local()
