"""posestage ready to publish: an sdist from the tracked files, a wheel built from that sdist
(as pip would on a machine without the repository), each with what it must carry, and the
metadata an index shows. Offline: setuptools from this environment (no build isolation)."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def sh(*command: str, cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """(sdist, wheel): the sdist from a copy of the tracked files, the wheel from the sdist."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are what an sdist is made from")
    work = tmp_path_factory.mktemp("publish")
    checkout = work / "checkout"
    for name in sh("git", "ls-files", cwd=ROOT).splitlines():
        source = ROOT / name
        if source.is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, checkout / name)
    code = "import setuptools.build_meta as b, sys; print(b.build_sdist(sys.argv[1]))"
    out = sh(sys.executable, "-c", code, str(work / "dist"), cwd=checkout)
    sdist = work / "dist" / out.strip().splitlines()[-1]  # setuptools talks on stdout first
    with tarfile.open(sdist) as tar:
        tar.extractall(work / "unpacked", filter="data")
    (unpacked,) = (work / "unpacked").iterdir()
    sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
       "-w", str(work / "wheels"), ".", cwd=unpacked)  # fmt: skip
    (wheel,) = (work / "wheels").glob("posestage-*.whl")
    return sdist, wheel


def test_the_sdist_carries_the_sources_the_wheel_is_built_from(built):
    sdist, _ = built
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in ("setup.py", "pyproject.toml", "README.md", "models/catalogue.toml",
                   "posestage/engine/_kernels.c", "posestage/model/data/sample-poses.jsonl",
                   "posestage/commands/templates/plugin/rehearsal/sketch.py.tmpl"):  # fmt: skip
        assert needed in names, needed


def test_the_wheel_carries_the_catalogue_templates_and_the_optional_kernels(built):
    _, wheel = built
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = email.message_from_bytes(
            z.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        )
        entry_points = z.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "posestage/engine/catalogue.toml" in names
    assert "posestage/commands/templates/plugin/rehearsal/sketch.py.tmpl" in names
    assert "posestage/engine/_kernels.c" not in names  # its source is the sdist's
    kernels = [n for n in names if n.startswith("posestage/engine/_kernels.")]
    if shutil.which("gcc") or shutil.which("cc"):
        assert kernels, "a C compiler is here: the wheel should carry the built kernels"
    assert "posestage = posestage.cli:main" in entry_points
    assert metadata["Name"] == "posestage" and metadata["Requires-Python"] == ">=3.10"
    assert metadata["License-Expression"] == "Apache-2.0" or metadata["License"]
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata["Keywords"] and "pose estimation" in metadata["Keywords"]
    classifiers = metadata.get_all("Classifier")
    assert "Topic :: Artistic Software" in classifiers
    assert any(r.startswith("numpy") for r in metadata.get_all("Requires-Dist"))
