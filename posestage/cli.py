"""The ``posestage`` command line: a thin dispatcher over ``posestage/commands/*``.

Each command module has ``add_parser(subparsers)`` which registers a sub-command whose
``func(args) -> int`` runs it. A :class:`~posestage.errors.PosestageError` becomes one line on
stderr and exit status 2; ``--debug`` shows the traceback instead. A bad option is the same:
one line, ``posestage: error: --res: expected …, got …``, status 2 — option values are parsed
by :mod:`posestage.vocabulary`, the parsers scene files use too.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import logs
from .errors import PosestageError

log = logging.getLogger("posestage")


class UsageError(PosestageError):
    """A bad command line (unknown option, bad value): one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: no usage dump, the option named first
    (``--threshold: expected a score from 0 to 1, got 5``). Sub-parsers inherit it."""

    def error(self, message: str):  # argparse's hook for every usage error
        message = " ".join(message.split())
        if message.startswith("argument "):
            message = message[len("argument ") :]
        raise UsageError(message)


# One module per sub-command, in the order ``posestage --help`` lists them.
COMMAND_MODULES = [
    "posestage.commands.detect",
    "posestage.commands.models",
    "posestage.commands.run",
    "posestage.commands.plugins",
    "posestage.commands.new_plugin",
    "posestage.commands.install",
]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="posestage",
        description="Pose estimation on stage: PoseNet/MoveNet → tracked people → plugins.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    from .plugins import add_plugin_commands  # installed plugins' own sub-commands

    add_plugin_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logs.setup(debug="--debug" in (sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        log.error("error: %s", err)
        return 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except PosestageError as err:
        if args.debug:
            raise
        log.error("error: %s", err)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
