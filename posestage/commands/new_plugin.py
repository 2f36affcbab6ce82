"""``posestage new-plugin NAME``: a ready plugin project from the templates in
``posestage/commands/templates/plugin`` (package data; ``$name`` style placeholders, :class:`string.Template`).

The project (folder ``posestage-NAME``)::

    pyproject.toml          entry point [project.entry-points.posestage] NAME = "posestage_NAME:plugin",
                            the "Framework :: posestage" classifier, a test extra
    posestage_NAME.py       a working plugin (a dot and a trail on one keypoint) with every hook,
                            the unused ones commented out
    README.md               try, test, publish
    demo.toml               a scene replaying tests/poses.jsonl with the plugin, no camera
    tests/test_posestage_NAME.py   runs the plugin through the real stage (posestage.testing)
    tests/poses.jsonl       a recorded pose stream (posestage.testing.SAMPLE_POSES)
    rehearsal/sketch.py     a plain .py plugin for ``posestage run --plugin-dir ./rehearsal``
    .gitignore

It installs (``pip install -e .``) and passes its own tests as created.
"""

from __future__ import annotations

import argparse
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from string import Template

from posestage import __version__
from posestage.errors import PosestageError

TEMPLATES = Path(__file__).resolve().parent / "templates" / "plugin"
#: template file -> file in the project (``{module}`` is filled in)
FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "module.py.tmpl": "{module}.py",
    "README.md.tmpl": "README.md",
    "demo.toml.tmpl": "demo.toml",
    "gitignore.tmpl": ".gitignore",
    "tests/test_plugin.py.tmpl": "tests/test_{module}.py",
    "rehearsal/sketch.py.tmpl": "rehearsal/sketch.py",
}
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


@dataclass(frozen=True)
class PluginNames:
    """``name`` (the plugin's name: scene tables, ``posestage plugins``), ``module``
    (``posestage_name``), ``distribution`` (``posestage-name``, what pip installs)."""

    name: str
    module: str
    distribution: str


def plugin_names(text: str) -> PluginNames:
    """Names for ``new-plugin TEXT``; a ``posestage-``/``posestage_`` prefix is dropped and
    dashes become underscores in the plugin and module names (``wrist-print`` → plugin
    ``wrist_print``, module ``posestage_wrist_print``, distribution ``posestage-wrist-print``)."""
    raw = text.strip()
    base = re.sub(r"^posestage[-_]", "", raw.lower())
    if not _NAME.match(base):
        raise PosestageError(
            f"new-plugin {raw!r}: not a valid plugin name; use lower-case letters, digits and "
            "single - or _ between them, starting with a letter (e.g. wristprint, wrist-print)"
        )
    name = base.replace("-", "_")
    return PluginNames(name, f"posestage_{name}", f"posestage-{base.replace('_', '-')}")


def create_plugin(text: str, parent: str | Path = ".", description: str = "") -> Path:
    """Write the project for plugin ``text`` into ``parent/posestage-NAME``; returns the folder.

    Refuses (:class:`PosestageError`, one line) an invalid name or a folder that exists and is
    not empty.
    """
    names = plugin_names(text)
    target = Path(parent).expanduser() / names.distribution
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise PosestageError(
            f"new-plugin {text}: {target} already exists and is not empty; "
            "choose another name or --dir"
        )
    major, minor = __version__.split(".")[:2]
    values = {
        "elsewhere": "\n".join(f"    {line}" for line in elsewhere_steps(names.distribution)),
        "name": names.name,
        "module": names.module,
        "distribution": names.distribution,
        "description": (description or f"posestage plugin {names.name}").replace('"', "'"),
        "posestage_version": f"{major}.{minor}",
    }
    texts = {}
    for template, out in FILES.items():
        try:
            texts[out.format(module=names.module)] = Template(
                (TEMPLATES / template).read_text(encoding="utf-8")
            ).substitute(values)
        except (KeyError, ValueError) as err:  # pragma: no cover - a broken template
            raise PosestageError(f"new-plugin: template {template} is broken: {err}") from None
    try:
        (target / "tests").mkdir(parents=True, exist_ok=True)
        (target / "rehearsal").mkdir(exist_ok=True)
        for rel, content in texts.items():
            (target / rel).write_text(content, encoding="utf-8")
        from posestage.model.posestream import SAMPLE

        shutil.copyfile(SAMPLE, target / "tests" / "poses.jsonl")
    except OSError as err:
        raise PosestageError(
            f"new-plugin {text}: cannot write {target}: {err.strerror or err}"
        ) from None
    return target


# -- where posestage came from -------------------------------------------------------------------


def posestage_origin() -> str:
    """What to give pip for the posestage installed here: ``posestage`` from an index (no
    PEP 610 ``direct_url.json``), else the requirement naming where it came from — a VCS URL
    at its commit (``posestage @ git+https://…@abc123``), an archive or wheel URL, a folder
    (``posestage @ file:///…``)."""
    import json
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        text = distribution("posestage").read_text("direct_url.json")
    except PackageNotFoundError:
        return "posestage"
    if not text:
        return "posestage"
    try:
        origin = json.loads(text)
    except ValueError:
        return "posestage"
    url = str(origin.get("url", ""))
    vcs = origin.get("vcs_info")
    if vcs:
        commit = vcs.get("commit_id") or vcs.get("requested_revision") or ""
        return f"posestage @ {vcs.get('vcs', 'git')}+{url}" + (f"@{commit}" if commit else "")
    return f"posestage @ {url}" if url else "posestage"


def elsewhere_steps(distribution: str) -> list[str]:
    """How another machine installs the plugin while posestage is on no index: posestage first,
    from where this one came from, then the plugin (its ``posestage>=…`` is then met)."""
    origin = posestage_origin()
    if origin == "posestage":
        return [f"pip install {distribution}          # posestage comes with it"]
    return [
        f"pip install '{origin}'   # posestage, from where it came from (not on an index yet)",
        f"pip install {distribution}   # or the wheel: pip install dist/*.whl",
    ]


# -- the sub-command ---------------------------------------------------------------------------


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
    names = plugin_names(args.name)
    target = create_plugin(args.name, args.dir, args.description)
    print(f"created {target}/ — plugin {names.name!r}, module {names.module}.py")
    print("next:")
    print(f"  cd {target}")
    print("  posestage install -e '.[test]'   # with pytest; or: pip install -e '.[test]'")
    print("  python -m pytest                 # runs it on tests/poses.jsonl, headless")
    print("  posestage run demo.toml          # see it on the recorded people")
    print("  posestage run demo.toml --plugin-dir ./rehearsal   # plain .py sketches, reloaded")
    print("elsewhere (another machine or environment):")
    for line in elsewhere_steps(names.distribution):
        print(f"  {line}")
    return 0
