"""The tracker at the frame's edge and on the floor, at 15, 30 and 60 fps: who leaves through
the edge frees their slot at once; who is hidden mid-frame keeps their id for the grace; who
comes back where they left within the grace gets their id and slot back."""

from __future__ import annotations

import numpy as np
import pytest

from posestage.config.room import fit_calibration
from posestage.model.poses import Pose
from posestage.model.synthetic import standing_xy
from posestage.testing import RoomCamera
from posestage.tracking.edges import EDGE_SECONDS
from posestage.tracking.floor import FloorMap
from posestage.tracking.tracker import Tracker

W, H = 640, 480
FPS = (15, 30, 60)


def seen_at(x: float, rng, feet_y: float = 450.0, tall: float = 300.0) -> Pose | None:
    """A person centred on ``x`` px: clipped at the edges as a detector sees them, gone when
    less than a third of their width is in the picture."""
    if not -20 < x < W + 20:
        return None
    xy = standing_xy(x, feet_y, tall) + rng.normal(0, 1.0, (17, 2))
    xy[:, 0] = np.clip(xy[:, 0], 0, W - 1)
    return Pose(0.9, xy.astype(np.float32), np.full(17, 0.9, np.float32))


def run(tracker, fps, plan, seconds, rng):
    """Feed ``plan(t) -> list of poses`` for ``seconds``; returns (t, update) per frame."""
    out = []
    for i in range(int(seconds * fps)):
        t = i / fps
        poses = [p for p in plan(t, rng) if p is not None]
        out.append((t, tracker.update(poses, W, H, 1000.0 + t)))
    return out


def walker_out_and_back(t, rng):
    """Slot 0 walks right at 400 px/s out through the right edge and comes back 0.5 s later;
    slot 1 stands mid-frame throughout."""
    if t < 1.0:
        x = 300 + 400 * t  # out at x = 660 around t = 0.9
    elif t < 1.5:
        x = 10_000  # out of the picture
    else:
        x = 660 - 400 * (t - 1.5)  # back the way they left
    return [seen_at(x, rng), seen_at(150, rng, feet_y=460)]


@pytest.mark.parametrize("fps", FPS)
def test_leaving_through_the_edge_frees_the_slot_and_coming_back_takes_it_again(fps):
    rng = np.random.default_rng(fps)
    frames = run(Tracker(), fps, walker_out_and_back, 2.5, rng)
    first = {p.slot: p.id for p in frames[0][1].people}
    assert first == {0: 1, 1: 2}
    last_seen = max(
        t for t, u in frames if t < 1.2 and any(p.id == 1 and not p.missing for p in u.people)
    )
    gone = [t for t, u in frames if any(p.id == 1 for p in u.left)]
    assert len(gone) == 1  # they left once, promptly: the slot is free
    assert last_seen < gone[0] <= last_seen + EDGE_SECONDS + 1.5 / fps
    for t, u in frames:
        if gone[0] <= t < 1.5:
            assert [p.slot for p in u.people] == [1]
    back = [t for t, u in frames if any(p.id == 1 for p in u.entered) and t > 1.0]
    assert len(back) == 1 and back[0] < 1.5 + 0.2
    for t, u in frames:
        if t >= back[0]:
            assert {p.slot: p.id for p in u.people} == {0: 1, 1: 2}  # id and slot back
        assert all(p.id in (1, 2) for p in u.people)  # never a new id


def occluded_mid_frame(t, rng):
    """Walks right at 100 px/s; hidden behind a pillar from t = 1.0 to 1.7 s."""
    x = 200 + 100 * t
    return [None if 1.0 <= t < 1.7 else seen_at(x, rng)]


