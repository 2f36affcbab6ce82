"""PosiStageNet out, decoded by a parser nobody here wrote (``pypsn`` from PyPI), inside a
network namespace of the test's own (multicast to 236.10.10.10 never leaves it): every
tracker, position, speed and id as sent; INFO with the system and tracker names; packets
split when many people are on the floor."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from posestage_psn import MAX_PACKET, SETTINGS, PsnOut

from posestage import SceneError, validate
from posestage.testing import load_scene

#: Only the namespace's loopback, with a route for PSN's multicast group.
NETNS = "ip link set lo up && ip route add 224.0.0.0/4 dev lo"


def in_a_network_namespace(script: str) -> str:
    """Run ``script`` (Python) in a network namespace of its own; what it printed."""
    if shutil.which("unshare") is None or shutil.which("ip") is None or os.geteuid() != 0:
        why = "network namespaces need unshare, ip and root (CI has them)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    done = subprocess.run(
        ["unshare", "-n", "sh", "-c", f'{NETNS} && exec {sys.executable} -c "$0"', script],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


RECEIVE = r"""
import json, threading, time
import numpy as np
import pypsn
from posestage import hookimpl

got, lock = [], threading.Lock()

def take(packet):
    with lock:
        got.append(packet)

rx = pypsn.receiver(take, "127.0.0.1")
rx.start()
time.sleep(0.2)

def decoded():
    data, info = [], []
    for p in got:
        if isinstance(p, pypsn.psn_data_packet):
            data.append({
                "frame": p.info.frame_id, "packets": p.info.packet_count,
                "version": [p.info.version_high, p.info.version_low],
                "trackers": [[t.id, list(t.pos), list(t.speed), t.status, t.timestamp]
                             for t in p.trackers],
            })
        elif isinstance(p, pypsn.psn_info_packet):
            info.append({"name": p.name.decode(),
                         "trackers": [[t.tracker_id, t.tracker_name.decode()] for t in p.trackers]})
    return data, info
"""

STAGE = r"""
from posestage.testing import PosedImages, RoomCamera, run_plugins

cam = RoomCamera()
rng = np.random.default_rng(3)
frames = 45
people = [[cam.pose(0.5 + 1.5 * i / 30, 1.0, noise=0.5, rng=rng),
           cam.pose(3.0, 3.0 - 0.9 * i / 30, noise=0.5, rng=rng)] for i in range(frames)]
sent = []

class Watch:
    @hookimpl
    def posestage_frame(self, frame):
        sent.append([[p.id, p.floor.x, p.floor.y, p.floor.score] for p in frame.people])

source = PosedImages([np.zeros((480, 640, 3), np.uint8)], people)
run = run_plugins([("psn", {"system_name": "museum"}), Watch()], source=source,
                  room=cam.room(), mirror=False)
assert run.errors == [], run.errors
time.sleep(0.5)
rx.stop()
data, info = decoded()
print(json.dumps({"sent": sent, "data": data, "info": info}))
"""


def test_every_tracker_position_and_id_as_sent_decoded_by_pypsn():
    out = json.loads(in_a_network_namespace(RECEIVE + STAGE).strip().splitlines()[-1])
    sent, data, info = out["sent"], out["data"], out["info"]
    assert len(sent) == 45
    assert len(data) == 45  # a replay at full speed: frame time paces the 60 Hz, not the clock
    for frame, packet in zip(sent, data, strict=True):
        assert packet["version"] == [2, 0] and packet["packets"] == 1
        assert [t[0] for t in packet["trackers"]] == [p[0] for p in frame] == [1, 2]
        for (_, x, y, score), (_, pos, _, status, _) in zip(frame, packet["trackers"], strict=True):
            assert pos == pytest.approx([x, y, 0.0], abs=1e-5)  # float32 on the wire
            assert status == pytest.approx(score, abs=1e-6)
    assert [p["frame"] for p in data] == list(range(45))
    # speeds: walker 1 at +1.5 m/s along x, walker 2 at -0.9 m/s along y (after settling)
    (_, _, speed1, _, _), (_, _, speed2, _, _) = data[-1]["trackers"]
    assert speed1 == pytest.approx([1.5, 0.0, 0.0], abs=0.25)
    assert speed2 == pytest.approx([0.0, -0.9, 0.0], abs=0.25)
    stamps = [p["trackers"][0][4] for p in data]
    assert stamps[0] == 0 and stamps[30] == pytest.approx(1_000_000, abs=2)  # µs, frame time
    # INFO once a second of frame time (frames 0 and 30), with the names
    assert len(info) == 2
    assert info[0] == {"name": "museum", "trackers": [[1, "person 1 (slot 0)"],
                                                       [2, "person 2 (slot 1)"]]}  # fmt: skip


SPLIT = r"""
from posestage_psn import PsnOut, SETTINGS
from posestage import FloorPosition, validate
from posestage.testing import frame, person
from dataclasses import replace
import socket

