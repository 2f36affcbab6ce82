"""The stage's control port obeys only its operator: each attack of issue 17 refused with
nothing written, sent or reflected. Real UDP on 127.0.0.1, real stages on the demo replay.

The attacks on live settings run twice: through the stage's control port (``udp``) and
through ``stage.post()`` with a remote source (``post``, the route that existed before the
port: there the same requests wrote files, retargeted OSC and switched plugins off).
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from posestage import ControlMessage, ControlReply
from posestage import osc_wire as wire
from posestage.stage.control_port import RATE, REPLY, ControlPort, to_control
from posestage.stage.messages import REMOTE, is_remote
from posestage.testing import OscReceiver, run_scene

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenes" / "demo.jsonl"
WAIT = 10.0


def free_port() -> int:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


class Client:
    """A real UDP client on 127.0.0.1: what it sent, what came back (bytes and messages)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.sent_bytes = self.sent = 0
        self.got: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self.got.append(self.sock.recvfrom(65536)[0])
            except OSError:
                continue

    @property
    def replies(self) -> list[tuple]:
        out = []
        for data in list(self.got):
            (m,) = wire.decode(data)
            assert m.address == REPLY
            out.append(m.args)
        return out

    def send(self, data: bytes) -> None:
        self.sent += 1
        self.sent_bytes += len(data)
        self.sock.sendto(data, ("127.0.0.1", self.port))

    def ask(self, data: bytes, timeout: float = WAIT) -> tuple:
        before = len(self.got)
        self.send(data)
        deadline = time.monotonic() + timeout
        while len(self.got) == before and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(self.got) > before, f"no reply to {data[:60]!r}"
        return self.replies[before]

    def quiet(self, seconds: float = 0.3) -> None:
        time.sleep(seconds)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def osc(address: str, *args) -> bytes:
    return wire.message(address, list(args))


def padded(address: str, *args) -> bytes:
    """A request long enough for a full reply (replies are never larger than their request):
    in a bundle with a ``/posestage/reply`` of padding, which the port never reads."""
    padding = wire.message(REPLY, ["." * 160])
    return wire.bundle_header(0) + wire.element(osc(address, *args)) + wire.element(padding)


# -- the mapping and the authority, on a port of their own -------------------------------------


def test_requests_map_to_control_messages_marked_remote():
    def m(address, *args):
        return to_control(wire.Message(address, args), "remote:osc:test")

    assert m("/posestage/scene", 2) == ControlMessage("scene", value=2, source="remote:osc:test")
    got = m("/posestage/plugin/osc/min_score", 0.5)
    assert (got.action, got.target, got.name, got.value) == ("set", "osc", "min_score", 0.5)
    assert m("/posestage/plugin/osc/disable").action == "disable"
    assert (m("/posestage/cue", 3, "go").args, m("/lights/fade", 0.5).action) == (
        (3, "go"), "lights/fade")  # fmt: skip
    for bad in [("/posestage/scene",), ("/posestage/plugin/osc",), ("/x", b"blob")]:
        with pytest.raises(ValueError):
            m(*bad)
    assert is_remote(REMOTE + "osc:1.2.3.4:5") and not is_remote("osc") and not is_remote("")


class Stage:
    """``post`` as the stage's: a real Future resolved on another thread."""

    def __init__(self) -> None:
        self.posted: list = []
        self.pool = concurrent.futures.ThreadPoolExecutor(1)

    def post(self, message):
        self.posted.append(message)
        return self.pool.submit(lambda: ControlReply(True, f"did {message.action}"))


def test_a_sender_without_the_token_gets_nothing_back_at_all():
    """``control_token = true`` forces a token even on 127.0.0.1: until a sender has sent
    ``/posestage/auth <token>`` nothing it sends is read or answered; a wrong token neither."""
    stage = Stage()
    port = ControlPort(stage.post, "127.0.0.1", 0, token=True)
    client = Client(port.address[1])
    try:
        token = port.authority.token
        assert token and len(token) >= 16
        for data in (osc("/posestage/scene", 2), osc("/posestage/auth", "wrong-token-guess"),
                     osc("/posestage/auth"), osc("/posestage/plugin/osc/disable")):  # fmt: skip
            client.send(data)
        client.quiet()
        assert client.got == [] and stage.posted == []
        assert client.ask(osc("/posestage/auth", token)) == ("ok", "authorised")
        assert client.ask(padded("/posestage/scene", 2)) == ("ok", "did scene")
        assert [m.source for m in stage.posted] == [
            f"remote:osc:127.0.0.1:{client.sock.getsockname()[1]}"
        ]
        refused = port.stats()["refused"]
        assert refused == {"no token": 2, "wrong token": 2}
    finally:
        client.close()
        port.close()
        stage.pool.shutdown()