@pytest.mark.parametrize("fps", FPS)
def test_hidden_mid_frame_keeps_id_and_slot_for_the_grace(fps):
    rng = np.random.default_rng(fps)
    frames = run(Tracker(), fps, occluded_mid_frame, 2.5, rng)
    for t, u in frames:
        assert [(p.id, p.slot) for p in u.people] == [(1, 0)]  # held, then found again
        assert u.left == [] and (u.entered == [] or t == 0)
        if 1.0 + 1.5 / fps < t < 1.7:
            assert u.people[0].missing > 0


@pytest.mark.parametrize("fps", FPS)
def test_hidden_past_the_grace_leaves_and_someone_new_elsewhere_is_new(fps):
    def plan(t, rng):
        if t < 0.5:
            return [seen_at(W - 30, rng)]  # standing at the right edge, not moving out
        if t < 1.0:
            return []
        return [seen_at(60, rng)]  # someone at the left edge: not the one who left

    frames = run(Tracker(), fps, plan, 1.6, np.random.default_rng(fps))
    held = [u.people for t, u in frames if 0.5 < t < 1.0]
    assert all(len(p) == 1 and p[0].id == 1 for p in held)  # not walking out: held
    ids = {p.id for _, u in frames for p in u.people}
    assert ids == {1, 2}


# -- on the floor ---------------------------------------------------------------------------

CAM = RoomCamera()


def floor_tracker() -> Tracker:
    tracker = Tracker()
    tracker.floor = FloorMap(fit_calibration(**CAM.room()))
    return tracker


def on_floor(x, y, rng, heading=0.0):
    pose = CAM.pose(x, y, heading=heading, noise=1.0, rng=rng)
    inside = (pose.xy[:, 0] >= 0) & (pose.xy[:, 0] < W) & (pose.xy[:, 1] < H)
    if inside.mean() < 0.6:
        return None
    pose.scores[~inside] = 0.0
    pose.xy[:, 0] = np.clip(pose.xy[:, 0], 0, W - 1)
    pose.xy[:, 1] = np.clip(pose.xy[:, 1], 0, H - 1)
    return pose


@pytest.mark.parametrize("fps", FPS)
def test_two_people_crossing_at_different_depths_keep_their_ids_on_the_floor(fps):
    """Near and far walkers pass each other in the picture (the far one's body behind the
    near one's) but 2.5 m apart on the floor: ids and slots stay."""

    def plan(t, rng):
        return [on_floor(0.5 + 1.2 * t, 0.8, rng), on_floor(3.5 - 1.2 * t, 3.3, rng, np.pi)]

    frames = run(floor_tracker(), fps, plan, 2.5, np.random.default_rng(fps))
    first = {p.id: p.floor.y for p in frames[0][1].people}
    for _, u in frames:
        assert {p.id for p in u.people} == {1, 2}
        for p in u.people:
            assert abs(p.floor.y - first[p.id]) < 0.3


@pytest.mark.parametrize("fps", FPS)
def test_on_the_floor_leaving_and_returning_where_they_left(fps):
    """A walker leaves the camera's view sideways on the floor (near x = 4.6 m, t = 1.05 s)
    and comes back there 0.7 s later: their id and slot again; slot freed in between."""

    def plan(t, rng):
        if t < 1.3:
            x = 2.5 + 2.0 * t
        elif t < 1.6:
            return [on_floor(1.0, 2.5, rng)]
        else:
            x = 5.1 - 2.0 * (t - 1.6)
        return [on_floor(x, 1.0, rng), on_floor(1.0, 2.5, rng)]

    frames = run(floor_tracker(), fps, plan, 3.0, np.random.default_rng(fps))
    assert {p.slot: p.id for p in frames[0][1].people} == {0: 1, 1: 2}
    assert {p.slot: p.id for p in frames[-1][1].people} == {0: 1, 1: 2}
    freed = [t for t, u in frames if 0 not in {p.slot for p in u.people}]
    assert freed and min(freed) < 1.1 + EDGE_SECONDS + 0.1
    assert {p.id for _, u in frames for p in u.people} == {1, 2}
