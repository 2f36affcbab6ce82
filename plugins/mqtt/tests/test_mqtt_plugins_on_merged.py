"""Plugins run on the merged stream unchanged: the scene's zones in metres (the stages' floor)
and the osc plugin sending each merged person's floor position and the zone's events."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
from paho.mqtt import client as mqtt
from posestage_mqtt.merger import open_merger
from posestage_mqtt.testing import Mosquitto, mosquitto_program

from posestage import SourceOptions
from posestage.testing import OscReceiver, run_plugins

pytestmark = pytest.mark.skipif(
    mosquitto_program() is None and not os.environ.get("CI"),
    reason="no mosquitto (apt install mosquitto)",
)

KEYPOINTS = [[300.0, 100.0 + 20 * k, 0.9] for k in range(17)]


def message(stage, seq, t, x, local_id):
    return json.dumps({
        "v": 1, "stage": stage, "session": "s", "seq": seq, "index": seq, "t": t, "sent": t,
        "width": 640, "height": 480, "mirrored": False,
        "people": [{"id": local_id, "slot": 0, "score": 0.9, "missing": 0,
                    "floor": {"x": x, "y": 2.0, "score": 0.9, "basis": "feet"},
                    "keypoints": KEYPOINTS}],
    }).encode()  # fmt: skip


def test_zones_in_metres_and_osc_floor_messages_on_the_merged_people(tmp_path):
    with Mosquitto(tmp_path / "broker") as broker, OscReceiver() as receiver:
        source = open_merger(f"{broker.url}/hall?timeout=30&grace=0.2", SourceOptions())
        result = {}
        host, port = receiver.address
        room = {"zones": {"door": [[0, 0], [2, 0], [2, 4], [0, 4]]}}
        osc = ("osc", {"targets": [{"target": f"{host}:{port}"}]})
        merger = threading.Thread(
            target=lambda: result.update(run=run_plugins([osc], source=source, room=room))
        )
        merger.start()
        deadline = time.monotonic() + 20
        while not source.merged and time.monotonic() < deadline:  # the stage is reading
            time.sleep(0.01)
        sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="two-cameras")
        sender.connect("127.0.0.1", broker.port)
        sender.loop_start()
        now = time.time()
        for i in range(60):  # one walker, seen by both cameras, from x = 0.5 to 3.45 m
            x = 0.5 + 0.05 * i
            for stage, local in (("left", 4), ("right", 9)):
                info = sender.publish(
                    f"posestage/hall/{stage}/frame",
                    message(stage, i + 1, now + i / 30, x + 0.02, local),
                    qos=1,
                )
                info.wait_for_publish(5)  # fmt: skip
        time.sleep(0.5)
        sender.disconnect()
        sender.loop_stop()
        deadline = time.monotonic() + 10
        while source.counts["frames"] < 120 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # idle merged frames: the walker leaves after the grace
        source.close()
        merger.join(30)
        receiver.wait_quiet(0.3)
        messages = receiver.messages
    run = result["run"]
    assert run.errors == []
    ids = {p.id for f in run.frames for p in f.people}
    assert ids == {1}  # one person, though two cameras
    inside = [f.zone("door").count for f in run.frames if f.people]
    assert inside[0] == 1 and inside[-1] == 0 and sorted(inside, reverse=True) == inside
    kinds = [e.kind for f in run.frames for e in f.zone_events]
    assert kinds == ["enter", "leave"]
    floor = [m.args for m in messages if m.address == "/pose/0/floor"]
    xs = [args[0] for args in floor]  # (a live source: a busy machine may skip frames)
    assert xs and xs[0] < 2.0 and xs[-1] > 3.0 and sorted(xs) == xs
    merged_xs = {round(p.floor.x, 4) for f in run.frames for p in f.people}
    assert {round(x, 4) for x in xs} <= merged_xs
    assert [m.args[:2] for m in messages if m.address == "/zone/door/enter"] == [(1, 0)]
