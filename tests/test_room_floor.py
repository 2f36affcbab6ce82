"""The room's floor: calibration from points, floor positions with known truth (a synthetic
camera over a known floor), in the pose stream and back through replay."""

from __future__ import annotations

import numpy as np
import pytest

from posestage import FloorPosition, hookimpl, read_posestream
from posestage.config.room import fit_calibration
from posestage.config.scenes import parse_scene
from posestage.errors import SceneError
from posestage.testing import PosedImages, RoomCamera, run_plugins
from posestage.tracking.floor import FloorMap, ground_points
from posestage.tracking.tracker import Tracker

CAM = RoomCamera()


def walk(t: float) -> tuple[float, float]:
    """A walk across the floor at about 1.2 m/s, bending a little."""
    return 0.5 + 1.2 * t, 1.0 + 0.5 * np.sin(1.5 * t)


def test_calibration_recovers_the_floor_and_its_error():
    room = CAM.room()
    cal = fit_calibration(room["image"], room["floor"])
    assert cal.error < 1e-6
    truth = np.array([[0.3, 0.4], [3.7, 1.2], [2.0, 3.9]])
    assert np.allclose(cal.to_floor(CAM.to_image(truth)), truth, atol=1e-6)
    assert np.allclose(cal.to_image(truth), CAM.to_image(truth), atol=1e-6)
    # more points than four, clicked with 1.5 px of noise: least squares, the error says so
    floor = [(0, 0), (4, 0), (4, 4), (0, 4), (2, 2), (1, 3), (3, 1)]
    noisy = CAM.room(floor=floor, error=1.5, seed=3)
    cal = fit_calibration(noisy["image"], noisy["floor"])
    assert 0.5 < cal.error < 3.0
    assert np.allclose(cal.to_floor(CAM.to_image(truth)), truth, atol=0.05)


@pytest.mark.parametrize(
    ("room", "message"),
    [
        ("image = [[0,0],[1,0],[2,0],[3,0]]\nfloor = [[0,0],[1,0],[2,0],[3,0]]", "do not span"),
        ("image = [[0,0],[9,0],[9,9],[0,9]]\nfloor = [[0,0],[1,0],[1,1]]", "at least 4"),
        (
            "image = [[0,0],[9,0],[9,9],[0,9],[5,5]]\nfloor = [[0,0],[1,0],[1,1],[0,1]]",
            "same order",
        ),
        ("image = [[0,0],[9,0],[9,9],[0,9]]", "room.floor: missing"),
        ('image = [[0,0],[9,0],[9,9],["a",9]]\nfloor = [[0,0],[1,0],[1,1],[0,1]]', "point 4"),
        ("zones.door = [[0,0],[1,0]]", "zone door: expected a list of at least 3"),
        ('zones."a b" = [[0,0],[1,0],[1,1]]', "zone name 'a b'"),
        ("wall = 3", "room.wall: unknown setting"),
    ],
)
def test_a_bad_room_is_one_line_naming_it(room, message):
    with pytest.raises(SceneError, match=message) as err:
        parse_scene(f"[room]\n{room}\n", "x.toml")
    assert str(err.value).startswith("x.toml: room")
    assert "\n" not in str(err.value)


def test_a_camera_looking_across_the_room_has_its_horizon_in_the_picture():
    # the docs' example: the picture's corner (0, 0) is sky, above the floor's horizon; the fit
    # must still face the floor (it was refused as "on or above the horizon")
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "room.md").read_text()
    table = re.search(r"```toml\n(\[room\]\n.*?)```", text, re.S).group(1)
    cal = parse_scene(table).room_settings().calibration
    assert cal.error < 0.01
    floor = np.array(cal.floor, dtype=float)
    assert np.allclose(cal.to_floor(cal.image), floor, atol=1e-6)
    assert np.isnan(cal.to_floor([(320.0, 0.0)])).all()  # the sky has no floor


def test_ground_points_feet_then_knees_then_hips():
    pose = CAM.pose(2.0, 2.0)
    xy, scores = pose.xy[None], pose.scores[None].copy()
    point, score, basis = ground_points(xy, scores)
    assert basis[0] == 0 and np.allclose(point[0], CAM.to_image([(2.0, 2.0)])[0], atol=0.2)
    scores[0, 15:] = 0.0  # ankles hidden: from the knees
    point, score_knees, basis = ground_points(xy, scores)
    assert basis[0] == 1 and score_knees[0] < score[0]
    scores[0, 13:] = 0.0  # knees too: from hips and shoulders, lower still
    point, score_hips, basis = ground_points(xy, scores)
    assert basis[0] == 1 and score_hips[0] < score_knees[0]
    assert np.hypot(*(FloorMap(fit_calibration(**CAM.room())).to_floor(point, 640)[0] - 2)) < 0.3
    scores[0, 5:] = 0.0  # nothing below the head: no floor position
    point, _, basis = ground_points(xy, scores)
    assert basis[0] == -1 and np.isnan(point).all()


