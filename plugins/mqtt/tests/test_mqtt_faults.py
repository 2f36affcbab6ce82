"""The merger's refusals and a stage's goodbye, message by message through a real broker:
each kind of bad message counted as what it is and never reaching the show; a stage that
says offline stops holding the merged time back and its people leave after the grace."""

from __future__ import annotations

import json
import os
import time

import pytest
from paho.mqtt import client as mqtt
from posestage_mqtt.merger import open_merger
from posestage_mqtt.testing import Mosquitto, mosquitto_program

from posestage import SourceOptions

pytestmark = pytest.mark.skipif(
    mosquitto_program() is None and not os.environ.get("CI"),
    reason="no mosquitto (apt install mosquitto)",
)

KEYPOINTS = [[100.0, 100.0 + 10 * k, 0.9] for k in range(17)]


def body(stage, seq, t, *, session="s1", sent=None, people=1, x=1.0):
    return {
        "v": 1, "stage": stage, "session": session, "seq": seq, "index": seq, "t": t,
        "sent": t if sent is None else sent, "width": 640, "height": 480, "mirrored": False,
        "people": [{"id": k + 1, "slot": k, "score": 0.9, "missing": 0,
                    "floor": {"x": x + 3 * k, "y": 2.0, "score": 0.9, "basis": "feet"},
                    "keypoints": KEYPOINTS} for k in range(people)],
    }  # fmt: skip


class Sender:
    def __init__(self, broker):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sender")
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def send(self, topic, payload, retain=False):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.client.publish(topic, data, qos=1, retain=retain).wait_for_publish(5)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_each_bad_message_is_counted_as_what_it_is_and_never_reaches_the_show(tmp_path):
    with Mosquitto(tmp_path / "broker") as broker:
        source = open_merger(f"{broker.url}/hall?grace=5", SourceOptions())
        sender = Sender(broker)
        try:
            now = time.time()
            frame = "posestage/hall/left/frame"
            for seq in (1, 2, 3, 5):  # 4 never comes: one lost
                sender.send(frame, body("left", seq, now + seq / 30))
            assert wait_for(lambda: source.counts["frames"] == 4)
            assert source.counts["lost"] == 1
            merged = source.read()
            assert [p.id for p in merged.people] == [1]
            sender.send(frame, body("left", 5, now + 5 / 30))  # again
            sender.send(frame, body("left", 2, now + 2 / 30))  # seen already
            sender.send(frame, body("left", 4, now + 4 / 30))  # never seen, but after 5
            sender.send(frame, body("left", 6, now - 3))  # captured 3 s ago
            bad = [
                b"\xff\xfe",
                b"{}",
                b"[" * 50000,
                b'"just a string"',
                json.dumps(body("right", 7, now)).encode(),  # right's name on left's topic
                json.dumps({**body("left", 8, now), "v": 2}).encode(),
                json.dumps({**body("left", 9, now), "people": [{"id": 1}]}).encode(),
                json.dumps(body("left", 10, now + 50, sent=now)).encode(),  # from the future
                json.dumps({**body("left", 11, now), "t": float("nan")}).encode(),
            ]
            for payload in bad:
                sender.send(frame, payload)
            sender.send("posestage/hall/left/health", b'{"v": 1, "stage": "left"}')
            sender.send(frame, body("left", 12, now + 12 / 30))  # and a good one after
            assert wait_for(lambda: source.counts["frames"] == 5)
            counts = source.counts
            assert (counts["duplicate"], counts["out_of_order"], counts["late"]) == (2, 1, 1)
            assert counts["garbage"] == len(bad) + 1
            assert counts["lost"] == 1 + 6  # 6..11 were never taken
            people = {p.id for _ in range(5) if (f := source.read()) for p in f.people}
            assert people == {1}
        finally:
            sender.close()
            source.close()
        assert "refused: 10 garbage, 2 duplicate, 1 out-of-order, 1 late" in source.summary()


def test_a_stage_saying_offline_stops_holding_the_show_and_its_people_leave(tmp_path):
    with Mosquitto(tmp_path / "broker") as broker:
        source = open_merger(f"{broker.url}/hall?grace=0.3&timeout=30", SourceOptions())
        sender = Sender(broker)
        try:
            now = time.time()
            sender.send("posestage/hall/left/frame", body("left", 1, now, x=1.0))
            sender.send("posestage/hall/right/frame", body("right", 1, now, x=6.0))
            assert wait_for(lambda: source.counts["frames"] == 2)
            first = source.read()
            assert sorted(p.floor.x for p in first.people) == [1.0, 6.0]
            # left goes on; right's last will arrives: the show no longer waits for right
            goodbye = {"v": 1, "stage": "right", "session": "s1", "state": "offline",
                       "why": "lost"}  # fmt: skip
            sender.send("posestage/hall/right/health", goodbye)
            assert wait_for(lambda: source.counts["stages_lost"] == 1)
            seen = []
            for seq in range(2, 40):
                sender.send("posestage/hall/left/frame", body("left", seq, now + seq / 30))
                merged = source.read()
                seen.append(sorted(p.floor.x for p in merged.people if p.missing == 0))
            assert seen[-1] == [1.0]  # right's person left after the grace
        finally:
            sender.close()
            source.close()


@pytest.mark.parametrize("wait", [0.0, 1.0])
def test_merged_time_is_the_newest_or_waits_for_every_stage(tmp_path, wait):
    with Mosquitto(tmp_path / "broker") as broker:
        source = open_merger(f"{broker.url}/hall?wait={wait}&timeout=30", SourceOptions())
        sender = Sender(broker)
        try:
            now = time.time()
            sender.send("posestage/hall/slow/frame", body("slow", 1, now, x=6.0))
            for seq in range(1, 4):
                sender.send("posestage/hall/fast/frame", body("fast", seq, now + seq * 0.1))
            assert wait_for(lambda: source.counts["frames"] == 4)
            merged = source.read()
            offset = source.stages["fast"].clock.offset
            # default: the newest capture, the slow stage's last frame with it; wait: the
            # newest instant every stage has reached (the slow stage's)
            expected = now + 0.3 + offset if wait == 0 else now + source.stages["slow"].clock.offset
            assert merged.timestamp == pytest.approx(expected, abs=1e-6)
            assert len([p for p in merged.people if p.missing == 0]) == 2
        finally:
            sender.close()
            source.close()
