"""``posestage new-plugin``: the project it writes is complete, valid and works as created.

The fast tests here check the files and run the generated plugin module through the real stage
in this process; tests/test_plugin_packaging.py (slow) builds, installs, lists, runs and
uninstalls it in a fresh virtual environment.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys

import pytest

from posestage.cli import main
from posestage.commands.new_plugin import create_plugin, plugin_names
from posestage.errors import PosestageError
from posestage.host import PluginHost
from posestage.testing import SAMPLE_POSES, run_plugin

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def load_module(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_names():
    n = plugin_names("wrist-print")
    assert (n.name, n.module, n.distribution) == (
        "wrist_print",
        "posestage_wrist_print",
        "posestage-wrist-print",
    )
    assert plugin_names("posestage-Glow").name == "glow"
    for bad in ("", "2d", "a b", "x--y", "é", "posestage-"):
        with pytest.raises(PosestageError, match="not a valid plugin name"):
            plugin_names(bad)


def test_the_project_files(tmp_path):
    folder = create_plugin("glow", tmp_path, description="Glowing wrists")
    assert folder == tmp_path / "posestage-glow"
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == [
        ".gitignore",
        "README.md",
        "demo.toml",
        "posestage_glow.py",
        "pyproject.toml",
        "rehearsal/sketch.py",
        "tests/poses.jsonl",
        "tests/test_posestage_glow.py",
    ]
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    assert project["name"] == "posestage-glow" and project["description"] == "Glowing wrists"
    assert project["entry-points"]["posestage"] == {"glow": "posestage_glow:plugin"}
    assert "Framework :: posestage" in project["classifiers"]
    assert project["dependencies"] == ["posestage>=0.1"]
    assert (folder / "tests" / "poses.jsonl").read_bytes() == SAMPLE_POSES.read_bytes()
    readme = (folder / "README.md").read_text()
    assert "posestage install -e ." in readme and "twine upload" in readme
    assert "$" not in "".join(
        p.read_text() for p in folder.rglob("*") if p.is_file() and p.suffix != ".jsonl"
    )


def test_the_generated_plugin_is_accepted_and_documents_every_hook(tmp_path):
    folder = create_plugin("glow", tmp_path)
    module = load_module(folder / "posestage_glow.py")
    info = PluginHost().register(module.plugin, "glow")
    assert set(info.hooks) >= {"posestage_settings", "posestage_configure", "posestage_draw"}
    source = (folder / "posestage_glow.py").read_text()
    for hook in PluginHost().hook_names():  # the commented ones too
        assert f"def {hook}(" in source, f"the template does not show {hook}"


def test_the_generated_plugin_draws_on_the_recorded_people(tmp_path):
    folder = create_plugin("glow", tmp_path)
    module = load_module(folder / "posestage_glow.py")
    run = run_plugin(module.plugin, {"keypoint": "nose"}, source=folder / "tests" / "poses.jsonl")
    assert run.errors == [] and len(run.frames) == 90
    assert (run.canvas == module.COLOUR).all(axis=2).sum() > 100


def test_the_rehearsal_folder_the_readme_names_holds_a_sketch_that_draws(tmp_path):
    """`posestage run demo.toml --plugin-dir ./rehearsal`, as the README says: the folder is
    there, and its sketch is a plugin that draws on the recorded people."""
    from posestage.stage import Stage, StageOptions

    folder = create_plugin("glow", tmp_path)
    sketch = load_module(folder / "rehearsal" / "sketch.py")
    run = run_plugin(sketch, name="sketch", source=folder / "tests" / "poses.jsonl")
    assert run.errors == [] and (run.canvas == sketch.COLOUR).all(axis=2).sum() > 100
    options = StageOptions(  # the plugin itself as posestage install -e . would give it
        headless=True,
        frames=5,
        plugin_dir=str(folder / "rehearsal"),
        enable=[str(folder / "posestage_glow.py")],
    )
    report = Stage([str(folder / "demo.toml")], options).run()
    assert report.frames == 5 and report.errors == [] and report.refused == []
    assert "posestage run demo.toml --plugin-dir ./rehearsal" in (folder / "README.md").read_text()


def test_the_demo_scene_names_the_plugin_and_the_stream(tmp_path):
    from posestage.config.scenes import load_scene

    folder = create_plugin("glow", tmp_path)
    scene = load_scene(folder / "demo.toml")
    assert scene.plugin_names == ["skeleton", "glow"]
    assert scene.source_spec() == f"replay:{folder / 'tests' / 'poses.jsonl'}"


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff not installed")
def test_the_generated_code_is_ruff_clean(tmp_path):
    folder = create_plugin("glow", tmp_path)
    for command in (["ruff", "check", "--no-cache", "."], ["ruff", "format", "--check", "."]):
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_command(tmp_path, capsys):
    assert main(["new-plugin", "glow", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"created {tmp_path / 'posestage-glow'}/" in out and "python -m pytest" in out
    # the install step brings what the next step runs: the project's test extra has pytest
    assert "posestage install -e '.[test]'" in out
    assert "--plugin-dir ./rehearsal" in out
    # another machine: posestage from where it came from (no index has it yet), then the plugin
    assert "elsewhere" in out and "pip install posestage-glow" in out
    pyproject = (tmp_path / "posestage-glow" / "pyproject.toml").read_text()
    assert 'test = ["pytest' in pyproject
    assert main(["new-plugin", "glow", "--dir", str(tmp_path)]) == 2  # exists, not empty
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists and is not empty" in err
    assert main(["new-plugin", "Not Valid", "--dir", str(tmp_path)]) == 2
    assert "not a valid plugin name" in capsys.readouterr().err
