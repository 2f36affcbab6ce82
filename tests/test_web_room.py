"""The room over the web server, on real sockets: the ``room`` control request checked by the
scene parser (a bad table: one line, nothing changed), applied at once to the running stage
(its frames count people in the new zone), refused without the token off 127.0.0.1, saved into
the scene file on request only (which then reloads the same); zone counts in the pose stream."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
from test_web import DEMO, Running

from posestage.config.scenes import load_scene

FULL = [[0, 0], [640, 0], [640, 480], [0, 480]]  # the demo's whole picture, camera pixels


def scene(name: str = "one", room: str = "") -> str:
    return (
        f'[scene]\nname = "{name}"\n[stage]\nsource = "replay:{DEMO}"\nloop = true\n'
        f"mirror = false\n\n[plugins.skeleton]\nthickness = 3\n{room}"
    )


def room_request(run: Running, value, name: str = "", **headers) -> tuple[int, dict]:
    body = json.dumps({"action": "room", "name": name, "value": value}).encode()
    status, reply = run.post("/_/control", body, headers)
    return status, json.loads(reply)


def wait_for(check, what: str, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def zone_count(run: Running, name: str):
    frame = run.stage.pipeline.frame
    zone = frame.zone(name) if frame is not None else None
    return zone.count if zone is not None else None


def test_a_zone_sent_is_counting_at_once_and_the_file_is_untouched(tmp_path):
    with Running([scene()], tmp_path) as run:
        status, reply = room_request(run, {"zones": {"all": FULL}})
        counted = wait_for(lambda: zone_count(run, "all"), "the new zone never counted anyone")
        state = json.loads(run.get("/_/state")[2])["room"]
        text = (tmp_path / "scene0.toml").read_text()
    assert status == 200 and reply == {"ok": True, "text": "room: 1 zone"}
    assert counted >= 1
    assert state["table"] == {"zones": {"all": [[float(x), float(y)] for x, y in FULL]}}
    assert state["calibrated"] is False and state["units"] == "px"
    assert "[room" not in text  # applied live, not written


def test_a_bad_room_is_one_line_and_nothing_changes(tmp_path):
    room = f"\n[room.zones]\nall = {FULL}\n"
    with Running([scene(room=room)], tmp_path) as run:
        before = json.loads(run.get("/_/state")[2])["room"]["table"]
        few = room_request(run, {"zones": {"all": FULL, "thin": [[0, 0], [10, 0]]}})
        unknown = room_request(run, {"zones": {"all": FULL}, "colour": "red"})
        name = room_request(run, {"zones": {"a b": FULL}})
        line = room_request(run, {"floor": [[0, 0], [1, 0], [2, 0], [3, 0]],
                                  "image": [[0, 0], [10, 0], [20, 0], [30, 0]]})  # fmt: skip
        not_table = room_request(run, [1, 2])
        after = json.loads(run.get("/_/state")[2])["room"]["table"]
        zones = run.stage.pipeline.room_settings.zones
        rejected = run.stage.control.rejected
    for status, reply in (few, unknown, name, line, not_table):
        assert status == 200 and reply["ok"] is False and "\n" not in reply["text"]
        assert reply["text"].startswith("remote:web:127.0.0.1:")
    assert "thin" in few[1]["text"] and "at least 3" in few[1]["text"]
    assert "colour: unknown setting" in unknown[1]["text"]
    assert "a b" in name[1]["text"] and "line" in line[1]["text"]
    assert after == before and list(zones) == ["all"] and rejected == 5


def test_without_the_token_off_127_0_0_1_the_room_is_refused(tmp_path):
    with Running([scene()], tmp_path, web=("0.0.0.0", 0)) as run:
        from posestage.stage.web import _reachable

        outside = _reachable()
        assert outside != "127.0.0.1", "this test needs an address beyond 127.0.0.1"
        run.base = f"http://{outside}:{run.port}"
        token = run.stage.web.access.token
        refused = room_request(run, {"zones": {"all": FULL}})
        foreign = room_request(run, {"zones": {"all": FULL}}, Authorization=f"Bearer {token}",
                               Origin="http://evil.example")  # fmt: skip
        time.sleep(0.5)
        unchanged = dict(run.stage.pipeline.room_settings.zones)
        allowed = room_request(run, {"zones": {"all": FULL}}, Authorization=f"Bearer {token}")
        counted = wait_for(lambda: zone_count(run, "all"), "the zone never counted anyone")
    assert token is not None
    assert refused == (401, {"error": "token required"})
    assert foreign[0] == 403 and unchanged == {}
    assert allowed == (200, {"ok": True, "text": "room: 1 zone"}) and counted >= 1


def test_save_writes_the_room_into_the_scene_file_which_reloads_the_same(tmp_path):
    original = scene(room="\n[room]\n# measured with a tape\nview = false\n") + (
        "\n[tracking]\nmax_missing_seconds = 1.0\n"
    )
    floor = [[0.0, 0.0], [4.0, 0.0], [4.0, 2.5], [0.0, 2.5]]
    image = [[100.0, 300.0], [540.0, 300.0], [620.0, 460.0], [20.0, 460.0]]
    table = {"floor": floor, "image": image, "size": "640x480",
             "zones": {"door": [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]], "middle": floor}}  # fmt: skip
    with Running([original], tmp_path) as run:
        path = tmp_path / "scene0.toml"
        applied = room_request(run, table)
        state = json.loads(run.get("/_/state")[2])["room"]
        unsaved = path.read_text()
        saved = room_request(run, None, "save")
        reloaded = load_scene(path)
        written = path.read_text()
        time.sleep(1.5)  # the scene watcher reloads the written file
        running = run.stage.control.current_scene.room_settings()
    assert applied[1]["ok"] and applied[1]["text"].startswith("room: 2 zones, calibrated")
    assert state["calibrated"] and state["units"] == "m" and state["error"] < 50
    assert state["table"] == table
    assert unsaved == original
    assert saved == (200, {"ok": True, "text": "room: written to scene0.toml (2 zones)"})
    assert reloaded.room_settings() == running
    assert [list(p) for p in reloaded.room["floor"]] == floor
    assert {k: [list(c) for c in v] for k, v in reloaded.room["zones"].items()} == table["zones"]
    assert reloaded.tracking["max_missing_seconds"] == 1.0
    assert reloaded.plugin_names == ["skeleton"] and "tape" not in written


def test_the_pose_stream_carries_every_zones_count(tmp_path):
    room = f"\n[room.zones]\nall = {FULL}\nnone = [[-50, -50], [-10, -50], [-10, -10]]\n"

    async def watch(port: int) -> list[dict]:
        out = []
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"ws://127.0.0.1:{port}/_/poses") as ws:
                while len(out) < 8:
                    message = json.loads((await ws.receive(timeout=10)).data)
                    if message["type"] == "frame":
                        out.append(message)
        return out

    with Running([scene(room=room)], tmp_path) as run:
        frames = asyncio.run(watch(run.port))
    for frame in frames:
        assert [z["name"] for z in frame["zones"]] == ["all", "none"]
        all_, none = frame["zones"]
        assert all_["count"] == len(all_["people"]) and none["count"] == 0
    assert any(f["zones"][0]["count"] >= 1 for f in frames)
    assert frames[-1]["zones"][0]["visits"] >= 1
