"""The repository's shared fixtures (tests/conftest.py) for the tests beside this plugin."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location(
    "posestage_tests_conftest", _ROOT / "tests" / "conftest.py"
)
_shared = sys.modules.get(_spec.name)
if _shared is None:  # once per session (both plugins' tests share it); registered first, as
    _shared = importlib.util.module_from_spec(_spec)  # dataclasses in it look themselves up
    sys.modules[_spec.name] = _shared
    _spec.loader.exec_module(_shared)

ROOT = _ROOT
shared, models_dir, images_dir = _shared.shared, _shared.models_dir, _shared.images_dir