@pytest.mark.parametrize("fps", [15, 30, 60])
@pytest.mark.parametrize("mirrored", [False, True])
def test_floor_positions_within_centimetres_of_the_truth(fps, mirrored):
    """A walker seen with 1 px of keypoint noise: feet within a few centimetres; feet hidden
    for 0.7 s: from the hips, within 25 cm and with a lower score; still: within 2 cm."""
    tracker = Tracker()
    tracker.floor = FloorMap(fit_calibration(**CAM.room()), mirrored)
    rng = np.random.default_rng(fps)
    feet, hips, still = [], [], []
    for i in range(4 * fps):
        t = i / fps
        x, y = walk(min(t, 3.0))
        pose = CAM.pose(x, y, noise=1.0, rng=rng, feet_hidden=1.3 <= t < 2.0, stride=0.3)
        if mirrored:
            pose.xy[:, 0] = 639 - pose.xy[:, 0]
        (person,) = tracker.update([pose], 640, 480, 100.0 + t).people
        where = person.floor
        assert isinstance(where, FloorPosition)
        off = np.hypot(where.x - x, where.y - y)
        if 1.3 <= t < 2.0:
            assert where.basis == "hips" and where.score < 0.5
            hips.append(off)
        elif t > 3.3:
            still.append(off)
        elif t > 0.2:
            assert where.basis == "feet" and where.score == pytest.approx(0.9)
            feet.append(off)
    assert np.median(feet) < 0.03 and max(feet) < 0.08
    assert max(hips) < 0.25
    assert max(still) < 0.02


def test_a_picture_of_another_size_is_scaled_to_the_calibration():
    """Calibrated on 640x480 pictures (``size``), run at 1280x960: the same floor."""
    tracker = Tracker()
    tracker.floor = FloorMap(fit_calibration(**CAM.room(), size=(640, 480)))
    pose = CAM.pose(2.5, 1.5)
    pose.xy = pose.xy * 2
    (person,) = tracker.update([pose], 1280, 960, 1.0).people
    assert np.hypot(person.floor.x - 2.5, person.floor.y - 1.5) < 0.01
    unsized = Tracker()
    unsized.floor = FloorMap(fit_calibration(**CAM.room()))
    (person,) = unsized.update([pose], 1280, 960, 1.0).people
    assert np.hypot(person.floor.x - 2.5, person.floor.y - 1.5) > 0.5  # the points as given
    scene = parse_scene('[room]\nsize = "640x480"\nimage = [[0,0],[9,0],[9,9],[0,9]]\n'
                        "floor = [[0,0],[1,0],[1,1],[0,1]]\n")  # fmt: skip
    assert scene.room_settings().calibration.size == (640, 480)


def test_no_calibration_no_floor():
    tracker = Tracker()
    (person,) = tracker.update([CAM.pose(2.0, 2.0)], 640, 480, 1.0).people
    assert person.floor is None


def test_floor_positions_in_the_stream_and_back_through_replay(tmp_path):
    """Recorded with a calibrated scene, the stream keeps each person's floor position;
    replayed in a scene without a calibration, the people stand where they stood."""
    rng = np.random.default_rng(5)
    people = [[CAM.pose(*walk(i / 30), noise=0.5, rng=rng)] for i in range(40)]
    source = PosedImages([np.zeros((480, 640, 3), np.uint8)], people)
    out = tmp_path / "rec.jsonl"
    seen = []

    class Watch:
        @hookimpl
        def posestage_frame(self, frame):
            seen.append([p.floor for p in frame.people])

    run = run_plugins(
        [("recorder", {"path": str(out)}), Watch()], source=source, room=CAM.room(), mirror=False
    )
    assert run.errors == []
    _, stream = read_posestream(out)
    recorded = [p.floor for f in stream for p in f.people]
    assert len(recorded) == 40 and all(isinstance(f, FloorPosition) for f in recorded)
    for got, want in zip(recorded, [s[0] for s in seen], strict=True):
        assert got.x == pytest.approx(want.x, abs=1e-3) and got.basis == want.basis
    replayed = []

    class Again:
        @hookimpl
        def posestage_frame(self, frame):
            replayed.extend(p.floor for p in frame.people)

    run = run_plugins([Again()], source=str(out))
    assert run.errors == []
    assert len(replayed) == 40 and all(f is not None for f in replayed)
    last = walk(39 / 30)
    assert np.hypot(replayed[-1].x - last[0], replayed[-1].y - last[1]) < 0.05
