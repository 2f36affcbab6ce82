"""OSC 1.0 on the wire, without a dependency: strings, messages, bundles, time tags, a decoder.

The encoding is byte for byte what python-osc's ``OscMessageBuilder`` / ``OscBundleBuilder``
produce (the tests compare them): strings UTF-8, NUL-terminated and padded to 4 bytes (a string
whose length is a multiple of 4 gets 4 NULs); ``i`` int32, ``f`` float32, ``d`` float64, ``h``
int64, all big-endian; a bundle is ``#bundle\\0``, an NTP time tag, then each element as its
int32 size followed by its bytes.

:func:`decode` reads untrusted datagrams (the control server) and raises only
:class:`OscError`, whose ``kind`` names what was wrong (counted and logged once per kind).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

BUNDLE_TAG = b"#bundle\x00"
#: Seconds from the NTP epoch (1900) to the Unix epoch (1970).
NTP_DELTA = 2208988800
#: The time tag meaning "immediately".
IMMEDIATELY = b"\x00\x00\x00\x00\x00\x00\x00\x01"
#: Bytes of a bundle before its first element: ``#bundle\0`` and the time tag.
BUNDLE_HEADER = 16

_I32 = struct.Struct(">i")
_F32 = struct.Struct(">f")
_Q64 = struct.Struct(">Q")


class OscError(ValueError):
    """A datagram that is not valid OSC; ``kind`` is a short category for counting."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


def osc_string(text: str) -> bytes:
    """``text`` as an OSC string: UTF-8, at least one NUL, padded to a multiple of 4."""
    raw = text.encode("utf-8")
    return raw + b"\x00" * (4 - len(raw) % 4)


def timetag(seconds: float) -> bytes:
    """The NTP time tag for ``seconds`` since the Unix epoch (the same rounding as python-osc:
    the fixed-point value is truncated)."""
    return _Q64.pack(int((seconds + NTP_DELTA) * 4294967296.0))


def bundle_header(seconds: float) -> bytes:
    return BUNDLE_TAG + timetag(seconds)


def arg_type(value: Any) -> str:
    """The type tag python-osc infers for ``value`` (the types posestage sends)."""
    if isinstance(value, str):
        return "s"
    if value is True:
        return "T"
    if value is False:
        return "F"
    if isinstance(value, int):
        return "h" if value.bit_length() > 31 else "i"
    if isinstance(value, float):
        return "f"
    if value is None:
        return "N"
    raise TypeError(f"cannot send {type(value).__name__} over OSC")


def message(address: str, args: Sequence[Any] = (), types: str | None = None) -> bytes:
    """One OSC message (the general, slow path: replies, control, tests)."""
    tags = types if types is not None else "".join(arg_type(a) for a in args)
    out = [osc_string(address), osc_string("," + tags)]
    for tag, value in zip(tags, args):
        if tag == "i":
            out.append(_I32.pack(int(value)))
        elif tag == "f":
            out.append(_F32.pack(float(value)))
        elif tag == "s":
            out.append(osc_string(str(value)))
        elif tag == "h":
            out.append(struct.pack(">q", int(value)))
        elif tag == "d":
            out.append(struct.pack(">d", float(value)))
        elif tag in "TFN":
            continue
        else:
            raise TypeError(f"type tag {tag!r} is not sent by posestage")
    return b"".join(out)


def element(data: bytes) -> bytes:
    """``data`` as a bundle element: its int32 size, then the bytes."""
    return _I32.pack(len(data)) + data