def test_a_sender_off_the_allow_list_gets_nothing_back_at_all():
    stage = Stage()
    port = ControlPort(stage.post, "127.0.0.1", 0, allow=["198.51.100.0/24", "203.0.113.20"])
    client = Client(port.address[1])
    try:
        for data in (osc("/posestage/scene", 2), osc("/posestage/auth", "x"), b"garbage!"):
            client.send(data)
        client.quiet()
        assert client.got == [] and stage.posted == []
        assert port.stats()["refused"] == {"not on control_allow": 3}
    finally:
        client.close()
        port.close()
    allowed = ControlPort(stage.post, "127.0.0.1", 0, allow=["127.0.0.0/8"])
    client = Client(allowed.address[1])
    try:
        assert client.ask(padded("/posestage/scene", 1))[0] == "ok"
    finally:
        client.close()
        allowed.close()
        stage.pool.shutdown()


def test_beyond_this_computer_the_port_needs_a_token_or_an_allow_list():
    port = ControlPort(Stage().post, "0.0.0.0", 0)
    try:
        assert port.authority.token is not None  # on by itself: nobody steers without it
    finally:
        port.close()
    port = ControlPort(Stage().post, "0.0.0.0", 0, allow=["127.0.0.1"])
    try:
        assert port.authority.token is None and "127.0.0.1" in port.authority.describe()
    finally:
        port.close()


