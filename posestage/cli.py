"""The ``posestage`` command line: a thin dispatcher over ``posestage/commands/*``.

Each command module has ``add_parser(subparsers)`` which registers a sub-command whose
``func(args) -> int`` runs it. A :class:`~posestage.errors.PosestageError` becomes one line on
stderr and exit status 2; ``--debug`` shows the traceback instead. A bad option is the same:
one line, ``posestage: error: --res: expected …, got …``, status 2 — option values are parsed
by :mod:`posestage.config.vocabulary`, the parsers scene files use too.

Start-up stays fast (``posestage --help`` well under 0.3 s): command modules import only the
standard library at load, the heavy modules (numpy, the runtime, pygame) inside ``func``; and
installed plugins, which may import anything, are loaded for their commands only when the
command asked for is not a built-in one.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import threading
import time

from posestage import logs, signals
from posestage.errors import PosestageError

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
    "posestage.commands.doctor",
    "posestage.commands.cameras",
    "posestage.commands.new_plugin",
    "posestage.commands.install",
]


def build_parser(
    argv: list[str] | None = None, enable: list[str] | None = None
) -> argparse.ArgumentParser:
    """The parser for ``argv``: the built-in commands, plus installed plugins' commands unless
    ``argv`` names a built-in command or none (``None``: always add them). ``enable``: the
    ``-p`` plugins given before the command, whose ``posestage_commands`` add sub-commands too
    (``posestage -p ./x.py hello``)."""
    parser = Parser(
        prog="posestage",
        description="Pose estimation on stage: PoseNet/MoveNet → tracked people → plugins.",
        epilog="Installed plugins may add commands of their own: `posestage plugins` lists "
        "the plugins.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="let JACK, ALSA and FluidSynth print their own messages (silenced otherwise)",
    )
    parser.add_argument(
        "-p",
        "--plugin",
        dest="global_enable",
        action="append",
        default=[],
        metavar="NAME",
        help="a plugin (name, module or .py file) for every command: its commands, and active in run",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    command = None if argv is None else _command(argv)
    if enable or command is None or (command and command not in sub.choices):
        from posestage.host import add_plugin_commands  # installed plugins' own sub-commands

        add_plugin_commands(sub, enable=enable or [])
    return parser


def _command(argv: list[str]) -> str:
    """The sub-command named in ``argv`` ("" for none), skipping global options."""
    i = 0
    while i < len(argv):
        if argv[i] in ("-p", "--plugin"):
            i += 2
        elif argv[i].startswith("-"):
            i += 1
        else:
            return argv[i]
    return ""


def global_plugins(argv: list[str]) -> list[str]:
    """The ``-p``/``--plugin`` values given before the sub-command."""
    found, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-p", "--plugin") and i + 1 < len(argv):
            found.append(argv[i + 1])
            i += 2
        elif arg.startswith("--plugin="):
            found.append(arg.split("=", 1)[1])
            i += 1
        elif arg.startswith("-"):
            i += 1
        else:
            break  # the sub-command: its own -p belongs to it
    return found


#: The commands whose sound and MIDI libraries would print their own chatter (``--verbose``).
NATIVE_CHATTER = ("run", "doctor")

#: After the command returned, how long threads a plugin left running (not daemons) may take
#: to end before the process ends anyway (seconds): ``posestage run`` always ends.
EXIT_SECONDS = 2.0


def main(argv: list[str] | None = None) -> int:
    """The ``posestage`` command. Called with no ``argv`` it is the process itself (the console
    script, ``python -m posestage``): the stop signals are caught from its first line (a
    ``run`` keeps them for its stage) and the process ends once the command returned, even
    when a plugin left a thread running (:func:`end_process`)."""
    process = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    signals.install(defer=_command(argv) == "run")  # before anything can be interrupted
    try:
        code = _main(argv)
    finally:
        if not process:
            signals.uninstall()  # called in-process (tests, a program): leave it as it was
    if process:
        end_process(code)
    return code


def end_process(code: int, grace: float = EXIT_SECONDS) -> None:
    """Give the threads that would keep the process alive (not daemons) ``grace`` seconds in
    all; if some still run, say which, flush the logs and end the process with ``code``."""
    end = time.monotonic() + grace
    for thread in threading.enumerate():
        if thread is threading.current_thread() or thread.daemon:
            continue
        thread.join(max(0.0, end - time.monotonic()))
    left = [
        t.name
        for t in threading.enumerate()
        if t is not threading.current_thread() and not t.daemon and t.is_alive()
    ]
    if not left:
        return
    log.warning(
        "threads still running %g s after the end (%s): a plugin started them and did not stop "
        "them in posestage_unconfigure; ending the process",
        grace,
        ", ".join(left),
    )
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _main(argv: list[str]) -> int:
    logs.setup(debug="--debug" in argv)
    try:
        parser = build_parser(argv, global_plugins(argv))
        args = parser.parse_args(argv)
    except PosestageError as err:  # a bad option, or a -p plugin that cannot be loaded
        log.error("error: %s", err)
        return 2
    if args.global_enable and isinstance(getattr(args, "enable", None), list):
        args.enable = [*args.global_enable, *args.enable]  # active in run, listed by plugins
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if args.command in NATIVE_CHATTER and not (args.verbose or args.debug):
        logs.quiet_native_libraries()
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