def split_points(sizes: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Group consecutive elements (``sizes`` in bytes, each including its 4-byte size field)
    into bundles whose elements take at most ``limit`` bytes; greedy, in order. An element
    larger than ``limit`` travels alone. Returns (first, end) element index pairs."""
    n = len(sizes)
    if n == 0:
        return [(0, 0)]
    ends = np.cumsum(sizes)
    out = []
    start, base = 0, 0
    while start < n:
        end = int(np.searchsorted(ends, base + limit, side="right"))
        if end <= start:
            end = start + 1
        out.append((start, end))
        base = int(ends[end - 1])
        start = end
    return out


# -- decoding (untrusted input) ------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    address: str
    args: tuple


def _string(data: bytes, at: int, what: str) -> tuple[str, int]:
    end = data.find(b"\x00", at)
    if end < 0:
        raise OscError("truncated", f"{what} has no terminating NUL")
    try:
        text = data[at:end].decode("utf-8")
    except UnicodeDecodeError:
        raise OscError("not UTF-8", what) from None
    nxt = (end // 4 + 1) * 4
    if nxt > len(data):
        raise OscError("truncated", f"{what} padding")
    return text, nxt


def _message(data: bytes) -> Message:
    if not data.startswith(b"/"):
        raise OscError("not OSC", "an address starts with /")
    address, at = _string(data, 0, "address")
    if at >= len(data):
        return Message(address, ())  # very old senders omit the type tag string
    tags, at = _string(data, at, "type tags")
    if not tags.startswith(","):
        raise OscError("bad type tags", "the type tag string starts with ,")
    args: list[Any] = []
    depth = 0
    for tag in tags[1:]:
        if tag in "if":
            if at + 4 > len(data):
                raise OscError("truncated", "argument")
            if tag == "i":
                args.append(_I32.unpack_from(data, at)[0])
            else:  # the shortest decimal that is this float32: 0.6 reads 0.6, not 0.6000000238
                args.append(float(str(np.frombuffer(data, ">f4", 1, at)[0])))
            at += 4
        elif tag in "hdt":
            if at + 8 > len(data):
                raise OscError("truncated", "argument")
            args.append(struct.unpack_from({"h": ">q", "d": ">d", "t": ">Q"}[tag], data, at)[0])
            at += 8
        elif tag in "sS":
            text, at = _string(data, at, "string argument")
            args.append(text)
        elif tag == "b":
            if at + 4 > len(data):
                raise OscError("truncated", "blob size")
            size = _I32.unpack_from(data, at)[0]
            if size < 0 or at + 4 + size > len(data):
                raise OscError("truncated", "blob")
            args.append(bytes(data[at + 4 : at + 4 + size]))
            at += 4 + ((size + 3) // 4) * 4
        elif tag in "rmc":
            if at + 4 > len(data):
                raise OscError("truncated", "argument")
            args.append(bytes(data[at : at + 4]))
            at += 4
        elif tag == "T":
            args.append(True)
        elif tag == "F":
            args.append(False)
        elif tag in "NI":
            args.append(None)
        elif tag == "[":
            depth += 1
        elif tag == "]":
            depth -= 1
            if depth < 0:
                raise OscError("bad type tags", "unbalanced ]")
        else:
            raise OscError("bad type tags", f"unknown type {tag!r}")
    if at > len(data):
        raise OscError("truncated", "arguments")
    return Message(address, tuple(args))


def decode(data: bytes, *, max_depth: int = 4, max_messages: int = 256) -> list[Message]:
    """The messages in one datagram (a message, or a bundle, nested at most ``max_depth``);
    bundle time tags are ignored. Raises :class:`OscError` and nothing else."""
    out: list[Message] = []
    try:
        _decode(bytes(data), out, 0, max_depth, max_messages)
    except OscError:
        raise
    except Exception as err:  # a decoder bug must not reach the server loop as a crash
        raise OscError("malformed", type(err).__name__) from None
    return out


def _decode(data: bytes, out: list, depth: int, max_depth: int, max_messages: int) -> None:
    if not data:
        raise OscError("empty")
    if len(data) % 4:
        raise OscError("not OSC", "size is not a multiple of 4")
    if data.startswith(b"#bundle"):
        if depth >= max_depth:
            raise OscError("bundle too deep")
        if len(data) < BUNDLE_HEADER or data[:8] != BUNDLE_TAG:
            raise OscError("truncated", "bundle header")
        at = BUNDLE_HEADER
        while at < len(data):
            if at + 4 > len(data):
                raise OscError("truncated", "element size")
            size = _I32.unpack_from(data, at)[0]
            if size <= 0 or size % 4 or at + 4 + size > len(data):
                raise OscError("truncated", "bundle element")
            _decode(data[at + 4 : at + 4 + size], out, depth + 1, max_depth, max_messages)
            at += 4 + size
        return
    if len(out) >= max_messages:
        raise OscError("too many messages")
    out.append(_message(data))
