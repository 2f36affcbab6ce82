"""Floor positions and zones over OSC: what a calibrated scene with zones sends, received on
127.0.0.1 and checked against the frames the plugins got and the layout description."""

from __future__ import annotations

import numpy as np
import pytest
from posestage_osc.layouts import FLOOR, LAYOUTS, ZONES

from posestage import hookimpl
from posestage.testing import PosedImages, RoomCamera, run_plugins

CAM = RoomCamera()
ZONE = {"door": [[0.0, 0.0], [1.5, 0.0], [1.5, 3.0], [0.0, 3.0]]}


class Collect:
    def __init__(self):
        self.frames = []

    @hookimpl
    def posestage_frame(self, frame):
        self.frames.append(frame)


def walk(frames: int):
    rng = np.random.default_rng(2)
    return [[CAM.pose(0.5 + 2.5 * i / frames, 1.5, noise=0.5, rng=rng)] for i in range(frames)]


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("extra", [{}, {"address_by": "id", "max_datagram": 512}])
def test_floor_and_zone_bytes_equal_python_osc(layout, extra):
    from dataclasses import replace

    from posestage_osc import reference
    from posestage_osc.encoder import FrameEncoder, Options

    from posestage import FloorPosition, ZoneCount, ZoneEvent
    from posestage.testing import frame, person

    people = [
        replace(person(id=4, slot=0), floor=FloorPosition(1.25, 2.5, 0.9, "feet")),
        replace(person(id=9, slot=1, missing=2), floor=FloorPosition(3.0, 0.5, 0.3, "hips")),
        person(id=11, slot=2),
    ]
    zones = (ZoneCount("door", (4,), (2.5,), 3), ZoneCount("bar-2", (), (), 0))
    events = (ZoneEvent("enter", "door", 4, 0), ZoneEvent("leave", "bar-2", 9, 1, 12.75))
    f = frame(7, people, zones=zones, zone_events=events)
    options = Options(layout=layout, **extra)
    ours = FrameEncoder(options).encode(f, now=f.captured + 0.01, dropped=0, device="")
    theirs = reference.datagrams(f, options, latency_ms=10.0, dropped=0, device="")
    assert ours == theirs


def test_every_layout_describes_floor_and_zone_messages():
    for layout in LAYOUTS.values():
        assert FLOOR in layout.messages and all(z in layout.messages for z in ZONES)
    assert [a.type for a in FLOOR.args] == ["f", "f", "f"]


@pytest.mark.parametrize("layout", ["values", "person"])
def test_floor_and_zones_are_sent_as_described(receiver, layout):
    got = Collect()
    source = PosedImages([np.zeros((480, 640, 3), np.uint8)], walk(30))
    host, port = receiver.address
    settings = {"targets": [{"target": f"{host}:{port}", "layout": layout}]}
    run = run_plugins(
        [("osc", settings), got], source=source, room=CAM.room(zones=ZONE), mirror=False
    )
    assert run.errors == []
    receiver.wait(1, address="/zone/door/leave")
    receiver.wait_quiet()
    messages = receiver.messages
    floor = [m for m in messages if m.address == "/pose/0/floor"]
    sent = [f.people[0].floor for f in got.frames]
    assert len(floor) == len(sent) == 30
    for m, want in zip(floor, sent, strict=True):
        assert m.args == pytest.approx((want.x, want.y, want.score), abs=1e-5)
    counts = [m.args for m in messages if m.address == "/zone/door/count"]
    assert counts == [(f.zone("door").count, f.zone("door").visits) for f in got.frames]
    enters = [m.args for m in messages if m.address == "/zone/door/enter"]
    leaves = [m.args for m in messages if m.address == "/zone/door/leave"]
    assert enters == [(1, 0)]
    assert len(leaves) == 1 and leaves[0][:2] == (1, 0)
    (event,) = [e for f in got.frames for e in f.zone_events if e.kind == "leave"]
    assert leaves[0][2] == pytest.approx(event.dwell, abs=1e-5) and event.dwell > 0


def test_nothing_of_the_room_without_a_room(receiver):
    source = PosedImages([np.zeros((480, 640, 3), np.uint8)], walk(5))
    host, port = receiver.address
    run = run_plugins([("osc", {"targets": [{"target": f"{host}:{port}"}]})], source=source)
    assert run.errors == []
    receiver.wait(5, address="/pose/frame")
    assert not [m for m in receiver.messages if "floor" in m.address or "zone" in m.address]
