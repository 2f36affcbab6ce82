"""The test layout pytest relies on: every test folder's Python files have unique names.

Plugin test folders keep helper modules (``osc_support.py``…) that their tests import by name
from ``pythonpath`` (pyproject.toml), so two helpers of the same name in different folders
would shadow each other silently; this says which one to rename.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_python_files_in_test_folders_have_unique_names():
    folders = [ROOT / "tests", *sorted(ROOT.glob("plugins/*/tests"))]
    seen = defaultdict(list)
    for folder in folders:
        for path in folder.glob("*.py"):
            if path.name != "conftest.py":
                seen[path.name].append(str(path.relative_to(ROOT)))
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not clashes, f"rename one of each (pytest imports test files by name): {clashes}"


def test_every_built_in_plugin_has_its_tests_beside_it():
    for plugin in sorted(
        p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists()
    ):
        assert list((plugin / "tests").glob("test_*.py")), (
            f"{plugin.name}: no tests in {plugin}/tests"
        )
