"""The web server's cost: frames the stage dispatches with three browsers watching the pose
stream, as a ratio to the same run with no server, measured in the same run.

Run: ``python bench/web.py [--model posenet-481x641] [--frames 150] [--rounds 3]
[--watchers 3]``. On the shared photos (640x480), headless, a source handing frames as fast as
they are taken, interleaved per round: detect alone, the stage without a web server (N), the
stage with ``--web`` and ``--watchers`` clients reading ``/_/poses`` (W), detect again… Each
watcher is a child process (as a browser is: never this process's GIL) reading every message.
Rates are over the last three quarters of each run's frames (the watchers connect meanwhile).
Prints W/N and W and N against detect; never asserts: run it more than once, quote the range.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import stage as bench  # noqa: E402  bench/stage.py: the machine, the photos, detect alone

from posestage.config.scenes import parse_scene  # noqa: E402
from posestage.host import PluginHost  # noqa: E402
from posestage.sources import ArraySource  # noqa: E402
from posestage.stage import Stage, StageOptions  # noqa: E402

WATCHER = """
import asyncio, sys, aiohttp
async def main(port):
    count = 0
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"ws://127.0.0.1:{port}/_/poses") as ws:
            print("connected", flush=True)
            async for msg in ws:
                count += 1
    print(count, flush=True)
asyncio.run(main(int(sys.argv[1])))
"""


def run(engine, images, frames: int, watchers: int) -> dict:
    """One stage run: without a server (``watchers`` < 0) or with one and that many watchers."""
    host = PluginHost()
    counter = bench.Counter()
    host.register(counter, "counter")
    scene = parse_scene("[plugins.counter]\n", None, host)
    web = ("127.0.0.1", 0) if watchers >= 0 else None
    source = ArraySource(images, count=frames, name="bench, as fast as taken")
    stage = Stage([scene], StageOptions(headless=True, web=web), host=host, source=source,
                  engine=engine)  # fmt: skip
    thread = threading.Thread(target=stage.run, daemon=True)
    children = []
    thread.start()
    if web is not None:
        while stage.web is None or not stage.web._ready.is_set():
            time.sleep(0.01)
        port = str(stage.web.address[1])
        for _ in range(watchers):
            children.append(subprocess.Popen([sys.executable, "-c", WATCHER, port],
                                             stdout=subprocess.PIPE, text=True))  # fmt: skip
    thread.join()
    got = [c.communicate(timeout=30)[0].split() for c in children]
    times = counter.times[len(counter.times) // 4 :]
    return {"fps": bench.steady_rate(times), "frames": len(counter.times),
            "received": [int(g[-1]) for g in got if g and g[-1].isdigit()]}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="posenet-481x641")
    parser.add_argument("--frames", type=int, default=150, help="frames per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--watchers", type=int, default=3)
    args = parser.parse_args()

    from posestage.engine.pose_engine import PoseEngine

    for line in bench.machine():
        print(line)
    engine = PoseEngine(args.model)
    images = bench.shared_images()
    start = bench.cpu_seconds()
    detect = [bench.bench_detect(engine, images, args.frames)]
    none, web = [], []
    for _ in range(args.rounds):
        none.append(run(engine, images, args.frames, -1))
        detect.append(bench.bench_detect(engine, images, args.frames))
        web.append(run(engine, images, args.frames, args.watchers))
        detect.append(bench.bench_detect(engine, images, args.frames))
    print(f"# model {args.model}, {engine.num_threads} inference thread(s), {args.frames} frames "
          f"a run, {args.watchers} watchers; other processes used "
          f"{bench.others_cores(start):.2f} cores meanwhile")  # fmt: skip
    d = [x[0] for x in detect]
    print(f"detect alone      {bench.span(d, '{:.1f}')} fps")
    n_ratio = [r["fps"] / ((d[2 * i] + d[2 * i + 1]) / 2) for i, r in enumerate(none)]
    w_ratio = [r["fps"] / ((d[2 * i + 1] + d[2 * i + 2]) / 2) for i, r in enumerate(web)]
    print(f"no server         {bench.span([r['fps'] for r in none], '{:.1f}')} fps = "
          f"{bench.span(n_ratio)} x detect")  # fmt: skip
    print(f"web, {args.watchers} watchers  {bench.span([r['fps'] for r in web], '{:.1f}')} fps = "
          f"{bench.span(w_ratio)} x detect")  # fmt: skip
    ratio = [w["fps"] / n["fps"] for w, n in zip(web, none)]
    received = [x for r in web for x in r["received"]]
    print(f"web / no server   {bench.span(ratio)} (median {statistics.median(ratio):.3f}); each "
          f"watcher received {min(received, default=0)}–{max(received, default=0)} of "
          f"{web[0]['frames']} frames")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
