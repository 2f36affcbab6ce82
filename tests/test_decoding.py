"""The numpy PoseNet decoder, on hand-built maps and against the literal spec transcription."""

from __future__ import annotations

import numpy as np
import pytest
from reference_decoder import reference_decode

from posestage import decode_poses
from posestage.engine.decoding import (
    KERNEL_ENV,
    PARENT_CHILD,
    available_kernels,
    decode_quantized,
    kernel_in_use,
)
from posestage.errors import ModelError
from posestage.model.synthetic import standing_xy

STRIDE = 16
F = np.float32


def person(cx: float, cy: float, scale: float = 1.0) -> np.ndarray:
    """A standing stick figure's 17 keypoints (x, y) in input pixels, 190 px tall around
    (cx, cy)."""
    return standing_xy(cx, cy + 95 * scale, 190 * scale)


def build_maps(people: list[np.ndarray], rows: int = 31, cols: int = 41, peaks=None):
    """Raw float maps in which each person is exactly recoverable.

    Heatmap: the person's ``peak`` logit on the 2x2 cells around each keypoint (so the
    bilinear sample there is the peak) and 0.5 more on the nearest cell (the one local
    maximum); -8 elsewhere. Short offsets at every cell point at the keypoint of the nearest person;
    mid offsets carry the exact displacements of that person's skeleton.
    """
    peaks = peaks or [6.0] * len(people)
    z = np.full((rows, cols, 17), -8.0, F)
    s = np.zeros((rows, cols, 34), F)
    m = np.zeros((rows, cols, 64), F)
    yy, xx = np.mgrid[0:rows, 0:cols].astype(F) * STRIDE
    centres = np.array([p.mean(axis=0) for p in people])
    owner = np.argmin(
        [(xx - c[0]) ** 2 + (yy - c[1]) ** 2 for c in centres], axis=0
    )  # nearest person per cell
    for n, kp in enumerate(people):
        mine = owner == n
        for k, (x, y) in enumerate(kp):
            i0, j0 = int(y // STRIDE), int(x // STRIDE)
            patch = z[i0 : i0 + 2, j0 : j0 + 2, k]
            np.maximum(patch, peaks[n], out=patch)
            z[int(round(y / STRIDE)), int(round(x / STRIDE)), k] = peaks[n] + 0.5
            s[..., k][mine] = (y - yy)[mine]
            s[..., 17 + k][mine] = (x - xx)[mine]
        for e, (a, b) in enumerate(PARENT_CHILD):
            d = kp[b] - kp[a]
            m[..., e][mine], m[..., 16 + e][mine] = d[1], d[0]
            m[..., 32 + e][mine], m[..., 48 + e][mine] = -d[1], -d[0]
    return z, s, m


def test_one_person_is_recovered_exactly():
    kp = person(300, 200)
    xy, scores, pose_scores = decode_poses(*build_maps([kp]))
    assert xy.shape == (1, 17, 2) and scores.shape == (1, 17) and pose_scores.shape == (1,)
    np.testing.assert_allclose(xy[0], kp, atol=1e-3)
    assert pose_scores[0] > 0.9
    assert np.all(scores[0] > 0.9)


def test_two_people_apart_are_both_found_best_first():
    a, b = person(160, 200), person(460, 220, scale=0.9)
    xy, _, pose_scores = decode_poses(*build_maps([a, b], peaks=[4.0, 6.0]))
    assert len(pose_scores) == 2
    assert pose_scores[0] >= pose_scores[1]
    # both people, each exactly once, in some order
    found = sorted(xy, key=lambda p: p[0, 0])
    np.testing.assert_allclose(found[0], a, atol=1e-3)
    np.testing.assert_allclose(found[1], b, atol=1e-3)


def test_people_closer_than_nms_radius_are_one_pose():
    a, b = person(300, 200), person(348, 200)  # 48 px (3 cells) apart
    maps = build_maps([a, b], peaks=[6.0, 5.5])
    xy, _, _ = decode_poses(*maps, nms_radius=40.0)
    assert any(np.abs(p[0] - b[0]).max() < 1e-3 for p in xy)  # b's nose: b found beside a
    xy, _, pose_scores = decode_poses(*maps, nms_radius=60.0)
    assert len(pose_scores) == 1
    np.testing.assert_allclose(xy[0, 0], a[0], atol=1e-3)  # the stronger one


def test_nothing_above_threshold_gives_empty_arrays():
    z, s, m = build_maps([person(300, 200)])
    z[:] = -8.0
    xy, scores, pose_scores = decode_poses(z, s, m)
    assert xy.shape == (0, 17, 2) and scores.shape == (0, 17) and pose_scores.shape == (0,)


def test_weak_person_below_score_threshold_is_dropped():
    z, s, m = build_maps([person(300, 200)], peaks=[-1.0])  # σ(-1) ≈ 0.27
    assert len(decode_poses(z, s, m, score_threshold=0.2)[2]) == 1
    assert len(decode_poses(z, s, m, score_threshold=0.45)[2]) == 0


def test_max_poses_keeps_the_strongest():
    people = [person(100, 200), person(300, 200), person(500, 200)]
    maps = build_maps(people, peaks=[3.0, 6.0, 4.5])
    xy, _, pose_scores = decode_poses(*maps, max_poses=2)
    assert len(pose_scores) == 2
    noses = sorted(float(p[0, 0]) for p in xy)
    assert noses == pytest.approx([300, 500], abs=1e-3)


def test_batch_dimension_and_shape_errors():
    z, s, m = build_maps([person(300, 200)])
    a = decode_poses(z[None], s[None], m[None])
    b = decode_poses(z, s, m)
    np.testing.assert_array_equal(a[0], b[0])
    with pytest.raises(ValueError, match="short_offsets"):
        decode_poses(z, s[..., :30], m)


def test_float_and_quantized_paths_agree():
    z, s, m = build_maps([person(200, 200), person(450, 210)])

    def quantize(a, scale, zp):
        return np.clip(np.round(a / scale) + zp, 0, 255).astype(np.uint8)

    q = ((0.0470588, 128), (0.5, 128), (1.5, 128))
    qz, qs, qm = quantize(z, *q[0]), quantize(s, *q[1]), quantize(m, *q[2])
    a = decode_quantized(qz, qs, qm, q)
    deq = [(x.astype(F) - F(zp)) * F(sc) for x, (sc, zp) in zip((qz, qs, qm), q)]
    b = decode_poses(*deq)
    np.testing.assert_allclose(a[0], b[0], atol=1e-3)
    np.testing.assert_allclose(a[2], b[2], atol=1e-6)


def _random_case(rng):
    rows, cols = int(rng.integers(3, 30)), int(rng.integers(3, 40))
    spread = int(rng.integers(3, 30))  # small spread: many tied logits
    maps = (
        rng.integers(128 - spread, 128 + spread, (rows, cols, 17)).astype(np.uint8),
        rng.integers(0, 256, (rows, cols, 34)).astype(np.uint8),
        rng.integers(0, 256, (rows, cols, 64)).astype(np.uint8),
    )
    quant = (
        (0.0470588, 128),
        (float(rng.uniform(0.05, 0.5)), 128),
        (float(rng.uniform(0.1, 1)), 128),
    )
    options = dict(
        max_poses=int(rng.choice([1, 5, 10, 20, 40])),
        score_threshold=float(rng.choice([0.05, 0.1, 0.2, 0.3, 0.5])),
        nms_radius=float(rng.choice([5, 10, 20, 40])),
        legacy_left_eye=bool(rng.integers(0, 2)),
    )
    return maps, quant, options


@pytest.mark.parametrize("seed", range(12))
def test_matches_literal_spec_on_noise_maps(seed):
    """Noise with heavy ties exercises candidate order, suppression and clamping; the output
    must be identical (float32-exact) to the loop-by-loop transcription of the spec."""
    maps, quant, options = _random_case(np.random.default_rng(seed))
    ours = decode_quantized(*maps, quant, **options)
    deq = [(q.astype(F) - F(zp)) * F(sc) for q, (sc, zp) in zip(maps, quant)]
    deq[1] *= F(1 / STRIDE)
    deq[2] *= F(1 / STRIDE)
    ref = reference_decode(*deq, **options)
    for a, b in zip(ours, ref):
        np.testing.assert_array_equal(a, b)


def test_legacy_left_eye_changes_only_left_eye_rooted_poses():
    kp = person(300, 200)
    z, s, m = build_maps([kp], peaks=[-1.5])  # below the root threshold (logit -1.386)
    # Only the left eye is a root candidate: the nose must be reached via left_eye → nose.
    z[..., 1] = np.where(z[..., 1] > -8, 6.0, -8.0)
    s[..., 0] = s[..., 17] = 0  # no refinement for the nose: it lands where the move puts it
    fixed = decode_poses(z, s, m)[0]
    legacy = decode_poses(z, s, m, legacy_left_eye=True)[0]
    np.testing.assert_allclose(fixed[0], kp, atol=1e-3)
    assert np.abs(legacy[0, 0] - kp[0]).max() > 1.0  # nose placed from the wrong channels


# --------------------------------------------------------------------------------------------
# The compiled kernel (posestage.engine._kernels) against the numpy kernel: bit for bit.

needs_c = pytest.mark.skipif(
    "c" not in available_kernels(), reason="posestage.engine._kernels not built (no C compiler)"
)


def assert_same(a, b):
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


@needs_c
@pytest.mark.parametrize("seed", range(60))
def test_c_kernel_matches_numpy_on_noise_maps(seed):
    maps, quant, options = _random_case(np.random.default_rng(1000 + seed))
    assert_same(
        decode_quantized(*maps, quant, **options, kernel="c"),
        decode_quantized(*maps, quant, **options, kernel="numpy"),
    )


@needs_c
def test_c_kernel_matches_numpy_on_float_maps_and_edge_cases():
    maps = build_maps([person(160, 200), person(460, 220, scale=0.9)], peaks=[4.0, 6.0])
    for options in ({}, {"max_poses": 1}, {"nms_radius": 60.0}, {"score_threshold": 0.99}):
        assert_same(decode_poses(*maps, **options, kernel="c"), decode_poses(*maps, **options))
    z, s, m = maps
    as_f64 = [a.astype(np.float64) for a in maps]  # converted to float32 first, like numpy's
    assert_same(decode_poses(*as_f64, kernel="c"), decode_poses(*maps, kernel="numpy"))
    strided = [np.asfortranarray(a) for a in maps]  # not C-contiguous
    assert_same(decode_poses(*strided, kernel="c"), decode_poses(*maps, kernel="numpy"))
    assert_same(decode_poses(z[:1, :1], s[:1, :1], m[:1, :1], kernel="c"),
                decode_poses(z[:1, :1], s[:1, :1], m[:1, :1], kernel="numpy"))  # fmt: skip
    assert decode_poses(*maps, max_poses=0, kernel="c")[2].shape == (0,)
    with pytest.raises(ValueError, match="mid_offsets"):
        decode_poses(z, s, m[..., :60], kernel="c")


def libm_expf():
    """The C library's expf through ctypes, or None where it cannot be found."""
    import ctypes
    import ctypes.util

    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    except OSError:
        return None
    libm.expf.restype, libm.expf.argtypes = ctypes.c_float, [ctypes.c_float]
    return lambda v: F(libm.expf(float(v)))


def integer_pose_maps(logits: np.ndarray):
    """One standing figure on whole grid cells, no offsets: every keypoint is sampled exactly
    at a cell, so its logit is exactly ``logits[k]``."""
    rows, cols = 16, 12
    cells = np.array(
        [(1, 6), (1, 7), (1, 5), (2, 8), (2, 4), (3, 8), (3, 4), (5, 9), (5, 3), (7, 9),
         (7, 3), (7, 7), (7, 5), (10, 7), (10, 5), (13, 7), (13, 5)]
    )  # fmt: skip
    z = np.full((rows, cols, 17), -8.0, F)
    z[cells[:, 0], cells[:, 1], np.arange(17)] = logits
    s = np.zeros((rows, cols, 34), F)
    m = np.zeros((rows, cols, 64), F)
    for e, (a, b) in enumerate(PARENT_CHILD):
        d = (cells[b] - cells[a]).astype(F)
        m[..., e], m[..., 16 + e], m[..., 32 + e], m[..., 48 + e] = d[0], d[1], -d[0], -d[1]
    return z, s * STRIDE, m * STRIDE


@needs_c
def test_c_kernel_sigmoid_is_numpys_exp_not_the_c_librarys():
    """σ(z) = 1 / (1 + exp(-z)) with numpy's float32 exp. The C library's expf rounds the last
    bit differently on a good share of inputs; on logits where the two differ, the compiled
    decoder must still give numpy's probabilities."""
    rng = np.random.default_rng(7)
    candidates = rng.uniform(-1.3, 6.0, 4000).astype(F)
    expf = libm_expf()
    if expf is not None:
        differ = [v for v in candidates if expf(-v) != np.exp(-v)]
        assert len(differ) > 17, "numpy's exp and expf agree here: pick other logits"
        logits = np.array(differ[:17], F)
    else:
        logits = candidates[:17]
    numpy_sigmoid = F(1) / (F(1) + np.exp(-logits))
    _, scores, _ = decode_poses(*integer_pose_maps(logits), kernel="c")
    np.testing.assert_array_equal(scores[0], numpy_sigmoid)
    if expf is not None:
        libm_sigmoid = np.array([F(1) / (F(1) + expf(-v)) for v in logits], F)
        assert (libm_sigmoid != numpy_sigmoid).any()


def test_kernel_choice_by_argument_and_environment(monkeypatch):
    maps = build_maps([person(300, 200)])
    monkeypatch.setenv(KERNEL_ENV, "numpy")
    assert kernel_in_use() == "numpy"
    assert_same(decode_poses(*maps), decode_poses(*maps, kernel="numpy"))
    monkeypatch.setenv(KERNEL_ENV, "auto")
    assert kernel_in_use() == available_kernels()[0]
    monkeypatch.setenv(KERNEL_ENV, "fortran")
    with pytest.raises(ModelError, match=r"^POSESTAGE_DECODER=fortran: unknown decoder"):
        decode_poses(*maps)
    with pytest.raises(ModelError, match=r"kernel='gpu': unknown decoder"):
        kernel_in_use("gpu")
    monkeypatch.delenv(KERNEL_ENV)
    assert kernel_in_use("numpy") == "numpy"


def test_asking_for_c_where_it_is_not_built_says_how_to_build_it(monkeypatch):
    import posestage.engine.decoding as decoding

    monkeypatch.setattr(decoding, "_kernels", None)  # what an install without a compiler has
    assert available_kernels() == ("numpy",) and kernel_in_use() == "numpy"
    with pytest.raises(ModelError, match=r"kernel='c': the compiled decoder is not built; "):
        kernel_in_use("c")
    maps = build_maps([person(300, 200)])
    assert len(decode_poses(*maps)[2]) == 1


CPU_MODELS = [
    "posenet-353x481", "posenet-481x641", "posenet-721x1281",
    "posenet16-353x481", "posenet16-481x641", "posenet16-721x1281",
]  # fmt: skip


@needs_c
@pytest.mark.slow
@pytest.mark.parametrize("model", CPU_MODELS)
def test_c_kernel_matches_numpy_on_real_maps(model, images_dir):
    from PIL import Image

    from posestage import PoseEngine

    engine = PoseEngine(model, device="cpu")
    family = engine.family
    options = dict(
        stride=family.stride,
        max_poses=family.max_poses,
        score_threshold=family.score_threshold,
        nms_radius=family.nms_radius,
    )
    images = sorted(images_dir.glob("*.*"))
    assert len(images) >= 3
    for path in images:
        engine.detect(np.asarray(Image.open(path).convert("RGB")))
        maps = [engine.interpreter.get_tensor(i) for i in family._outputs]
        c = decode_quantized(*maps, family._quant, **options, kernel="c")
        assert_same(c, decode_quantized(*maps, family._quant, **options, kernel="numpy"))
        assert len(c[2]) >= 1, path.name


@needs_c
@pytest.mark.parametrize("seed", range(8))
def test_c_kernel_matches_numpy_on_int8_maps(seed):
    """int8 outputs (and a negative zero point) take the same integer comparisons."""
    maps, quant, options = _random_case(np.random.default_rng(2000 + seed))
    signed = tuple((m.astype(np.int16) - 128).astype(np.int8) for m in maps)
    quant = tuple((scale, zero_point - 128 - 3) for scale, zero_point in quant)
    assert_same(
        decode_quantized(*signed, quant, **options, kernel="c"),
        decode_quantized(*signed, quant, **options, kernel="numpy"),
    )