def test_replies_are_never_larger_than_their_request_and_share_one_rate():
    """A bundle of N requests gets one reply, no more bytes than the bundle (errors too);
    a bundle over the rate, or datagrams beyond it, get nothing."""
    stage = Stage()
    port = ControlPort(stage.post, "127.0.0.1", 0)
    client = Client(port.address[1])
    try:
        bad = [wire.element(osc("/posestage/scene")) for _ in range(256)]  # each one an error
        huge = wire.bundle_header(0) + b"".join(bad)
        client.send(huge)  # 256 > RATE: dropped whole, unanswered
        client.quiet()
        assert client.got == [] and stage.posted == []
        bundle = wire.bundle_header(0) + b"".join(bad[:100])
        reply = client.ask(bundle)
        assert reply[0] == "error" and "100 of 100 refused" in reply[1]
        assert len(client.got) == 1 and len(client.got[0]) <= len(bundle)
        for _ in range(20):  # 2000 requests at once: the rate lets about 200 through
            client.send(bundle)
        client.quiet(0.5)
        assert client.sent >= len(client.got) and len(client.got) <= 1 + 2 + int(RATE // 100)
        assert sum(map(len, client.got)) <= client.sent_bytes
        assert port.stats()["refused"]["over the rate"] >= 15
        tiny = osc("/posestage/scene", 1)  # 28 bytes: the verdict alone fits
        assert client.ask(tiny) in (("ok",), ("ok", "")) and len(client.got[-1]) <= len(tiny)
    finally:
        client.close()
        port.close()
        stage.pool.shutdown()


# -- attacks on a real stage ---------------------------------------------------------------------


SCENE = """
[scene]
name = "one"
[stage]
{control}
[plugins.recorder]
path = "{tmp}/takes/take.jsonl"
[plugins.footfall]
folder = "{tmp}/footfall"
background = "grid"
[plugins.osc]
target = "127.0.0.1:{out}"
"""


def attack_stage(tmp_path, route, attack, plugins=None):
    """Run the stage with recorder, footfall and osc; ``attack(send, show)`` sends requests
    through ``route`` (``send(address, *args)`` returns the reply, or None when none came)."""
    out = OscReceiver()
    port = free_port()
    control = f'control = "127.0.0.1:{port}"' if route == "udp" else ""
    text = SCENE.format(control=control, tmp=tmp_path.as_posix(), out=out.port)
    seen: dict = {}

    def during(show):
        show.wait_for(lambda: len(show.run.frames) > 3)
        client = Client(port) if route == "udp" else None

        def send(address, *args):
            if client is not None:
                try:
                    return client.ask(padded(address, *args))
                except AssertionError:
                    return None
            message = to_control(wire.Message(address, args), f"{REMOTE}osc:127.0.0.1:1")
            try:
                reply = show.post(message).result(WAIT)
            except concurrent.futures.TimeoutError:
                return None
            return ("ok" if reply.ok else "error", reply.text)

        try:
            attack(send, show, seen)
        finally:
            if client is not None:
                client.close()

    try:
        run = run_scene(text, plugins, source=f"replay:{DEMO}", pace="realtime", loop=True,
                        duration=60, during=during)  # fmt: skip
    finally:
        out.close()
    return run, seen, out


ROUTES = ["udp", "post"]


@pytest.mark.parametrize("route", ROUTES)
def test_a_packet_cannot_make_plugins_write_files_anywhere(tmp_path, route):
    outside = tmp_path / "outside"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def attack(send, show, seen):
        seen["path"] = send("/posestage/plugin/recorder/path", str(outside / "x.jsonl"))
        seen["folder"] = send("/posestage/plugin/footfall/folder", str(outside / "ff"))
        seen["fifo"] = send("/posestage/plugin/recorder/path", str(fifo))
        seen["after"] = send("/posestage/scene", 1)  # control is not stalled

    run, seen, _ = attack_stage(tmp_path, route, attack)
    for key in ("path", "folder", "fifo"):
        assert seen[key] is not None and seen[key][0] == "error", (key, seen[key])
        assert "cannot be changed live" in seen[key][1]
    assert seen["after"] is not None and seen["after"][0] == "ok"
    assert not outside.exists()
    assert (tmp_path / "takes").is_dir() and run.report.error is None


@pytest.mark.parametrize("route", ROUTES)
def test_a_packet_cannot_retarget_or_amplify_the_pose_stream(tmp_path, route):
    elsewhere = OscReceiver()

    def attack(send, show, seen):
        seen["target"] = send("/posestage/plugin/osc/target", f"127.0.0.1:{elsewhere.port}")
        seen["prefix"] = send("/posestage/plugin/osc/prefix", "/p" * 30_000)
        seen["ttl"] = send("/posestage/plugin/osc/ttl", 255)
        seen["rebind"] = send("/posestage/plugin/control/listen", "0.0.0.0:9")
        seen["ok"] = send("/posestage/plugin/osc/min_score", 0.6)

    try:
        _, seen, out = attack_stage(tmp_path, route, attack)
        time.sleep(0.3)
        assert elsewhere.messages == []
    finally:
        elsewhere.close()
    for key in ("target", "prefix", "ttl", "rebind"):
        assert seen[key] is not None and seen[key][0] == "error", (key, seen[key])
    assert seen["ok"][0] == "ok"
    addresses = {m.address.split("/")[1] for m in out.messages}
    assert addresses == {"pose"}  # the old prefix throughout


@pytest.mark.parametrize("route", ROUTES)
def test_a_refused_value_leaves_footfall_running_with_its_old_settings(tmp_path, route):
    def attack(send, show, seen):
        seen["grid"] = send("/posestage/plugin/footfall/grid", "lots")
        time.sleep(0.3)
        seen["plugins"] = show.context.plugins

    run, seen, _ = attack_stage(tmp_path, route, attack)
    assert seen["grid"][0] == "error" and "keeps its previous settings" in seen["grid"][1]
    assert "footfall" in seen["plugins"]
    assert list((tmp_path / "footfall").glob("*.csv"))  # it ran to the end and wrote its map


def test_a_refused_value_leaves_the_synth_running_with_its_old_settings(tmp_path):
    def during(show):
        show.wait_for(lambda: len(show.run.frames) > 3)
        reply = show.post(ControlMessage("set", "synth", "voices", [], "remote:osc:x")).result(WAIT)
        time.sleep(0.3)
        seen.update(reply=reply, plugins=show.context.plugins)

    seen: dict = {}
    text = '[plugins.synth]\ndriver = "none"\n'
    run_scene(text, source=f"replay:{DEMO}", pace="realtime", loop=True, duration=60,
              during=during)  # fmt: skip
    assert not seen["reply"].ok and "keeps its previous settings" in seen["reply"].text
    assert "synth" in seen["plugins"]


def test_the_port_stays_open_across_a_switch_to_a_scene_without_control(tmp_path):
    port = free_port()
    first = f'[scene]\nname = "one"\n[stage]\ncontrol = "{port}"\n[plugins.skeleton]\n'
    second = '[scene]\nname = "two"\n[plugins.skeleton]\n'
    seen: dict = {}

    def during(show):
        client = Client(port)
        try:
            seen["switch"] = client.ask(padded("/posestage/scene", 2))
            seen["two"] = show.wait_for(lambda: show.context.scene == "two")
            seen["back"] = client.ask(padded("/posestage/scene", "one"))
        finally:
            client.close()

    run_scene([first, second], source=f"replay:{DEMO}", pace="realtime", loop=True,
              duration=60, during=during)  # fmt: skip
    assert seen["switch"] == ("ok", "scene 2: two") and seen["two"]
    assert seen["back"] == ("ok", "scene 1: one")


def test_who_did_what_is_logged_and_refusals_are_counted_not_logged_each(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    port = free_port()
    text = f'[stage]\ncontrol = "{port}"\n[plugins.osc]\ntarget = "127.0.0.1:9"\n'
    seen: dict = {}

    def during(show):
        client = Client(port)
        try:
            seen["who"] = client.sock.getsockname()[1]
            seen["set"] = client.ask(padded("/posestage/plugin/osc/min_score", 0.6))
            for _ in range(60):
                client.ask(padded("/posestage/plugin/osc/min_score", "high"))
        finally:
            client.close()

    run = run_scene(text, source=f"replay:{DEMO}", pace="realtime", loop=True, duration=60,
                    during=during)  # fmt: skip
    assert seen["set"][0] == "ok"
    lines = [r.getMessage() for r in caplog.records]
    who = f"remote:osc:127.0.0.1:{seen['who']}"
    assert sum(line == f"control: {who}: osc.min_score = 0.6" for line in lines) == 1
    refused = [line for line in lines if "control message refused" in line]
    assert 1 <= len(refused) <= 3 and run.report.rejected == 60
    assert run.report.remote["requests"] == 61 and run.report.remote["replies"] == 61


def test_a_control_port_in_use_or_a_bad_address_is_one_line_exit_2(capsys):
    from posestage.testing import run_cli

    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    try:
        port = taken.getsockname()[1]
        status = run_cli("run", "--source", f"replay:{DEMO}", "--headless", "--frames", "2",
                         "--control", str(port))  # fmt: skip
        err = capsys.readouterr().err.strip().splitlines()
        assert status == 2 and any(f"127.0.0.1:{port}" in e and "choose another" in e for e in err)
    finally:
        taken.close()
    assert run_cli("run", "--control", "everywhere", "--headless") == 2
    assert "[HOST:]PORT" in capsys.readouterr().err


def test_refused_remote_requests_are_not_painted_over_the_performers(tmp_path):
    port = free_port()
    text = f'[stage]\ncontrol = "{port}"\n[plugins.skeleton]\n'
    seen: dict = {}

    def during(show):
        client = Client(port)
        try:
            seen["remote"] = client.ask(padded("/posestage/scene", "nowhere"))
            seen["bad set"] = client.ask(padded("/posestage/plugin/skeleton/thickness", "fat"))
            local = show.post(ControlMessage("scene", value="elsewhere", source="key"))
            seen["local"] = local.result(WAIT)
            overlay = show._stage.overlay
            seen["painted"] = show.wait_for(lambda: overlay.errors(time.perf_counter()))
            seen["lines"] = overlay.errors(time.perf_counter())
        finally:
            client.close()

    run = run_scene(text, source=f"replay:{DEMO}", pace="realtime", loop=True, duration=60,
                    headless=False, during=during)  # fmt: skip
    assert seen["remote"][0] == "error" and "nowhere" in seen["remote"][1]
    assert seen["bad set"][0] == "error" and not seen["local"].ok
    assert seen["painted"], "a local refusal is shown on the window"
    assert all("nowhere" not in line and "fat" not in line for line in seen["lines"])
    assert any("elsewhere" in line for line in seen["lines"])
    assert run.report.rejected == 3
