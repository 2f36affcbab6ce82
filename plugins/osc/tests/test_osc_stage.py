"""The osc plugin in a real, headless Stage: the demo replay, real UDP on 127.0.0.1.

Every layout is sent at once (one target each) while a collecting plugin records the frames
and enter/leave the stage dispatched; python-osc decodes what arrived: the values equal the
frames, and the bytes equal python-osc's own encoding of the same messages.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from posestage_osc import reference
from posestage_osc.encoder import Options
from posestage_osc.layouts import LAYOUTS
from posestage_osc.plugin import OscOut, resolve
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_packet import OscPacket

from posestage import SceneError, hookimpl, validate
from posestage.testing import load_scene, run_scene

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "scenes" / "demo.jsonl"


class Collector:
    """Records each frame with the people who entered / left just before it (after the osc
    plugin in scene order, so it also paces the replay a little)."""

    def __init__(self) -> None:
        self.frames, self._entered, self._left = [], [], []

    @hookimpl
    def posestage_person_enter(self, person):
        self._entered.append(person)

    @hookimpl
    def posestage_person_leave(self, person):
        self._left.append(person)

    @hookimpl
    def posestage_frame(self, frame):
        self.frames.append((frame, self._entered, self._left))
        self._entered, self._left = [], []
        time.sleep(0.002)  # paced: receivers keep up even with a small SO_RCVBUF limit


def run(text: str, frames: int | None = None):
    collect = Collector()
    scene = text + "\n[plugins.collect]\n"
    done = run_scene(scene, {"osc": OscOut(), "collect": collect}, source=f"replay:{DEMO}",
                     frames=frames, pace=None)  # fmt: skip
    return done.report, collect.frames


def by_timetag(datagrams: list[bytes]) -> dict[bytes, list[bytes]]:
    out: dict[bytes, list[bytes]] = {}
    for d in datagrams:
        out.setdefault(d[8:16], []).append(d)
    return out


def bundles(datagrams: list[bytes]) -> list[list[bytes]]:
    """Consecutive datagrams with the same time tag: the bundles of one frame."""
    out: list[list[bytes]] = []
    for d in datagrams:
        if out and out[-1][0][8:16] == d[8:16]:
            out[-1].append(d)
        else:
            out.append([d])
    return out


def messages(datagrams: list[bytes]) -> dict[str, list]:
    return {
        m.message.address: list(m.message.params) for d in datagrams for m in OscPacket(d).messages
    }


def test_every_layout_from_a_replay_equals_the_frames_and_python_osc(make_receiver):
    receivers = {name: make_receiver() for name in LAYOUTS}
    # a short dropout grace, so that people in the demo replay leave and come back
    text = "[tracking]\nmax_missing_seconds = 0.1\n[plugins.osc]\nmin_score = 0.3\nhealth = true\n"
    text += "".join(
        f'[[plugins.osc.targets]]\ntarget = "127.0.0.1:{r.port}"\nlayout = "{name}"\n'
        for name, r in receivers.items()
    )
    report, frames = run(text)
    assert report.error is None and len(frames) == 150
    assert any(left for _, _, left in frames) and any(e for _, e, _ in frames)
    for name, r in receivers.items():
        options = Options(layout=name, min_score=0.3, health=True)
        prefix = options.resolved_prefix
        got = bundles(r.wait_quiet())
        assert len(got) == len(frames) + 1, name  # + the farewell: everybody gone
        for (frame, entered, left), ours in zip(frames, got):
            assert OscBundle(ours[0]).timestamp == pytest.approx(frame.timestamp, abs=1e-6)
            sent = messages(ours)
            latency = sent[f"{prefix}/frame"][3]
            assert 0 <= latency < 10_000
            theirs = reference.datagrams(
                frame, options, entered, left, latency_ms=latency,
                dropped=sent[f"{prefix}/health/dropped"][0],
                device=sent[f"{prefix}/health/device"][0],
            )  # fmt: skip
            assert ours == theirs, (name, frame.index)
            assert sent[f"{prefix}/frame"][:2] == [frame.index, len(frame.people)]
            for p in left:
                assert sent[f"{prefix}/{p.slot}/leave"] == [p.id]
            for p in entered:
                assert sent[f"{prefix}/{p.slot}/enter"] == [p.id]
            for s in range(6):
                held = any(p.slot == s for p in frame.people)
                assert sent[f"{prefix}/{s}/present"] == [int(held)]
            if name == "person":
                for p in frame.people:
                    args = sent[f"/pose/{p.slot}"]
                    assert args[0] == p.id and len(args) == 2 + 51
                    nose = p.xy[0] / [frame.width, frame.height]
                    assert args[2:4] == pytest.approx(nose.clip(0, 1), abs=1e-6)
        last = messages(got[-1])
        assert last[f"{prefix}/frame"][1] == 0
        assert all(last[f"{prefix}/{s}/present"] == [0] for s in range(6))


def test_resolve_inherits_from_the_table_and_fills_layout_defaults():
    from posestage_osc.plugin import SETTINGS

    settings = validate(
        {"min_score": 0.5, "targets": [{"layout": "poseosc"}, {"target": "203.0.113.2:7000",
                                                               "min_score": 0.1}]},
        SETTINGS, "scene: plugins.osc",
    )  # fmt: skip
    (h1, p1, o1, x1), (h2, p2, o2, x2) = resolve(settings)
    assert (h1, p1, o1.layout, o1.min_score, o1.resolved_coords) == (
        "127.0.0.1", 9527, "poseosc", 0.5, "pixels")  # fmt: skip
    assert (h2, p2, o2.layout, o2.min_score, o2.resolved_prefix) == (
        "203.0.113.2", 7000, "values", 0.1, "/pose")  # fmt: skip


@pytest.mark.parametrize(
    "table,message",
    [
        ('target = "localhost:0"', "plugins.osc.target: the port in 'localhost:0' is out of range"),
        ('target = "x:port"', "is not a number"),
        ('layout = "vals"', "'vals' is not a valid choice (did you mean 'values'?)"),
        ('[[plugins.osc.targets]]\nlayout = "person"\nslot = 3', "plugins.osc.targets[0].slot"),
    ],
)
def test_bad_settings_are_one_line_scene_errors(table, message):
    with pytest.raises(SceneError) as info:
        load_scene(f"[plugins.osc]\n{table}\n", {"osc": OscOut()}, path="scenes/x.toml")
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith("scenes/x.toml: plugins.osc")


#: Broadcast and multicast never leave this machine in a test: they run in a network namespace
#: the test makes itself (only its own loopback, with routes for broadcast and multicast).
NETNS = (
    "ip link set lo up && ip route add 239.0.0.0/8 dev lo"
    " && ip route add broadcast 255.255.255.255 dev lo table local"
)


def in_a_network_namespace(script: str) -> str:
    """Run ``script`` (Python) in a network namespace of its own; what it printed."""
    import os
    import shutil
    import subprocess
    import sys

    if shutil.which("unshare") is None or shutil.which("ip") is None or os.geteuid() != 0:
        why = "network namespaces need unshare, ip and root (CI has them)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    command = f'{NETNS} && exec {sys.executable} -c "$0"'
    done = subprocess.run(
        ["unshare", "-n", "sh", "-c", command, script],
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


RECEIVE = """
import socket, struct
from posestage import PluginError, validate
from posestage.testing import frame, person
from posestage_osc.plugin import SETTINGS, OscOut

