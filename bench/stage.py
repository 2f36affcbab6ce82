"""Benchmark the stage, every figure as a ratio against its baseline measured in the same run.

Run: ``python bench/stage.py [--model posenet-481x641] [--frames 120] [--rounds 3]
[--camera-fps 30,60] [--replay 10000] [--starts 3]``. On the same model and shared photos
(640x480), with the window on the SDL dummy driver and a skeleton-drawing plugin, prints:

1. **throughput**: frames dispatched per second by the stage (a source handing frames as fast
   as they are taken) vs ``engine.detect()`` alone in a loop. Stage and detect runs are
   interleaved (``--rounds``), each stage run against the mean of the detect runs either
   side of it, so a busy machine slows both alike — target stage/detect >= 0.97. Rates are
   steady-state (first to last frame), start-up and shutdown are the start-up figure's;
2. **latency**: capture → ``posestage_frame`` with a live source paced like a camera at each
   ``--camera-fps`` (newest frame wins) vs detect alone (median to median) — target <= 1.1 x.
   Split into the age of the frame when the pose thread took it (phase of the newest frame;
   about half a camera period when detect is slower than the camera) and take → dispatch;
3. **display**: the window loop's tick rate and how often it redrew, while inference runs:
   with nothing animating (redraws ≈ new frames, plus the idle redraw) and with a plugin
   animating (its ``posestage_draw`` returns True: a redraw every tick) — target >= 55 fps
   with a 60 Hz display; also what animating costs inference (stage/detect again);
4. **start-up**: ``posestage --help`` wall time vs ``python -c pass`` (target <= 0.3 s), and
   ``posestage run`` (a still, headless, one frame) from process start to the first
   ``posestage_frame`` (a ``--plugin-dir`` plugin writes the time) vs a bare script that
   imports the engine, loads the model and detects once (the least any run must pay).
   Bytecode cached (a first, untimed round writes it; ``PYTHONDONTWRITEBYTECODE`` is
   dropped for these runs), as on a performer's machine;
5. **memory**: RSS before/after ``--replay`` frames of a replayed pose stream (3 people)
   through the stage, headless — target: flat;
6. **headless** (``--only headless``): throughput as in 1 with no window and no plugin but
   the frame counter, vs detect alone;
7. **osc** (``--only osc``): the same, with the installed ``osc`` plugin configured through a
   scene and sending every frame to a UDP receiver on 127.0.0.1, one run per
   ``--osc-layouts`` (``values,person``), interleaved with no-plugin runs and detect runs:
   D N D O1 D O2 D … Each stage run vs the detect runs either side, and each osc run vs the
   no-plugin run of its round (osc / none), plus the hook's own time (the dispatcher's
   moving average) and datagrams received / sent. The receiver is a plain socket drained
   by a child process (``--osc-receiver process``): it never decodes and never takes this
   process's GIL; ``thread`` drains it on a thread of this process, ``decode`` is
   ``posestage.testing``'s ``OscReceiver`` (a thread of this process decoding every message
   with python-osc): both measure what an in-process receiver costs on the stage's cores —
   the bench's own cost, not the stage's.

The header names the machine (CPU, cores, load, Python, runtime, decoder kernel). Prints,
never asserts: a shared machine is noisy, run it more than once and quote the range.
Models are found through ``POSESTAGE_MODELS_PATH`` (default ``$POSESTAGE_SHARED/models``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
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

from posestage.config.scenes import parse_scene  # noqa: E402
from posestage.hookspecs import hookimpl  # noqa: E402
from posestage.host import PluginHost  # noqa: E402
from posestage.model.keypoints import BONES  # noqa: E402
from posestage.model.posestream import PoseStreamWriter, StreamFrame, StreamHeader, StreamPerson  # noqa: E402
from posestage.sources import ArraySource, SourceOptions, open_source  # noqa: E402
from posestage.stage import Stage, StageOptions  # noqa: E402

PHOTO = "couple.jpg"  # the still of the start-up runs


# -- the machine --------------------------------------------------------------------------------


def machine() -> list[str]:
    """Lines for the header: CPU, cores, load; Python, runtime, numpy, pygame; decoder."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    try:
        load = "load " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        load = "load ?"
    from importlib.metadata import PackageNotFoundError, version

    runtime = "no TFLite runtime"
    for dist in ("ai-edge-litert", "tflite-runtime"):
        try:
            runtime = f"{dist} {version(dist)}"
            break
        except PackageNotFoundError:
            continue
    from posestage.engine import decoding

    return [
        f"# {cpu}, {os.cpu_count()} cores ({usable} usable), {load} at start",
        f"# Python {platform.python_version()}, {runtime}, numpy {np.__version__}, "
        f"pygame {pygame.version.ver} (SDL video {os.environ.get('SDL_VIDEODRIVER')}); "
        f"decoder kernel {decoding.kernel_in_use()}",
    ]


