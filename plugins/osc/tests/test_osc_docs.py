"""docs/osc.md against the one description of the layouts (and the plugins' settings)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from posestage_osc import control, docs, layouts, plugin

from posestage import KEYPOINT_NAMES
from posestage.testing import check_plugin, installed_plugin

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "osc.md"


def test_generated_parts_of_the_docs_match_the_data():
    text = DOC.read_text()
    assert docs.update(text) == text, (
        "docs/osc.md is out of date: run python -m posestage_osc.docs docs/osc.md"
    )


def test_every_address_and_type_of_every_layout_is_documented():
    text = DOC.read_text()
    for layout in layouts.LAYOUTS.values():
        section = text.split(f"### `{layout.name}`", 1)[1].split("\n### ", 1)[0]
        for m in layout.messages:
            row = next(
                line for line in section.splitlines() if line.startswith(f"| `{m.address}` |")
            )
            for a in m.args:
                assert a.name in row
                if a.type != "*":
                    assert f"`{a.type}`" in row
    for name in KEYPOINT_NAMES:  # the keypoint order is spelled out once
        assert f"`{name}`" in text


def test_examples_in_the_docs_use_real_addresses_and_settings():
    text = DOC.read_text()
    known = {s.name for s in plugin.SETTINGS} | {s.name for s in control.SETTINGS}
    for block in re.findall(r"```toml\n(.*?)```", text, re.S):
        data = tomllib.loads(block)
        for table in data.get("plugins", {}).values():
            for key in table:
                assert key in known, key
            for sub in table.get("targets", []):
                assert set(sub) <= known


def test_entry_points_and_hooks_match_the_specs():
    project = tomllib.loads((ROOT / "plugins" / "osc" / "pyproject.toml").read_text())
    assert project["project"]["name"] == "posestage-osc"
    assert project["project"]["entry-points"]["posestage"] == {
        "osc": "posestage_osc.plugin:plugin",
        "control": "posestage_osc.control:plugin",
    }
    deps = project["project"]["dependencies"]
    assert not any(d.startswith("python-osc") for d in deps)  # a test dependency only
    check_plugin(plugin.plugin, "osc")  # every hook names a real hook with real arguments
    check_plugin(control.plugin, "control")


def test_the_plugin_does_not_import_python_osc():
    for name in list(sys.modules):
        if name.startswith("posestage_osc"):
            module = sys.modules[name]
            source = Path(module.__file__).read_text()
            if not name.endswith("reference"):
                assert "pythonosc" not in source, name


def test_builtin_distribution():
    for name in ("osc", "control"):
        info = installed_plugin(name)
        assert info.distribution == "posestage-osc" and info.builtin


def test_layers_are_one_way_and_the_layouts_pure_data():
    """(posestage's osc_wire) ← encoder ← plugin, layouts ← encoder: layouts import nothing
    of the plugin; what generates docs from the layouts (docs.py) sits beside them, above."""
    import ast

    package = Path(layouts.__file__).parent
    imports = {}
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    found |= {node.module} if node.module else {a.name for a in node.names}
                elif (node.module or "").startswith("posestage_osc"):
                    found.add((node.module or "").split(".")[-1])
            elif isinstance(node, ast.Import):
                found |= {
                    a.name.split(".")[-1] for a in node.names if a.name.startswith("posestage_osc.")
                }
        imports[path.stem] = found
    assert imports["layouts"] == set() and "wire" not in imports
    assert imports["encoder"] <= {"layouts"}
    assert "docs" not in set().union(*(v for k, v in imports.items() if k != "docs"))
    assert imports["docs"] >= {"layouts", "plugin", "control"}
