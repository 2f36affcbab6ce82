"""Time the pose engine: raw interpreter invoke vs decode vs the whole ``detect()``.

Run: ``python bench/engine.py [--models posenet-353x481 posenet-481x641 ...] [--runs N]
[--device cpu] [--threads N]``. For each model and each shared image it prints the medians
over N runs of: raw ``interpreter.invoke()`` ms, decode ms, preprocess ms, ``detect()`` ms and
detect/invoke (target <= 1.10 at 481x641). Prints, never asserts (a shared VM is noisy).

Models are catalogue names (or .tflite paths), found through ``POSESTAGE_MODELS_PATH``
(defaults here to ../shared/models). Any family works, so a MoveNet row is just
``--models movenet-lightning`` once that family is registered.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled
os.environ.setdefault("POSESTAGE_MODELS_PATH", str(ROOT.parent / "shared" / "models"))
IMAGES = Path(os.environ.get("POSESTAGE_SHARED", ROOT.parent / "shared")) / "images"

from PIL import Image  # noqa: E402

from posestage.engine import PoseEngine  # noqa: E402
from posestage.errors import PosestageError  # noqa: E402

DEFAULT_MODELS = ["posenet-353x481", "posenet-481x641", "posenet-721x1281", "movenet-lightning"]


def bench(model: str, images: list[Path], runs: int, device: str, threads: int | None) -> None:
    try:
        engine = PoseEngine(model, device=device, num_threads=threads)
    except PosestageError as err:
        print(f"{model:<20} skipped: {err}")
        return
    h, w = engine.input_size
    for path in images:
        frame = __import__("numpy").asarray(Image.open(path).convert("RGB"))
        engine.detect(frame)  # warm up: first invoke, resampler tables
        invoke, decode, pre, detect = [], [], [], []
        for _ in range(runs):
            invoke.append(engine.run())  # raw invoke on the same input
            t0 = time.perf_counter()
            result = engine.detect(frame)
            detect.append((time.perf_counter() - t0) * 1000)
            decode.append(result.decode_ms)
            pre.append(result.preprocess_ms)
        m = statistics.median
        print(
            f"{model:<20}{f'{h}x{w}':<10}{engine.device:<9}{path.name:<16}"
            f"{m(invoke):>9.2f}{m(decode):>9.2f}{m(pre):>9.2f}{m(detect):>9.2f}"
            f"{m(detect) / m(invoke):>9.3f}{len(result.poses):>7}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS, metavar="MODEL")
    parser.add_argument("--runs", type=int, default=30, metavar="N", help="runs per image (median)")
    parser.add_argument("--device", default="cpu", help="cpu, auto, edgetpu, ...")
    parser.add_argument("--threads", type=int, default=None, help="interpreter CPU threads")
    parser.add_argument("--images", nargs="+", type=Path, default=sorted(IMAGES.glob("*.*")))
    args = parser.parse_args(argv)
    print(
        f"{'model':<20}{'input':<10}{'device':<9}{'image':<16}{'invoke':>9}{'decode':>9}"
        f"{'prep':>9}{'detect':>9}{'det/inv':>9}{'poses':>7}   (ms, medians of {args.runs})"
    )
    for model in args.models:
        bench(model, args.images, args.runs, args.device, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
