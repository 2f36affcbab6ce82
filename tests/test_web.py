"""The stage's web server on real sockets: OSCQuery read by a client nobody here wrote
(python-oscquery), LISTEN over a WebSocket decoded by python-osc, PATH_CHANGED on a scene switch,
the JSON pose stream, the control endpoint, and the token. The demo replay, 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
from pythonosc.osc_message import OscMessage
from pythonoscquery.osc_query_client import OSCQueryClient
from zeroconf import ServiceInfo

from posestage.stage import Stage, StageOptions
from posestage.testing import OscReceiver

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenes" / "demo.jsonl"


class Running:
    """A real stage running on its own thread with a web server; stopped on exit."""

    def __init__(self, scenes: list[str], tmp_path: Path, **options) -> None:
        paths = []
        for i, text in enumerate(scenes):
            path = tmp_path / f"scene{i}.toml"
            path.write_text(text)
            paths.append(path)
        options.setdefault("web", ("127.0.0.1", 0))
        self.stage = Stage(paths, StageOptions(headless=True, duration=120, **options))
        self.report = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.report = self.stage.run()

    def __enter__(self) -> Running:
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            web = self.stage.web
            if web is not None and web._ready.is_set() and self.stage.pipeline.frame is not None:
                break
            time.sleep(0.05)
        assert self.stage.web is not None and self.stage.web._ready.is_set()
        self.port = self.stage.web.address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc) -> None:
        self.stage.stop()
        self.thread.join(30)
        assert not self.thread.is_alive()

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def post(self, path: str, body: bytes, headers: dict | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.base + path, data=body, method="POST",
                                         headers={"Content-Type": "application/json", **(headers or {})})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=20) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()


def scene(name: str, osc: str = "", extra: str = "") -> str:
    text = f'[scene]\nname = "{name}"\n[stage]\nsource = "replay:{DEMO}"\nloop = true\n{extra}'
    return text + "[plugins.skeleton]\n" + osc


def walk(node: dict) -> set[str]:
    out = {node["FULL_PATH"]}
    for child in (node.get("CONTENTS") or {}).values():
        out |= walk(child)
    return out


def test_an_oscquery_client_nobody_here_wrote_finds_every_address_sent(tmp_path):
    with OscReceiver() as rx:
        osc = f'[plugins.osc]\ntarget = "127.0.0.1:{rx.port}"\nlayout = "values"\n'
        with Running([scene("one", osc)], tmp_path) as run:
            info = ServiceInfo("_oscjson._tcp.local.", "posestage._oscjson._tcp.local.",
                               addresses=[socket.inet_aton("127.0.0.1")], port=run.port)  # fmt: skip
            client = OSCQueryClient(info)
            host = client.get_host_info()
            root = client.query_node("/")
            tree = client.last_json
            status, _, single = run.get("/pose/3/left_wrist/y")
        sent = {m.address for m in rx.messages}
    assert host.name == "posestage" and host.extensions["LISTEN"] is True
    assert root is not None
    paths = walk(tree)
    assert sent and sent <= paths, sorted(sent - paths)[:5]
    for slot in range(6):  # fixed slots: people coming and going never change the tree
        assert f"/pose/{slot}/right_ankle/score" in paths and f"/pose/{slot}/present" in paths
    node = json.loads(single)
    assert status == 200 and node["TYPE"] == "f" and node["ACCESS"] == 1
    assert node["RANGE"] == [{"MIN": 0.0, "MAX": 1.0}] and node["CLIPMODE"] == ["both"]
    thickness = tree["CONTENTS"]["posestage"]["CONTENTS"]["plugin"]["CONTENTS"]["skeleton"][
        "CONTENTS"]["thickness"]  # fmt: skip
    assert thickness["TYPE"] == "i" and thickness["ACCESS"] == 3 and thickness["VALUE"] == [3]
    assert thickness["RANGE"] == [{"MIN": 1, "MAX": 40}] and thickness["DESCRIPTION"]
    target = tree["CONTENTS"]["posestage"]["CONTENTS"]["plugin"]["CONTENTS"]["osc"]["CONTENTS"][
        "target"]  # fmt: skip
    assert target["ACCESS"] == 1  # names a host: the scene file's only


async def _listen(port: int, paths: list[str], switch=None, count: int = 20) -> dict:
    got: dict = {"osc": [], "text": []}
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"ws://127.0.0.1:{port}/") as ws:
            for path in paths:
                await ws.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": path}))
            deadline = time.monotonic() + 20
            switched = False
            while time.monotonic() < deadline:
                try:
                    msg = await ws.receive(timeout=1.0)
                except asyncio.TimeoutError:
                    continue
                if msg.type == aiohttp.WSMsgType.BINARY:
                    got["osc"].append(OscMessage(msg.data))
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    got["text"].append(json.loads(msg.data))
                if len(got["osc"]) >= count and switch is not None and not switched:
                    switched = True
                    await asyncio.get_running_loop().run_in_executor(None, switch)
                if len(got["osc"]) >= count and (switch is None or got["text"]):
                    break
    return got


def test_listen_streams_binary_osc_and_a_switch_says_path_changed(tmp_path):
    osc = '[plugins.osc]\ntarget = "127.0.0.1:9"\nlayout = "keypoints"\n'
    with Running([scene("one", osc), scene("two")], tmp_path, control=("127.0.0.1", 0)) as run:

        def switch():
            from posestage import ControlMessage

            assert run.stage.post(ControlMessage("scene", value="two")).result(10).ok

        got = asyncio.run(_listen(run.port, ["/pose/0/nose", "/pose/frame"], switch))
    addresses = {m.address for m in got["osc"]}
    assert addresses == {"/pose/0/nose", "/pose/frame"}
    nose = next(m for m in got["osc"] if m.address == "/pose/0/nose")
    assert len(nose.params) == 3 and all(isinstance(v, float) for v in nose.params)
    assert {"COMMAND": "PATH_CHANGED", "DATA": "/"} in got["text"]


def test_the_pose_stream_is_json_one_message_a_frame_and_control_works(tmp_path):
    async def watch(port: int) -> list[dict]:
        out = []
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"ws://127.0.0.1:{port}/_/poses") as ws:
                while len(out) < 10:
                    out.append(json.loads((await ws.receive(timeout=10)).data))
        return out

    with Running([scene("one"), scene("two")], tmp_path) as run:
        messages = asyncio.run(watch(run.port))
        status, reply = run.post("/_/control", json.dumps(
            {"action": "set", "target": "skeleton", "name": "thickness", "value": 7}).encode())  # fmt: skip
        bad_status, bad = run.post("/_/control", json.dumps(
            {"action": "set", "target": "skeleton", "name": "thickness", "value": "fat"}).encode())  # fmt: skip
        switched = run.post("/_/control", json.dumps({"action": "scene", "value": "two"}).encode())
        state = json.loads(run.get("/_/state")[2])
        settings = run.stage.host.settings_of("skeleton")
    hello, frames = messages[0], messages[1:]
    assert hello["type"] == "hello" and len(hello["keypoints"]) == 17 and hello["bones"]
    assert all(f["type"] == "frame" for f in frames)
    assert [f["index"] for f in frames] == sorted({f["index"] for f in frames})
    person = frames[-1]["people"][0]
    assert len(person["keypoints"]) == 17 and all(len(k) == 3 for k in person["keypoints"])
    assert all(0.0 <= k[0] <= 1.0 for f in frames for p in f["people"] for k in p["keypoints"])
    assert "image" not in json.dumps(frames)
    assert status == 200 and json.loads(reply) == {"ok": True, "text": "skeleton.thickness = 7"}
    assert bad_status == 200 and json.loads(bad)["ok"] is False
    assert json.loads(switched[1])["ok"] and state["scene"] == "two"
    assert settings["thickness"] == 7 or state["scene"] == "two"


def test_the_token_is_asked_for_and_then_opens_page_and_stream(tmp_path):
    with Running([scene("one", extra="control_token = true\n")], tmp_path) as run:
        token = run.stage.web.access.token
        page = run.get("/", {"Accept": "text/html"})
        tree = run.get("/")
        wrong = run.get("/", {"Authorization": "Bearer nope-nope-nope-nope"})
        bearer = run.get("/?HOST_INFO", {"Authorization": f"Bearer {token}"})
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            opener.open(urllib.request.Request(f"{run.base}/?token={token}",
                                               headers={"Accept": "text/html"}), timeout=10)  # fmt: skip
            redirect = None
        except urllib.error.HTTPError as err:
            redirect = (err.code, err.headers.get("Location"), err.headers.get("Set-Cookie"))
        cookie = run.get("/_/state", {"Cookie": f"posestage_token={token}"})

        async def stream(headers: dict) -> str:
            async with aiohttp.ClientSession() as session:
                try:
                    async with session.ws_connect(f"ws://127.0.0.1:{run.port}/_/poses",
                                                  headers=headers) as ws:  # fmt: skip
                        return json.loads((await ws.receive(timeout=10)).data)["type"]
                except aiohttp.WSServerHandshakeError as err:
                    return str(err.status)

        refused = asyncio.run(stream({}))
        allowed = asyncio.run(stream({"Cookie": f"posestage_token={token}"}))
    assert page[0] == 401 and b"token" in page[2] and b"<form" in page[2]
    assert (
        b"app.js" not in page[2]
        and b"_/poses" not in page[2]
        and tree[0] == 401
        and wrong[0] == 401
    )
    assert bearer[0] == 200 and json.loads(bearer[2])["NAME"] == "posestage"
    assert redirect is not None and redirect[0] == 303 and redirect[1] == "/"
    assert "HttpOnly" in redirect[2] and "SameSite=Strict" in redirect[2]
    assert cookie[0] == 200 and refused == "401" and allowed == "hello"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_binary_osc_over_the_websocket_is_a_control_message(tmp_path):
    from posestage import osc_wire as wire

    async def write(port: int) -> None:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"ws://127.0.0.1:{port}/") as ws:
                await ws.send_bytes(wire.message("/posestage/plugin/skeleton/thickness", [5]))
                await ws.send_bytes(wire.message("/posestage/plugin/skeleton/thickness", ["fat"]))

    with Running([scene("one")], tmp_path) as run:
        asyncio.run(write(run.port))
        deadline = time.monotonic() + 10
        while run.stage.host.settings_of("skeleton")["thickness"] != 5:
            assert time.monotonic() < deadline, "the setting never changed"
            time.sleep(0.05)
        value = json.loads(run.get("/posestage/plugin/skeleton/thickness?VALUE")[2])
    assert value == {"VALUE": [5]}
    assert run.report.rejected == 1  # "fat": refused as a scene file would be


def test_any_page_may_read_the_pose_stream_but_not_steer(tmp_path):
    async def connect(port: int, path: str) -> str:
        headers = {"Origin": "https://editor.p5js.org"}
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(
                    f"ws://127.0.0.1:{port}{path}", headers=headers
                ) as ws:
                    if path == "/_/poses":
                        return json.loads((await ws.receive(timeout=10)).data)["type"]
                    return "open"
            except aiohttp.WSServerHandshakeError as err:
                return str(err.status)

    with Running([scene("one")], tmp_path) as run:
        poses = asyncio.run(connect(run.port, "/_/poses"))
        steer = asyncio.run(connect(run.port, "/"))
        post = run.post("/_/control", b'{"action": "scene", "value": "one"}',
                        {"Origin": "https://editor.p5js.org"})  # fmt: skip
    assert poses == "hello" and steer == "403" and post[0] == 403
