"""Fixtures for the anonymizer's tests: the shared photos and models (posestage.testing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from posestage.testing import shared_models, shared_path


@pytest.fixture(scope="session")
def images_dir() -> Path:
    """The shared test photos; the shared models on POSESTAGE_MODELS_PATH for the real model."""
    shared_models()
    return shared_path("images")
