"""``posestage detect``: find the poses in still images and print them (or JSON, or a PNG).

The text output follows Coral's ``simple_pose.py``: per pose ``Pose Score: 0.89``, one line
per keypoint, then ``Inference time: 12 ms``. Coordinates are source-image pixels. The time is
a warm one: the interpreter is invoked once before the first image, since the first invoke pays
for setup (10-20 times the steady state). ``--out`` files are named once written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from posestage.config import vocabulary as v
from posestage.engine.catalogue import DEFAULT_MODEL
from posestage.errors import PosestageError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "detect",
        help="detect poses in images and print them",
        description="Detect poses in still images; print them like Coral's simple_pose.py.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (JPEG, PNG, BMP, ...)")
    p.add_argument(
        "--model",
        "-m",
        default=DEFAULT_MODEL,
        help=f"catalogue name or .tflite path (default {DEFAULT_MODEL})",
    )
    p.add_argument("--device", default="auto", type=v.cli_type(v.DEVICE), help=v.DEVICE.expected)
    p.add_argument(
        "--threshold",
        type=v.cli_type(v.SCORE),
        default=None,
        metavar="SCORE",
        help="minimum pose score (default: the model's, 0.2)",
    )
    p.add_argument(
        "--max-poses",
        type=v.cli_type(v.MAX_POSES),
        default=None,
        metavar="N",
        help="most poses per image (default: the model's)",
    )
    p.add_argument(
        "--input-size",
        type=v.cli_type(v.INPUT_SIZE),
        default=None,
        metavar="HxW",
        help="run a CPU PoseNet at another size, e.g. 721x1281",
    )
    p.add_argument(
        "--resize",
        type=v.cli_type(v.RESIZE),
        default="stretch",
        metavar="{stretch,letterbox}",
        help="fit images to the input: stretch (Coral) or letterbox",
    )
    p.add_argument(
        "--num-threads",
        type=v.cli_type(v.NUM_THREADS),
        default=None,
        metavar="N",
        help="CPU threads for the interpreter",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document for all images")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="PNG",
        help="write the image with skeletons drawn (several images: one file each, suffixed)",
    )
    p.set_defaults(func=run)
    return p


def load_image(path: Path):
    """Open an image file fully as RGB; one-line :class:`SourceError` if it is not one (or is
    too large, or is not a regular file)."""
    from posestage.sources.stills import open_image

    return open_image(path, what="image")


def out_paths(out: Path, images: list[Path]) -> list[Path]:
    """``--out`` per image: the file itself for one image, ``OUT_<image stem>.png`` for several."""
    if len(images) == 1:
        return [out]
    paths, seen = [], set()
    for i, image in enumerate(images):
        candidate = out.with_name(f"{out.stem}_{image.stem}{out.suffix or '.png'}")
        if candidate in seen:
            candidate = out.with_name(f"{out.stem}_{image.stem}_{i}{out.suffix or '.png'}")
        seen.add(candidate)
        paths.append(candidate)
    return paths


def format_result(result) -> str:
    """Coral ``simple_pose.py``-style text for one image's result."""
    lines = []
    for pose in result.poses:
        lines.append(f"Pose Score: {pose.score:.2f}")
        for k in pose.keypoints:
            lines.append(f"  {k.name:<18}x={k.x:.1f}  y={k.y:.1f}  score={k.score:.2f}")
    lines.append(f"Inference time: {result.inference_ms:.0f} ms")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from posestage.draw.still import draw_poses
    from posestage.engine.pose_engine import PoseEngine

    paths = [Path(p) for p in args.images]
    images = [load_image(p) for p in paths]  # every image checked before any output
    engine = PoseEngine(
        args.model,
        device=args.device,
        input_size=args.input_size,
        num_threads=args.num_threads,
        resize=args.resize,
        max_poses=args.max_poses,
        score_threshold=args.threshold,
    )
    engine.run()  # the first invoke sets up (caches, delegate): not the time to report
    results = [engine.detect(image) for image in images]
    written = []
    if args.out is not None:
        for image, result, target in zip(images, results, out_paths(args.out, paths)):
            try:
                draw_poses(image, result.poses).save(target)
            except (OSError, ValueError) as err:
                raise PosestageError(
                    f"--out {target} cannot be written ({err}): check the folder and the suffix (.png)"
                ) from None
            written.append(target)
    if args.json:
        doc = {
            "model": engine.model_name,
            "device": engine.device,
            "decoder": engine.kernel,
            "input_size": list(engine.input_size),
            "images": [{"image": str(p), **r.to_dict()} for p, r in zip(paths, results)],
        }
        print(json.dumps(doc, indent=2))
    else:
        for path, result in zip(paths, results):
            if len(paths) > 1:
                print(f"== {path}")
            print(format_result(result))
    for target in written:  # stderr under --json, which keeps stdout one JSON document
        print(f"Wrote {target}", file=sys.stderr if args.json else sys.stdout)
    return 0
