"""Zones with known truth: walkers on a known floor seen through a known camera (noise,
hidden feet), every visit counted exactly, dwell as walked; zones in image pixels when the
stage is not calibrated; plugins get them on the frame and the context."""

from __future__ import annotations

import numpy as np
import pytest

from posestage import ZoneCount, ZoneEvent, hookimpl
from posestage.testing import PosedImages, RoomCamera, run_plugins
from posestage.tracking.zones import Zones, inside, outside_by

CAM = RoomCamera()
FPS = 30
ZONES = {
    "door": [[0.0, 0.0], [1.2, 0.0], [1.2, 1.5], [0.0, 1.5]],
    "middle": [[1.6, 1.6], [2.6, 1.6], [2.6, 2.6], [1.6, 2.6]],
    "far": [[3.0, 3.0], [4.0, 3.0], [3.5, 3.9]],
}


def path_a(t):
    """Through the door zone, then the middle, out of both; stands still at the end."""
    t = min(t, 4.0)
    return 0.4 + 0.8 * t, 0.6 + 0.5 * t


def path_b(t):
    """Crosses the middle zone twice (out and back), never the door."""
    return 2.1 + 1.0 * np.sin(1.6 * t), 3.0 - 0.3 * t


def truth(path, frames, zone):
    """Visits and seconds inside of a path, from its true positions."""
    poly = np.array(ZONES[zone])
    pts = np.array([path(i / FPS) for i in range(frames)])
    ins = inside(pts, poly)
    visits = int(ins[0]) + int(((~ins[:-1]) & ins[1:]).sum())
    return visits, ins


def walkers(frames, rng):
    out = []
    for i in range(frames):
        t = i / FPS
        hidden = 1.0 <= t < 1.4  # a table hides A's feet for a while
        out.append(
            [
                CAM.pose(*path_a(t), heading=0.6, noise=1.0, rng=rng, feet_hidden=hidden),
                CAM.pose(*path_b(t), heading=np.pi / 2, noise=1.0, rng=rng),
            ]
        )
    return out


class Collect:
    def __init__(self):
        self.frames = []
        self.floor = None

    @hookimpl
    def posestage_configure(self, stage):
        self.floor = stage.floor

    @hookimpl
    def posestage_frame(self, frame):
        self.frames.append(frame)


def test_polygon_helpers():
    square = np.array([[0, 0], [2, 0], [2, 2], [0, 2]], float)
    pts = np.array([[1, 1], [3, 1], [-0.5, 1], [1, 2.5]], float)
    assert inside(pts, square).tolist() == [True, False, False, False]
    assert outside_by(pts, square) == pytest.approx([0, 1, 0.5, 0.5])


def test_every_zone_visit_counted_exactly_on_a_calibrated_floor():
    frames = 6 * FPS
    rng = np.random.default_rng(7)
    source = PosedImages([np.zeros((480, 640, 3), np.uint8)], walkers(frames, rng))
    got = Collect()
    run = run_plugins([got], source=source, room=CAM.room(zones=ZONES), mirror=False)
    assert run.errors == []
    assert got.floor.calibrated and list(got.floor.zones) == list(ZONES)
    assert len(got.frames) == frames
    ids = {f.people[0].id for f in got.frames[:1]} | {p.id for p in got.frames[0].people}
    assert ids == {1, 2}
    paths = {1: path_a, 2: path_b}
    for zone in ZONES:
        events = [e for f in got.frames for e in f.zone_events if e.zone == zone]
        assert all(isinstance(e, ZoneEvent) for e in events)
        last = got.frames[-1].zone(zone)
        assert isinstance(last, ZoneCount)
        total = 0
        for pid, path in paths.items():
            visits, ins = truth(path, frames, zone)
            enters = [e for e in events if e.id == pid and e.kind == "enter"]
            assert len(enters) == visits, (zone, pid)
            total += visits
            # frames counted in the zone: the truth's, give or take a few at each border
            counted = np.array([pid in f.zone(zone).people for f in got.frames])
            assert abs(int(counted.sum()) - int(ins.sum())) <= 4 * max(visits, 1)
            # the dwell on leaving is the time between enter and leave frames
            for e in events:
                if e.id == pid and e.kind == "leave":
                    assert 0 < e.dwell < 6.0
        assert last.visits == total
    middle = [f.zone("middle").count for f in got.frames]
    assert max(middle) == 2  # both walkers inside at once at some point


