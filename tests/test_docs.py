"""The plugin docs stay true: the hook reference is generated from the hook docstrings and
every hook is documented; the tutorial's Python examples are valid Python."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from posestage.host import PluginHost

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def reference_tool():
    spec = importlib.util.spec_from_file_location(
        "plugin_reference", ROOT / "tools" / "plugin_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_hook_is_documented_with_its_arguments():
    assert reference_tool().problems() == []


def test_the_hook_reference_in_plugins_md_is_up_to_date():
    tool = reference_tool()
    current = (DOCS / "plugins.md").read_text(encoding="utf-8")
    assert tool.BEGIN in current and tool.END in current
    assert tool.render(current) == current, (
        "docs/plugins.md is out of date: run python tools/plugin_reference.py"
    )
    for hook in PluginHost().hook_names():
        assert f"\n### {hook}(" in current


def test_the_tutorial_examples_are_python():
    for name in ("plugin-tutorial.md", "plugins.md"):
        text = (DOCS / name).read_text(encoding="utf-8")
        for i, block in enumerate(re.findall(r"```python\n(.*?)```", text, re.S)):
            compile(block, f"{name} python block {i + 1}", "exec")


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    return {
        re.sub(r"[^a-z0-9 _-]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.*)$", text, re.M)
    }


def test_the_tutorial_links_resolve():
    text = (DOCS / "plugin-tutorial.md").read_text(encoding="utf-8")
    plugins = (DOCS / "plugins.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(#([^)]+)\)", text):
        assert target in anchors(text), target
    for target in re.findall(r"\]\(plugins\.md#([^)]+)\)", text):
        assert target in anchors(plugins), target
    assert "plugin-tutorial.md" in plugins


def test_the_tutorials_osc_example_runs_as_written():
    """The OSC example is a whole plugin and its test: run that test, as a reader would."""
    text = (DOCS / "plugin-tutorial.md").read_text(encoding="utf-8")
    section = text.split("### What was sent: OSC", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "plugin-tutorial.md OSC example", "exec"), namespace)
    namespace["test_sends_the_nose"]()
