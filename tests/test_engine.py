"""PoseEngine with real inference: accuracy against Coral's references, sizes, resizing, devices."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from posestage import PoseEngine
from posestage.engine.pose_engine import FAMILIES, ModelFamily, _Resampler
from posestage.engine.posenet import PoseNetFamily
from posestage.errors import DeviceError, ModelError, SourceError
from posestage.model.keypoints import KEYPOINT_NAMES

pytestmark = pytest.mark.slow


def read_reference(path, normalised_size=None):
    """Reference CSV → list of (pose_score, xy (17, 2) (x, y), scores (17,)), in CSV order."""
    poses: dict[int, dict] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            pose = poses.setdefault(
                int(row["pose_id"]), {"score": float(row["pose_score"]), "kp": {}}
            )
            if "keypoint_label" in row:
                k = KEYPOINT_NAMES.index(row["keypoint_label"].lower())
            else:
                k = int(row["keypoint_id"])
            pose["kp"][k] = (
                float(row["keypoint_x"]),
                float(row["keypoint_y"]),
                float(row["keypoint_score"]),
            )
    out = []
    for _, pose in sorted(poses.items()):
        kp = np.array([pose["kp"][k] for k in range(17)], np.float64)
        out.append((pose["score"], kp[:, :2], kp[:, 2]))
    return out


def to_input(xy, image_hw, input_hw):
    """Source pixels back to input-tensor pixels (inverse of the engine's stretch mapping)."""
    sy, sx = image_hw[0] / input_hw[0], image_hw[1] / input_hw[1]
    return np.stack([(xy[:, 0] + 0.5) / sx - 0.5, (xy[:, 1] + 0.5) / sy - 0.5], axis=1)


@pytest.fixture(scope="module")
def couple(images_dir):
    return Image.open(images_dir / "couple.jpg").convert("RGB")


def test_project_posenet_reference_on_couple(couple, reference_dir):
    engine = PoseEngine("posenet-481x641", device="cpu")
    result = engine.detect(couple)
    reference = read_reference(
        reference_dir / "posenet_mobilenet_v1_075_481_641_quant_decoder_reference.csv"
    )
    assert result.input_size == (481, 641) and result.image_size == (1278, 1920)
    assert len(result.poses) == len(reference) == 2
    for pose, (ref_score, ref_xy, ref_scores) in zip(result.poses, reference):  # output order
        assert pose.score == pytest.approx(ref_score, abs=0.1)
        np.testing.assert_allclose(pose.scores, ref_scores, atol=0.1)
        np.testing.assert_allclose(
            to_input(pose.xy, result.image_size, result.input_size), ref_xy, atol=4
        )
    assert result.inference_ms > 0 and result.decode_ms > 0


def bilinear_half_pixel_uint8(image: np.ndarray, out_hw) -> np.ndarray:
    """TFLite RESIZE_BILINEAR (half_pixel_centers) in float, then truncation to uint8."""
    src = image.astype(np.float32)

    def axis(n_out, n_in):
        pos = (np.arange(n_out, dtype=np.float32) + 0.5) * np.float32(n_in / n_out) - 0.5
        lo = np.floor(pos)
        w = pos - lo
        lo_i = np.clip(lo, 0, n_in - 1).astype(int)
        hi_i = np.clip(lo + 1, 0, n_in - 1).astype(int)
        return lo_i, hi_i, w

    y0, y1, wy = axis(out_hw[0], image.shape[0])
    x0, x1, wx = axis(out_hw[1], image.shape[1])
    top = src[y0][:, x0] * (1 - wx)[None, :, None] + src[y0][:, x1] * wx[None, :, None]
    bottom = src[y1][:, x0] * (1 - wx)[None, :, None] + src[y1][:, x1] * wx[None, :, None]
    out = top * (1 - wy)[:, None, None] + bottom * wy[:, None, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def test_libcoral_reference_on_two_people(images_dir, reference_dir):
    engine = PoseEngine("posenet16-481x641", device="cpu")
    image = np.asarray(Image.open(images_dir / "two_people.bmp").convert("RGB"))
    # Pre-resized to the input size: detect() then works in input pixels directly.
    result = engine.detect(bilinear_half_pixel_uint8(image, (481, 641)))
    reference = read_reference(
        reference_dir / "posenet_mobilenet_v1_075_481_641_16_quant_decoder_reference.csv"
    )
    assert len(result.poses) == len(reference) == 2
    for pose, (ref_score, ref_xy, ref_scores) in zip(result.poses, reference):
        assert pose.score == pytest.approx(ref_score, abs=0.1)
        normalised = pose.xy / np.array([641.0, 481.0])
        checked = (pose.scores > 0.7) & (ref_scores > 0.7)
        assert checked.sum() >= 8
        np.testing.assert_allclose(normalised[checked], ref_xy[checked], atol=0.04)


def nose_positions(result):
    return sorted((float(p.xy[0, 0]), float(p.xy[0, 1])) for p in result.poses)


def test_other_input_size_finds_the_couple(couple):
    small = PoseEngine("posenet-353x481", device="cpu", input_size=(481, 641))
    native = PoseEngine("posenet-481x641", device="cpu")
    assert small.input_size == (481, 641) and small.native_size == (353, 481)
    got, expected = small.detect(couple), native.detect(couple)
    assert len(got.poses) == 2 and all(p.score > 0.6 for p in got.poses)
    np.testing.assert_allclose(nose_positions(got), nose_positions(expected), atol=12)


def test_input_size_must_be_16k_plus_1_and_edgetpu_is_fixed(models_dir):
    with pytest.raises(ModelError, match=r"480x640 .* 16k\+1"):
        PoseEngine("posenet-481x641", device="cpu", input_size=(480, 640))


def strong(pose, threshold=0.7):
    return pose.scores > threshold


def shift_error(base, shifted, left, top):
    """Per pose, |shifted - base - (left, top)| over keypoints confident in both."""
    assert len(base.poses) == len(shifted.poses) == 2
    errors = []
    for a, b in zip(base.poses, shifted.poses):
        both = strong(a) & strong(b)
        assert both.sum() >= 10
        errors.append(np.abs(b.xy[both] - a.xy[both] - np.array([left, top])))
    return np.concatenate(errors)


def test_letterbox_padded_copy_gives_the_same_keypoints_shifted(couple):
    # 641x427 letterboxes into 481x641 at scale 1 (27 rows of padding above). The copy is
    # padded to 481 rows with the picture 43 rows down: same scale, shifted one grid cell.
    engine = PoseEngine("posenet-481x641", device="cpu", resize="letterbox")
    image = np.asarray(couple.resize((641, 427), Image.BILINEAR))
    padded = np.zeros((481, 641, 3), np.uint8)
    padded[43 : 43 + 427] = image
    error = shift_error(engine.detect(image), engine.detect(padded), 0, 43)
    assert error.max() <= 1.0, error.max()


def test_stretch_padded_copy_gives_the_same_keypoints_shifted(couple):
    # Same aspect ratio with a 5 % border: the people are 10 % smaller in the input tensor,
    # so the network itself moves keypoints a little; the mapping must not add to that.
    engine = PoseEngine("posenet-481x641", device="cpu")
    image = np.asarray(couple)
    h, w = image.shape[:2]
    top, left = 64, 96
    padded = np.zeros((h + 2 * top, w + 2 * left, 3), np.uint8)
    padded[top : top + h, left : left + w] = image
    error = shift_error(engine.detect(image), engine.detect(padded), left, top)
    in_input_pixels = error / (padded.shape[1] / 641)  # source pixels per input pixel
    worst, typical = in_input_pixels.max(), np.median(in_input_pixels)
    assert worst <= 8 and typical <= 1.5, (worst, typical)  # a distance, not a time


def test_letterbox_keeps_keypoints_inside_the_image(couple):
    result = PoseEngine("posenet-481x641", device="cpu", resize="letterbox").detect(couple)
    for pose in result.poses:
        visible = pose.xy[strong(pose)]
        assert (
            (visible >= -2).all()
            and (visible[:, 0] <= 1922).all()
            and (visible[:, 1] <= 1280).all()
        )


def test_resampler_matches_pillow_nearest(couple):
    image = np.asarray(couple)
    for size in [(481, 641), (353, 481), (192, 192), (721, 1281), (1500, 2100)]:
        resampler = _Resampler(image.shape[:2], size, None, "stretch")
        expected = np.asarray(couple.resize(size[::-1], Image.NEAREST))
        for fill in (resampler.fill, resampler.fill_numpy):
            out = np.full(size + (3,), 7, np.uint8)
            fill(image, out)
            np.testing.assert_array_equal(out, expected)
        flipped = np.full(size + (3,), 7, np.uint8)  # a mirrored view (negative strides)
        resampler.fill(image[:, ::-1], flipped)
        np.testing.assert_array_equal(flipped, np.asarray(
            couple.transpose(Image.FLIP_LEFT_RIGHT).resize(size[::-1], Image.NEAREST)))  # fmt: skip


def test_c_and_numpy_resamplers_agree_on_crops_and_letterbox(couple):
    image = np.asarray(couple)
    cases = [
        ((481, 641), None, "letterbox"),
        ((192, 192), (-100.0, 300.0, 900.0, 1300.0), "stretch"),  # past the top edge: padded
        ((192, 192), (400.0, -50.0, 1400.0, 950.0), "letterbox"),
        ((353, 481), (10.5, 20.25, 300.75, 700.5), "stretch"),
    ]
    for size, region, mode in cases:
        resampler = _Resampler(image.shape[:2], size, region, mode)
        a, b = np.full(size + (3,), 7, np.uint8), np.full(size + (3,), 9, np.uint8)
        resampler.fill(image, a)
        resampler.fill_numpy(image, b)
        np.testing.assert_array_equal(a, b)


def test_letterbox_resampler_pads_and_maps_back():
    image = np.full((100, 400, 3), 200, np.uint8)
    out = np.empty((101, 101, 3), np.uint8)
    resampler = _Resampler((100, 400), (101, 101), None, "letterbox")
    resampler.fill(image, out)
    rows = np.flatnonzero(out[:, 50, 0])
    assert out[0, 50, 0] == 0 and out[-1, 50, 0] == 0 and 24 <= len(rows) <= 26
    # The image's corners land on the content's corners.
    corners = resampler.to_source(np.array([[0.0, rows[0]], [100.0, rows[-1]]], np.float32))
    np.testing.assert_allclose(corners, [[0, 0], [399, 99]], atol=2.5)


def test_image_modes_and_bad_arrays(couple):
    engine = PoseEngine("posenet-481x641", device="cpu")
    rgb = engine.detect(couple)
    for mode in ("L", "RGBA", "P"):
        result = engine.detect(couple.convert(mode))
        assert len(result.poses) >= 1, mode
    bgr_is_fine = engine.detect(np.asarray(couple)[:, ::-1])  # non-contiguous view
    assert len(bgr_is_fine.poses) == len(rgb.poses)
    with pytest.raises(SourceError, match=r"shape \(10, 10\)"):
        engine.detect(np.zeros((10, 10), np.uint8))
    with pytest.raises(SourceError, match="float32"):
        engine.detect(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(SourceError, match="str"):
        engine.detect("couple.jpg")


def test_auto_falls_back_to_cpu_without_an_edgetpu(models_dir):
    assert (models_dir / "posenet_mobilenet_v1_075_481_641_quant_decoder_edgetpu.tflite").is_file()
    assert PoseEngine("posenet-481x641").device == "cpu"
    assert (
        PoseEngine(models_dir / "posenet_mobilenet_v1_075_481_641_quant_decoder.tflite").device
        == "cpu"
    )


def test_asking_for_an_edgetpu_names_the_cpu_model(models_dir):
    with pytest.raises(DeviceError) as err:
        PoseEngine("posenet-481x641", device="edgetpu:usb:0")
    assert str(err.value) == (
        "no Edge TPU: its delegate library libedgetpu.so.1 cannot be loaded (No such file or "
        "directory; install libedgetpu from coral.ai): use --device cpu (model posenet-481x641 "
        "has a CPU variant)"
    )
    tpu_file = models_dir / "posenet_mobilenet_v1_075_481_641_16_quant_decoder_edgetpu.tflite"
    for device in ("auto", "edgetpu", "cpu"):
        with pytest.raises(DeviceError, match=r"use the CPU model posenet16-481x641 \("):
            PoseEngine(tpu_file, device=device)


def test_override_decoder_settings(couple):
    engine = PoseEngine("posenet-481x641", device="cpu", max_poses=1, score_threshold=0.5)
    assert engine.family.max_poses == 1 and engine.family.score_threshold == 0.5
    assert len(engine.detect(couple).poses) == 1
    assert PoseEngine("posenet16-481x641", device="cpu").family.max_poses == 20  # from the op


class RightHalf(PoseNetFamily):
    """A tracking family in miniature: crop a fixed region, remember what was seen."""

    seen: list

    def region(self, image_hw):
        h, w = image_hw
        return (0.0, w * 0.45, h * 0.8, w * 0.75)

    def observe(self, poses, image_hw):
        self.seen = poses


def test_family_region_crop_is_mapped_back(couple):
    engine = PoseEngine("posenet-481x641", device="cpu")
    whole = engine.detect(couple)
    right_person = max(whole.poses, key=lambda p: p.xy[0, 0])
    engine.family = RightHalf(engine.tflite, engine.family.settings)
    engine.family.bind(engine.interpreter)
    cropped = engine.detect(couple)
    assert engine.family.seen is cropped.poses
    best = cropped.poses[0]
    upper = strong(best) & strong(right_person)
    upper[11:] = False  # the crop cuts the legs
    assert upper.sum() >= 6
    np.testing.assert_allclose(best.xy[upper], right_person.xy[upper], atol=25)


def test_family_registry_lists_the_families_imported_not_named_by_string():
    from posestage.engine.movenet import MoveNetFamily

    assert FAMILIES == (PoseNetFamily, MoveNetFamily)
    assert all(issubclass(f, ModelFamily) for f in FAMILIES)


def test_families_do_not_import_the_engine():
    """The families know only posestage.engine.family; the engine imports them (no cycle)."""
    import subprocess
    import sys

    code = "import sys, posestage.engine.posenet, posestage.engine.movenet; print('posestage.engine.pose_engine' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.parametrize("seed", range(4))
def test_c_resampler_matches_numpy_on_odd_sizes_regions_and_views(seed):
    """Tiny and odd sizes, crops past the edges, both modes, mirrored views: same pixels."""
    rng = np.random.default_rng(seed)
    for trial in range(60):
        shape = (int(rng.integers(1, 60)), int(rng.integers(1, 60)))
        image = rng.integers(0, 256, shape + (3,), dtype=np.uint8)
        size = (int(rng.integers(1, 50)), int(rng.integers(1, 50)))
        region = None
        if trial % 3:
            top, left = float(rng.uniform(-20, shape[0])), float(rng.uniform(-20, shape[1]))
            region = (top, left, top + float(rng.uniform(1, 80)), left + float(rng.uniform(1, 80)))
        resampler = _Resampler(shape, size, region, ("stretch", "letterbox")[trial % 2])
        for view in (image, image[:, ::-1], image[::-1]):
            a, b = np.full(size + (3,), 7, np.uint8), np.full(size + (3,), 9, np.uint8)
            resampler.fill(view, a)
            resampler.fill_numpy(view, b)
            np.testing.assert_array_equal(a, b)


def test_engine_says_which_decoder_runs_and_checks_the_choice_at_load(couple, monkeypatch):
    from posestage.engine.decoding import KERNEL_ENV, available_kernels

    assert PoseEngine("posenet-481x641", device="cpu").kernel == available_kernels()[0]
    assert PoseEngine("movenet-lightning", device="cpu").kernel == ""
    monkeypatch.setenv(KERNEL_ENV, "numpy")
    engine = PoseEngine("posenet-481x641", device="cpu")
    assert engine.kernel == "numpy" and len(engine.detect(couple).poses) == 2
    monkeypatch.setenv(KERNEL_ENV, "fortran")
    with pytest.raises(ModelError, match="POSESTAGE_DECODER=fortran: unknown decoder"):
        PoseEngine("posenet-481x641", device="cpu")


def test_a_family_that_fails_to_import_is_reported_not_skipped():
    import subprocess
    import sys

    code = "import sys; sys.modules['posestage.engine.movenet'] = None; import posestage.engine.pose_engine"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode != 0
    assert "posestage.engine.movenet" in done.stderr.strip().splitlines()[-1]
