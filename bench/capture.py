"""What capture costs, per kind of live source, as ratios to reading the same frames from a
video file in the same run.

Run: ``python bench/capture.py [--runs 3] [--frames 90]``. The frames: one second of FFmpeg's
``testsrc2`` at 1280x720, 30 fps, looped. The sources, interleaved run by run (so a busy
machine slows them alike):

- ``video``: the frames encoded to an H.264 file, read at its own pace (the baseline);
- ``lavfi``: a virtual camera (``camera:`` through the device path, as a webcam is opened);
- ``rtsp``: an RTSP sender on 127.0.0.1 (H.264 over RTP, interleaved on TCP; tests/servers.py);
- ``ndi``: an NDI sender on 127.0.0.1 (cyndilib, NDI's loopback configuration).

Two figures each, medians over runs: **cost** — CPU time of this process per frame read
(demux, decode, RGB conversion, in every thread: FFmpeg's decoder threads, NDI's receiver) —
and **age** — how old a frame is, from its arrival, when the pose thread takes it (the stage's
``wait_ms`` median, posenet-353x481 detecting headless). The senders run in child processes
(their CPU is not counted) on the same two cores. Prints, never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled
sys.path.insert(1, str(ROOT / "tests"))  # the test senders
SHARED = Path(os.environ.get("POSESTAGE_SHARED", ROOT.parent / "shared"))
os.environ.setdefault("POSESTAGE_MODELS_PATH", str(SHARED / "models"))
NDI_DIR = Path(tempfile.mkdtemp(prefix="posestage-bench-ndi-"))
(NDI_DIR / "ndi-config.v1.json").write_text(json.dumps({"ndi": {"networks": {"ips": "127.0.0.1"}}}))
os.environ["NDI_CONFIG_DIR"] = str(NDI_DIR)  # before the NDI runtime loads: loopback only

import numpy as np  # noqa: E402

from posestage.config.scenes import parse_scene  # noqa: E402
from posestage.host import PluginHost  # noqa: E402
from posestage.sources import SourceOptions, open_source  # noqa: E402
from posestage.sources.devices import VIRTUAL_ENV  # noqa: E402
from posestage.stage import Stage, StageOptions  # noqa: E402

SIZE, FPS = (1280, 720), 30


def testsrc() -> list[np.ndarray]:
    import av

    graph = f"testsrc2=size={SIZE[0]}x{SIZE[1]}:rate={FPS}"
    with av.open(graph, format="lavfi") as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == FPS:
                return frames
    return frames


def write_video(path: Path, images: list[np.ndarray], loops: int = 10) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for _ in range(loops):
            for image in images:
                out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())


def cost(spec: str, frames: int) -> float:
    """CPU ms of this process per read (every thread of it: FFmpeg's decoder threads, NDI's
    receiving threads), over ``frames`` reads after a few to warm up."""
    with open_source(spec, SourceOptions(pace="realtime")) as source:
        for _ in range(5):
            source.read()
        t0, n = time.process_time(), 0
        for _ in range(frames):
            if source.read() is None:
                break
            n += 1
        used = time.process_time() - t0
    return used / max(n, 1) * 1000


def serve(kind: str, url_box, stop) -> None:
    """A sender in a child process (its CPU is not the reader's): ``rtsp`` or ``ndi``."""
    images = testsrc()
    if kind == "rtsp":
        from servers import RtspServer

        sender = RtspServer(images, fps=FPS).start()
        url_box.put(sender.url)
        stop.wait()
        sender.stop()
    else:
        from servers import NdiSender

        with NdiSender("posestage bench", images, fps=FPS):
            url_box.put("ndi:posestage bench")
            stop.wait()


def age(spec: str, frames: int) -> float:
    """Median age (ms) of a frame when the pose thread takes it."""
    host = PluginHost()
    scene = parse_scene('[stage]\nmodel = "posenet-353x481"\n', None, host)
    source = open_source(spec, SourceOptions(pace="realtime"))
    try:
        options = StageOptions(headless=True, frames=frames, duration=120)
        report = Stage([scene], options, host=host, source=source).run()
    finally:
        source.close()
    return report.wait_ms[0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--frames", type=int, default=90)
    p.add_argument("--only", default="lavfi,rtsp,ndi", help="comma-separated: lavfi,rtsp,ndi")
    args = p.parse_args()
    wanted = args.only.split(",")
    images = testsrc()
    tmp = Path(tempfile.mkdtemp(prefix="posestage-bench-"))
    video = tmp / "testsrc.mp4"
    write_video(video, images)
    (tmp / "cameras").mkdir()
    (tmp / "cameras" / "testsrc.lavfi").write_text("testsrc2")
    os.environ[VIRTUAL_ENV] = str(tmp / "cameras")
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    stop, children = ctx.Event(), []
    specs = {"video": str(video), "lavfi": "camera:testsrc"}
    for kind in ("rtsp", "ndi"):
        if kind in wanted:
            box = ctx.Queue()
            child = ctx.Process(target=serve, args=(kind, box, stop), daemon=True)
            child.start()
            children.append(child)
            specs[kind] = box.get(timeout=60)
    specs = {k: v for k, v in specs.items() if k == "video" or k in wanted}
    results = {name: {"cost": [], "age": []} for name in specs}
    try:
        for run in range(args.runs):
            order = list(specs) if run % 2 == 0 else list(reversed(specs))
            for name in order:
                results[name]["cost"].append(cost(specs[name], args.frames))
                results[name]["age"].append(age(specs[name], args.frames))
    finally:
        stop.set()
        for child in children:
            child.join(10)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{SIZE[0]}x{SIZE[1]} at {FPS} fps, medians of {args.runs} runs")  # fmt: skip
    base_cost = statistics.median(results["video"]["cost"])
    base_age = statistics.median(results["video"]["age"])
    print(f"{'source':<8} {'cost ms':>8} {'/ video':>8} {'age ms':>8} {'/ video':>8}")
    for name, got in results.items():
        c, a = statistics.median(got["cost"]), statistics.median(got["age"])
        print(f"{name:<8} {c:>8.2f} {c / base_cost:>8.2f} {a:>8.1f} {a / base_age:>8.2f}")


if __name__ == "__main__":
    main()
