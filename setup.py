"""Build hooks: ship the model catalogue inside the package, and build the optional C kernels.

Everything else about the build is in pyproject.toml. The catalogue lives at the repository
root for people to read and edit; wheels carry a copy as ``posestage/engine/catalogue.toml``, where
``posestage.engine.catalogue`` looks first.

``posestage.engine._kernels`` (posestage/engine/_kernels.c: the PoseNet decoder's sequential part and the
input resize) is optional: with a C compiler and Python's headers it is built, and posestage
uses it; without them the build warns and goes on, and posestage runs its numpy code instead
(``posestage doctor`` says which). ``-ffp-contract=off`` keeps float32 results bit-identical
to numpy's on compilers and CPUs that would otherwise fuse multiply-adds (clang, aarch64).
"""

from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

CATALOGUE = Path("models") / "catalogue.toml"


class BuildPyWithCatalogue(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "posestage" / "engine" / "catalogue.toml"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(CATALOGUE), str(target))


class OptionalBuildExt(build_ext):
    """Compile with exact float semantics; a failed build is a warning, not an error."""

    def build_extensions(self):
        flags = (
            ["/fp:precise"]
            if self.compiler.compiler_type == "msvc"
            else ["-O2", "-ffp-contract=off", "-fno-fast-math"]
        )
        for ext in self.extensions:
            ext.extra_compile_args = [*flags, *ext.extra_compile_args]
        super().build_extensions()

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as err:  # noqa: BLE001 - no compiler, no headers: the numpy path
            self.warn(f"posestage: C kernels not built ({err}); the numpy decoder is used")


KERNELS = Extension("posestage.engine._kernels", ["posestage/engine/_kernels.c"], optional=True)

if __name__ == "__main__":  # as pip's build backend runs it; tests import OptionalBuildExt
    setup(
        cmdclass={"build_py": BuildPyWithCatalogue, "build_ext": OptionalBuildExt},
        ext_modules=[KERNELS],
    )
