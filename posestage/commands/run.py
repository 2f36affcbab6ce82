"""``posestage run``: start the stage — a source, the engine, the tracker, a scene's plugins.

Options given here override the scene's ``[stage]`` settings. Examples::

    posestage run scenes/skeleton.toml --source camera --mirror
    posestage run a.toml b.toml            # keys 1 and 2 switch between them
    posestage run --source clip.mp4 --headless --frames 300 --profile
    posestage run --source replay:show.jsonl --pace fast --headless
"""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger("posestage")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "run",
        help="run the stage: source → pose engine → tracked people → plugins → window",
        description=(
            "Run the stage. Scenes are TOML files (the first one starts; number keys switch). "
            "Keys: Esc/Q quit, F fullscreen, H help, T plugin timings."
        ),
    )
    p.add_argument(
        "scenes", nargs="*", metavar="SCENE.toml", help="scene files (default: skeleton)"
    )
    p.add_argument(
        "--source", "-s", metavar="SPEC", help="camera[:N], a video, stills, or replay:FILE.jsonl"
    )
    p.add_argument("--model", "-m", help="model name from the catalogue or a .tflite path")
    p.add_argument("--device", help="auto, cpu or an Edge TPU (e.g. usb, pci:0)")
    p.add_argument("--res", metavar="WxH", type=str, help="capture size, e.g. 640x480")
    p.add_argument(
        "--mirror",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="mirror the image and the poses (like a mirror on stage)",
    )
    p.add_argument(
        "--pace",
        choices=("realtime", "fast"),
        help="videos/replays: recorded pace or as fast as possible",
    )
    p.add_argument(
        "--loop",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="loop videos, stills and replays",
    )
    p.add_argument("--headless", action="store_true", help="no window (servers, CI)")
    p.add_argument("--frames", type=int, metavar="N", help="stop after N frames")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument(
        "-p",
        "--plugin",
        dest="enable",
        action="append",
        default=[],
        metavar="NAME",
        help="enable a plugin (repeatable)",
    )
    p.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="NAME",
        help="disable a plugin (repeatable)",
    )
    p.add_argument("--safe", action="store_true", help="load only built-in plugins")
    p.add_argument(
        "--privacy",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="never show or hand out camera pixels",
    )
    p.add_argument("--profile", action="store_true", help="print per-plugin timings at exit")
    p.add_argument("--fullscreen", action="store_true", help="start fullscreen (F toggles)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..sources import parse_res
    from ..stage import Stage, StageOptions, format_profile

    options = StageOptions(
        source=args.source,
        model=args.model,
        device=args.device,
        res=parse_res(args.res) if args.res else None,
        mirror=args.mirror,
        pace=args.pace,
        loop=args.loop,
        privacy=args.privacy,
        headless=args.headless,
        frames=args.frames,
        duration=args.duration,
        enable=list(args.enable),
        disable=list(args.disable),
        safe=args.safe,
        fullscreen=args.fullscreen,
    )
    report = Stage(args.scenes, options).run()
    log.info("%s", report.summary())
    if args.profile:
        print(format_profile(report))
    if report.error:
        log.error("error: %s", report.error)
        return 2
    return 0
