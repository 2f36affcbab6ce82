"""One parser per vocabulary, shared by the command line and scene files.

A :class:`Vocabulary` turns a value as it arrives (text from the command line or a control
message, a number or text from a TOML scene) into the value the stage uses, or raises
:class:`VocabularyError` whose text is one line, ``expected <what>, got <value>``. The command
line (argparse ``type=``, see :func:`cli_type`) and the scene schema (``Setting(parse=...)``,
see :mod:`posestage.config.schema`) both call the same object, so the same bad value gives the same
words in both places::

    posestage: error: --res: expected a size WxH like 640x480, width 1 to 7680 and height 1 to 4320, got '99999x99999'
    scenes/x.toml: stage.res: expected a size WxH like 640x480, width 1 to 7680 and height 1 to 4320, got '99999x99999'

The vocabularies: :data:`SIZE` (frame size ``WxH``), :data:`INPUT_SIZE` (network input
``HxW``), :data:`DEVICE`, :data:`PACE`, :data:`RESIZE`, :data:`SCORE` (thresholds, 0..1),
:data:`MAX_POSES`, :data:`NUM_THREADS`, :data:`FRAMES`, :data:`SECONDS` (durations),
:data:`FPS`, :data:`GRACE_SECONDS` (the tracker's dropout grace), :data:`LISTEN` (where the
control port listens, ``[HOST:]PORT``) and :data:`NETWORKS` (who may use it).
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from posestage.errors import DeviceError, did_you_mean
from posestage.model.limits import MAX_HEIGHT, MAX_WIDTH

#: Largest frame accepted anywhere (``--res``, ``[stage] res``): 8K UHD. Bigger sizes are typos
#: (``99999x99999`` would ask for ~28 GB per frame).
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?|[-+]?(nan|inf|infinity)", re.I)


class VocabularyError(ValueError):
    """A value outside its vocabulary; ``str(err)`` is ``expected <what>, got <value>``."""


@dataclass(frozen=True)
class Vocabulary:
    """A named parser: ``vocab(value)`` is the parsed value or a :class:`VocabularyError`.

    ``expected`` says in words what a valid value looks like (used in every error and in
    ``posestage plugins --settings``); ``convert`` does the work and raises ``ValueError`` or
    ``TypeError`` on a bad value (a non-empty ``ValueError`` text is added as a hint).
    """

    name: str
    expected: str
    convert: Callable[[Any], Any]

    def __call__(self, value: Any) -> Any:
        try:
            return self.convert(value)
        except VocabularyError:
            raise
        except (ValueError, TypeError, OverflowError) as err:
            hint = str(err) if isinstance(err, ValueError) and str(err).startswith(" (") else ""
            raise VocabularyError(f"expected {self.expected}, got {show(value)}{hint}") from None


def show(value: Any) -> str:
    """A value as it is quoted in errors: text in quotes unless it reads as a number (so
    ``--threshold 5`` and ``threshold = 5`` both say ``got 5``), at most 40 characters."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        text = value.strip()
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:g}"
    else:
        text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


# -- converters ------------------------------------------------------------------------------


def _number(value: Any, kind: type) -> float | int:
    """An int or float from a number or from text; bools and non-finite numbers refused."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    if isinstance(value, str):
        value = value.strip()
        value = int(value) if kind is int else float(value)
    if kind is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise TypeError("not a whole number")
        return value
    if not isinstance(value, (int, float)):
        raise TypeError("not a number")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError("not finite")
    return value


def ranged(
    name: str,
    expected: str,
    kind: type,
    low: float | None,
    high: float | None = None,
    *,
    above: bool = False,
) -> Vocabulary:
    """A vocabulary of numbers (``kind`` int or float) from ``low`` (exclusive with ``above``)
    to ``high`` (inclusive; None: unbounded), finite, given as a number or as text."""
    return Vocabulary(name, expected, _ranged(kind, low, high, above=above))


def _ranged(kind: type, low: float | None, high: float | None, *, above: bool = False):
    """A converter accepting numbers from ``low`` (exclusive with ``above``) to ``high``."""

    def convert(value: Any):
        got = _number(value, kind)
        if low is not None and (got <= low if above else got < low):
            raise ValueError("out of range")
        if high is not None and got > high:
            raise ValueError("out of range")
        return got

    return convert


def _choice(*words: str):
    def convert(value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError("not text")
        text = value.strip().lower()
        if text not in words:
            raise ValueError(did_you_mean(text, list(words)))
        return text

    return convert


def _size(order: str, max_first: int, max_second: int):
    """``"640x480"`` (or ``[640, 480]``) → ``(640, 480)``; each side bounded."""

    def convert(value: Any) -> tuple[int, int]:
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise ValueError("not two numbers")
            parts = list(value)
        elif isinstance(value, str):
            parts = value.strip().lower().replace("×", "x").replace("*", "x").split("x")
            if len(parts) != 2:
                raise ValueError("not WxH")
            parts = [p.strip() for p in parts]
        else:
            raise TypeError("not a size")
        a, b = (_number(p, int) for p in parts)
        if not (1 <= a <= max_first and 1 <= b <= max_second):
            raise ValueError("out of range")
        return a, b

    return convert


# -- devices: auto, cpu, or an Edge TPU ---------------------------------------------------

DEVICE_HELP = "auto, cpu, edgetpu, edgetpu:usb, edgetpu:usb:0, edgetpu:pci:0 (or usb:0, pci:0)"
_DEVICE_RE = re.compile(r"^edgetpu(?::(usb|pci)(?::(\d+))?)?$")


@dataclass(frozen=True)
class Device:
    """A parsed ``--device``: ``kind`` is ``auto``, ``cpu`` or ``edgetpu``; ``selector`` the
    delegate's ``device`` option (``usb``, ``usb:0``, ``pci:0``) or ``None`` for any TPU."""

    kind: str
    selector: str | None = None

    def __str__(self) -> str:
        return f"edgetpu:{self.selector}" if self.selector else self.kind