# -- inputs and plugins -------------------------------------------------------------------------


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


def cpu_seconds() -> tuple[float, float, float]:
    """(wall, CPU seconds used by the whole machine, by this process and its children)."""
    busy = 0.0
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        busy = (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        pass
    t = os.times()
    return time.perf_counter(), busy, t[0] + t[1] + t[2] + t[3]


def others_cores(start: tuple[float, float, float]) -> float:
    """Cores used by other processes since ``start`` (:func:`cpu_seconds`), on average."""
    end = cpu_seconds()
    wall = end[0] - start[0]
    return max(0.0, (end[1] - start[1]) - (end[2] - start[2])) / wall if wall > 0 else 0.0


def steady_rate(times: list[float]) -> float:
    """Events per second from the first to the last of ``times`` (perf_counter seconds)."""
    if len(times) < 2 or times[-1] <= times[0]:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


class Skeletons:
    """A drawing plugin like the skeleton painter: lines and dots for every person. With
    ``animate`` its draw returns True (draw me again next tick), like an animation would."""

    def __init__(self, animate: bool = False):
        self.animate = animate
        self.draws: list[float] = []

    @hookimpl
    def posestage_draw(self, canvas, frame):
        self.draws.append(time.perf_counter())
        for person in frame.people:
            points = [(float(x), float(y)) for x, y in person.xy]
            for a, b in BONES:
                pygame.draw.line(canvas, (0, 255, 128), points[a], points[b], 3)
            for point in points:
                pygame.draw.circle(canvas, (255, 255, 0), point, 4)
        return self.animate


class Counter:
    """Notes the time of every frame (the cheapest possible per-frame plugin)."""

    def __init__(self):
        self.times: list[float] = []

    @hookimpl
    def posestage_frame(self, frame):
        self.times.append(time.perf_counter())


def make_stage(source, engine, headless: bool, animate: bool = False):
    host = PluginHost()
    counter, skeletons = Counter(), Skeletons(animate)
    host.register(skeletons, "skeletons")
    host.register(counter, "counter")
    scene = parse_scene("[plugins.skeletons]\n[plugins.counter]\n", None, host)
    options = StageOptions(headless=headless, display_fps=60.0)
    stage = Stage([scene], options, host=host, source=source, engine=engine)
    return stage, counter, skeletons


def bench_detect(engine, images, frames: int) -> tuple[float, float]:
    """(frames per second, median ms) of ``engine.detect`` alone, steady state."""
    for image in images:  # warm up
        engine.detect(image)
    times, ms = [], []
    for i in range(frames):
        t0 = time.perf_counter()
        engine.detect(images[i % len(images)])
        t1 = time.perf_counter()
        times.append(t1)
        ms.append((t1 - t0) * 1000.0)
    return steady_rate(times), statistics.median(ms)


def span(values: list[float], fmt: str = "{:.3f}") -> str:
    """``median (min–max)`` of ``values``."""
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


# -- 1 + 3: throughput and the display ------------------------------------------------------------


def throughput(engine, images, frames: int, rounds: int, animate: bool) -> dict:
    """Interleaved detect / stage runs: D S D S … D. Each stage run is compared with the mean
    of the detect runs either side of it."""
    detect = [bench_detect(engine, images, frames)]
    stages = []
    for _ in range(rounds):
        stage, counter, skeletons = make_stage(
            ArraySource(images, count=frames, name="bench, as fast as taken"),
            engine,
            headless=False,
            animate=animate,
        )
        report = stage.run()
        fps = steady_rate(counter.times)
        first, last = counter.times[0], counter.times[-1]
        draws = [t for t in skeletons.draws if first <= t <= last]
        stages.append((fps, report, steady_rate(draws)))
        detect.append(bench_detect(engine, images, frames))
    ratios = [s[0] / ((detect[i][0] + detect[i + 1][0]) / 2) for i, s in enumerate(stages)]
    return {
        "detect_fps": [d[0] for d in detect],
        "detect_ms": [d[1] for d in detect],
        "stage_fps": [s[0] for s in stages],
        "ratio": ratios,
        "display_fps": [s[1].display_fps for s in stages],
        "redraw_fps": [s[2] for s in stages],
        "errors": [e for s in stages for e in s[1].errors],
    }


# -- 6 + 7: headless throughput, no plugin and the osc plugin -------------------------------------

RECEIVER = """\
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
buf = bytearray(65536)
count = size = 0
sock.settimeout(0.2)
while True:  # drained, never decoded; ends when the bench closes our stdin
    try:
        size += sock.recv_into(buf)
        count += 1
    except socket.timeout:
        import select
        if select.select([sys.stdin], [], [], 0)[0] and not sys.stdin.read(1):
            break
print(count, size, flush=True)
"""


class UdpReceiver:
    """A UDP socket on 127.0.0.1 drained without decoding: by a child process (``process``:
    no share of this process's GIL) or by a thread of this process (``thread``)."""

    def __init__(self, how: str = "process"):
        self.how = how
        self.count = self.size = 0
        if how == "decode":  # posestage.testing's receiver: decodes on a thread of ours
            from posestage.testing.osc import OscReceiver

            self.rx = OscReceiver()
            self.port = self.rx.port
        elif how == "process":
            self.proc = subprocess.Popen(
                [sys.executable, "-c", RECEIVER],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            self.port = int(self.proc.stdout.readline())
        else:
            import socket
            import threading

            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            self.sock.bind(("127.0.0.1", 0))
            self.sock.settimeout(0.2)
            self.port = self.sock.getsockname()[1]
            self._done = threading.Event()
            self._thread = threading.Thread(target=self._drain, daemon=True)
            self._thread.start()

    def _drain(self) -> None:
        buf = bytearray(65536)
        while not self._done.is_set():
            try:
                self.size += self.sock.recv_into(buf)
                self.count += 1
            except OSError:
                continue

    def close(self) -> tuple[int, int]:
        """(datagrams, bytes) received."""
        if self.how == "decode":
            time.sleep(0.3)
            self.count = self.rx.datagrams
            self.rx.close()
        elif self.how == "process":
            self.proc.stdin.close()
            count, size = self.proc.stdout.readline().split()
            self.proc.wait(5)
            self.count, self.size = int(count), int(size)
        else:
            time.sleep(0.3)
            self._done.set()
            self._thread.join(2)
            self.sock.close()
        return self.count, self.size


def make_headless_stage(source, engine, osc: dict | None = None, host=None):
    """A headless stage with the frame counter, and the installed ``osc`` plugin (configured
    through the scene: ``osc`` is its ``[plugins.osc]`` table) when given."""
    if host is None:
        host = PluginHost.load() if osc is not None else PluginHost()
    counter = Counter()
    host.register(counter, "counter")
    text = ""
    if osc is not None:
        text += "[plugins.osc]\n" + "".join(f"{k} = {v!r}\n" for k, v in osc.items())
    text = (text + "[plugins.counter]\n").replace("'", '"')
    scene = parse_scene(text, None, host)
    options = StageOptions(headless=True, display_fps=60.0)
    stage = Stage([scene], options, host=host, source=source, engine=engine)
    return stage, counter, host


def headless_throughput(
    engine, images, frames: int, rounds: int, layouts: list[str], receiver: str
) -> dict:
    """Interleaved D N D O1 D O2 D … per round: N = headless, no plugin; O = the osc plugin
    with each layout. Each stage run vs the mean of the detect runs either side; each osc run
    also vs its round's no-plugin run."""
    variants = ["none", *layouts]
    start = cpu_seconds()
    detect = [bench_detect(engine, images, frames)]
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for _ in range(rounds):
        for variant in variants:
            source = ArraySource(images, count=frames, name="bench, as fast as taken")
            got: dict = {}
            if variant == "none":
                stage, counter, host = make_headless_stage(source, engine)
                report = stage.run()
            else:
                rx = UdpReceiver(receiver)
                settings = {"target": f"127.0.0.1:{rx.port}", "layout": variant}
                stage, counter, host = make_headless_stage(source, engine, settings)
                report = stage.run()
                got["received"] = rx.close()
                got["osc_ms"] = host.timing_summary().get("osc", {}).get("mean_ms", 0.0)
            got["fps"] = steady_rate(counter.times)
            got["errors"] = list(report.errors)
            detect.append(bench_detect(engine, images, frames))
            got["ratio"] = got["fps"] / ((detect[-2][0] + detect[-1][0]) / 2)
            runs[variant].append(got)
    out = {"detect_fps": [d[0] for d in detect], "detect_ms": [d[1] for d in detect]}
    out["others"] = others_cores(start)
    for variant in variants:
        out[variant] = runs[variant]
    for variant in layouts:
        out[variant + "/none"] = [o["fps"] / n["fps"] for o, n in zip(runs[variant], runs["none"])]
    return out


# -- 2: latency with a live source ----------------------------------------------------------------


def latency(engine, images, frames: int, camera_fps: float) -> dict:
    detect_fps, detect_ms = bench_detect(engine, images, max(frames // 2, 10))
    count = int(frames * camera_fps / max(min(detect_fps, camera_fps), 1.0))
    stage, counter, _ = make_stage(
        ArraySource(images, count=count, fps=camera_fps, name=f"bench camera {camera_fps:g} fps"),
        engine,
        headless=False,
    )
    report = stage.run()
    after_fps, after_ms = bench_detect(engine, images, max(frames // 2, 10))
    alone = (detect_ms + after_ms) / 2
    lat_med, lat_p95 = report.latency_ms
    return {
        "alone_ms": alone,
        "latency_ms": lat_med,
        "p95_ms": lat_p95,
        "factor": lat_med / alone,
        "inference_ms": report.inference_ms[0],
        "wait_ms": report.wait_ms[0],
        "dropped": report.dropped,
        "read": report.read,
        "fps": steady_rate(counter.times),
    }


# -- 4: start-up --------------------------------------------------------------------------------

FIRST_FRAME_PLUGIN = '''\
"""Writes the wall time of the first posestage_frame (bench/stage.py start-up figure)."""
import os
import time

from posestage import hookimpl

_done = []


@hookimpl
def posestage_frame(frame):
    if not _done:
        _done.append(True)
        with open(os.environ["BENCH_FIRST_FRAME"], "w") as f:
            f.write(repr(time.time()))
'''

BARE_DETECT = """\
import sys, time
import numpy as np
from PIL import Image
from posestage.engine.pose_engine import PoseEngine
engine = PoseEngine(sys.argv[1])
engine.detect(np.asarray(Image.open(sys.argv[2]).convert("RGB")))
print(repr(time.time()))
"""


def posestage_command() -> list[str]:
    """The ``posestage`` console script next to this Python, else ``python -m posestage``."""
    script = Path(sys.executable).with_name("posestage")
    if script.exists():
        return [str(script)]
    found = shutil.which("posestage")
    return [found] if found else [sys.executable, "-m", "posestage"]


def wall(cmd: list[str], env: dict) -> float:
    """Seconds from starting ``cmd`` to its exit (it must succeed)."""
    t0 = time.time()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.time() - t0


def startup(model: str, starts: int) -> dict:
    env = dict(os.environ)
    env.pop("SDL_VIDEODRIVER", None)  # headless runs need none
    # as on a performer's machine: bytecode cached (the first, untimed round writes it)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    photo = str(SHARED / "images" / PHOTO)
    command = posestage_command()
    out: dict[str, list[float]] = {"python": [], "help": [], "first": [], "bare": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "plugins"
        folder.mkdir()
        (folder / "first_frame.py").write_text(FIRST_FRAME_PLUGIN)
        scene = Path(tmp) / "first.toml"
        scene.write_text("[plugins.first_frame]\n")
        stamp = Path(tmp) / "first.txt"
        env["BENCH_FIRST_FRAME"] = str(stamp)
        for round_ in range(starts + 1):  # interleaved, like the rest; round 0 untimed
            if round_ == 1:
                out = {key: [] for key in out}
            out["python"].append(wall([sys.executable, "-c", "pass"], env))
            out["help"].append(wall([*command, "--help"], env))
            stamp.unlink(missing_ok=True)
            t0 = time.time()
            subprocess.run(
                [*command, "run", str(scene), "--plugin-dir", str(folder), "--source", photo,
                 "--model", model, "--headless", "--frames", "1"],
                env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            out["first"].append(float(stamp.read_text()) - t0)
            t0 = time.time()
            done = subprocess.run(
                [sys.executable, "-c", BARE_DETECT, model, photo],
                env=env, check=True, capture_output=True, text=True,
            )  # fmt: skip
            out["bare"].append(float(done.stdout.strip().splitlines()[-1]) - t0)
    return out


# -- 5: memory ----------------------------------------------------------------------------------


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


def memory(frames: int) -> tuple[float, float, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.jsonl"
        write_replay(path, frames)
        warm = open_source(f"replay:{path}", SourceOptions(pace="fast"))
        stage, _, _ = make_stage(warm, None, headless=True)
        stage.options.frames = min(1000, frames)
        stage.run()
        before = rss_mb()
        source = open_source(f"replay:{path}", SourceOptions(pace="fast"))
        stage, counter, _ = make_stage(source, None, headless=True)
        report = stage.run()
        after = rss_mb()
    return before, after, report.frames, steady_rate(counter.times)


# -- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="posenet-481x641")
    parser.add_argument("--frames", type=int, default=120, help="frames per run")
    parser.add_argument("--rounds", type=int, default=3, help="stage runs per throughput figure")
    parser.add_argument(
        "--camera-fps",
        type=lambda text: [float(v) for v in text.split(",")],
        default=[30.0, 60.0],
        help="simulated camera rates, comma-separated (default 30,60)",
    )
    parser.add_argument("--replay", type=int, default=10_000, help="frames of the memory run")
    parser.add_argument("--starts", type=int, default=3, help="runs of each start-up figure")
    parser.add_argument(
        "--threads", type=int, default=None, help="inference threads (default: every core)"
    )
    parser.add_argument(
        "--only",
        default="throughput,latency,animate,startup,memory",
        help="comma-separated parts to run (default: all but headless and osc)",
    )
    parser.add_argument(
        "--osc-layouts", default="values,person", help="osc layouts of the osc part"
    )
    parser.add_argument(
        "--osc-receiver",
        choices=("process", "thread", "decode"),
        default="process",
        help="who drains the osc receiver socket: a child process (default), a thread of the "
        "bench, or posestage.testing's OscReceiver (a thread decoding with python-osc)",
    )
    args = parser.parse_args()
    parts = set(args.only.split(","))

    from posestage.engine.pose_engine import PoseEngine

    for line in machine():
        print(line)
    engine = PoseEngine(args.model, num_threads=args.threads)
    images = shared_images()
    print(
        f"# model {args.model}, {engine.num_threads} inference thread(s); images 640x480 (the "
        f"shared photos); {args.frames} frames per run; window on SDL dummy, 60 Hz"
    )

    if "throughput" in parts:
        t = throughput(engine, images, args.frames, args.rounds, animate=False)
        ok = statistics.median(t["ratio"]) >= 0.97
        print(
            f"detect alone      {span(t['detect_fps'], '{:.1f}')} fps "
            f"(median {span(t['detect_ms'], '{:.1f}')} ms a frame)"
        )
        print(
            f"stage dispatched  {span(t['stage_fps'], '{:.1f}')} fps = "
            f"{span(t['ratio'])} x detect (target >= 0.97) {verdict(ok)}"
        )
        print(
            f"display loop      {span(t['display_fps'], '{:.1f}')} ticks/s, "
            f"{span(t['redraw_fps'], '{:.1f}')} redraws/s (nothing animates: a redraw per new "
            "frame)"
        )
        for line in sorted(set(t["errors"])):
            print(f"  stage error: {line}")

    for part in ("headless", "osc"):
        if part not in parts:
            continue
        layouts = args.osc_layouts.split(",") if part == "osc" else []
        h = headless_throughput(
            engine, images, args.frames, args.rounds, layouts, args.osc_receiver
        )
        print(
            f"detect alone          {span(h['detect_fps'], '{:.1f}')} fps "
            f"(median {span(h['detect_ms'], '{:.1f}')} ms a frame); other processes used "
            f"{h['others']:.2f} cores meanwhile"
        )
        for variant in ["none", *layouts]:
            runs = h[variant]
            ratios = [r["ratio"] for r in runs]
            ok = statistics.median(ratios) >= 0.97
            label = "headless, none" if variant == "none" else f"headless, osc {variant}"
            line = (
                f"{label:<22}{span([r['fps'] for r in runs], '{:.1f}')} fps = "
                f"{span(ratios)} x detect (target >= 0.97) {verdict(ok)}"
            )
            if variant != "none":
                line += f"; osc/none {span(h[variant + '/none'])}"
                hook = statistics.median(r["osc_ms"] for r in runs)
                rx = [r["received"][0] for r in runs]
                line += f"; hook {hook:.3f} ms; received {min(rx)}–{max(rx)} datagrams"
            print(line)
            for err in sorted({e for r in runs for e in r["errors"]}):
                print(f"  stage error: {err}")

    if "latency" in parts:
        for camera_fps in args.camera_fps:
            r = latency(engine, images, args.frames, camera_fps)
            print(
                f"latency @{camera_fps:3g} fps  median {r['latency_ms']:.1f} ms (p95 "
                f"{r['p95_ms']:.1f}) vs detect alone {r['alone_ms']:.1f} ms = "
                f"{r['factor']:.2f} x (target <= 1.1) {verdict(r['factor'] <= 1.1)}"
            )
            own = r["latency_ms"] - r["wait_ms"]
            print(
                f"  of which        {r['wait_ms']:.1f} ms age of the frame when taken, "
                f"{own:.1f} ms take -> dispatch (detect in the stage {r['inference_ms']:.1f} ms "
                f"= {r['inference_ms'] / r['alone_ms']:.2f} x alone); {r['dropped']} of "
                f"{r['read']} frames dropped as stale; {r['fps']:.1f} fps dispatched"
            )

    if "animate" in parts:
        a = throughput(engine, images, args.frames, max(args.rounds - 1, 1), animate=True)
        ok = statistics.median(a["display_fps"]) >= 55 and statistics.median(a["redraw_fps"]) >= 55
        print(
            f"animating         display {span(a['display_fps'], '{:.1f}')} ticks/s, "
            f"{span(a['redraw_fps'], '{:.1f}')} redraws/s (target >= 55) {verdict(ok)}; "
            f"stage {span(a['ratio'])} x detect meanwhile"
        )

    if "startup" in parts:
        s = startup(args.model, args.starts)
        help_s, python_s = statistics.median(s["help"]), statistics.median(s["python"])
        print(
            f"posestage --help  {span(s['help'], '{:.2f}')} s (target <= 0.3) "
            f"{verdict(help_s <= 0.3)}; python -c pass {python_s:.2f} s: "
            f"{help_s / python_s:.1f} x"
        )
        first, bare = statistics.median(s["first"]), statistics.median(s["bare"])
        print(
            f"run → 1st frame   {span(s['first'], '{:.2f}')} s (a still, headless) vs "
            f"import + load + one detect in a bare script {span(s['bare'], '{:.2f}')} s = "
            f"{first / bare:.2f} x"
        )

    if "memory" in parts:
        before, after, frames, fps = memory(args.replay)
        print(
            f"memory            RSS {before:.1f} MiB before, {after:.1f} MiB after {frames} "
            f"replayed frames ({fps:.0f} fps): {after - before:+.1f} MiB "
            f"{'OK' if after - before < 5 else 'GREW'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
