"""The control plugin: OSC requests → ControlMessages → replies; hostile input never hurts."""

from __future__ import annotations

import concurrent.futures
import logging
import random
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from posestage_osc.control import REPLY, ControlServer, to_control
from posestage_osc.plugin import OscOut
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from posestage import ControlMessage, PluginError, hookimpl
from posestage import osc_wire as wire
from posestage.testing import run_scene

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "scenes" / "demo.jsonl"


def osc(address: str, *args) -> bytes:
    b = OscMessageBuilder(address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


class Client:
    """A real UDP client on 127.0.0.1 reading replies on a thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.replies: list[tuple] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.sock.recvfrom(65536)
            except OSError:
                continue
            m = OscMessage(data)
            assert m.address == REPLY
            self.replies.append(tuple(m.params))

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, ("127.0.0.1", self.port))

    def ask(self, data: bytes, timeout: float = 5.0) -> tuple:
        before = len(self.replies)
        self.send(data)
        deadline = time.monotonic() + timeout
        while len(self.replies) == before and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(self.replies) > before, f"no reply to {data!r}"
        return self.replies[before]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def test_requests_map_to_control_messages():
    def m(address, *args):
        return to_control(wire.Message(address, args), "osc:test")

    assert m("/posestage/scene", 2) == ControlMessage("scene", value=2, source="osc:test")
    assert m("/posestage/scene", "pd").value == "pd"
    got = m("/posestage/plugin/osc/min_score", 0.5)
    assert (got.action, got.target, got.name, got.value) == ("set", "osc", "min_score", 0.5)
    assert m("/posestage/plugin/osc/targets", 1, 2).value == [1, 2]
    assert (m("/posestage/plugin/osc/disable").action, m("/posestage/plugin/osc/enable").target) == (
        "disable", "osc")  # fmt: skip
    got = m("/posestage/plugin/anonymizer/recapture")
    assert (got.action, got.target) == ("recapture", "anonymizer")
    got = m("/posestage/cue", 3, "go")
    assert (got.action, got.value, got.args) == ("cue", [3, "go"], (3, "go"))
    assert m("/lights/fade", 0.5).action == "lights/fade"
    for bad in [("/posestage/scene",), ("/posestage/plugin/osc",), ("/posestage",),
                ("/posestage/scene", True), ("/x", b"blob")]:  # fmt: skip
        with pytest.raises(ValueError):
            m(*bad)


@dataclass(frozen=True)
class Reply:
    """The contract's ControlReply(ok, text) (posestage.hookspecs once issue 7 lands)."""

    ok: bool
    text: str


def test_replies_come_from_the_stage_future():
    """post() returns a real Future resolved on another thread (as the stage's main loop
    does): each request gets its reply, error replies carry the stage's text."""
    posted: list = []
    pool = concurrent.futures.ThreadPoolExecutor(1)

    def post(message):
        posted.append(message)

        def handle():
            time.sleep(0.01)
            if message.value == "nowhere":
                return Reply(False, "osc: no scene 'nowhere'; scenes: a, b")
            return Reply(True, f"scene {message.value}: b")

        return pool.submit(handle)

    server = ControlServer(post, "127.0.0.1", 0)
    client = Client(server.address[1])
    try:
        assert client.ask(osc("/posestage/scene", 2)) == ("ok", "scene 2: b")
        assert client.ask(osc("/posestage/scene", "nowhere")) == (
            "error", "osc: no scene 'nowhere'; scenes: a, b")  # fmt: skip
        assert client.ask(osc("/posestage/scene"))[0] == "error"  # no stage involved
        assert client.ask(osc("/posestage/plugin/osc/min_score", 0.5)) == ("ok", "scene 0.5: b")
        assert [m.action for m in posted] == ["scene", "scene", "set"]
        client.send(osc(REPLY, "ok", "a reply is never answered"))
        time.sleep(0.2)
        s = server.stats()
        assert (s["requests"], s["ok"], s["errors"], s["ignored"], s["pending"]) == (5, 2, 2, 1, 0)
    finally:
        client.close()
        server.close()
        pool.shutdown()


def test_the_port_in_use_is_a_one_line_plugin_error():
    server = ControlServer(lambda m: None, "127.0.0.1", 0)
    try:
        with pytest.raises(PluginError, match=r"control.listen 127.0.0.1:\d+: .*choose another"):
            ControlServer(lambda m: None, "127.0.0.1", server.address[1])
    finally:
        server.close()


class Counter:
    """A plugin counting frames and the control messages passed on to plugins."""

    def __init__(self) -> None:
        self.frames = 0
        self.events: list = []

    @hookimpl
    def posestage_frame(self, frame):
        self.frames += 1

    @hookimpl
    def posestage_event(self, event):
        if isinstance(event, ControlMessage):
            self.events.append(event)


def hostile_packets(rng: random.Random, count: int) -> list[bytes]:
    """Random, truncated, mutated and hostile datagrams (bounded sizes)."""
    valid = [
        osc("/posestage/scene", "nowhere"), osc("/posestage/plugin/osc/min_score", "high"),
        osc("/posestage/plugin/nobody/enable"), osc("/posestage/cue", 1, 2.5, "x"),
        wire.bundle_header(0) + wire.element(osc("/posestage/plugin/osc/slots", 9999)),
    ]  # fmt: skip
    out = []
    for i in range(count):
        kind = i % 8
        base = rng.choice(valid)
        if kind == 0:
            out.append(rng.randbytes(rng.randrange(1, 300)))
        elif kind == 1:
            out.append(base[: rng.randrange(1, len(base))])
        elif kind == 2:
            data = bytearray(base)
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            out.append(bytes(data))
        elif kind == 3:
            out.append(b"/posestage/scene\x00\x00\x00\x00,b\x00\x00" + b"\x7f\xff\xff\xf0")
        elif kind == 4:
            nested = osc("/x")
            for _ in range(rng.randrange(3, 40)):
                nested = wire.bundle_header(0) + wire.element(nested)
            out.append(nested[:8000])
        elif kind == 5:
            out.append(b"/posestage/scene\x00\x00\x00\x00," + rng.randbytes(7) + b"\x00" * 8)
        elif kind == 6:
            out.append(b"#bundle\x00" + rng.randbytes(8) + b"\x7f\xff\xff\xff" + rng.randbytes(8))
        else:
            out.append(base)
    return out


def test_a_real_stage_switches_scenes_sets_and_survives_thousands_of_hostile_packets(caplog):
    caplog.set_level(logging.WARNING, logger="posestage.control")
    counter, osc_out = Counter(), OscOut()
    from posestage_osc.control import Control

    control = Control()
    plugins = {"control": control, "osc": osc_out, "count": counter}
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # a free port for the scene file
    common = f'[plugins.control]\nlisten = "127.0.0.1:{port}"\n[plugins.count]\n'
    scenes = [
        '[scene]\nname = "one"\n' + common + '[plugins.osc]\ntarget = "127.0.0.1:9"\n',
        '[scene]\nname = "two"\n' + common,
    ]
    seen: dict = {}

    def wait_for(check, limit=5.0):
        deadline = time.monotonic() + limit
        while not check() and time.monotonic() < deadline:
            time.sleep(0.01)
        return check()

    def drive(show):
        try:
            assert wait_for(lambda: control.server is not None and counter.frames > 3)
            server = control.server
            client = Client(server.address[1])
            future = isinstance(show.post(ControlMessage("noop")), concurrent.futures.Future)
            seen["future"] = future
            ok = client.ask(osc("/posestage/plugin/osc/min_score", 0.6))
            seen["set"] = (
                ok[0],
                wait_for(
                    lambda: osc_out.targets and osc_out.targets[0].encoder.options.min_score == 0.6
                ),
            )
            seen["disable"] = (
                client.ask(osc("/posestage/plugin/osc/disable"))[0],
                wait_for(lambda: "osc" not in show.context.plugins),
            )
            seen["enable"] = (
                client.ask(osc("/posestage/plugin/osc/enable"))[0],
                wait_for(lambda: "osc" in show.context.plugins),
            )
            seen["bad scene"] = client.ask(osc("/posestage/scene", "nowhere"))[0]
            seen["cue"] = (
                client.ask(osc("/posestage/cue", 3))[0],
                wait_for(lambda: any(e.action == "cue" for e in counter.events)),
            )
            seen["scene"] = (
                client.ask(osc("/posestage/scene", 2))[0],
                wait_for(lambda: show.context.scene == "two"),
            )
            assert control.server is server  # same settings in both scenes: the port stayed open
            before = server.stats()
            frames_before = counter.frames
            packets = hostile_packets(random.Random(8), 3000)
            for i, data in enumerate(packets):
                client.send(data)
                if i % 50 == 49:
                    time.sleep(0.005)  # paced: the test counts every datagram
            assert wait_for(lambda: server.stats()["datagrams"] - before["datagrams"] == 3000)
            settled = lambda: (lambda s: s["pending"] == 0 and len(client.replies) ==  # noqa: E731
                               s["ok"] + s["errors"])(server.stats())  # fmt: skip
            assert wait_for(settled, 10)
            seen["stats"] = server.stats()
            seen["frames during the flood"] = counter.frames - frames_before
            client.close()
        except BaseException as err:
            seen["error"] = err
        finally:
            show.stop("quit")

    report = run_scene(scenes, plugins, source=f"replay:{DEMO}", pace="realtime", loop=True,
                       duration=60, during=drive).report  # fmt: skip
    if "error" in seen:
        raise seen["error"]
    assert report.error is None and report.stopped_by == "quit"
    assert seen["set"] == ("ok", True)
    assert seen["disable"] == ("ok", True) and seen["enable"] == ("ok", True)
    assert seen["cue"] == ("ok", True) and seen["scene"] == ("ok", True)
    assert seen["future"] and seen["bad scene"] == "error"  # the stage's verdict comes back
    s = seen["stats"]
    assert s["datagrams"] == s["valid"] + sum(s["bad"].values())
    assert s["requests"] == s["ok"] + s["errors"] + s["ignored"]
    assert sum(s["bad"].values()) > 2000 and s["valid"] > 300 and not s["problems"]
    assert seen["frames during the flood"] > 0  # the show went on
    warned = [r.getMessage() for r in caplog.records if r.name == "posestage.control"]
    for kind in s["bad"]:
        assert sum(m.startswith(f"control: {kind} from") for m in warned) == 1, kind
