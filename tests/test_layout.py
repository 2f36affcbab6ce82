"""The test layout pytest relies on: every test folder's Python files have unique names.

pytest imports test files and the helpers beside them by their file name (the default
"prepend" import mode), so two ``test_stage.py`` in different folders would collide; this
says which one to rename before pytest fails obscurely.
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
