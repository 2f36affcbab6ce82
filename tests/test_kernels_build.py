"""The optional C kernels: built with a compiler, skipped without one (the numpy path runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BUILD = """
import sys
sys.path.insert(0, {root!r})
from setuptools import Distribution, Extension
from setup import OptionalBuildExt

ext = Extension("posestage.engine._kernels", [{source!r}], optional=True)
dist = Distribution({{"name": "posestage", "ext_modules": [ext],
                     "cmdclass": {{"build_ext": OptionalBuildExt}}}})
cmd = dist.get_command_obj("build_ext")
cmd.build_lib = cmd.build_temp = {out!r}
cmd.ensure_finalized()
cmd.run()
"""


def build(out: Path, cc: str | None) -> subprocess.CompletedProcess:
    pytest.importorskip("setuptools")  # venvs of Python 3.12+ come without it
    env = dict(os.environ)
    if cc is not None:
        env["CC"] = cc
    script = BUILD.format(root=str(ROOT), source="posestage/engine/_kernels.c", out=str(out))
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.slow
def test_without_a_compiler_the_build_goes_on_and_numpy_decodes(tmp_path):
    done = build(tmp_path, cc="false")
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.rglob("_kernels*.so")) and not list(tmp_path.rglob("*.pyd"))
    assert "numpy decoder is used" in done.stdout + done.stderr
    # An installation without the extension: posestage imports, says so, and decodes.
    check = (
        "import sys; sys.modules['posestage.engine._kernels'] = None\n"
        "import numpy as np\n"
        "from posestage.engine import decoding\n"
        "z = np.full((9, 9, 17), -8, np.float32); z[4, 4] = 5\n"
        "r = decoding.decode_poses(z, np.zeros((9, 9, 34), np.float32),"
        " np.zeros((9, 9, 64), np.float32))\n"
        "print(decoding.kernel_in_use(), len(r[2]))\n"
    )
    run = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert run.stdout.split() == ["numpy", "1"], run.stderr


@pytest.mark.slow
def test_with_a_compiler_the_kernels_build_and_load(tmp_path):
    done = build(tmp_path, cc=None)
    if "C kernels not built" in done.stdout + done.stderr:
        pytest.skip("no working C compiler here")
    assert done.returncode == 0, done.stderr
    built = list(tmp_path.rglob("_kernels*"))
    assert built, done.stdout + done.stderr


def test_kernels_are_built_where_ci_requires_them():
    """CI sets POSESTAGE_REQUIRE_KERNELS=1 so a build that lost the C path fails loudly
    instead of skipping the bit-parity tests."""
    from posestage.engine.decoding import available_kernels

    if os.environ.get("POSESTAGE_REQUIRE_KERNELS") != "1":
        pytest.skip("POSESTAGE_REQUIRE_KERNELS is not set")
    assert "c" in available_kernels(), "posestage.engine._kernels was not built: gcc, python3-dev?"
