"""MoveNet Lightning: recognition, decoding, crop regions, accuracy and crop tracking.

The model tests run the real .tflite files from the shared folder on the shared images with
LiteRT; the accuracy test uses Coral's own reference and tolerance.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from posestage.engine.movenet import (
    KEYPOINT_THRESHOLD,
    CropRegion,
    CropTracker,
    MoveNetFamily,
    decode_movenet,
    full_frame_region,
    matches_signature,
    region_from_pose,
    torso_visible,
)
from posestage.engine.pose_engine import PoseEngine, recognise
from posestage.engine.tflite import read_model
from posestage.errors import DeviceError, ModelError
from posestage.model.keypoints import KEYPOINT_INDEX

LIGHTNING = "movenet_single_pose_lightning_ptq.tflite"
LIGHTNING_TPU = "movenet_single_pose_lightning_ptq_edgetpu.tflite"
POSENET = "posenet_mobilenet_v1_075_481_641_16_quant_decoder.tflite"
INPUT = (192, 192)

# A person standing, (x, y) pixels in a 1280x720 frame, hips at (400, 450).
STANDING = np.array(
    [
        [400, 250], [410, 240], [390, 240], [420, 245], [380, 245],
        [440, 300], [360, 300], [450, 360], [350, 360], [455, 420],
        [345, 420], [420, 450], [380, 450], [420, 550], [380, 550],
        [420, 640], [380, 640],
    ],
    dtype=np.float32,
)  # fmt: skip


def _axis_samples(start: float, length: float, count: int, size: int):
    """Per output pixel along one axis: source pixels i0, i1, weight of i1, inside the image.

    Output pixel i samples the source at ``start + (i + 0.5) * length / count - 0.5`` (pixel
    centres: TFLite's RESIZE_BILINEAR with half_pixel_centers). Samples within half a pixel of
    the edge clamp to the edge pixel; further out they are black.
    """
    pos = start + (np.arange(count, dtype=np.float64) + 0.5) * (length / count) - 0.5
    inside = (pos >= -0.5) & (pos <= size - 0.5)
    pos = np.clip(pos, 0.0, size - 1.0)
    i0 = np.floor(pos).astype(np.intp)
    return i0, np.minimum(i0 + 1, size - 1), (pos - i0).astype(np.float32), inside


def crop_and_resize(image: np.ndarray, region, output_size: tuple[int, int]) -> np.ndarray:
    """Coral's test preprocessing, generalised to a crop: bilinear, half-pixel centres.

    libcoral's ``CopyResizedImage`` resizes the whole BMP into the input tensor with TFLite's
    RESIZE_BILINEAR (align_corners false, half_pixel_centers true) in float and copies the
    result into uint8 (truncating). ``region`` (top, left, bottom, right) may reach outside the
    image (black there); ``(0, 0, H, W)`` is exactly Coral's resize.
    """
    top, left, bottom, right = (float(v) for v in region)
    height, width = image.shape[:2]
    y0, y1, wy, iny = _axis_samples(top, bottom - top, output_size[0], height)
    x0, x1, wx, inx = _axis_samples(left, right - left, output_size[1], width)
    rows = image[y0].astype(np.float32)
    rows += (image[y1].astype(np.float32) - rows) * wy[:, None, None]
    out = rows[:, x0]
    out += (rows[:, x1] - out) * wx[None, :, None]
    out *= (iny[:, None] & inx[None, :])[..., None]
    return np.clip(out, 0, 255).astype(np.uint8)


def interpreter(path):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=str(path), num_threads=2)


@pytest.fixture(scope="module")
def lightning(models_dir):
    it = interpreter(models_dir / LIGHTNING)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]

    def run(tensor: np.ndarray) -> np.ndarray:
        it.set_tensor(inp["index"], tensor[None])
        it.invoke()
        return it.get_tensor(out["index"]).copy()

    return run


@pytest.fixture(scope="module")
def squat(images_dir) -> np.ndarray:
    return np.asarray(Image.open(images_dir / "squat.bmp").convert("RGB"))


def detect(run, image: np.ndarray, region: CropRegion):
    """One pose (xy source pixels, scores) or None, looking at ``region`` of ``image``."""
    xy, scores, _ = decode_movenet(run(crop_and_resize(image, region.as_tuple(), INPUT)), INPUT)
    if len(xy) == 0:
        return None
    return region.to_source(xy[0], INPUT), scores[0]


# ---- recognising the model ------------------------------------------------------------------


@pytest.mark.parametrize("name", [LIGHTNING, LIGHTNING_TPU])
def test_both_lightning_builds_are_recognised_by_signature(models_dir, name):
    it = interpreter(models_dir / name)
    assert matches_signature(it.get_input_details(), it.get_output_details())


def test_posenet_is_not_movenet(models_dir):
    it = interpreter(models_dir / POSENET)
    assert not matches_signature(it.get_input_details(), it.get_output_details())


def test_signature_checks_shapes_and_types():
    u8, f32 = np.uint8, np.float32
    good_in = {"shape": np.array([1, 192, 192, 3]), "dtype": u8}
    good_out = {"shape": np.array([1, 1, 17, 3]), "dtype": f32}
    assert matches_signature([good_in], [good_out])
    assert matches_signature([{"shape": [1, 256, 256, 3], "dtype": u8}], [good_out])  # Thunder
    assert not matches_signature([{"shape": [1, 192, 192, 3], "dtype": f32}], [good_out])
    assert not matches_signature([good_in], [{"shape": [1, 6, 56], "dtype": f32}])  # multipose
    assert not matches_signature([good_in], [good_out, good_out])
    assert not matches_signature([{"shape": [1, 192, 192, 1], "dtype": u8}], [good_out])


# ---- decoding -------------------------------------------------------------------------------


def test_decode_gives_pixels_and_mean_of_confident_scores():
    out = np.zeros((1, 1, 17, 3), np.float32)
    out[0, 0, :, 0] = np.linspace(0.1, 0.9, 17)  # y
    out[0, 0, :, 1] = 0.25  # x
    out[0, 0, :, 2] = 0.1
    out[0, 0, [0, 5, 6], 2] = [0.9, 0.6, 0.3]
    xy, scores, pose_scores = decode_movenet(out, (192, 256))
    assert xy.shape == (1, 17, 2) and scores.shape == (1, 17) and pose_scores.shape == (1,)
    assert xy.dtype == np.float32
    np.testing.assert_allclose(xy[0, :, 0], 64.0)  # x * width
    np.testing.assert_allclose(xy[0, :, 1], np.linspace(0.1, 0.9, 17) * 192, rtol=1e-6)
    assert pose_scores[0] == pytest.approx(0.6)  # mean of 0.9, 0.6, 0.3; the 0.1s don't count


def test_decode_no_confident_keypoint_is_no_pose():
    out = np.full((1, 1, 17, 3), 0.5, np.float32)
    out[..., 2] = KEYPOINT_THRESHOLD  # not above
    xy, scores, pose_scores = decode_movenet(out, INPUT)
    assert xy.shape == (0, 17, 2) and scores.shape == (0, 17) and pose_scores.shape == (0,)


# ---- crop regions ---------------------------------------------------------------------------


def test_full_frame_is_square_padded_around_the_centre():
    assert full_frame_region((720, 1280)) == CropRegion(-280, 0, 1000, 1280)
    assert full_frame_region((610, 500)) == CropRegion(0, -55, 610, 555)
    assert full_frame_region((100, 100)) == CropRegion(0, 0, 100, 100)


def test_region_from_a_standing_person():
    scores = np.full(17, 0.8, np.float32)
    region = region_from_pose(STANDING, scores, (720, 1280))
    # centre = hips (400, 450); torso reaches 150 up (x1.9 = 285); body 210 up (x1.2 = 252)
    assert region == CropRegion(450 - 285, 400 - 285, 450 + 285, 400 + 285)
    # arms up: the body range wins
    arms_up = STANDING.copy()
    arms_up[KEYPOINT_INDEX["left_wrist"]] = [455, 100]
    region = region_from_pose(arms_up, scores, (720, 1280))
    assert region.height == pytest.approx(2 * 1.2 * 350)
    assert region.width == region.height


def test_unconfident_keypoints_do_not_stretch_the_region():
    scores = np.full(17, 0.8, np.float32)
    stray = STANDING.copy()
    stray[KEYPOINT_INDEX["left_wrist"]] = [1200, 20]
    scores[KEYPOINT_INDEX["left_wrist"]] = 0.05
    assert region_from_pose(stray, scores, (720, 1280)) == region_from_pose(
        STANDING, np.full(17, 0.8, np.float32), (720, 1280)
    )


def test_region_falls_back_to_full_frame():
    size = (720, 1280)
    no_hips = np.full(17, 0.8, np.float32)
    no_hips[[KEYPOINT_INDEX["left_hip"], KEYPOINT_INDEX["right_hip"]]] = 0.1
    assert not torso_visible(no_hips)
    assert region_from_pose(STANDING, no_hips, size) == full_frame_region(size)
    no_shoulders = np.full(17, 0.8, np.float32)
    no_shoulders[[KEYPOINT_INDEX["left_shoulder"], KEYPOINT_INDEX["right_shoulder"]]] = 0.0
    assert region_from_pose(STANDING, no_shoulders, size) == full_frame_region(size)
    # someone filling the frame: the crop would be bigger than half the long side
    huge = (STANDING - [400, 450]) * 3 + [640, 360]
    assert region_from_pose(huge, np.ones(17), size) == full_frame_region(size)


def test_region_is_clamped_to_the_furthest_image_edge():
    # hips at the right edge of a narrow tall frame: half side ≤ distance to the furthest edge
    xy = (STANDING - [400, 450]) * 0.5 + [295, 590]
    region = region_from_pose(xy, np.ones(17), (800, 300))
    assert region.bottom - 590 <= 590 + 1e-3
    assert region.width == pytest.approx(region.height)


def test_tracker_follows_and_forgets():
    size = (720, 1280)
    tracker = CropTracker()
    assert tracker.region(size) == full_frame_region(size)
    tracker.observe(STANDING, np.ones(17), size)
    followed = tracker.region(size)
    assert followed == region_from_pose(STANDING, np.ones(17), size)
    assert tracker.region((1080, 1920)) == full_frame_region((1080, 1920))  # new frame size
    tracker.observe(None, None, size)  # lost
    assert tracker.region(size) == full_frame_region(size)
    tracker.observe(STANDING, np.ones(17), size)
    tracker.reset()
    assert tracker.region(size) == full_frame_region(size)


def test_region_maps_input_pixels_back_to_source():
    region = CropRegion(100, 200, 300, 400)
    xy = np.array([[0, 0], [192, 192], [96, 48]], np.float32)
    np.testing.assert_allclose(region.to_source(xy, INPUT), [[200, 100], [400, 300], [300, 150]])


# ---- Coral's preprocessing, reproduced for the accuracy test ------------------------------------------------------------------------


def test_crop_whole_image_same_size_is_identity():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    np.testing.assert_array_equal(crop_and_resize(image, (0, 0, 40, 60), (40, 60)), image)
    np.testing.assert_array_equal(
        crop_and_resize(image, (10, 20, 30, 50), (20, 30)), image[10:30, 20:50]
    )


def test_half_size_is_the_mean_of_2x2_blocks():
    # half-pixel centres: output pixel i samples source 2i + 0.5, between pixels 2i and 2i+1
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    expected = image.reshape(32, 2, 24, 2, 3).astype(np.float32).mean(axis=(1, 3))
    got = crop_and_resize(image, (0, 0, 64, 48), (32, 24)).astype(np.float32)
    assert np.abs(got - expected).max() <= 1.0  # truncation to uint8


def test_outside_the_image_is_black():
    image = np.full((50, 100, 3), 200, np.uint8)
    out = crop_and_resize(image, full_frame_region((50, 100)).as_tuple(), (100, 100))
    assert (out[:20] == 0).all() and (out[80:] == 0).all()  # 25 rows of padding each side
    assert (out[30:70] == 200).all()
    assert out.dtype == np.uint8 and out.shape == (100, 100, 3)


# ---- the real model -------------------------------------------------------------------------


def load_reference(reference_dir):
    path = reference_dir / "movenet_single_pose_lightning_ptq_reference.csv"
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 17
    ref = np.array(
        [[float(r["keypoint_x"]), float(r["keypoint_y"]), float(r["keypoint_score"])] for r in rows]
    )
    return ref[:, :2], ref[:, 2]


def check_against_reference(xy_norm, scores, ref_xy, ref_scores):
    """Coral's check: ±0.04 normalised on keypoints both score > 0.4, at least half of them."""
    checked = (ref_scores > 0.4) & (scores > 0.4)
    assert checked.sum() >= 17 // 2
    err = np.abs(xy_norm[checked] - ref_xy[checked])
    assert err.max() <= 0.04, f"keypoint error {err.max():.3f} > 0.04"


def test_accuracy_against_coral_reference(lightning, squat, reference_dir):
    """Coral's preprocessing: the whole image, bilinear (half-pixel centres) to 192x192."""
    h, w = squat.shape[:2]
    ref_xy, ref_scores = load_reference(reference_dir)
    xy, scores, pose_scores = decode_movenet(
        lightning(crop_and_resize(squat, (0, 0, h, w), INPUT)), INPUT
    )
    assert len(xy) == 1
    check_against_reference(xy[0] / [INPUT[1], INPUT[0]], scores[0], ref_xy, ref_scores)
    assert pose_scores[0] == pytest.approx(scores[0][scores[0] > KEYPOINT_THRESHOLD].mean())


def small_person_scene(squat: np.ndarray, truth: np.ndarray, scale: float, canvas_hw):
    """The squat image shrunk by ``scale`` near the floor of an empty canvas, with its truth."""
    h, w = squat.shape[:2]
    sh, sw = round(h * scale), round(w * scale)
    small = np.asarray(Image.fromarray(squat).resize((sw, sh), Image.BILINEAR))
    canvas = np.zeros((*canvas_hw, 3), np.uint8)
    top, left = canvas_hw[0] - sh - 40, canvas_hw[1] // 3
    canvas[top : top + sh, left : left + sw] = small
    return canvas, truth * [sw / w, sh / h] + [left, top], sh


@pytest.fixture(scope="module")
def squat_truth(lightning, squat):
    """Keypoints on the full-size squat image (square-padded), and which ones are reliable."""
    found = detect(lightning, squat, full_frame_region(squat.shape[:2]))
    assert found is not None
    xy, scores = found
    return xy, scores > 0.3


@pytest.mark.parametrize(
    "scale, canvas_hw", [(0.25, (720, 1280)), (0.35, (1080, 1920)), (0.25, (1080, 1920))]
)
def test_crop_tracking_finds_a_small_person(lightning, squat, squat_truth, scale, canvas_hw):
    truth, reliable = squat_truth
    assert reliable.sum() >= 12
    canvas, expected, person_h = small_person_scene(squat, truth, scale, canvas_hw)

    def error(found) -> float:
        """Mean keypoint distance to the truth, in person heights (inf if not found)."""
        if found is None:
            return float("inf")
        xy, _ = found
        return float(np.linalg.norm(xy[reliable] - expected[reliable], axis=1).mean()) / person_h

    h, w = canvas_hw
    untracked = [
        error(detect(lightning, canvas, CropRegion(0, 0, h, w))),  # stretched, like a still
        error(detect(lightning, canvas, full_frame_region(canvas_hw))),  # square-padded
    ]
    tracker = CropTracker()
    tracked = []
    for _ in range(4):
        region = tracker.region(canvas_hw)
        found = detect(lightning, canvas, region)
        tracker.observe(*(found or (None, None)), canvas_hw)
        tracked.append(error(found))
    assert tracked[0] == pytest.approx(untracked[1])  # the first frame looks at everything
    assert max(tracked[2:]) < 0.05, tracked
    assert max(tracked[2:]) < 0.5 * min(untracked), (tracked, untracked)
    crop = tracker.region(canvas_hw)
    assert crop.height < 0.5 * h  # zoomed in on the person


# ---- through PoseEngine ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(models_dir):
    return PoseEngine("movenet-lightning", device="cpu")


@pytest.mark.parametrize("name", [LIGHTNING, LIGHTNING_TPU])
def test_engine_registry_recognises_both_builds(models_dir, name):
    assert recognise(read_model(models_dir / name)) is MoveNetFamily


def test_engine_runs_movenet_by_catalogue_name(engine):
    assert isinstance(engine.family, MoveNetFamily)
    assert engine.input_size == (192, 192) and engine.device == "cpu"
    assert not engine.family.tracking  # stills by default


def test_engine_recognises_a_renamed_file(models_dir, tmp_path, squat):
    renamed = tmp_path / "my_dancer_model.tflite"
    renamed.write_bytes((models_dir / LIGHTNING).read_bytes())
    result = PoseEngine(renamed, device="cpu").detect(squat)
    assert isinstance(result.poses, list) and len(result.poses) == 1


def test_engine_accuracy_against_coral_reference(engine, squat, reference_dir):
    """The engine's own (nearest-neighbour) resize still meets Coral's tolerance."""
    h, w = squat.shape[:2]
    result = engine.detect(squat)
    assert result.image_size == (h, w) and result.input_size == INPUT
    assert len(result.poses) == 1
    pose = result.poses[0]
    assert pose.xy.shape == (17, 2) and pose.scores.shape == (17,)
    ref_xy, ref_scores = load_reference(reference_dir)
    check_against_reference(pose.xy / [w, h], pose.scores, ref_xy, ref_scores)
    assert pose.score == pytest.approx(pose.scores[pose.scores > KEYPOINT_THRESHOLD].mean())
    assert pose["left_ankle"].y > pose["left_hip"].y > pose["left_shoulder"].y  # source pixels


@pytest.mark.parametrize("name", ["two_people.bmp", "couple.jpg"])
def test_engine_gives_one_pose_even_for_two_people(engine, images_dir, name):
    result = engine.detect(Image.open(images_dir / name))
    assert len(result.poses) == 1
    assert result.poses[0].score > 0.3


def test_engine_finds_nobody_in_an_empty_frame(engine):
    for image in (np.zeros((720, 1280, 3), np.uint8), np.full((480, 640, 3), 128, np.uint8)):
        assert engine.detect(image).poses == []


def test_engine_decoder_overrides(models_dir, squat):
    assert PoseEngine("movenet-lightning", device="cpu", max_poses=0).detect(squat).poses == []
    strict = PoseEngine("movenet-lightning", device="cpu", score_threshold=0.99)
    assert strict.detect(squat).poses == []


def test_engine_refuses_a_fixed_size_change(models_dir):
    with pytest.raises(ModelError, match="192x192"):
        PoseEngine("movenet-lightning", device="cpu", input_size=(256, 256))


def _without_names(message: str, path) -> str:
    return message.replace(str(path), "<model>").split("use the CPU model")[0]


@pytest.mark.parametrize("device", ["auto", "edgetpu", "cpu"])
def test_edgetpu_build_fails_like_posenet_without_a_tpu(models_dir, device):
    """No Edge TPU here: the same one-line DeviceError as PoseNet's Edge TPU models."""
    movenet = models_dir / LIGHTNING_TPU
    posenet = models_dir / "posenet_mobilenet_v1_075_481_641_16_quant_decoder_edgetpu.tflite"
    with pytest.raises(DeviceError) as mine:
        PoseEngine(movenet, device=device)
    with pytest.raises(DeviceError) as theirs:
        PoseEngine(posenet, device=device)
    message = str(mine.value)
    assert "\n" not in message and "Edge TPU" in message
    assert "movenet-lightning" in message  # names the CPU model to use instead
    assert _without_names(message, movenet) == _without_names(str(theirs.value), posenet)


def test_catalogue_name_on_edgetpu_device_fails_clearly(models_dir):
    with pytest.raises(DeviceError, match="--device cpu"):
        PoseEngine("movenet-lightning", device="edgetpu")


def test_engine_tracking_finds_a_small_person(squat, squat_truth):
    truth, reliable = squat_truth
    canvas_hw = (1080, 1920)
    canvas, expected, person_h = small_person_scene(squat, truth, 0.3, canvas_hw)

    def error(result) -> float:
        if not result.poses:
            return float("inf")
        xy = result.poses[0].xy
        return float(np.linalg.norm(xy[reliable] - expected[reliable], axis=1).mean()) / person_h

    still = PoseEngine("movenet-lightning", device="cpu")
    untracked = [error(still.detect(canvas)) for _ in range(3)]
    assert untracked[0] == untracked[2]  # stills: no state between images

    video = PoseEngine("movenet-lightning", device="cpu", tracking=True)
    assert video.family.region(canvas_hw) == full_frame_region(canvas_hw).as_tuple()
    tracked = [error(video.detect(canvas)) for _ in range(4)]
    print(f"error in person heights: untracked {untracked[0]:.3f}, tracked {tracked}")
    assert max(tracked[2:]) < 0.05, tracked
    assert max(tracked[2:]) < 0.5 * untracked[0], (tracked, untracked)
    top, left, bottom, right = video.family.region(canvas_hw)
    assert bottom - top < 0.5 * canvas_hw[0]  # zoomed in on the person

    # the person leaves: nobody found, and the next frame looks at the whole frame again
    assert video.detect(np.zeros_like(canvas)).poses == []
    assert video.family.region(canvas_hw) == full_frame_region(canvas_hw).as_tuple()
    # reset() forgets the person (a new video)
    video.detect(canvas)
    video.detect(canvas)
    video.reset()
    assert video.family.region(canvas_hw) == full_frame_region(canvas_hw).as_tuple()
