"""Pick the TFLite interpreter and load the Coral Edge TPU delegate.

Runtimes, in order of preference:

1. ``ai_edge_litert.interpreter`` (LiteRT, the supported CPU runtime);
2. ``tflite_runtime.interpreter`` (Coral boards / Raspberry Pi images that only have it);

Google's ``pycoral`` (from coral.ai, not the unrelated PyPI project of the same name) is only
used, when importable, to list attached Edge TPUs for error messages. posestage never depends
on it.

Devices are spelled ``auto``, ``cpu``, ``edgetpu``, or a specific Edge TPU ``edgetpu:usb:0``,
``edgetpu:pci:0`` (``edgetpu:usb`` / ``edgetpu:pci`` take the first of that kind). The specific
part is passed to the delegate as its ``device`` option.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import platform
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from posestage.config.vocabulary import Device, parse_device
from posestage.errors import DeviceError


@dataclass(frozen=True)
class Runtime:
    """An importable TFLite runtime: its name, ``Interpreter`` class and ``load_delegate``."""

    name: str
    interpreter_class: Any
    load_delegate: Any


def delegate_library(system: str | None = None) -> str:
    """The Edge TPU delegate's shared library name on this (or the given) OS."""
    system = system or platform.system()
    return {"Darwin": "libedgetpu.1.dylib", "Windows": "edgetpu.dll"}.get(system, "libedgetpu.so.1")


def delegate_options(device: str | Device) -> dict[str, str]:
    """Options for ``load_delegate``: ``{"device": "usb:0"}`` for ``edgetpu:usb:0``, else ``{}``."""
    device = parse_device(device)
    return {"device": device.selector} if device.kind == "edgetpu" and device.selector else {}


@lru_cache(maxsize=1)
def get_runtime() -> Runtime:
    """The best importable runtime (LiteRT, else tflite_runtime)."""
    for name, module_name in (
        ("ai-edge-litert", "ai_edge_litert.interpreter"),
        ("tflite_runtime", "tflite_runtime.interpreter"),
    ):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        return Runtime(name, module.Interpreter, module.load_delegate)
    raise DeviceError(
        "no TFLite runtime found: `pip install ai-edge-litert` (or tflite_runtime on Coral boards)"
    )


class EdgeTpuUnavailable(DeviceError):
    """The Edge TPU delegate could not be loaded (no library, no device, wrong device)."""


def load_edgetpu_delegate(device: str | Device = "edgetpu"):
    """Load the Edge TPU delegate for ``device``; raise :class:`EdgeTpuUnavailable` (one line,
    the reason) if there is no TPU. Callers add which CPU model to use instead."""
    device = parse_device(device)
    if device.kind == "cpu":
        raise DeviceError("device cpu has no Edge TPU delegate")
    library = delegate_library()
    # Check the library first: a failed load_delegate also prints noise from a half-built
    # Delegate object's destructor, which must not reach the stage's terminal.
    try:
        ctypes.CDLL(library)
    except OSError as err:
        reason = str(err).split(":")[-1].strip() or "not found"
        raise EdgeTpuUnavailable(
            f"no Edge TPU: its delegate library {library} cannot be loaded ({reason}; "
            f"install libedgetpu from coral.ai)"
        ) from None
    try:
        return get_runtime().load_delegate(library, delegate_options(device))
    except (OSError, ValueError, RuntimeError) as err:
        found = list_edge_tpus()
        attached = f"attached: {', '.join(found)}" if found else "none attached"
        raise EdgeTpuUnavailable(
            f"no Edge TPU at {device} ({attached}; {str(err).strip() or type(err).__name__})"
        ) from None


def list_edge_tpus() -> list[str]:
    """Attached Edge TPUs as ``usb:0``-style names, via Google's pycoral if installed; else []."""
    edgetpu = google_pycoral_edgetpu()
    if edgetpu is None:
        return []
    try:
        return [f"{d['type']}:{i}" for i, d in enumerate(edgetpu.list_edge_tpus())]
    except Exception:
        return []


def google_pycoral_edgetpu():
    """``pycoral.utils.edgetpu`` if Google's pycoral is installed (it has the compiled
    ``pycoral.pybind._pywrap_coral`` extension; the PyPI project named pycoral does not)."""
    try:
        importlib.import_module("pycoral.pybind._pywrap_coral")
        module = importlib.import_module("pycoral.utils.edgetpu")
    except Exception:
        return None
    return module if hasattr(module, "list_edge_tpus") else None


def make_interpreter(content: bytes, *, delegate=None, num_threads: int | None = None):
    """An interpreter over model bytes, on the Edge TPU when ``delegate`` is given."""
    runtime = get_runtime()
    kwargs: dict[str, Any] = {"model_content": content}
    if delegate is not None:
        kwargs["experimental_delegates"] = [delegate]
    if num_threads is not None:
        kwargs["num_threads"] = int(num_threads)
    return runtime.interpreter_class(**kwargs)


#: Lines LiteRT's native code writes straight to file descriptor 2 that are not news to anyone.
_NATIVE_NOISE = ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",)


@contextlib.contextmanager
def native_info_hidden():
    """Hide LiteRT's native "INFO: Created ... delegate" line (written to fd 2, below Python).

    Anything else the native code writes meanwhile is passed on to ``sys.stderr``. Used around
    ``allocate_tensors()``, once per model load, so a performer's console shows only what
    matters.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no real stderr (embedded, pytest capture)
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines():
                if line.strip() not in _NATIVE_NOISE:
                    print(line, file=sys.stderr)
