"""Every concrete address a target sends, from the layout description: :func:`addresses`.

:mod:`posestage_osc.layouts` describes addresses as templates (``{prefix}/{key}/{keypoint}/x``);
this expands them for one target's :class:`~posestage_osc.encoder.Options` into the fixed set a
receiver can map once: slots ``0 … slots-1`` (people coming and going never change it; with
``address_by = "id"`` the slots stand for the first ids), the 17 keypoints, the ``health``
messages only when the target sends them, each person's ``floor`` only on a calibrated floor and
the ``zone`` messages once per zone the scene names. Each value has its name, OSC type and numeric range.
The receiving patches (:mod:`posestage_osc.patches`) and the stage's OSCQuery tree are made from
this list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from posestage import KEYPOINT_NAMES

from .encoder import Options, _fill
from .layouts import Arg, Message

__all__ = ["Address", "Value", "addresses"]


@dataclass(frozen=True)
class Value:
    """One value of a message: ``name`` (``x``, or ``nose/x`` inside a person's list), OSC
    ``type`` (``i``, ``f``, ``s``) and its range (None: open)."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    unit: str = ""


@dataclass(frozen=True)
class Address:
    """One address with its fixed values; ``rest``: a trailing list of varying length (PoseOSC's
    ``poses``), described in words only; ``per``: when it is sent (see the layouts)."""

    path: str
    values: tuple[Value, ...]
    description: str = ""
    per: str = "frame"
    rest: str = ""

    @property
    def types(self) -> str:
        return "".join(v.type for v in self.values)


def _range(arg: Arg, options: Options, width: int | None, height: int | None) -> tuple:
    """(low, high, unit) of a value, from its name and the target's coordinates."""
    pixels = options.resolved_coords == "pixels"
    if arg.name == "x":
        return (0.0, float(width) if width else None, "px") if pixels else (0.0, 1.0, "")
    if arg.name == "y":
        return (0.0, float(height) if height else None, "px") if pixels else (0.0, 1.0, "")
    if arg.name in ("score", "present"):
        return 0.0, 1.0, ""
    if arg.name in ("latency_ms", "inference_ms"):
        return 0.0, None, "ms"
    if arg.name in ("width", "height"):
        return 0.0, None, "px"
    if arg.type in ("i", "f"):
        return 0.0, None, ""
    return None, None, ""


def _values(message: Message, options: Options, width: int | None, height: int | None):
    out, rest = [], ""
    for arg in message.args:
        if arg.name == "keypoints":
            for kp in KEYPOINT_NAMES:
                for part in ("x", "y", "score"):
                    low, high, unit = _range(Arg(part, "f"), options, width, height)
                    out.append(Value(f"{kp}/{part}", "f", low, high, unit))
        elif arg.type == "*":
            rest = f"{arg.name}: {arg.range}"
        else:
            low, high, unit = _range(arg, options, width, height)
            out.append(Value(arg.name, arg.type, low, high, unit))
    return tuple(out), rest


ZONED = ("zone", "zone enter", "zone leave")


def addresses(
    options: Options,
    width: int | None = None,
    height: int | None = None,
    zones: Sequence[str] = (),
    floor: bool = False,
) -> list[Address]:
    """Every address the target with ``options`` may send, in the layout's order (per slot:
    its messages, then its keypoints' messages; then each zone's). ``width``/``height``: the
    frame size, for the ranges of pixel coordinates (None: open); ``zones``: the scene's zone
    names; ``floor``: the floor is calibrated (each slot's floor position is sent)."""
    layout, prefix = options.spec, options.resolved_prefix
    keys = range(options.slots)
    out: list[Address] = []
    fixed = [m for m in layout.messages if m.per in ("frame", "health")]
    keyed = [
        m
        for m in layout.messages
        if m.per not in ("frame", "health", *ZONED) and (floor or m.per != "floor")
    ]
    for m in fixed:
        if m.per == "health" and not options.health:
            continue
        values, rest = _values(m, options, width, height)
        out.append(Address(_fill(m.address, prefix), values, m.help, m.per, rest))
    for key in keys:
        for m in keyed:
            values, rest = _values(m, options, width, height)
            joints = range(len(KEYPOINT_NAMES)) if m.per == "keypoint" else (-1,)
            for j in joints:
                path = _fill(m.address, prefix, key=key, index=key, j=j)
                help_ = m.help or (f"{KEYPOINT_NAMES[j]} of slot {key}" if j >= 0 else "")
                out.append(Address(path, values, help_, m.per, rest))
    for name in zones:
        for m in (m for m in layout.messages if m.per in ZONED):
            values, rest = _values(m, options, width, height)
            path = _fill(m.address.replace("{zone}", name), prefix)
            out.append(Address(path, values, m.help, m.per, rest))
    return out
