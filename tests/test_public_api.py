"""The public face: built-in plugins import only what a third party may import.

A plugin — its code and its tests — imports ``posestage`` (the names in its ``__all__``) and
``posestage.testing``, its own package and other libraries; nothing else of posestage (read
with ``ast``, every import statement, at any depth). ``posestage_synth`` may use
``posestage_midi``, a declared dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import posestage
import posestage.testing

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())
ALLOWED = {"posestage", "posestage.testing"}

#: Test files that still drive the plugin host (or a hand-made Stage) directly, for
#: host-level behaviour the kit has no words for yet (activate / frame / deactivate a plugin
#: in a host, scene switches with exact message order). The list may only shrink: a file
#: listed here that no longer needs it fails the test below.
NOT_YET: dict[str, set[str]] = {}


def python_files(plugin: Path) -> list[Path]:
    return sorted(p for p in plugin.rglob("*.py") if "build" not in p.relative_to(plugin).parts)


def posestage_imports(path: Path) -> dict[str, set[str]]:
    """``module -> names`` of every import of posestage in ``path`` (any depth)."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "posestage" or alias.name.startswith("posestage."):
                    found.setdefault(alias.name, set())
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "posestage" or node.module.startswith("posestage."):
                found.setdefault(node.module, set()).update(a.name for a in node.names)
    return found


@pytest.mark.parametrize("plugin", PLUGINS, ids=[p.name for p in PLUGINS])
def test_built_in_plugins_import_only_posestage_and_posestage_testing(plugin):
    wrong = {}
    for path in python_files(plugin):
        where = str(path.relative_to(ROOT))
        for module, names in posestage_imports(path).items():
            if module == "posestage":
                private = sorted(n for n in names if n not in {*posestage.__all__, "testing"})
                if private:
                    wrong[where] = f"from posestage import {', '.join(private)} (not in __all__)"
            elif module == "posestage.testing":
                private = sorted(n for n in names if n not in posestage.testing.__all__)
                if private:
                    wrong[where] = f"from posestage.testing import {', '.join(private)}"
            elif module not in ALLOWED and module not in NOT_YET.get(where, ()):
                wrong[where] = f"imports {module}"
    assert not wrong, f"built-in plugins may import only posestage and posestage.testing: {wrong}"


def test_the_not_yet_list_only_shrinks():
    for where, modules in NOT_YET.items():
        used = set(posestage_imports(ROOT / where))
        assert modules <= used, f"{where} no longer imports {modules - used}: take it off NOT_YET"


def test_every_built_in_plugin_has_its_tests_beside_it():
    for plugin in PLUGINS:
        assert list((plugin / "tests").glob("test_*.py")), (
            f"{plugin.name}: no tests in {plugin}/tests"
        )


def test_every_public_name_resolves_and_import_posestage_stays_cheap():
    for name in posestage.__all__:
        assert getattr(posestage, name) is not None, name
    for name in posestage.testing.__all__:
        assert getattr(posestage.testing, name) is not None, name
    probe = (
        "import sys, posestage; print(sorted(m for m in sys.modules if m.startswith('posestage')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['posestage']"  # names are imported when first used


def test_the_plugin_template_imports_only_the_public_face():
    """What ``posestage new-plugin`` writes is a third party's first plugin: it shows the API."""
    folder = ROOT / "posestage" / "commands" / "templates" / "plugin"
    for path in sorted(folder.rglob("*.py.tmpl")):
        text = path.read_text(encoding="utf-8").replace("$name", "example")
        copy = Path(str(path)[: -len(".tmpl")])
        tree = ast.parse(text, str(copy))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("posestage"):
                assert node.module in ALLOWED, f"{path.name}: from {node.module} import ..."
                names = {a.name for a in node.names}
                public = set(
                    posestage.__all__ if node.module == "posestage" else posestage.testing.__all__
                )
                assert names <= public, f"{path.name}: {sorted(names - public)} are not public"