def receiver(group=None):
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    rx.bind((group or "", 0))
    if group:
        member = socket.inet_aton(group) + socket.inet_aton("127.0.0.1")
        rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, member)
    rx.settimeout(10)
    return rx, rx.getsockname()[1]

def send_one(plugin):
    plugin.posestage_frame(frame(0, [person(1, 0)]))
"""


def test_a_broadcast_target_without_broadcast_is_refused_with_the_fix():
    said = in_a_network_namespace(
        RECEIVE
        + """
rx, port = receiver()
plugin = OscOut()
try:
    plugin.posestage_configure(None, validate({"target": f"255.255.255.255:{port}"}, SETTINGS, "x"))
except PluginError as err:
    print("refused:", err)
plugin.posestage_unconfigure()
settings = validate({"target": f"255.255.255.255:{port}", "broadcast": True}, SETTINGS, "x")
plugin.posestage_configure(None, settings)
send_one(plugin)
print("received", rx.recv(65536)[:7])
plugin.posestage_unconfigure()
"""
    )
    assert "refused:" in said and "add broadcast = true" in said
    assert "received b'#bundle'" in said  # on the namespace's own loopback


def test_a_multicast_target_gets_its_ttl_and_its_datagrams_arrive():
    said = in_a_network_namespace(
        RECEIVE
        + """
rx, port = receiver("239.255.0.1")  # inside the unshare -n namespace
plugin = OscOut()
plugin.posestage_configure(None, validate({"target": f"239.255.0.1:{port}", "ttl": 3}, SETTINGS, "x"))
(target,) = plugin.targets
print("ttl", target.sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL))
send_one(plugin)
print("received", rx.recv(65536)[:7])
plugin.posestage_unconfigure()
print("targets", plugin.targets)
"""
    )
    assert "ttl 3" in said and "received b'#bundle'" in said and "targets []" in said


def test_a_live_setting_change_swaps_encoders_without_a_farewell(receiver, frames):
    from posestage_osc.plugin import SETTINGS

    plugin = OscOut()
    settings = validate({"target": f"127.0.0.1:{receiver.port}"}, SETTINGS, "x")
    plugin.posestage_configure(None, settings)
    sock = plugin.targets[0].sock
    plugin.posestage_frame(frames[0][0])
    applied = plugin.posestage_settings_changed(
        validate({**settings, "min_score": 0.9}, SETTINGS, "x")
    )
    assert applied is True and plugin.targets[0].sock is sock
    assert plugin.targets[0].encoder.options.min_score == 0.9
    plugin.posestage_frame(frames[1][0])
    moved = validate({**settings, "target": f"127.0.0.1:{receiver.port + 1}"}, SETTINGS, "x")
    assert plugin.posestage_settings_changed(moved) is None  # new address: reconfigure
    plugin.posestage_unconfigure()
    got = receiver.wait_quiet()
    frame_messages = [m.message.params for d in got for m in OscPacket(d).messages
                      if m.message.address == "/pose/frame"]  # fmt: skip
    assert [p[1] for p in frame_messages][-1] == 0  # the farewell came only at the end
    assert len(frame_messages) == 3
