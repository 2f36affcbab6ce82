"""The room over the web server, on real sockets: zone counts in the pose stream."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from test_web import DEMO, Running

FULL = [[0, 0], [640, 0], [640, 480], [0, 480]]  # the demo's whole picture, camera pixels


def scene(name: str = "one", room: str = "") -> str:
    return (
        f'[scene]\nname = "{name}"\n[stage]\nsource = "replay:{DEMO}"\nloop = true\n'
        f"mirror = false\n\n[plugins.skeleton]\nthickness = 3\n{room}"
    )


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