def parse_device(device: str | Device) -> Device:
    """``"edgetpu:usb:0"`` → ``Device("edgetpu", "usb:0")``; unknown spellings raise one line."""
    if isinstance(device, Device):
        return device
    text = str(device).strip().lower()
    if text in ("auto", "cpu"):
        return Device(text)
    if text.startswith(("usb", "pci")):  # shorthand: "usb:0" means "edgetpu:usb:0"
        text = f"edgetpu:{text}"
    match = _DEVICE_RE.match(text)
    if not match:
        raise DeviceError(f"unknown device {device!r}: use one of {DEVICE_HELP}")
    bus, number = match.groups()
    selector = None if bus is None else (bus if number is None else f"{bus}:{number}")
    return Device("edgetpu", selector)


def _device(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not text")
    try:
        return str(parse_device(value))
    except DeviceError:
        raise ValueError("unknown device") from None


# -- the vocabularies ------------------------------------------------------------------------

SIZE = Vocabulary(
    "size",
    f"a size WxH like 640x480, width 1 to {MAX_WIDTH} and height 1 to {MAX_HEIGHT}",
    _size("WxH", MAX_WIDTH, MAX_HEIGHT),
)
INPUT_SIZE = Vocabulary(
    "input size",
    f"a network input size HxW like 481x641, height 1 to {MAX_HEIGHT} and width 1 to {MAX_WIDTH}",
    _size("HxW", MAX_HEIGHT, MAX_WIDTH),
)
DEVICE = Vocabulary(
    "device",
    "auto, cpu, edgetpu, edgetpu:usb, edgetpu:usb:N or edgetpu:pci:N (or usb:N, pci:N)",
    _device,
)
PACE = Vocabulary("pace", "realtime or fast", _choice("realtime", "fast"))
RESIZE = Vocabulary("resize", "stretch or letterbox", _choice("stretch", "letterbox"))
SCORE = Vocabulary("score", "a score from 0 to 1", _ranged(float, 0.0, 1.0))
MAX_POSES = Vocabulary("max poses", "a whole number of people from 1 to 100", _ranged(int, 1, 100))
NUM_THREADS = Vocabulary("threads", "a whole number of threads from 1 to 64", _ranged(int, 1, 64))
FRAMES = Vocabulary("frames", "a whole number of frames >= 1", _ranged(int, 1, None))
SECONDS = Vocabulary("seconds", "a number of seconds > 0", _ranged(float, 0.0, None, above=True))
FPS = Vocabulary(
    "fps", "frames per second > 0 and at most 1000", _ranged(float, 0.0, 1000.0, above=True)
)
GRACE_SECONDS = Vocabulary("grace", "a number of seconds from 0 to 60", _ranged(float, 0.0, 60.0))


#: Where the control port listens when only a port is given: this computer only.
LOOPBACK = "127.0.0.1"


def _listen(value: Any) -> tuple[str, int]:
    """``"9001"`` / ``9001`` → (127.0.0.1, 9001); ``"HOST:PORT"``, ``"[::1]:9001"``."""
    if isinstance(value, bool):
        raise TypeError
    text = str(value).strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host = LOOPBACK
    elif host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # an IPv6 address: [::1]:9001
    elif ":" in host:
        raise ValueError(text)
    if not host or len(host) > 253 or any(c.isspace() or c in "[]" for c in host):
        raise ValueError(text)
    if not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
        raise ValueError(text)
    return host, int(port)


def _networks(value: Any) -> tuple[str, ...]:
    """Addresses and networks (``192.168.1.20``, ``10.0.0.0/24``), each checked; kept as text."""
    items = [value] if isinstance(value, str) else list(value)
    if len(items) > 256:
        raise ValueError(" (at most 256 entries)")
    out = []
    for item in items:
        if not isinstance(item, str):
            raise TypeError
        ipaddress.ip_network(item.strip(), strict=False)  # ValueError when it is not one
        out.append(item.strip())
    return tuple(out)


LISTEN = Vocabulary(
    "listen",
    "[HOST:]PORT like 9001 (this computer only) or 0.0.0.0:9001, port 0 to 65535",
    _listen,
)
NETWORKS = Vocabulary(
    "networks",
    'a list of addresses or networks like ["192.168.1.20", "10.0.0.0/24"]',
    _networks,
)


def cli_type(vocab: Vocabulary) -> Callable[[str], Any]:
    """``vocab`` as an argparse ``type=``: a bad value becomes argparse's error, whose text is
    the vocabulary's (``posestage: error: --res: expected …, got …``, exit status 2)."""

    def parse(text: str) -> Any:
        try:
            return vocab(text)
        except VocabularyError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse.__name__ = vocab.name  # argparse names the type in some messages
    return parse
