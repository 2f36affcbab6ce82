"""Build hook: ship the model catalogue (``models/catalogue.toml``) inside the package.

Everything else about the build is in pyproject.toml. The catalogue lives at the repository
root for people to read and edit; wheels carry a copy as ``posestage/catalogue.toml``, where
``posestage.catalogue`` looks first.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGUE = Path("models") / "catalogue.toml"


class BuildPyWithCatalogue(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "posestage" / "catalogue.toml"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(CATALOGUE), str(target))


setup(cmdclass={"build_py": BuildPyWithCatalogue})
