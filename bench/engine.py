"""Time the pose engine, every figure as a ratio against its baseline measured in the same run.

Run: ``python bench/engine.py [--models posenet-481x641 ...] [--runs N] [--device cpu]
[--threads N]``. For each model and each shared image, interleaved in one loop (so a busy
machine slows baseline and candidate alike; each candidate and its baseline swap places every
run), medians over N runs of:

- ``invoke``: the raw ``interpreter.invoke()`` (the baseline of everything else);
- ``decode``: the decoder in use (``c`` when posestage.engine._kernels is built) and the numpy one on
  the same maps — ``dec/inv`` (target <= 0.02 at 481x641) and ``np/c`` (how much faster);
- ``resize``: the frame into the input tensor, the C resize vs the old ``np.take`` —
  ``old/new``;
- ``detect``: the whole ``detect()`` — ``det/inv`` (target <= 1.05), and ``det/own``: each
  ``detect()`` over the invoke inside that same call (what detect adds, free of the noise
  between separate calls).

Prints, never asserts (a shared VM is noisy). Models are catalogue names (or .tflite paths),
found through ``POSESTAGE_MODELS_PATH`` (defaults here to ``$POSESTAGE_SHARED/models``,
``../shared/models``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled
SHARED = Path(os.environ.get("POSESTAGE_SHARED", ROOT.parent / "shared"))
os.environ.setdefault("POSESTAGE_MODELS_PATH", str(SHARED / "models"))
IMAGES = SHARED / "images"

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from posestage.engine import decoding  # noqa: E402
from posestage.engine.pose_engine import PoseEngine  # noqa: E402
from posestage.engine.posenet import PoseNetFamily  # noqa: E402
from posestage.errors import PosestageError  # noqa: E402

DEFAULT_MODELS = ["posenet-353x481", "posenet-481x641", "posenet-721x1281", "movenet-lightning"]


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000.0


def bench(model: str, images: list[Path], runs: int, device: str, threads: int | None) -> None:
    try:
        engine = PoseEngine(model, device=device, num_threads=threads)
    except PosestageError as err:
        print(f"{model:<20} skipped: {err}")
        return
    for path in images:
        bench_image(engine, model, path, runs)


def bench_image(engine: PoseEngine, model: str, path: Path, runs: int) -> None:
    h, w = engine.input_size
    family = engine.family
    frame = np.asarray(Image.open(path).convert("RGB"))
    result = engine.detect(frame)  # warm up: first invoke, resampler tables
    resampler = engine._resampler(frame.shape[:2], None)
    tensor = np.empty((h, w, 3), np.uint8)
    resampler.fill_numpy(frame, tensor)  # its index table, made once
    steps = {"inv": engine.run}  # raw invoke on the same input
    if isinstance(family, PoseNetFamily) and family._quant is not None:
        maps = [engine.interpreter.get_tensor(i) for i in family._outputs]  # copies
        options = dict(
            stride=family.stride,
            max_poses=family.max_poses,
            score_threshold=family.score_threshold,
            nms_radius=family.nms_radius,
        )
        args = (*maps, family._quant)
        steps["dec"] = lambda: decoding.decode_quantized(*args, **options)
        steps["np"] = lambda: decoding.decode_quantized(*args, **options, kernel="numpy")
    steps["new"] = lambda: resampler.fill(frame, tensor)
    steps["old"] = lambda: resampler.fill_numpy(frame, tensor)
    own: list[float] = []  # detect's total over its own invoke: the same call, no noise between

    def detect() -> None:
        t0 = time.perf_counter()
        inside = engine.detect(frame).inference_ms
        own.append((time.perf_counter() - t0) * 1000.0 / inside)

    steps["det"] = detect
    t: dict[str, list[float]] = {k: [] for k in ("inv", "dec", "np", "new", "old", "det")}
    order = list(steps)
    for run in range(runs):
        # Each pair (C/numpy decode, new/old resize) swaps places every run: whichever comes
        # second finds the caches warmed by the first.
        if run % 2:
            keys = [{"dec": "np", "np": "dec", "new": "old", "old": "new"}.get(k, k) for k in order]
        else:
            keys = order
        for key in keys:
            t[key].append(timed(steps[key]))
    m = {k: statistics.median(v) if v else float("nan") for k, v in t.items()}
    m["own"] = statistics.median(own)
    print(
        f"{model:<19}{f'{h}x{w}':<9}{path.name:<15}{m['inv']:>8.2f}"
        f"{m['dec']:>8.3f}{m['dec'] / m['inv']:>8.3f}{m['np']:>8.2f}{m['np'] / m['dec']:>7.1f}"
        f"{m['new']:>7.2f}{m['old']:>7.2f}{m['old'] / m['new']:>8.1f}"
        f"{m['det']:>8.2f}{m['det'] / m['inv']:>8.3f}{m['own']:>8.3f}{len(result.poses):>6}"
    )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from importlib.metadata import version

        runtime = f"ai-edge-litert {version('ai-edge-litert')}"
    except Exception:  # noqa: BLE001
        runtime = "tflite_runtime"
    return f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; {runtime}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS, metavar="MODEL")
    parser.add_argument("--runs", type=int, default=30, metavar="N", help="runs per image (median)")
    parser.add_argument("--device", default="cpu", help="cpu, auto, edgetpu, ...")
    parser.add_argument("--threads", type=int, default=None, help="interpreter CPU threads")
    parser.add_argument("--images", nargs="+", type=Path, default=sorted(IMAGES.glob("*.*")))
    args = parser.parse_args(argv)
    print(f"# {machine()}; decoder kernel: {decoding.kernel_in_use()}")
    print(
        f"{'model':<19}{'input':<9}{'image':<15}{'invoke':>8}{'decode':>8}{'dec/inv':>8}"
        f"{'numpy':>8}{'np/c':>7}{'resize':>7}{'take':>7}{'old/new':>8}{'detect':>8}"
        f"{'det/inv':>8}{'det/own':>8}{'poses':>6}   (ms, medians of {args.runs})"
    )
    for model in args.models:
        bench(model, args.images, args.runs, args.device, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