plugin = PsnOut()
plugin.posestage_configure(None, validate({"up": "y"}, SETTINGS, "psn"))
crowd = [replace(person(id=100 + k, slot=k), floor=FloorPosition(k * 0.1, 2.0, 0.8, "feet"))
         for k in range(60)]
for i in range(3):
    plugin.posestage_frame(frame(i, crowd))
time.sleep(0.5)
rx.stop()
plugin.posestage_unconfigure()
data, info = decoded()
print(json.dumps({"data": data, "info": info}))
"""


def test_sixty_people_split_over_packets_of_one_frame_and_y_up():
    out = json.loads(in_a_network_namespace(RECEIVE + SPLIT).strip().splitlines()[-1])
    data, info = out["data"], out["info"]
    frames = {}
    for p in data:
        frames.setdefault(p["frame"], []).append(p)
    assert sorted(frames) == [0, 1, 2]
    for parts in frames.values():
        assert len(parts) > 1 and all(p["packets"] == len(parts) for p in parts)
        trackers = [t for p in parts for t in p["trackers"]]
        assert [t[0] for t in trackers] == list(range(100, 160))
        assert trackers[5][1] == pytest.approx([0.5, 0.0, 2.0])  # floor y → z when y is up
    assert sum(len(p["trackers"]) for p in info) == 60  # one INFO frame, split too


def test_packets_fit_a_datagram_and_settings_are_checked():
    from posestage_psn import DATA_PACKET, packets, tracker_data

    many = [tracker_data(k, (1.0, 2.0, 0.0), (0.0, 0.0, 0.0), 1.0, 5) for k in range(200)]
    out = packets(DATA_PACKET, b"", many, 5, 7)
    assert len(out) > 3 and all(len(p) <= MAX_PACKET for p in out)
    with pytest.raises(SceneError, match="psn.up"):
        load_scene('[plugins.psn]\nup = "x"\n', {"psn": PsnOut()})
    plugin = PsnOut()
    from posestage import PluginError

    with pytest.raises(PluginError, match="expected HOST:PORT"):
        plugin.posestage_configure(None, validate({"target": "nowhere"}, SETTINGS, "psn"))


NO_FLOOR = r"""
import logging
said = []

class Keep(logging.Handler):
    def emit(self, record):
        said.append(record.getMessage())

logging.getLogger("posestage").addHandler(Keep())
cam = RoomCamera()
people = [[cam.pose(1.0 + 0.05 * i, 2.0)] for i in range(20)]
source = PosedImages([np.zeros((480, 640, 3), np.uint8)], people)
run = run_plugins([("psn", {})], source=source, mirror=False)  # no [room]: no floor
assert run.errors == [], run.errors
time.sleep(0.3)
rx.stop()
data, info = decoded()
print(json.dumps({"said": [s for s in said if s.startswith("psn:")],
                  "trackers": sum(len(p["trackers"]) for p in data)}))
"""


def test_people_without_floor_positions_are_said_once_and_sent_as_no_tracker():
    from_stage = "from posestage.testing import PosedImages, RoomCamera, run_plugins\n"
    out = json.loads(
        in_a_network_namespace(RECEIVE + from_stage + NO_FLOOR).strip().splitlines()[-1]
    )
    assert out["trackers"] == 0
    assert len(out["said"]) == 1 and "without floor positions" in out["said"][0]