def test_zones_in_image_pixels_when_not_calibrated():
    """No calibration: the polygons are camera pixels (not mirrored), the person's place the
    point they stand on in the image; a mirrored stage finds the same zone."""
    left_half = [[0, 0], [320, 0], [320, 480], [0, 480]]
    xs = np.linspace(0.5, 3.5, 40)
    people = [[CAM.pose(x, 2.0)] for x in xs]
    truth = CAM.to_image([(x, 2.0) for x in xs])[:, 0] < 320
    for mirror in (False, True):
        got = Collect()
        source = PosedImages([np.zeros((480, 640, 3), np.uint8)], people)
        run = run_plugins([got], source=source, room={"zones": {"left": left_half}}, mirror=mirror)
        assert run.errors == []
        assert not got.floor.calibrated
        inside_left = np.array([bool(f.zone("left").count) for f in got.frames])
        assert inside_left[0] and not inside_left[-1]
        assert abs(int(inside_left.sum()) - int(truth.sum())) <= 2
        assert all(p.floor is None for f in got.frames for p in f.people)
        kinds = [(e.kind, e.zone) for f in got.frames for e in f.zone_events]
        assert kinds == [("enter", "left"), ("leave", "left")]


def test_leaving_the_stage_leaves_the_zone():
    zones = Zones({"all": [[0, 0], [10, 0], [10, 10], [0, 10]]}, calibrated=True)
    from posestage.testing import person

    p = person(id=4, slot=0)
    from dataclasses import replace

    from posestage import FloorPosition

    p = replace(p, floor=FloorPosition(5.0, 5.0))
    counts, events = zones.update([p], [], 10.0, False)
    assert counts[0].people == (4,) and events[0].kind == "enter"
    counts, events = zones.update([p], [], 12.5, False)
    assert counts[0].dwell == (2.5,) and events == ()
    counts, events = zones.update([], [p], 13.0, False)
    assert counts[0].count == 0 and events == (ZoneEvent("leave", "all", 4, 0, 3.0),)


def test_a_scene_switch_with_the_same_zones_keeps_the_visits():
    """Switching between scenes of the same room (or saving the scene file) is not everyone
    walking in again: the zones keep who is in and the visits so far."""
    from posestage import ControlMessage
    from posestage.testing import run_scene

    cal = CAM.room()
    room = f"[room]\nimage = {cal['image']}\nfloor = {cal['floor']}\n"
    room += "[room.zones]\ndoor = [[0, 0], [2, 0], [2, 2], [0, 2]]\n"
    got = Collect()
    scenes = [f"[stage]\nmirror = false\n{room}[plugins.watch]\n",
              f"[stage]\nmirror = false\n{room}[plugins.watch]\n[scene]\nname = \"b\"\n"]  # fmt: skip
    source = PosedImages([np.zeros((480, 640, 3), np.uint8)], [[CAM.pose(1.0, 1.0)]] * 400)

    def switch(show):
        assert show.wait_for(lambda: len(got.frames) > 20)
        assert show.post(ControlMessage("scene", value=2, source="test")).result(10).ok
        count = len(got.frames)
        assert show.wait_for(lambda: len(got.frames) > count + 20)

    run = run_scene(scenes, {"watch": got}, source=source, during=switch)
    assert run.errors == []
    visits = [f.zone("door").visits for f in got.frames]
    assert visits[0] == visits[-1] == 1
    enters = [e for f in got.frames for e in f.zone_events]
    assert [(e.kind, e.zone) for e in enters] == [("enter", "door")]


def test_editing_one_zone_live_keeps_the_others_visits():
    """The control page's room edit (a ``room`` control message): a zone added, another left
    as it was — who is in that one and its visits go on; the new one counts at once."""
    from posestage import ControlMessage
    from posestage.testing import run_scene

    cal = CAM.room()
    door = [[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]]
    room = f"[room]\nimage = {cal['image']}\nfloor = {cal['floor']}\n"
    room += f"[room.zones]\ndoor = {door}\n"
    got = Collect()
    scenes = [f"[stage]\nmirror = false\n{room}[plugins.watch]\n"]
    source = PosedImages([np.zeros((480, 640, 3), np.uint8)], [[CAM.pose(1.0, 1.0)]] * 400)
    table = {"image": cal["image"], "floor": cal["floor"],
             "zones": {"door": door, "big": [[-1, -1], [3, -1], [3, 3], [-1, 3]]}}  # fmt: skip
    replies = []

    def edit(show):
        assert show.wait_for(lambda: len(got.frames) > 20)
        replies.append(show.post(ControlMessage("room", value=table, source="test")).result(10))
        replies.append(show.post(ControlMessage("room", value={"zones": {"x": [[0, 0]]}},
                                                source="test")).result(10))  # fmt: skip
        count = len(got.frames)
        assert show.wait_for(lambda: len(got.frames) > count + 20)

    run = run_scene(scenes, {"watch": got}, source=source, during=edit)
    assert replies[0].ok and replies[0].text.startswith("room: 2 zones, calibrated")
    assert not replies[1].ok and "zone x" in replies[1].text
    assert [f.zone("door").visits for f in got.frames[::50]] == [1] * len(got.frames[::50])
    assert got.frames[-1].zone("big").count == 1 and got.frames[-1].zone("big").visits == 1
    enters = [(e.kind, e.zone) for f in got.frames for e in f.zone_events]
    assert enters == [("enter", "door"), ("enter", "big")]
    assert run.errors == [f"control message refused (1 so far): {replies[1].text}"]
