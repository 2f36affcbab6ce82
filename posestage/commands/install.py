"""``posestage install`` / ``posestage uninstall``: pip, into the environment posestage runs in.

``posestage install NAME...`` runs ``sys.executable -m pip install NAME...`` — the Python that
runs posestage, whatever ``pip`` on the PATH is — so a plugin lands where the stage finds it.
``-e PATH`` installs a plugin in development (edits take effect without reinstalling). Then it
says which plugins the install added.

``posestage uninstall NAME... [-y]`` takes plugin names as ``posestage plugins`` lists them
(``wrist_print``) or distribution names (``posestage-wrist-print``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys

from posestage.errors import PosestageError
from posestage.host import ENTRY_POINT_GROUP


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "install",
        help="install plugins with pip into posestage's own environment",
        description="pip install into the Python environment posestage runs in "
        f"({sys.executable}).",
    )
    p.add_argument("packages", nargs="*", metavar="NAME", help="distributions, wheels, paths")
    p.add_argument(
        "-e",
        "--editable",
        action="append",
        default=[],
        metavar="PATH",
        help="install the plugin project at PATH in development mode",
    )
    p.add_argument("-U", "--upgrade", action="store_true", help="upgrade to the newest version")
    p.add_argument("--force-reinstall", action="store_true", help="reinstall even if up to date")
    p.add_argument("--no-deps", action="store_true", help="do not install dependencies")
    p.add_argument("--pre", action="store_true", help="include pre-release versions")
    p.add_argument("-q", "--quiet", action="store_true", help="less output from pip")
    p.set_defaults(func=run_install)

    u = subparsers.add_parser(
        "uninstall",
        help="uninstall plugins (by plugin or distribution name) with pip",
        description="pip uninstall from posestage's environment; NAME is a plugin name as "
        "`posestage plugins` shows it, or a distribution name.",
    )
    u.add_argument("names", nargs="+", metavar="NAME")
    u.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    u.set_defaults(func=run_uninstall)


def _pip(args: list[str]) -> int:
    command = [sys.executable, "-m", "pip", *args]
    try:
        return subprocess.call(command)
    except OSError as err:  # pragma: no cover - the running interpreter vanished
        raise PosestageError(f"cannot run pip ({' '.join(command)}): {err}") from None


def plugin_distributions() -> dict[str, tuple[str, str]]:
    """``{plugin name: (distribution, version)}`` for every installed ``posestage`` entry point."""
    found = {}
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            if ep.group == ENTRY_POINT_GROUP:
                found.setdefault(ep.name, (dist.metadata["Name"], dist.version))
    return found


def run_install(args: argparse.Namespace) -> int:
    if not args.packages and not args.editable:
        raise PosestageError("install: name a plugin to install, or -e PATH for one in development")
    before = plugin_distributions()
    pip_args = ["install"]
    for flag in ("upgrade", "force_reinstall", "no_deps", "pre", "quiet"):
        if getattr(args, flag):
            pip_args.append("--" + flag.replace("_", "-"))
    for path in args.editable:
        pip_args += ["-e", path]
    status = _pip(pip_args + list(args.packages))
    if status != 0:
        print(f"posestage: pip install failed (exit status {status})", file=sys.stderr)
        return status
    importlib.invalidate_caches()
    after = plugin_distributions()
    new = sorted((n, d) for n, d in after.items() if n not in before or before[n] != d)
    for name, (dist, version) in new:
        print(
            f"posestage: plugin {name} ({dist} {version}) installed; `posestage plugins` lists it"
        )
    if not new:
        print(
            "posestage: no new or changed plugins (a plugin has an entry point in the "
            f"'{ENTRY_POINT_GROUP}' group: see docs/plugins.md)"
        )
    return 0


def run_uninstall(args: argparse.Namespace) -> int:
    plugins = plugin_distributions()
    dists = []
    for name in args.names:
        dist = plugins[name][0] if name in plugins else name
        if dist.lower().replace("_", "-") == "posestage":
            raise PosestageError(
                f"uninstall {name}: that is posestage itself; use pip uninstall posestage"
            )
        if dist not in dists:
            dists.append(dist)
    return _pip(["uninstall", *(["-y"] if args.yes else []), *dists])
