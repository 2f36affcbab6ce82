"""Thousands of hostile HTTP, WebSocket and OSC requests at a running stage with its web server
and control port (token required): nothing is changed, nothing leaks, the show goes on — frames
keep going out over OSC all along — and the operator's own requests still work after."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time

import aiohttp
from test_web import DEMO, Running

from posestage import osc_wire as wire
from posestage.testing import OscReceiver


def raw_http(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = b""
        try:
            while chunk := s.recv(65536):
                got += chunk
        except OSError:
            pass
        return got


async def hostile_http(port: int, token: str, rng: random.Random) -> dict:
    statuses: dict = {}
    base = f"http://127.0.0.1:{port}"
    paths = ["/", "/_/state", "/_/page/../../etc/passwd", "/_/page/%2e%2e%2fsetup.py",
             "/pose/0/nose/x?VALUE", "/" + "a/" * 500, "/_/control", "/%00", "/?HOST_INFO",
             "/_/page/index.html", "/posestage/plugin/osc/target?VALUE", "/\u00e9\u00e8"]  # fmt: skip
    async with aiohttp.ClientSession() as session:
        for i in range(1500):
            path = rng.choice(paths)
            headers = {}
            kind = i % 6
            if kind == 0:
                headers["Authorization"] = f"Bearer {token}"  # the token, and a strange path
            elif kind == 1:
                headers["Authorization"] = "Bearer " + "x" * rng.randint(1, 400)
            elif kind == 2:
                headers.update({"Authorization": f"Bearer {token}", "Host": "evil.example"})
            elif kind == 3:
                headers["Cookie"] = "posestage_token=" + token[:-1] + "?"
            method = "POST" if kind in (4, 5) else "GET"
            body = None
            if method == "POST":
                headers.update({"Authorization": f"Bearer {token}"} if kind == 5 else {})
                headers["Origin"] = (
                    "http://evil.example"  # another site's page, even with the token
                )
                body = rng.choice([b"{", b"[]", json.dumps({"action": "set", "target": "osc",
                                   "name": "target", "value": "127.0.0.1:9"}).encode(),
                                   b"x" * 70000])  # fmt: skip
            try:
                async with session.request(method, base + path, headers=headers, data=body) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1
            except aiohttp.ClientError as err:
                statuses[type(err).__name__] = statuses.get(type(err).__name__, 0) + 1
    return statuses


async def hostile_websockets(port: int, token: str, rng: random.Random) -> dict:
    seen = {"refused": 0, "closed": 0, "open": 0}
    auth = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session:
        for i in range(150):
            path = rng.choice(["/", "/_/poses"])
            headers = auth if i % 3 else {}
            if i % 5 == 0:
                headers = {**auth, "Origin": "http://evil.example"}
            try:
                async with session.ws_connect(f"ws://127.0.0.1:{port}{path}", headers=headers,
                                              max_msg_size=0) as ws:  # fmt: skip
                    seen["open"] += 1
                    await ws.send_str(rng.choice(["{", "[]", "null", json.dumps(
                        {"COMMAND": "LISTEN", "DATA": "/" + "x" * 5000}), "x" * 70000]))  # fmt: skip
                    for _ in range(20):
                        await ws.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": f"/p/{_}"}))
                    await ws.send_bytes(bytes(rng.getrandbits(8) for _ in range(64)))
                    await ws.send_bytes(
                        wire.message("/posestage/plugin/osc/target", ["127.0.0.1:9"])
                    )
                    await ws.send_bytes(
                        wire.message("/posestage/plugin/skeleton/thickness", ["fat"])
                    )
                    try:
                        await ws.receive(timeout=0.05)
                    except asyncio.TimeoutError:
                        pass
            except aiohttp.WSServerHandshakeError:
                seen["refused"] += 1
            except (aiohttp.ClientError, ConnectionError):
                seen["closed"] += 1
    return seen


def test_thousands_of_hostile_requests_and_the_show_goes_on(tmp_path, caplog):
    rng = random.Random(20)
    with OscReceiver() as rx:
        text = (
            f'[scene]\nname = "show"\n[stage]\nsource = "replay:{DEMO}"\nloop = true\n'
            "control_token = true\n[plugins.skeleton]\nthickness = 3\n"
            f'[plugins.osc]\ntarget = "127.0.0.1:{rx.port}"\nlayout = "keypoints"\n'
        )
        with Running([text], tmp_path, control=("127.0.0.1", 0)) as run:
            token = run.stage.web.access.token
            started = time.time()
            statuses = asyncio.run(hostile_http(run.port, token, rng))
            sockets = asyncio.run(hostile_websockets(run.port, token, rng))
            garbage = [b"GET / HTTP/1.1\r\n" + b"X: " + b"a" * 20000 + b"\r\n\r\n",
                       b"\x00\xff" * 500, b"POST /_/control HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                       b"GET /../../etc/passwd HTTP/1.0\r\n\r\n"]  # fmt: skip
            answers = [raw_http(run.port, g) for g in garbage for _ in range(25)]
            control = run.stage.control_port.address[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                for i in range(2000):
                    data = (bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
                            if i % 2 else wire.message("/posestage/scene", ["nowhere"]))  # fmt: skip
                    udp.sendto(data, ("127.0.0.1", control))
                    udp.sendto(data, ("127.0.0.1", run.stage.web.tap_port))
            ended = time.time()
            time.sleep(0.5)
            frames_after = [m.received for m in rx.messages if m.address == "/pose/frame"]
            own = run.get("/_/state", {"Authorization": f"Bearer {token}"})
            settings = dict(run.stage.host.settings_of("skeleton"))
            osc_settings = dict(run.stage.host.settings_of("osc"))
    assert own[0] == 200 and json.loads(own[2])["scene"] == "show"
    assert settings["thickness"] == 3 and osc_settings["target"] == f"127.0.0.1:{rx.port}"
    assert set(statuses) <= {200, 204, 400, 401, 403, 404, 405, 413}, statuses
    assert statuses.get(200, 0) + statuses.get(204, 0) + statuses.get(404, 0) > 100
    assert statuses.get(401, 0) > 200 and statuses.get(403, 0) > 200
    assert sockets["refused"] >= 50 and sockets["open"] >= 50, sockets
    assert all(b"root:" not in a for a in answers)
    # the show went on: frames kept going out during the whole storm
    during = [t for t in frames_after if started <= t <= ended]
    assert len(during) >= (ended - started) * 5, (len(during), ended - started)
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert not gaps or max(gaps) < 2.0, max(gaps)
    assert run.report is not None and run.report.web["refused"] > 400
    errors = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert not errors, errors[:3]  # counted, not a traceback each
