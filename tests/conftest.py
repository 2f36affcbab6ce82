"""Shared test fixtures: where the models, images and references live.

Tests never download. The test data is looked for, in order, in ``$POSESTAGE_SHARED``, in
``../shared`` next to the repository, and in the user cache, where
``posestage models fetch --test-data`` puts it (models in ``<cache>/models``, photos and
references in ``<cache>/test-data/{images,reference}``). Models are found through
``POSESTAGE_MODELS_PATH`` (set here unless the environment already sets it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HOW_TO_GET = (
    "test data not found ({looked}): run `posestage models fetch --test-data` once (models, "
    "Coral's test photos and references, ~27 MB, checksummed, into the user cache), or set "
    "POSESTAGE_SHARED to a folder with models/, images/ and reference/"
)


@dataclass(frozen=True)
class TestData:
    """The three test data folders; ``data / "images"`` works as it did on the shared folder."""

    __test__ = False

    models: Path
    images: Path
    reference: Path

    def __truediv__(self, name: str) -> Path:
        if name not in ("models", "images", "reference"):
            raise KeyError(f"test data has models, images and reference, not {name!r}")
        return getattr(self, name)


def locate_test_data(environ, sibling: Path, cache: Path) -> tuple[TestData | None, str]:
    """The test data folders (or None) and where they were looked for."""
    if environ.get("POSESTAGE_SHARED"):
        shared = Path(environ["POSESTAGE_SHARED"])
        candidates = [TestData(shared / "models", shared / "images", shared / "reference")]
        looked = [f"POSESTAGE_SHARED={shared}"]
    else:
        candidates = [
            TestData(sibling / "models", sibling / "images", sibling / "reference"),
            TestData(cache / "models", cache / "test-data" / "images", cache / "test-data" / "reference"),
        ]  # fmt: skip
        looked = [str(sibling), str(cache)]
    for data in candidates:
        if any(data.models.glob("*.tflite")) and (data.images / "couple.jpg").is_file():
            return data, ", ".join(looked)
    return None, ", ".join(looked)


def _user_cache() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("posestage"))


DATA, LOOKED = locate_test_data(os.environ, ROOT.parent / "shared", _user_cache())
if DATA is not None:
    os.environ.setdefault("POSESTAGE_MODELS_PATH", str(DATA.models))
_FOUND = DATA or TestData(*(ROOT.parent / "shared" / n for n in ("models", "images", "reference")))
MODELS, IMAGES, REFERENCE = _FOUND.models, _FOUND.images, _FOUND.reference
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def _ndi_on_loopback() -> None:
    """NDI in the tests (its runtime reads this once, when first loaded): senders and receivers
    find each other on 127.0.0.1 only, never on the machine's network, no mDNS needed."""
    import atexit
    import json
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="posestage-ndi-"))
    atexit.register(shutil.rmtree, folder, True)
    config = {"ndi": {"networks": {"ips": "127.0.0.1"}, "multicast": {"recv": {"enable": False}}}}
    (folder / "ndi-config.v1.json").write_text(json.dumps(config), encoding="utf-8")
    os.environ["NDI_CONFIG_DIR"] = str(folder)


_ndi_on_loopback()


@pytest.fixture(scope="session")
def shared() -> TestData:
    if DATA is None:
        from posestage.testing.factories import no_test_data

        no_test_data()  # skipped (failed in CI), with the words every such test gives
    return DATA


def pytest_terminal_summary(terminalreporter) -> None:
    """Without the test data: how to get it, said once at the end, with how many skipped."""
    from posestage.testing.factories import NO_TEST_DATA

    skipped = [
        r
        for r in terminalreporter.stats.get("skipped", [])
        if isinstance(r.longrepr, tuple) and r.longrepr[2].startswith(f"Skipped: {NO_TEST_DATA}")
    ]
    if skipped:
        reason = skipped[0].longrepr[2].removeprefix("Skipped: ")
        terminalreporter.write_line(f"{len(skipped)} tests skipped: {reason}")


@pytest.fixture(scope="session")
def models_dir(shared) -> Path:
    return shared.models


@pytest.fixture(scope="session")
def images_dir(shared) -> Path:
    return shared.images


@pytest.fixture(scope="session")
def reference_dir(shared) -> Path:
    return shared.reference
