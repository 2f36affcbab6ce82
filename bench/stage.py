"""Benchmark the stage loop against the engine alone, on the same model and images.

Run: ``python bench/stage.py [--model posenet-481x641] [--frames 120] [--camera-fps 30,60]
[--replay 10000]``. Prints, side by side in one run:

1. throughput: frames dispatched per second by the stage (window on the SDL dummy driver,
   60 Hz display loop, skeleton-style drawing plugin) vs ``engine.detect()`` alone in a loop
   — target stage/detect >= 0.95;
2. latency: capture → ``posestage_frame`` at steady state with a live source delivering
   frames like a camera at each ``--camera-fps`` (newest frame wins) — target <= 1.2 x detect
   time. When detect is slower than the camera period, a frame waits on average half a
   camera period for the pose thread (the phase of the newest frame); that part is printed
   separately;
3. display loop rate while inference runs — target >= 55 fps (60 Hz clock);
4. memory: RSS before/after ``--replay`` frames of a replayed pose stream (3 people) through
   the stage — target: flat.

Models are found through ``POSESTAGE_MODELS_PATH`` (default ``../shared/models``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled
SHARED = Path(os.environ.get("POSESTAGE_SHARED", ROOT.parent / "shared"))
os.environ.setdefault("POSESTAGE_MODELS_PATH", str(SHARED / "models"))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402
from PIL import Image  # noqa: E402

from posestage.hookspecs import hookimpl  # noqa: E402
from posestage.keypoints import BONES  # noqa: E402
from posestage.plugins import PluginHost  # noqa: E402
from posestage.posestream import PoseStreamWriter, StreamFrame, StreamHeader, StreamPerson  # noqa: E402
from posestage.scenes import parse_scene  # noqa: E402
from posestage.sources import ArraySource, SourceOptions, open_source  # noqa: E402
from posestage.stage import Stage, StageOptions  # noqa: E402


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return 0.0


def shared_images(size=(640, 480)) -> list[np.ndarray]:
    """The shared photos, each fitted into ``size`` (so every frame costs the same to resize)."""
    out = []
    for name in ("two_people.bmp", "couple.jpg", "squat.bmp"):
        img = Image.open(SHARED / "images" / name).convert("RGB")
        img.thumbnail(size, Image.BILINEAR)
        canvas = Image.new("RGB", size, (236, 238, 242))
        canvas.paste(img, ((size[0] - img.width) // 2, (size[1] - img.height) // 2))
        out.append(np.asarray(canvas).copy())
    return out


class Skeletons:
    """A drawing plugin like the skeleton painter: lines and dots for every person."""

    @hookimpl
    def posestage_draw(self, canvas, frame):
        for person in frame.people:
            points = [(float(x), float(y)) for x, y in person.xy]
            for a, b in BONES:
                pygame.draw.line(canvas, (0, 255, 128), points[a], points[b], 3)
            for point in points:
                pygame.draw.circle(canvas, (255, 255, 0), point, 4)


class Counter:
    """Counts frames (the cheapest possible per-frame plugin)."""

    def __init__(self):
        self.frames = 0

    @hookimpl
    def posestage_frame(self, frame):
        self.frames += 1


def make_stage(source, engine, headless: bool) -> tuple[Stage, Counter]:
    host = PluginHost()
    counter = Counter()
    host.register(Skeletons(), "skeletons")
    host.register(counter, "counter")
    scene = parse_scene("[plugins.skeletons]\n[plugins.counter]\n", None, host)
    options = StageOptions(headless=headless, display_fps=60.0)
    return Stage([scene], options, host=host, source=source, engine=engine), counter


def bench_detect(engine, images, frames: int) -> tuple[float, list[float]]:
    for image in images:  # warm up
        engine.detect(image)
    times = []
    start = time.perf_counter()
    for i in range(frames):
        t0 = time.perf_counter()
        engine.detect(images[i % len(images)])
        times.append((time.perf_counter() - t0) * 1000)
    return frames / (time.perf_counter() - start), times


def write_replay(path: Path, frames: int, people: int = 3) -> None:
    rng = np.random.default_rng(1)
    ys = np.linspace(60, 420, 17, dtype=np.float32)
    with PoseStreamWriter(path, StreamHeader(width=640, height=480)) as w:
        for i in range(frames):
            ps = []
            for k in range(people):
                x = 80 + 180 * k + 40 * np.sin(i / 30 + k) + np.linspace(-30, 30, 17)
                xy = np.stack([x + rng.normal(0, 1.5, 17), ys + rng.normal(0, 1.5, 17)], 1)
                ps.append(
                    StreamPerson(k + 1, k, 0.9, xy.astype(np.float32), np.full(17, 0.9, np.float32))
                )
            w.write(StreamFrame(i, 1_700_000_000.0 + i / 30, 640, 480, ps))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="posenet-481x641")
    parser.add_argument("--frames", type=int, default=120, help="frames per throughput run")
    parser.add_argument(
        "--camera-fps",
        type=lambda text: [float(v) for v in text.split(",")],
        default=[30.0, 60.0],
        help="simulated camera rates, comma-separated (default 30,60)",
    )
    parser.add_argument("--replay", type=int, default=10_000, help="frames of the memory run")
    parser.add_argument(
        "--threads", type=int, default=None, help="inference threads (default: every core)"
    )
    args = parser.parse_args()

    from posestage.engine import PoseEngine

    engine = PoseEngine(args.model, num_threads=args.threads)
    images = shared_images()
    print(
        f"model {args.model}, images 640x480 (the shared photos), {os.cpu_count()} CPUs, "
        f"{engine.num_threads} inference thread(s)"
    )

    # 1 + 3: throughput and display rate, window on the dummy driver
    # detect alone before and after the stage run; the faster of the two is the reference
    # (conservative on a busy machine)
    detect_fps, detect_ms = bench_detect(engine, images, args.frames)
    stage, counter = make_stage(
        ArraySource(images, count=args.frames, name="bench, as fast as taken"),
        engine,
        headless=False,
    )
    report = stage.run()
    again_fps, again_ms = bench_detect(engine, images, args.frames)
    if again_fps > detect_fps:
        detect_fps, detect_ms = again_fps, again_ms
    ratio = report.fps / detect_fps
    detect_med = statistics.median(detect_ms)
    print(f"detect alone      {detect_fps:6.1f} fps   (median {detect_med:.1f} ms per frame)")
    print(
        f"stage dispatched  {report.fps:6.1f} fps   ratio {ratio:.3f}  (target >= 0.95) "
        f"{'OK' if ratio >= 0.95 else 'MISSED'}"
    )
    print(
        f"display loop      {report.display_fps:6.1f} fps   while inference runs "
        f"(target >= 55) {'OK' if report.display_fps >= 55 else 'MISSED'}"
    )

    # 2: latency with live camera-like sources (newest frame wins)
    for camera_fps in args.camera_fps:
        count = int(args.frames * camera_fps / max(min(detect_fps, camera_fps), 1.0))
        stage, _ = make_stage(
            ArraySource(
                images, count=count, fps=camera_fps, name=f"bench camera {camera_fps:g} fps"
            ),
            engine,
            headless=False,
        )
        report = stage.run()
        lat_med, lat_p95 = report.latency_ms
        inf_med = report.inference_ms[0]
        wait_med = report.wait_ms[0]
        factor = lat_med / inf_med if inf_med else float("nan")
        own = (lat_med - wait_med) / inf_med if inf_med else float("nan")
        print(
            f"latency @{camera_fps:3g} fps  median {lat_med:.1f} ms, p95 {lat_p95:.1f} ms; detect in "
            f"the stage {inf_med:.1f} ms: latency = {factor:.2f} x detect (target <= 1.2) "
            f"{'OK' if factor <= 1.2 else 'MISSED'}"
        )
        print(
            f"  of which        {wait_med:.1f} ms: age of the newest frame when the pose thread "
            f"took it; take -> dispatch {lat_med - wait_med:.1f} ms = {own:.2f} x detect; "
            f"{report.dropped} of {report.read} frames dropped as stale; "
            f"{report.fps:.1f} fps dispatched"
        )

    # 4: memory over a long replay (no model), headless
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.jsonl"
        write_replay(path, args.replay)
        warm = open_source(f"replay:{path}", SourceOptions(pace="fast"))
        stage, _ = make_stage(warm, None, headless=True)
        stage.options.frames = min(1000, args.replay)
        stage.run()
        before = rss_mb()
        source = open_source(f"replay:{path}", SourceOptions(pace="fast"))
        stage, counter = make_stage(source, None, headless=True)
        t0 = time.perf_counter()
        report = stage.run()
        took = time.perf_counter() - t0
        after = rss_mb()
    print(
        f"memory            RSS {before:.1f} MiB before, {after:.1f} MiB after {report.frames} "
        f"replayed frames ({report.frames / took:.0f} fps): {after - before:+.1f} MiB "
        f"{'OK' if after - before < 5 else 'GREW'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
