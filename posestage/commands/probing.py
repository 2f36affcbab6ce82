"""What ``posestage doctor``'s probes share: a report line (:class:`Check`), its statuses, and
small helpers that never raise (versions, modules, native libraries' stderr hidden)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["INFO", "MISSING", "OK", "Check", "has_module", "native_output_hidden", "version_of"]

OK, MISSING, INFO = "ok", "missing", "-"


@dataclass(frozen=True)
class Check:
    """One line of the report: what was probed, how it went, what it found, the fix."""

    name: str
    status: str  # ok, missing or "-" (nothing wrong, nothing needed)
    detail: str
    fix: str = ""
    essential: bool = False  # missing → no poses at all on this machine


@contextlib.contextmanager
def native_output_hidden() -> Iterator[None]:
    """Silence what native libraries (ALSA, JACK, rtmidi) print to fd 2 while probing."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def version_of(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
