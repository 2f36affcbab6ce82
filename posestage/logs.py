"""One way to report: :mod:`logging`, configured once by the command line.

Every module (and every plugin) logs with ``logging.getLogger(...)``; the CLI calls
:func:`setup` once, so that those lines reach stderr as ``posestage: message`` — a plugin's own
logger name is shown after the prefix when it is not under ``posestage`` (``posestage:
my_osc: port 9000 in use``). Tracebacks (logged once per distinct plugin error) follow their
line. An application embedding posestage configures logging its own way and calls nothing here.
"""

from __future__ import annotations

import logging
import sys

PREFIX = "posestage"
_HANDLER_NAME = "posestage-stderr"


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (pytest's capture, a redirect)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.set_name(_HANDLER_NAME)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # logging.StreamHandler sets it once; ignore
        pass


class _Format(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        name = record.name
        where = "" if name == PREFIX or name.startswith(PREFIX + ".") else f"{name}: "
        line = f"{PREFIX}: {where}{record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup(debug: bool = False) -> None:
    """Send log lines (INFO and up; DEBUG with ``debug``) to stderr in the one-line format.
    Calling it again changes only the level."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    if any(h.get_name() == _HANDLER_NAME for h in root.handlers):
        return
    handler = _Stderr()
    handler.setFormatter(_Format())
    root.addHandler(handler)


#: What native libraries print on their own (JACK's "Cannot connect to server socket", ALSA's
#: "Unknown PCM", FluidSynth's "Jack sample rate mismatch"): silenced unless ``--verbose``.
_QUIETED: list[str] = []


def quiet_native_libraries() -> list[str]:
    """Silence the chatter of JACK, ALSA and FluidSynth in this process (their error and
    info printers set to a no-op), for the libraries found here; returns which.

    The no-op is C's ``strlen``: a function every printer's first argument (a string) is safe
    to hand, that prints nothing and keeps no Python callback alive into interpreter shutdown
    (JACK and FluidSynth call their printers from their own threads, at exit too). A
    posestage line about the same trouble (a port that could not open, no audio server) says
    what matters, once."""
    import ctypes
    import ctypes.util

    if _QUIETED:
        return list(_QUIETED)
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        noop = ctypes.cast(libc.strlen, ctypes.c_void_p)
    except (OSError, AttributeError):  # no C library to borrow a no-op from (Windows)
        return []

    def load(name: str, fallback: str):
        try:
            return ctypes.CDLL(ctypes.util.find_library(name) or fallback)
        except OSError:
            return None

    jack = load("jack", "libjack.so.0")
    if jack is not None:
        for setter in ("jack_set_error_function", "jack_set_info_function"):
            getattr(jack, setter).argtypes = [ctypes.c_void_p]
            getattr(jack, setter)(noop)
        _QUIETED.append("JACK")
    alsa = load("asound", "libasound.so.2")
    if alsa is not None:
        alsa.snd_lib_error_set_handler.argtypes = [ctypes.c_void_p]
        alsa.snd_lib_error_set_handler(noop)
        _QUIETED.append("ALSA")
    fluid = load("fluidsynth", "libfluidsynth.so.3")
    if fluid is not None:
        fluid.fluid_set_log_function.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        for level in range(5):  # FLUID_PANIC … FLUID_DBG: NULL disables the level
            fluid.fluid_set_log_function(level, None, None)
        _QUIETED.append("FluidSynth")
    return list(_QUIETED)
