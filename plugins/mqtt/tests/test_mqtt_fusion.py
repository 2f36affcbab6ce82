"""Fusion and clocks on their own, with known truth: people on a known floor seen by cameras
with known views; clocks with a known skew and random delays."""

from __future__ import annotations

import numpy as np
from posestage_mqtt.clocks import StageClock
from posestage_mqtt.fusion import Fusion, Observation
from posestage_mqtt.wire import StagePerson

from posestage import FloorPosition

RNG = np.random.default_rng(22)
XY = np.zeros((17, 2), np.float32)
SCORES = np.full(17, 0.9, np.float32)


def seen(stage, local_id, x, y, *, missing=0, floor=True, score=0.9, session="s"):
    position = FloorPosition(x, y, 0.9, "feet") if floor else None
    person = StagePerson(local_id, 0, score, missing, position, XY, SCORES)
    return Observation(stage, session, person, 640, 480)


def test_one_person_seen_by_two_cameras_is_one():
    fusion = Fusion(gate=0.8, grace=1.0)
    people, _ = fusion.update([seen("a", 1, 2.0, 3.0), seen("b", 7, 2.3, 3.1)], 0.0)
    assert len(people) == 1 and people[0].id == 1 and people[0].slot == 0
    assert people[0].floor.x == 2.15 and abs(people[0].floor.y - 3.05) < 1e-9


def test_two_people_side_by_side_seen_by_two_cameras_stay_two_and_themselves():
    fusion = Fusion(gate=0.8, grace=1.0)
    ids = set()
    for i in range(60):
        t = i / 30
        x = 1.0 + t
        obs = [
            seen("a", 1, x, 2.0 + RNG.normal(0, 0.05)),
            seen("a", 2, x, 3.0 + RNG.normal(0, 0.05)),
            seen("b", 5, x + RNG.normal(0, 0.05), 2.0),
            seen("b", 6, x + RNG.normal(0, 0.05), 3.0),
        ]
        people, left = fusion.update(obs, t)
        assert left == [] and len(people) == 2
        by_row = {round(p.floor.y): p.id for p in people}
        ids.add((by_row[2], by_row[3]))
    assert ids == {(1, 2)}


def test_a_walker_handed_over_from_camera_to_camera_keeps_their_id():
    """Camera a sees x in [0, 4], b sees [3, 7], c sees [6, 10]; a walker crosses all three
    at 1.5 m/s; each camera's own ids differ."""
    fusion = Fusion(gate=0.8, grace=1.0)
    views = {"a": (0, 4, 11), "b": (3, 7, 21), "c": (6, 10, 31)}
    ids = []
    for i in range(0, 200):
        t = i / 30
        x = 0.2 + 1.5 * t
        obs = [
            seen(name, local, x + RNG.normal(0, 0.04), 5.0 + RNG.normal(0, 0.04))
            for name, (lo, hi, local) in views.items()
            if lo <= x <= hi
        ]
        if not obs:
            break
        people, left = fusion.update(obs, t)
        assert left == [] and len(people) == 1
        ids.append((people[0].id, people[0].slot))
    assert set(ids) == {(1, 0)} and len(ids) > 150


def test_people_leave_after_the_grace_ids_never_reused_slots_reused():
    fusion = Fusion(gate=0.8, grace=1.0)
    fusion.update([seen("a", 1, 1, 1), seen("a", 2, 5, 5)], 0.0)
    people, left = fusion.update([seen("a", 2, 5, 5)], 0.5)  # 1 held in the grace
    assert [(p.id, p.missing) for p in people] == [(1, 1), (2, 0)] and left == []
    people, left = fusion.update([seen("a", 2, 5, 5)], 1.6)
    assert left == [1] and [p.id for p in people] == [2]
    people, _ = fusion.update([seen("a", 2, 5, 5), seen("a", 3, 1, 1)], 1.7)
    assert sorted((p.id, p.slot) for p in people) == [(2, 1), (3, 0)]


def test_held_people_keep_their_links_and_unfloored_people_are_never_fused():
    fusion = Fusion(gate=0.8, grace=1.0)
    fusion.update([seen("a", 1, 1, 1), seen("b", 4, 1.1, 1)], 0.0)
    people, _ = fusion.update([seen("a", 1, 1, 1, missing=2), seen("b", 4, 1.1, 1)], 0.1)
    assert [p.id for p in people] == [1]
    people, _ = fusion.update([seen("a", 1, 1, 1), seen("b", 4, 1.1, 1)], 0.2)
    assert [p.id for p in people] == [1]
    people, _ = fusion.update(
        [seen("c", 1, 0, 0, floor=False), seen("d", 1, 0, 0, floor=False)], 0.3
    )
    assert [p.id for p in people if p.missing == 0] == [2, 3]


def test_a_restarted_stage_is_a_new_session_its_old_ids_mean_nobody():
    fusion = Fusion(gate=0.8, grace=1.0)
    fusion.update([seen("a", 1, 1, 1, session="one"), seen("a", 2, 6, 6, session="one")], 0.0)
    # restarted: its tracker counts from 1 again; person 1 of the new session is at 6, 6
    people, _ = fusion.update([seen("a", 1, 6, 6, session="two")], 0.1)
    mine = {p.id: (p.floor.x, p.missing) for p in people}
    assert mine[2] == (6, 0) and mine[1][1] == 1


def test_the_clock_offset_is_found_within_the_shortest_delay():
    skew = 1.734  # the stage's clock is this far behind the merger's
    clock = StageClock()
    shortest = 0.0004
    for i in range(300):
        sent = 1000.0 + i / 30
        delay = shortest + RNG.exponential(0.02)  # a busy network: most messages queue a while
        clock.observe(sent, sent + skew + delay)
    assert 0 <= clock.offset - skew < shortest + 0.005
    assert clock.to_merger(1000.0) == 1000.0 + clock.offset
    assert clock.describe().startswith("clock offset +17")


def test_a_stage_clock_stepped_back_is_followed_within_seconds_not_the_window():
    clock = StageClock()
    for i in range(300):  # 10 s at 30 fps, the stage's clock right
        sent = 1000.0 + i / 30
        clock.observe(sent, sent + 0.001 + RNG.exponential(0.005))
    assert abs(clock.offset - 0.001) < 0.002
    for i in range(300, 600):  # NTP steps the stage's clock back 1 s
        sent = 1000.0 + i / 30 - 1.0
        clock.observe(sent, sent + 1.0 + 0.001 + RNG.exponential(0.005))
    assert abs(clock.offset - 1.001) < 0.002 and clock.steps == 1
