"""Make the demo pose stream: two people from couple.jpg walk across a stage and cross.

Run: ``python tools/make_demo_stream.py [--out scenes/demo.jsonl] [--frames 150] [--fps 15]``.

How: the real engine finds the two people in ``couple.jpg`` (from the shared images); each is
cut out as a vertical strip around their keypoints. Every frame pastes the two strips on a
plain backdrop, sliding towards each other (the one in front hides the other while they
cross), runs the real engine on the composite, tracks the poses and records them with the
pose stream writer — exactly what the recorder plugin writes on stage. Timestamps are
synthetic (``--fps``), so the stream is the same on any machine speed. The result lets anyone
without a camera run::

    posestage run --source replay:scenes/demo.jsonl --loop

Pixels never go into the stream; only poses (a few hundred KB at most).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled

from posestage.model.frames import PoseFrame  # noqa: E402
from posestage.model.posestream import PoseStreamWriter, StreamHeader  # noqa: E402
from posestage.sources import load_image  # noqa: E402
from posestage.tracking.tracker import Tracker  # noqa: E402

DEFAULT_IMAGE = ROOT.parent / "shared" / "images" / "couple.jpg"
DEFAULT_MODEL = "posenet-481x641"  # catalogue name
START_TIME = 1_700_000_000.0  # fixed, so the file is reproducible


def person_strips(
    image: np.ndarray, poses, count: int = 2, pad: float = 0.12
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Vertical strips (full image height) around the ``count`` best poses, left to right, and
    the widest part of the photo with nobody in it (for the backdrop), or None."""
    h, w = image.shape[:2]
    strips, spans = [], []
    best = sorted(poses, key=lambda p: -p.score)[:count]
    for pose in sorted(best, key=lambda p: float(np.median(p.xy[:, 0]))):
        xs = pose.xy[pose.scores >= 0.3, 0] if (pose.scores >= 0.3).sum() >= 3 else pose.xy[:, 0]
        x0, x1 = float(xs.min()), float(xs.max())
        margin = pad * (x1 - x0) + 0.02 * w
        a, b = max(int(x0 - margin), 0), min(int(x1 + margin), w)
        strips.append(image[:, a:b].copy())
        spans.append((a, b))
    edges = [0, *[x for span in spans for x in span], w]
    gaps = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
    a, b = max(gaps, key=lambda g: g[1] - g[0])
    empty = image[:, a:b].copy() if b - a >= 32 else None
    return strips, empty


def backdrop(width: int, height: int, empty: np.ndarray | None = None) -> np.ndarray:
    """The empty part of the photo stretched to the stage, or a plain dark wall and floor."""
    if empty is not None:
        from PIL import Image

        return np.asarray(Image.fromarray(empty).resize((width, height), Image.BILINEAR)).copy()
    img = np.empty((height, width, 3), np.uint8)
    wall = np.linspace(40, 70, height, dtype=np.float32)[:, None]
    img[:] = wall[..., None].astype(np.uint8)
    img[int(height * 0.8) :] = (90, 80, 70)
    return img


def paste(canvas: np.ndarray, strip: np.ndarray, x: int) -> None:
    """Paste ``strip`` with its left edge at ``x`` (clipped to the canvas)."""
    w = canvas.shape[1]
    a, b = max(x, 0), min(x + strip.shape[1], w)
    if b > a:
        canvas[: strip.shape[0], a:b] = strip[:, a - x : b - x]


def frames(strips: list[np.ndarray], width: int, height: int, n: int, empty=None):
    """``n`` composites: strip 0 walks left → right, strip 1 right → left; 1 is in front."""
    left, right = strips[0], strips[1]
    stage = backdrop(width, height, empty)
    for i in range(n):
        t = i / max(n - 1, 1)
        canvas = stage.copy()
        x_left = int(-0.1 * width + t * (width - left.shape[1] + 0.2 * width))
        x_right = int(
            width - right.shape[1] + 0.1 * width - t * (width - right.shape[1] + 0.2 * width)
        )
        paste(canvas, left, x_left)
        paste(canvas, right, x_right)  # in front: hides the other while they cross
        yield canvas


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "scenes" / "demo.jsonl")
    p.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="a photo of two people")
    p.add_argument("--model", default=DEFAULT_MODEL, help="catalogue name or .tflite path")
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--fps", type=float, default=15.0)
    p.add_argument("--height", type=int, default=480, help="stage height (width is 4:3)")
    args = p.parse_args(argv)

    from posestage.engine.pose_engine import PoseEngine

    engine = PoseEngine(args.model, device="cpu")
    height = args.height
    width = height * 4 // 3
    photo = load_image(args.image)
    scale = height / photo.shape[0]
    photo = load_image(args.image, (round(photo.shape[1] * scale), height))
    strips, empty = person_strips(photo, engine.detect(photo).poses)
    if len(strips) < 2:
        print(f"{args.image}: found {len(strips)} people, need 2", file=sys.stderr)
        return 1

    tracker = Tracker()
    header = StreamHeader(
        source=f"demo:{args.image.name}", width=width, height=height,
        model=engine.model_name, start_time=START_TIME,
    )  # fmt: skip
    ids = set()
    with PoseStreamWriter(args.out, header) as writer:
        for i, image in enumerate(frames(strips, width, height, args.frames, empty)):
            stamp = START_TIME + i / args.fps
            poses = engine.detect(image).poses
            people = tracker.update(poses, width, height, stamp).people
            ids.update(p.id for p in people)
            writer.write(PoseFrame(i, stamp, 0.0, width, height, people=people))
    size = args.out.stat().st_size
    print(f"{args.out}: {args.frames} frames, {len(ids)} ids, {size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
