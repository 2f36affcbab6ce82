"""Tracker: stable ids through crossings and dropouts, reusable slots, enter/leave, smoothing.

Synthetic people walk across a 640x480 image at 30 fps; each detection carries its true
identity in ``truth`` so a test can check which id the tracker gave to whom. Detections are
shuffled every frame, as a decoder gives no order. The real-pose tests use the two people that
PoseNet found in ``images/two_people.bmp`` (``reference/*_quant_decoder_reference.csv``).
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from posestage.errors import PosestageError, SceneError
from posestage.model.keypoints import KEYPOINT_NAMES
from posestage.model.people import Person
from posestage.model.poses import Pose
from posestage.model.synthetic import standing_xy
from posestage.tracking.tracker import Tracker, TrackingSettings, TrackUpdate

W, H = 640, 480
DT = 1.0 / 30.0
FLOOR = 460.0


def person_pose(
    cx: float, height: float, rng=None, jitter: float = 0.0, score: float = 0.8
) -> Pose:
    """A pose of someone ``height`` px tall standing on the floor at x = ``cx``."""
    xy = standing_xy(cx, FLOOR, height)
    if rng is not None and jitter:
        xy = xy + rng.normal(0, jitter, xy.shape)
    scores = np.full(17, 0.9, dtype=np.float32)
    return Pose(score=score, xy=xy.astype(np.float32), scores=scores)


def run(tracker: Tracker, frames: list[dict], t0: float = 0.0, seed: int = 0):
    """Feed ``frames`` (each {truth name: Pose}) shuffled; yield (update, {truth: Person})."""
    rng = np.random.default_rng(seed)
    for i, frame in enumerate(frames):
        names = list(frame)
        rng.shuffle(names)
        update = tracker.update([frame[n] for n in names], W, H, t0 + i * DT)
        by_truth = {}
        for name in names:
            matches = [p for p in update.people if np.array_equal(p.raw_xy, frame[name].xy)]
            assert len(matches) == 1, f"frame {i}: {name} not reported exactly once"
            by_truth[name] = matches[0]
        yield update, by_truth


def ids_per_truth(results) -> dict[str, set[int]]:
    seen: dict[str, set[int]] = {}
    for _, by_truth in results:
        for name, person in by_truth.items():
            seen.setdefault(name, set()).add(person.id)
    return seen


# -- crossing ------------------------------------------------------------------------------


def crossing(steps: int = 40, speed: float = 12.0, heights=(300.0, 250.0), jitter=1.5, seed=5):
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(steps):
        a = 320 - speed * steps / 2 + speed * i
        b = 320 + speed * steps / 2 - speed * i
        frames.append(
            {
                "tall": person_pose(a, heights[0], rng, jitter),
                "short": person_pose(b, heights[1], rng, jitter),
            }
        )
    return frames


@pytest.mark.parametrize("predict", [True, False])
def test_two_people_crossing_keep_their_ids_and_slots(predict):
    # Different heights: the keypoint distance alone tells them apart, even without prediction.
    tracker = Tracker(TrackingSettings(predict=predict))
    results = list(run(tracker, crossing()))
    ids = ids_per_truth(results)
    assert len(ids["tall"]) == 1 and len(ids["short"]) == 1
    assert ids["tall"] != ids["short"]
    slots = {(name, p.slot) for _, by in results for name, p in by.items()}
    assert len(slots) == 2  # each keeps one slot
    first, *rest = [u for u, _ in results]
    assert len(first.entered) == 2 and not first.left
    assert all(not u.entered and not u.left for u in rest)
    assert [p.slot for p in first.people] == [0, 1]
    assert results[-1][0].people[0].age == 40


def test_same_size_fast_crossing_needs_prediction():
    # Same build, 40 px per frame: between frames 4 and 5 they swap sides (300 ↔ 340). Only
    # the velocity prediction tells who is who; without it the ids swap.
    frames = crossing(steps=9, speed=40.0, heights=(280.0, 280.0), jitter=0.0)
    with_prediction = ids_per_truth(run(Tracker(), frames))
    assert all(len(v) == 1 for v in with_prediction.values())
    without = ids_per_truth(run(Tracker(TrackingSettings(predict=False)), frames))
    assert any(len(v) > 1 for v in without.values())


def test_crossing_with_occlusion_keeps_the_hidden_id():
    # The short one walks behind the tall one and is not detected for 5 frames.
    frames = crossing()
    for i in range(18, 23):
        del frames[i]["short"]
    tracker = Tracker()
    results = list(run(tracker, frames))
    ids = ids_per_truth(results)
    assert len(ids["short"]) == 1 and len(ids["tall"]) == 1
    short_id = ids["short"].pop()
    for i in range(18, 23):
        update, _ = results[i]
        hidden = [p for p in update.people if p.id == short_id]
        assert len(hidden) == 1, "a person in a dropout is still reported"
        assert hidden[0].missing == i - 17
        assert not update.left and not update.entered
    # Held, not extrapolated: the position reported during the dropout is the last one seen.
    held = [p for p in results[20][0].people if p.id == short_id][0]
    last = [p for p in results[17][0].people if p.id == short_id][0]
    np.testing.assert_array_equal(held.xy, last.xy)
    back = [p for p in results[23][0].people if p.id == short_id][0]
    assert back.missing == 0
    np.testing.assert_array_equal(back.xy, back.raw_xy)  # smoothing restarted


# -- dropout, leaving, entering, slots ------------------------------------------------------


def test_id_survives_dropout_up_to_max_missing_then_leaves():
    tracker = Tracker(TrackingSettings(max_missing=3))
    pose = person_pose(200, 300)
    first = tracker.update([pose], W, H, 0.0)
    (alice,) = first.entered
    for k in range(1, 4):
        update = tracker.update([], W, H, k * DT)
        assert [p.id for p in update.people] == [alice.id]
        assert update.people[0].missing == k
        assert update.people[0].age == k + 1
        assert not update.left
    update = tracker.update([], W, H, 4 * DT)
    assert update.people == []
    assert [p.id for p in update.left] == [alice.id]
    assert update.left[0].slot == 0
    # Coming back after the grace is a new person: new id, the freed slot.
    update = tracker.update([person_pose(200, 300)], W, H, 5 * DT)
    assert update.entered[0].id != alice.id and update.entered[0].slot == 0


def test_max_missing_zero_leaves_at_first_missed_frame():
    tracker = Tracker(TrackingSettings(max_missing=0))
    tracker.update([person_pose(200, 300)], W, H, 0.0)
    update = tracker.update([], W, H, DT)
    assert len(update.left) == 1 and update.people == []


def test_leaver_frees_slot_for_newcomer_with_new_id():
    tracker = Tracker(TrackingSettings(max_missing=2))
    frames = [{"ann": person_pose(150, 300), "bob": person_pose(480, 280)} for _ in range(5)]
    frames += [{"bob": person_pose(480, 280)} for _ in range(3)]  # ann walks off
    frames += [{"bob": person_pose(480, 280), "cid": person_pose(250, 260)} for _ in range(3)]
    results = list(run(tracker, frames))
    first = results[0][0]
    ann, bob = results[0][1]["ann"], results[0][1]["bob"]
    assert {ann.slot, bob.slot} == {0, 1}
    assert [u.left for u, _ in results[5:7]] == [[], []]
    left = results[7][0].left
    assert [p.id for p in left] == [ann.id]
    cid = results[8][1]["cid"]
    assert results[8][0].entered == [cid]
    assert cid.slot == ann.slot and cid.id not in (ann.id, bob.id)
    assert all(by["bob"].id == bob.id and by["bob"].slot == bob.slot for _, by in results)
    assert len(first.entered) == 2


def test_three_people_middle_leaves_slots_hold_and_refill():
    tracker = Tracker(TrackingSettings(max_missing=1))
    # They walk in one at a time: slots 0, 1, 2 in order of arrival.
    frames = [{"a": person_pose(100, 300)}]
    frames.append({"a": person_pose(100, 300), "b": person_pose(320, 300)})
    frames += [{k: person_pose(x, 300) for k, x in (("a", 100), ("b", 320), ("c", 540))}] * 3
    frames += [{"a": person_pose(100, 300), "c": person_pose(540, 300)}] * 2  # b leaves
    frames += [{k: person_pose(x, 300) for k, x in (("a", 100), ("d", 300), ("c", 540))}]
    frames += [{k: person_pose(x, 300) for k, x in (("a", 100), ("d", 300), ("c", 540))}]
    frames[-1]["e"] = person_pose(420, 200)
    results = list(run(tracker, frames))
    by = results[2][1]
    assert (by["a"].slot, by["b"].slot, by["c"].slot) == (0, 1, 2)
    assert [p.slot for p in results[2][0].people] == [0, 1, 2]
    assert results[6][0].left[0].id == by["b"].id
    assert [p.slot for p in results[6][0].people] == [0, 2]
    d = results[7][1]["d"]
    assert d.slot == 1 and d.id not in {p.id for p in by.values()}
    assert results[8][1]["e"].slot == 3
    for _, frame in results:
        assert frame["a"].slot == 0 and frame["a"].id == by["a"].id
        if "c" in frame:
            assert frame["c"].slot == 2 and frame["c"].id == by["c"].id


def test_people_entering_together_get_slots_by_score():
    tracker = Tracker()
    update = tracker.update(
        [person_pose(100, 300, score=0.4), person_pose(500, 300, score=0.9)], W, H, 0.0
    )
    assert [(p.slot, p.score) for p in update.entered] == [
        (0, pytest.approx(0.9)),
        (1, pytest.approx(0.4)),
    ]
    assert [p.id for p in update.people] == [1, 2]


def test_ids_are_never_reused_even_after_reset():
    tracker = Tracker(TrackingSettings(max_missing=0))
    seen = []
    for k in range(4):
        seen.append(tracker.update([person_pose(300, 300)], W, H, 2 * k * DT).entered[0].id)
        tracker.update([], W, H, (2 * k + 1) * DT)
    dropped = tracker.reset()
    assert dropped == []
    tracker.update([person_pose(300, 300)], W, H, 10.0)
    dropped = tracker.reset()
    assert len(dropped) == 1 and dropped[0].id not in seen
    assert len(set(seen)) == 4
    assert tracker.people == []
    assert tracker.update([person_pose(300, 300)], W, H, 11.0).entered[0].slot == 0


def test_gate_refuses_far_jumps():
    tracker = Tracker(TrackingSettings(max_missing=2))
    first = tracker.update([person_pose(100, 300)], W, H, 0.0).entered[0]
    update = tracker.update([person_pose(560, 300)], W, H, DT)  # across the stage in 33 ms
    assert len(update.entered) == 1 and update.entered[0].id != first.id
    assert [p.missing for p in update.people] == [1, 0]


def test_image_size_change_ends_everyone():
    tracker = Tracker()
    tracker.update([person_pose(100, 300)], W, H, 0.0)
    update = tracker.update([person_pose(100, 300)], 1280, 720, DT)
    assert len(update.left) == 1 and len(update.entered) == 1
    assert update.people[0].width == 1280 and update.people[0].height == 720


def test_weak_and_broken_poses_are_ignored():
    tracker = Tracker(TrackingSettings(min_pose_score=0.3))
    nan_xy = person_pose(300, 300)
    nan_xy.xy[3] = np.nan
    wrong_shape = Pose(0.9, np.zeros((5, 2), np.float32), np.ones(5, np.float32))
    update = tracker.update([person_pose(100, 300, score=0.1), nan_xy, wrong_shape], W, H, 0.0)
    assert update.people == [] and update.entered == []


def test_few_confident_keypoints_fall_back_to_weighted_distance():
    # Only the shoulders confident (people half out of frame, in the dark): still told apart.
    def weak(cx: float) -> Pose:
        pose = person_pose(cx, 300)
        pose.scores[:] = 0.05
        pose.scores[[5, 6]] = 0.9
        return pose

    frames = [{"a": weak(100 + 5 * i), "b": weak(400 - 5 * i)} for i in range(10)]
    ids = ids_per_truth(run(Tracker(), frames, seed=3))
    assert len(ids["a"]) == 1 and len(ids["b"]) == 1 and ids["a"] != ids["b"]


# -- smoothing in the tracker ----------------------------------------------------------------


def test_smoothing_reduces_jitter_and_keeps_raw():
    rng = np.random.default_rng(9)
    tracker = Tracker()
    truth = person_pose(300, 300).xy
    errors_raw, errors_smooth = [], []
    for i in range(90):
        pose = person_pose(300, 300, rng, jitter=2.0)
        person = tracker.update([pose], W, H, i * DT).people[0]
        assert np.array_equal(person.raw_xy, pose.xy)  # the detection as it came (a copy)
        if i >= 15:
            errors_raw.append(person.raw_xy - truth)
            errors_smooth.append(person.xy - truth)
    assert person.xy.dtype == np.float32 and person.xy.shape == (17, 2)
    assert np.var(errors_smooth) < 0.3 * np.var(errors_raw)


def test_smoothing_off_reports_raw_positions():
    rng = np.random.default_rng(9)
    tracker = Tracker(TrackingSettings(smoothing=False))
    for i in range(5):
        pose = person_pose(300, 300, rng, jitter=2.0)
        person = tracker.update([pose], W, H, i * DT).people[0]
        np.testing.assert_array_equal(person.xy, pose.xy)


def test_settings_change_live_applies_to_running_filters():
    rng = np.random.default_rng(4)
    tracker = Tracker()
    for i in range(5):
        tracker.update([person_pose(300, 300, rng, 2.0)], W, H, i * DT)
    tracker.settings = TrackingSettings(min_cutoff=0.2, beta=0.0)
    assert tracker._tracks[0].filter.min_cutoff == 0.2
    assert tracker._tracks[0].filter.beta == 0.0


def test_replay_reproduces_exactly():
    frames = crossing(jitter=3.0)

    def positions():
        return [
            np.stack([p.xy for p in update.people])
            for update, _ in run(Tracker(), frames, t0=1_732_660_000.0, seed=1)  # wall clock
        ]

    for a, b in zip(positions(), positions(), strict=True):
        np.testing.assert_array_equal(a, b)


# -- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"max_missing": -1}, "max_missing"),
        ({"max_missing": 2.5}, "max_missing"),
        ({"max_distance": 0}, "max_distance"),
        ({"beta": -0.1}, "beta"),
        ({"min_cutoff": float("nan")}, "min_cutoff"),
        ({"min_pose_score": 1.5}, "min_pose_score"),
        ({"smoothing": "yes"}, "smoothing"),
        ({"d_cutoff": "fast"}, "d_cutoff"),
        ({"max_missing_seconds": -0.5}, "max_missing_seconds"),
        ({"max_missing_seconds": float("nan")}, "max_missing_seconds"),
    ],
)
def test_bad_settings_name_the_option(kwargs, name):
    with pytest.raises(SceneError) as err:
        TrackingSettings(**kwargs)
    message = str(err.value)
    assert message.startswith(f"tracking.{name}: ") and "expected" in message
    assert "\n" not in message
    assert isinstance(err.value, PosestageError)


def test_settings_from_mapping():
    settings = TrackingSettings.from_mapping({"max_missing": 4, "beta": 2})
    assert settings.max_missing == 4 and settings.beta == 2.0
    with pytest.raises(SceneError, match="unknown setting 'max_mising'.*max_missing"):
        TrackingSettings.from_mapping({"max_mising": 4}, where="scene.toml [tracking]")


# -- real PoseNet poses ----------------------------------------------------------------------


def reference_poses(reference_dir) -> list[Pose]:
    """The two people PoseNet finds in two_people.bmp (640x480), from the shared reference."""
    path = reference_dir / "posenet_mobilenet_v1_075_481_641_quant_decoder_reference.csv"
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    poses = []
    for pid in sorted({r["pose_id"] for r in rows}):
        mine = [r for r in rows if r["pose_id"] == pid]
        assert [r["keypoint_label"].lower() for r in mine] == list(KEYPOINT_NAMES)
        xy = np.array([[float(r["keypoint_x"]), float(r["keypoint_y"])] for r in mine], np.float32)
        scores = np.array([float(r["keypoint_score"]) for r in mine], np.float32)
        poses.append(Pose(float(mine[0]["pose_score"]), xy, scores))
    return poses


def test_real_poses_swap_places_with_stable_ids(reference_dir):
    # The two real people walk past each other (each ends where the other started), with
    # detector-like jitter, shuffled detection order, and a 3-frame miss of the second one.
    left_person, right_person = sorted(
        reference_poses(reference_dir), key=lambda p: p.xy[:, 0].mean()
    )
    gap = right_person.xy[:, 0].mean() - left_person.xy[:, 0].mean()
    rng = np.random.default_rng(11)
    frames = []
    steps = 30
    for i in range(steps + 1):
        shift = gap * i / steps
        frame = {}
        for name, pose, sign in (("L", left_person, 1), ("R", right_person, -1)):
            xy = pose.xy + [sign * shift, 0] + rng.normal(0, 1.5, pose.xy.shape)
            frame[name] = Pose(pose.score, xy.astype(np.float32), pose.scores.copy())
        if i in (14, 15, 16):
            del frame["R"]
        frames.append(frame)
    tracker = Tracker()
    results = list(run(tracker, frames, seed=2))
    ids = ids_per_truth(results)
    assert len(ids["L"]) == 1 and len(ids["R"]) == 1 and ids["L"] != ids["R"]
    assert all(not u.left for u, _ in results)
    assert sum(len(u.entered) for u, _ in results) == 2
    final = results[-1][1]
    assert final["L"].xy[:, 0].mean() > final["R"].xy[:, 0].mean()  # they did cross


def test_ten_people_keep_their_ten_ids():
    # How fast this is, is measured in bench/tracking.py (a test asserts behaviour, not speed).
    rng = np.random.default_rng(0)
    tracker = Tracker()
    xs = np.linspace(40, 600, 10)
    sizes = rng.uniform(150, 300, 10)
    for i in range(200):
        poses = [person_pose(x + 0.5 * i % 20, s, rng, 2.0) for x, s in zip(xs, sizes, strict=True)]
        update = tracker.update(poses, W, H, i * DT)
        assert len(update.people) == 10 and not update.left
    assert [p.id for p in update.people] == list(range(1, 11))
    assert [p.slot for p in update.people] == list(range(10))


def test_types():
    update = Tracker().update([person_pose(300, 300)], W, H, 0.0)
    assert isinstance(update, TrackUpdate) and isinstance(update.people[0], Person)
    person = update.people[0]
    assert person.first_seen == 0.0 and person.age == 1 and person.missing == 0
    assert person.xy_norm.max() <= 1.0


# -- the dropout grace is a time ------------------------------------------------------------


def walkers(fps: float, seconds: float, hidden: tuple[float, float], speed: float = 110.0):
    """Two people crossing at walking pace, ``fps`` frames a second, timestamps injected:
    "tall" walks right, "short" left; "short" is hidden (behind "tall") during ``hidden``."""
    frames, stamps = [], []
    for i in range(int(round(seconds * fps)) + 1):
        t = i / fps
        frame = {
            "tall": person_pose(100 + speed * t, 300.0),
            "short": person_pose(540 - speed * t, 250.0),
        }
        if hidden[0] <= t < hidden[1]:
            del frame["short"]
        frames.append(frame)
        stamps.append(t)
    return frames, stamps


def feed(tracker: Tracker, frames: list[dict], stamps: list[float]):
    """Like :func:`run` with explicit timestamps."""
    out = []
    for frame, t in zip(frames, stamps, strict=True):
        update = tracker.update(list(frame.values()), W, H, 1_700_000_000.0 + t)
        by_truth = {}
        for name, pose in frame.items():
            (person,) = [p for p in update.people if np.array_equal(p.raw_xy, pose.xy)]
            by_truth[name] = person
        out.append((update, by_truth))
    return out


@pytest.mark.parametrize("fps", [15, 30, 120])
def test_hidden_behind_another_for_up_to_a_second_keeps_the_id_at_any_frame_rate(fps):
    frames, stamps = walkers(fps, 4.0, hidden=(1.55, 2.5))  # hidden 0.95 s while they cross
    results = feed(Tracker(), frames, stamps)
    ids = ids_per_truth(results)
    assert len(ids["tall"]) == 1 and len(ids["short"]) == 1 and ids["tall"] != ids["short"]
    assert all(not u.left for u, _ in results)
    assert sum(len(u.entered) for u, _ in results) == 2
    hidden = [u for u, _ in results if len(u.people) == 2 and any(p.missing for p in u.people)]
    assert len(hidden) == pytest.approx(0.95 * fps, abs=1)  # reported, held, all along


@pytest.mark.parametrize("fps", [15, 30, 120])
def test_hidden_longer_than_the_grace_leaves_after_the_grace_at_any_frame_rate(fps):
    frames, stamps = walkers(fps, 4.0, hidden=(1.0, 2.5))  # 1.5 s out of sight
    results = feed(Tracker(TrackingSettings(max_missing_seconds=1.0)), frames, stamps)
    (left_at,) = [t for (u, _), t in zip(results, stamps, strict=True) if u.left]
    assert left_at == pytest.approx(1.0 - 1 / fps + 1.0, abs=1.01 / fps)  # last seen + 1 s
    assert len(ids_per_truth(results)["short"]) == 2  # back after the grace: a new id


@pytest.mark.parametrize("fps", [15, 30, 120])
@pytest.mark.parametrize("speed", [60.0, 110.0, 200.0])
def test_two_people_crossing_never_swap_ids(fps, speed):
    # Seen all along, and again with the far one hidden for 0.9 s around the crossing.
    meet = 220 / speed
    for hidden in ((0.0, 0.0), (meet - 0.45, meet + 0.45)):
        frames, stamps = walkers(fps, 440 / speed, hidden, speed)
        results = feed(Tracker(), frames, stamps)
        ids = ids_per_truth(results)
        assert len(ids["tall"]) == 1 and len(ids["short"]) == 1, (fps, speed, hidden)
        final = results[-1][1]
        assert final["tall"].xy[:, 0].mean() > final["short"].xy[:, 0].mean()  # they crossed


def test_max_missing_frames_is_still_accepted_and_replaces_the_time():
    tracker = Tracker(TrackingSettings(max_missing=2, max_missing_seconds=60.0))
    tracker.update([person_pose(200, 300)], W, H, 0.0)
    assert not tracker.update([], W, H, 10.0).left  # 10 s, but only one missed frame
    assert not tracker.update([], W, H, 10.1).left
    assert len(tracker.update([], W, H, 10.2).left) == 1  # third missed frame


def test_the_assignment_is_scipys_without_importing_scipy_optimize():
    """The tracker uses scipy's own compiled assignment (the same results, ties included) but
    does not pay for ``import scipy.optimize`` (linalg, sparse, special, fft) at start-up."""
    import json
    import subprocess
    import sys

    probe = (
        "import json, sys; from posestage.tracking.tracker import Tracker; Tracker(); "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('scipy.'))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "scipy.optimize" not in json.loads(done.stdout.strip().splitlines()[-1])

    from scipy.optimize import linear_sum_assignment

    from posestage.tracking.tracker import _load_assignment

    rng = np.random.default_rng(7)
    for shape in [(1, 1), (3, 5), (5, 3), (8, 8)]:
        for cost in (rng.random(shape), rng.integers(0, 3, shape).astype(float)):  # ties too
            got, want = _load_assignment()(cost), linear_sum_assignment(cost)
            assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
