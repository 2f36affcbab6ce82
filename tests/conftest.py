"""Shared test fixtures: where the shared models, images and references live.

Tests never download. Models are found through ``POSESTAGE_MODELS_PATH`` (set here to
``../shared/models`` unless the environment already sets it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSESTAGE_SHARED", ROOT.parent / "shared"))
MODELS = SHARED / "models"
IMAGES = SHARED / "images"
REFERENCE = SHARED / "reference"

os.environ.setdefault("POSESTAGE_MODELS_PATH", str(MODELS))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


@pytest.fixture(scope="session")
def shared() -> Path:
    if not MODELS.is_dir():
        pytest.fail(f"shared data not found at {SHARED}: set POSESTAGE_SHARED to the shared folder")
    return SHARED


@pytest.fixture(scope="session")
def models_dir(shared) -> Path:
    return MODELS


@pytest.fixture(scope="session")
def images_dir(shared) -> Path:
    return IMAGES


@pytest.fixture(scope="session")
def reference_dir(shared) -> Path:
    return REFERENCE
