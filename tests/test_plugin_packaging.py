"""From ``new-plugin`` to a plugin installed, listed, run and uninstalled in a fresh venv.

What "fresh" means here, honestly: a new ``python -m venv`` (no system site-packages) into which
pip installs posestage and the plugins from wheels built in this test (``pip wheel --no-deps
--no-build-isolation``: no network). Third-party dependencies (numpy, pygame-ce, pluggy, LiteRT,
pytest…) cannot be installed offline, so the new venv sees them through a ``.pth`` file naming a
folder of symlinks to this environment's site-packages — every entry except posestage's own
distributions (posestage, posestage_* plugins, editable-install hooks, ``.pth`` files). pip
runs with ``PIP_NO_INDEX=1``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from posestage.commands.new_plugin import create_plugin

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def sh(*command, cwd, env=None, check=True):
    """Run a command (from ``cwd``: never the checkout, whose posestage/ would shadow the
    installed one)."""
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    if check and done.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done


def _ours(name: str) -> bool:
    lower = name.lower()
    return (
        lower.startswith(("posestage", "__editable__", "_posestage"))
        or lower.endswith(".pth")
        or lower in ("__pycache__",)
    )


def shared_dependencies(folder: Path) -> Path:
    """A folder of symlinks to this environment's third-party packages (not posestage's)."""
    folder.mkdir()
    for key in ("purelib", "platlib"):
        site = Path(sysconfig.get_paths()[key])
        for entry in site.iterdir():
            if not _ours(entry.name) and not (folder / entry.name).exists():
                (folder / entry.name).symlink_to(entry)
    return folder


def source_copy(target: Path) -> Path:
    """posestage's sources without the checkout's build leftovers, venvs or plugins."""
    target.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    (target / "models").mkdir()
    shutil.copy2(ROOT / "models" / "catalogue.toml", target / "models" / "catalogue.toml")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "posestage", target / "posestage", ignore=ignore)
    shutil.copytree(ROOT / "plugins" / "skeleton", target / "skeleton", ignore=ignore)
    return target


def test_scaffold_build_install_list_run_uninstall(tmp_path):
    project = create_plugin("glow", tmp_path / "work", description="Glowing keypoints")
    src = source_copy(tmp_path / "src")

    wheels = tmp_path / "wheels"
    here = tmp_path
    # built from a copy: an in-tree build leaves posestage_glow.egg-info in the folder, which
    # would make the plugin look installed to anything run from there
    build = shutil.copytree(project, tmp_path / "build-glow")
    sh(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
       "-w", wheels, src, src / "skeleton", build, cwd=here)  # fmt: skip
    built = sorted(p.name.split("-")[0] for p in wheels.glob("*.whl"))
    assert built == ["posestage", "posestage_glow", "posestage_skeleton"]

    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", venv, cwd=here)
    py = venv / "bin" / "python"
    site = Path(
        sh(
            py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=here
        ).stdout.strip()
    )
    deps = shared_dependencies(tmp_path / "deps")
    (site / "_shared_test_dependencies.pth").write_text(f"{deps}\n")
    env = dict(os.environ, PIP_NO_INDEX="1", SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    env.pop("PYTHONPATH", None)

    sh(py, "-m", "pip", "install", "--quiet", "--no-deps",
       *wheels.glob("posestage-*.whl"), *wheels.glob("posestage_skeleton-*.whl"), cwd=here, env=env)  # fmt: skip
    where = sh(py, "-c", "import posestage; print(posestage.__file__)", cwd=here, env=env).stdout
    assert where.startswith(str(venv)), f"posestage came from {where}, not the fresh venv"
    posestage = venv / "bin" / "posestage"

    def listed():
        doc = json.loads(sh(posestage, "plugins", "--json", cwd=here, env=env).stdout)
        return {p["name"]: p for p in doc["plugins"]}

    assert "glow" not in listed()
    (glow_wheel,) = wheels.glob("posestage_glow-*.whl")
    out = sh(posestage, "install", glow_wheel, cwd=here, env=env).stdout
    assert "plugin glow (posestage-glow 0.1.0) installed" in out

    glow = listed()["glow"]
    assert glow["distribution"] == "posestage-glow" and glow["version"] == "0.1.0"
    assert glow["error"] == "" and glow["origin"] == "entry point" and not glow["builtin"]
    assert {"settings", "configure", "frame", "draw", "person_leave"} <= set(glow["hooks"])

    run = sh(posestage, "run", "demo.toml", "--headless", "--frames", "20", cwd=project, env=env)
    assert "20 frames" in run.stderr and "error" not in run.stderr.lower()
    tests = sh(py, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, env=env)
    assert "4 passed" in tests.stdout

    sh(posestage, "uninstall", "glow", "-y", cwd=here, env=env)
    assert "glow" not in listed()
    again = sh(
        py, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, env=env, check=False
    )
    assert again.returncode != 0 and "not installed: pip install -e ." in again.stdout
