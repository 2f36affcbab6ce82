"""``posestage run``: start the stage — a source, the engine, the tracker, a scene's plugins.

Options given here override the scene's ``[stage]`` settings. Examples::

    posestage run scenes/skeleton.toml --source camera --mirror
    posestage run a.toml b.toml            # keys 1 and 2 switch between them
    posestage run --source clip.mp4 --headless --frames 300 --profile
    posestage run --source replay:show.jsonl --pace fast --headless
    posestage run photo.jpg                # a still stays on screen until Esc/Q
    posestage run a.toml --control 9001    # OSC control in on 127.0.0.1:9001 (docs/osc.md)
    posestage run demo.toml --osc 10.0.0.5:10000,layout=values   # OSC out, in every scene
    posestage run demo.toml --web 8080     # control page, OSCQuery, pose stream on 127.0.0.1:8080

A still (or a folder of stills) stays in the window until the performer quits; headless it is
processed once and the run ends.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from posestage.config import vocabulary as v
from posestage.errors import PosestageError

log = logging.getLogger("posestage")


class UsageError(PosestageError):
    """Arguments that contradict each other: one line, exit status 2."""


#: The ``[stage]`` keys that are also options here, with their short flag and metavar. Type,
#: parser and help come from the one declaration, :data:`posestage.config.scenes.STAGE_SETTINGS`.
STAGE_OPTIONS = {
    "source": ("-s", "SPEC"),
    "model": ("-m", "MODEL"),
    "device": ("", "DEVICE"),
    "res": ("", "WxH"),
    "fps": ("", "FPS"),
    "mirror": ("", None),
    "pace": ("", "{realtime,fast}"),
    "loop": ("", None),
    "privacy": ("", None),
    "fullscreen": ("", None),
    "control": ("", "[HOST:]PORT"),
    "web": ("", "[HOST:]PORT"),
}


def add_stage_options(p: argparse.ArgumentParser) -> None:
    """``--source``, ``--res``, ``--mirror``…: the stage keys as options (they override the
    scene's ``[stage]``), each parsed by the same vocabulary as the scene file."""
    from posestage.config.scenes import STAGE_SETTINGS

    settings = {s.name: s for s in STAGE_SETTINGS}
    for name, (short, metavar) in STAGE_OPTIONS.items():
        setting = settings[name]
        flags = [f"--{name.replace('_', '-')}", *([short] if short else [])]
        if setting.type is bool:
            p.add_argument(
                *flags, action=argparse.BooleanOptionalAction, default=None, help=setting.help
            )
            continue
        parse = setting.parse
        p.add_argument(
            *flags,
            type=v.cli_type(parse) if isinstance(parse, v.Vocabulary) else str,
            default=None,
            metavar=metavar,
            help=setting.help,
        )


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
        "scenes",
        nargs="*",
        metavar="SCENE.toml|SOURCE",
        help="scene files or folders of them (default: skeleton); one argument that is not a "
        "scene (a photo, a video, camera:1, replay:take.jsonl) is the source, like --source",
    )
    add_stage_options(p)
    p.add_argument(
        "--osc",
        action="append",
        default=[],
        type=_osc_target,
        metavar="HOST:PORT[,layout=NAME]",
        help="also send OSC there, in every scene (repeatable); after the address, keys of a "
        "[[plugins.osc.targets]] table: layout=values, y_up=true…",
    )
    p.add_argument("--headless", action="store_true", help="no window (servers, CI)")
    p.add_argument("--frames", type=v.cli_type(v.FRAMES), metavar="N", help="stop after N frames")
    p.add_argument(
        "--duration", type=v.cli_type(v.SECONDS), metavar="S", help="stop after S seconds"
    )
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
        "--plugin-dir",
        metavar="DIR",
        help="rehearsal: load the plugin .py files in DIR and reload each one when it is saved",
    )
    p.add_argument("--profile", action="store_true", help="print per-plugin timings at exit")
    p.add_argument(
        "--trace-hooks",
        action="store_true",
        help="log every hook call (plugin, hook, thread, ms) to stderr",
    )
    p.add_argument(
        "--trace-file",
        metavar="FILE",
        help="--trace-hooks into FILE instead (JSON Lines if it ends in .jsonl)",
    )
    p.add_argument(
        "--screenshot",
        metavar="FILE",
        help="save the window as last shown (PNG) when the run ends (e.g. with --duration)",
    )
    p.set_defaults(func=run)
    return p


def _osc_target(text: str) -> dict:
    from posestage.stage.osc_targets import osc_target

    try:
        return osc_target(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def is_scene(arg: str) -> bool:
    """A scene file (``*.toml``) or a folder holding some; anything else is a source spec."""
    path = Path(arg)
    if path.suffix.lower() == ".toml":
        return True
    return path.is_dir() and any(path.glob("*.toml"))


def split_sources(args: argparse.Namespace) -> tuple[list[str], str | None]:
    """(scene arguments, source): ``posestage run photo.jpg`` means ``--source photo.jpg``."""
    scenes = [a for a in args.scenes if is_scene(a)]
    others = [a for a in args.scenes if not is_scene(a)]
    if len(others) > 1 or (others and args.source):
        given = ", ".join(others + ([f"--source {args.source}"] if args.source else []))
        raise UsageError(
            f"run: more than one source given ({given}); give one source, and scenes as .toml"
        )
    return scenes, (others[0] if others else args.source)


def run(args: argparse.Namespace) -> int:
    from posestage.stage import Stage, StageOptions, format_profile

    scenes, source = split_sources(args)
    options = StageOptions(
        source=source,
        model=args.model,
        device=args.device,
        res=args.res,
        fps=args.fps,
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
        fullscreen=bool(args.fullscreen),
        trace_hooks=args.trace_file or ("-" if args.trace_hooks else None),
        plugin_dir=args.plugin_dir,
        control=args.control,
        osc=list(args.osc),
        web=args.web,
        screenshot=args.screenshot,
    )
    report = Stage(scenes, options).run()
    log.info("%s", report.summary())
    if args.profile:
        print(format_profile(report))
    if report.error:
        log.error("error: %s", report.error)
        return 2
    if report.refused:  # the show ran, without what the scene asked for: not a silent 0
        count = len(report.refused)
        log.error(
            "run: %s of the first scene never ran (said above); the show ran without %s: "
            "exit status 1",
            "a plugin" if count == 1 else f"{count} plugins",
            "it" if count == 1 else "them",
        )
        return 1
    return 0
