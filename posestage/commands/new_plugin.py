"""``posestage new-plugin NAME``: create a ready plugin project (see :mod:`posestage.commands.scaffold`)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "new-plugin",
        help="create a plugin project: pyproject, a commented plugin, a README, a test",
        description="Create posestage-NAME/: a plugin that installs (pip install -e) and "
        "passes its own test as created; edit from there.",
    )
    p.add_argument("name", metavar="NAME", help="plugin name, e.g. wristprint")
    p.add_argument("--dir", default=".", metavar="DIR", help="where to create it (default: here)")
    p.add_argument("--description", default="", metavar="TEXT", help="one line about it")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posestage.commands.scaffold import create_plugin, plugin_names

    names = plugin_names(args.name)
    target = create_plugin(args.name, args.dir, args.description)
    print(f"created {target}/ — plugin {names.name!r}, module {names.module}.py")
    print("next:")
    print(f"  cd {target}")
    print("  posestage install -e .      # or: pip install -e '.[test]'")
    print("  python -m pytest            # runs it on tests/poses.jsonl, headless")
    print("  posestage run demo.toml     # see it on the recorded people")
    return 0
