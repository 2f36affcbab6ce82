"""The MIDI mapping vocabulary: what a scene can ask for, as small typed values, and the pure
logic turning frames of people into MIDI bytes (no ports here; tests run it as it is).

A scene lists control changes and notes::

    [[plugins.midi.cc]]
    value = "right_wrist.y"          # what to measure (below)
    cc = 20                          # controller number (0-127; 0-31 with bits = 14)
    channel = 1                      # 1-16
    slot = 0                         # whose body: the person in this slot
    range = [0.2, 0.9]               # measured values mapped to 0..127 (reversed = inverted)
    curve = "linear"                 # linear, exp, log, s
    smoothing = 0.5                  # 0 = none … 0.99 = very slow
    bits = 7                         # 14: CC n carries the coarse part, CC n+32 the fine part

    [[plugins.midi.notes]]
    value = "above_head(right_wrist)"  # note on while value >= on, off once value < off
    on = 0.0
    off = -0.03
    note = 60
    velocity = 100
    channel = 1
    slot = 0

Values (:data:`VALUE_HELP`), all in units of the image, so a mapping works at any resolution:

- ``KEYPOINT.x`` / ``KEYPOINT.y``: position 0..1, x from the left, **y from the bottom**
  (a hand going up raises the value, like a fader);
- ``distance(A, B)``: distance between two keypoints, in image heights;
- ``above_head(KEYPOINT)``: how far the keypoint is above the head (nose, else eyes/ears),
  in image heights; > 0 when above;
- ``speed(KEYPOINT)``: how fast it moves, image heights per second.

A keypoint scored under ``threshold`` is unknown: nothing is sent for a mapping that needs it
(the last value stays), and a held note stays held until it is known again or the person leaves.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from posestage import KEYPOINT_INDEX, KEYPOINT_NAMES, SceneError, Setting, did_you_mean, validate

VALUE_HELP = (
    "KEYPOINT.x / KEYPOINT.y (0..1, y up), distance(A, B), above_head(KEYPOINT), speed(KEYPOINT)"
)
HEAD = tuple(KEYPOINT_INDEX[k] for k in ("nose", "left_eye", "right_eye", "left_ear", "right_ear"))


# -- values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coordinate:
    """A keypoint's x (0 left … 1 right) or y (0 bottom … 1 top)."""

    keypoint: int
    axis: str  # "x" or "y"

    def __str__(self) -> str:
        return f"{KEYPOINT_NAMES[self.keypoint]}.{self.axis}"

    def keypoints(self) -> tuple[int, ...]:
        return (self.keypoint,)


@dataclass(frozen=True)
class Distance:
    """Distance between two keypoints, in image heights."""

    a: int
    b: int

    def __str__(self) -> str:
        return f"distance({KEYPOINT_NAMES[self.a]}, {KEYPOINT_NAMES[self.b]})"

    def keypoints(self) -> tuple[int, ...]:
        return (self.a, self.b)


@dataclass(frozen=True)
class AboveHead:
    """Height of a keypoint above the head (nose, else eyes/ears), in image heights."""

    keypoint: int

    def __str__(self) -> str:
        return f"above_head({KEYPOINT_NAMES[self.keypoint]})"

    def keypoints(self) -> tuple[int, ...]:
        return (self.keypoint,)


@dataclass(frozen=True)
class Speed:
    """How fast a keypoint moves, in image heights per second."""

    keypoint: int

    def __str__(self) -> str:
        return f"speed({KEYPOINT_NAMES[self.keypoint]})"

    def keypoints(self) -> tuple[int, ...]:
        return (self.keypoint,)


Value = Coordinate | Distance | AboveHead | Speed

_CALL = re.compile(r"^\s*([a-z_]+)\s*\(\s*([^)]*?)\s*\)\s*$")
_COORD = re.compile(r"^\s*([a-z_]+)\s*\.\s*([a-z]+)\s*$")
_FUNCTIONS = {"distance": 2, "above_head": 1, "speed": 1}


def _keypoint(name: str) -> int:
    index = KEYPOINT_INDEX.get(name)
    if index is None:
        hint = did_you_mean(name, list(KEYPOINT_NAMES))
        raise ValueError(f"unknown keypoint {name!r}{hint}; keypoints: {', '.join(KEYPOINT_NAMES)}")
    return index


def parse_value(text: str) -> Value:
    """``"right_wrist.y"`` → :class:`Coordinate`…; ``ValueError`` saying what is valid."""
    if not isinstance(text, str):
        raise ValueError(f"expected text such as 'right_wrist.y', got {text!r}")
    low = text.strip().lower()
    call = _CALL.match(low)
    if call:
        fn, inner = call.groups()
        if fn not in _FUNCTIONS:
            hint = did_you_mean(fn, list(_FUNCTIONS))
            raise ValueError(f"unknown function {fn!r}{hint}; valid: {VALUE_HELP}")
        args = [a.strip() for a in inner.split(",")] if inner else []
        if len(args) != _FUNCTIONS[fn]:
            raise ValueError(
                f"{fn}() takes {_FUNCTIONS[fn]} keypoint(s), got {len(args)}: {text!r}"
            )
        points = [_keypoint(a) for a in args]
        if fn == "distance":
            return Distance(*points)
        return AboveHead(points[0]) if fn == "above_head" else Speed(points[0])
    coord = _COORD.match(low)
    if coord:
        name, axis = coord.groups()
        if axis not in ("x", "y"):
            raise ValueError(f"{text!r}: the axis is x or y")
        return Coordinate(_keypoint(name), axis)
    raise ValueError(f"cannot read {text!r}; expected {VALUE_HELP}")


def measure(
    value: Value,
    xy: np.ndarray,
    scores: np.ndarray,
    width: float,
    height: float,
    threshold: float,
    previous: np.ndarray | None = None,
    dt: float = 0.0,
) -> float | None:
    """The value for one person (``xy`` (17, 2) pixels, ``scores`` (17,)); None when a
    keypoint it needs is scored under ``threshold`` (or, for speed, no earlier position)."""
    h = float(height) or 1.0
    if isinstance(value, Coordinate):
        k = value.keypoint
        if scores[k] < threshold:
            return None
        if value.axis == "x":
            return float(xy[k, 0]) / (float(width) or 1.0)
        return 1.0 - float(xy[k, 1]) / h
    if isinstance(value, Distance):
        if scores[value.a] < threshold or scores[value.b] < threshold:
            return None
        return float(np.hypot(*(xy[value.a] - xy[value.b]))) / h
    if isinstance(value, AboveHead):
        k = value.keypoint
        if scores[k] < threshold:
            return None
        head = [i for i in HEAD if scores[i] >= threshold]
        if not head:
            return None
        head_y = float(xy[head[0], 1]) if head[0] == HEAD[0] else float(np.mean(xy[head, 1]))
        return (head_y - float(xy[k, 1])) / h
    if isinstance(value, Speed):
        k = value.keypoint
        if previous is None or dt <= 0 or scores[k] < threshold:
            return None
        return float(np.hypot(*(xy[k] - previous[k]))) / h / dt
    raise TypeError(f"not a value: {value!r}")


# -- curves -----------------------------------------------------------------------------------

_EXP = 4.0  # steepness of the exp / log curves


def _exp(t: float) -> float:
    return (math.pow(2.0, _EXP * t) - 1.0) / (math.pow(2.0, _EXP) - 1.0)


def _log(t: float) -> float:
    return math.log2(1.0 + t * (math.pow(2.0, _EXP) - 1.0)) / _EXP


#: ``curve`` names → f(0..1) → 0..1. exp rises slowly then fast, log the opposite, s eases both.
CURVES = {
    "linear": lambda t: t,
    "exp": _exp,
    "log": _log,
    "s": lambda t: t * t * (3.0 - 2.0 * t),
}


# -- mappings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ControlMapping:
    """A measured value → one control change (7-bit) or a coarse/fine pair (14-bit)."""

    value: Value
    cc: int
    channel: int = 0  # 0-15 on the wire (the scene says 1-16)
    slot: int = 0
    low: float = 0.0
    high: float = 1.0
    curve: str = "linear"
    smoothing: float = 0.0
    bits: int = 7
    name: str = ""

    @property
    def label(self) -> str:
        cc = f"CC {self.cc}/{self.cc + 32}" if self.bits == 14 else f"CC {self.cc}"
        return f"{self.name or self.value} → ch {self.channel + 1} {cc} (slot {self.slot})"

    def scale(self, x: float) -> int:
        """``x`` mapped through range and curve to 0..127 (or 0..16383 with 14 bits)."""
        t = (x - self.low) / (self.high - self.low)
        t = CURVES[self.curve](min(1.0, max(0.0, t)))
        top = 16383 if self.bits == 14 else 127
        return int(round(t * top))


@dataclass(frozen=True)
class NoteMapping:
    """A trigger → a note: on when the value reaches ``on``, off once it falls under ``off``."""

    value: Value
    note: int
    on: float = 0.0
    off: float = -0.03
    velocity: int = 100
    channel: int = 0
    slot: int = 0
    name: str = ""

    @property
    def label(self) -> str:
        return (
            f"{self.name or self.value} >= {self.on:g} → ch {self.channel + 1} note {self.note}"
            f" (slot {self.slot})"
        )


Mapping = ControlMapping | NoteMapping


def _required(values: dict, key: str, path: str, example: str) -> Any:
    if values.get(key) is None:
        raise SceneError(f"{path}.{key}: missing; e.g. {key} = {example}")
    return values[key]


_COMMON = [
    Setting("value", str, None, f"what to measure: {VALUE_HELP}", parse=parse_value),
    Setting("channel", int, 1, "MIDI channel", min=1, max=16),
    Setting("slot", int, 0, "whose body: the person in this slot (0 = the first)", min=0),
    Setting("name", str, "", "a label for learn mode and the log"),
]
CC_SCHEMA = [
    *_COMMON,
    Setting("cc", int, None, "controller number (0-31 with bits = 14)", min=0, max=127),
    Setting("range", list, [0.0, 1.0], "measured [from, to] mapped to 0..127", item=float),
    Setting("curve", str, "linear", "response curve", choices=tuple(CURVES)),
    Setting("smoothing", float, 0.0, "0 none … 0.99 very slow", min=0.0, max=0.99),
    Setting("bits", int, 7, "7, or 14 for a coarse (CC n) + fine (CC n+32) pair", choices=(7, 14)),
]
NOTE_SCHEMA = [
    *_COMMON,
    Setting("note", int, None, "MIDI note number (60 = middle C)", min=0, max=127),
    Setting("on", float, 0.0, "note on when the value reaches this"),
    Setting("off", float, None, "note off once the value falls under this (default on - 0.03)"),
    Setting("velocity", int, 100, "note-on velocity", min=1, max=127),
]


def control_mapping(item: Any, path: str) -> ControlMapping:
    values = validate(item, CC_SCHEMA, path)
    value = _required(values, "value", path, '"right_wrist.y"')
    cc = _required(values, "cc", path, "20")
    rng = values["range"]
    if len(rng) != 2:
        raise SceneError(f"{path}.range: expected [from, to], got {len(rng)} numbers")
    low, high = rng
    if low == high:
        raise SceneError(f"{path}.range: from and to are both {low:g}; give two different numbers")
    if values["bits"] == 14 and cc > 31:
        raise SceneError(
            f"{path}.cc: {cc} cannot be 14-bit; use 0-31 (the fine part goes to CC n+32)"
        )
    return ControlMapping(
        value, cc, values["channel"] - 1, values["slot"], low, high, values["curve"],
        values["smoothing"], values["bits"], values["name"],
    )  # fmt: skip


def note_mapping(item: Any, path: str) -> NoteMapping:
    values = validate(item, NOTE_SCHEMA, path)
    value = _required(values, "value", path, '"above_head(right_wrist)"')
    note = _required(values, "note", path, "60")
    on = values["on"]
    off = on - 0.03 if values["off"] is None else values["off"]
    if off > on:
        raise SceneError(f"{path}.off: {off:g} is above on = {on:g}; off must be <= on")
    return NoteMapping(
        value, note, on, off, values["velocity"], values["channel"] - 1, values["slot"],
        values["name"],
    )  # fmt: skip


@dataclass(frozen=True)
class MappingList(Setting):
    """A list of mapping tables, each checked into a :class:`ControlMapping`/:class:`NoteMapping`
    with errors naming the exact key (``plugins.midi.cc[1].range: …``)."""

    build: Any = None

    def check(self, value: Any, path: str, *, coerce: bool = False) -> Any:
        if not isinstance(value, (list, tuple)):
            raise SceneError(f"{path}: expected a list of tables ([[{path.split(': ')[-1]}]])")
        out = []
        for i, item in enumerate(value):
            if isinstance(item, (ControlMapping, NoteMapping)):
                out.append(item)
            else:
                out.append(self.build(item, f"{path}[{i}]"))
        return tuple(out)


DEFAULT_CC = (
    {"value": "right_wrist.y", "cc": 20, "name": "right hand height"},
    {"value": "left_wrist.y", "cc": 21, "name": "left hand height"},
    {"value": "distance(left_wrist, right_wrist)", "cc": 22, "range": [0.0, 0.8], "name": "hands apart"},
    {"value": "speed(right_wrist)", "cc": 23, "range": [0.0, 2.0], "smoothing": 0.7, "name": "right hand speed"},
)  # fmt: skip
DEFAULT_NOTES = (
    {"value": "above_head(right_wrist)", "note": 60, "name": "right hand up"},
    {"value": "above_head(left_wrist)", "note": 62, "name": "left hand up"},
)


# -- the engine -------------------------------------------------------------------------------


@dataclass
class _Owner:
    person: int | None = None
    smoothed: float | None = None


@dataclass
class MappingEngine:
    """Frames in, raw MIDI messages out (lists of ints): only changes, notes paired.

    Pure: the plugin sends what :meth:`frame`, :meth:`leave` and :meth:`release` return.
    ``learn`` (1-based, 0 = off) sends only that mapping, as a sweep (CC) or a pulse (note),
    whoever is in frame, so a DAW's MIDI learn binds exactly it.
    """

    controls: Sequence[ControlMapping] = ()
    notes: Sequence[NoteMapping] = ()
    threshold: float = 0.3
    learn: int = 0
    #: (channel, cc) → last value sent.
    sent: dict[tuple[int, int], int] = field(default_factory=dict)
    #: note mapping index → (person id, channel, note) while it sounds.
    held: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    _owners: dict[int, _Owner] = field(default_factory=dict)
    _previous: dict[int, tuple[float, np.ndarray]] = field(default_factory=dict)

    @property
    def mappings(self) -> list[Mapping]:
        return [*self.controls, *self.notes]

    def frame(self, frame: Any) -> list[list[int]]:
        when = getattr(frame, "recorded", None)
        when = frame.timestamp if when is None else when
        if self.learn:
            return self._learn(float(when))
        out: list[list[int]] = []
        people = {p.slot: p for p in frame.people if p.missing == 0}
        for i, m in enumerate(self.controls):
            person = people.get(m.slot)
            if person is None:
                continue
            owner = self._owners.setdefault(i, _Owner())
            if owner.person != person.id:
                owner.person, owner.smoothed = person.id, None
            x = self._measure(m.value, person, frame, when)
            if x is None:
                continue
            if m.smoothing and owner.smoothed is not None:
                x = owner.smoothed + (1.0 - m.smoothing) * (x - owner.smoothed)
            owner.smoothed = x
            self._control(m.channel, m.cc, m.scale(x), m.bits, out)
        for i, m in enumerate(self.notes):
            person = people.get(m.slot)
            if person is None:
                continue
            x = self._measure(m.value, person, frame, when)
            held = self.held.get(i)
            if held is not None and held[0] != person.id:  # someone else took the slot
                out.append(self._off(i))
                held = None
            if x is None:
                continue
            if held is None and x >= m.on:
                self.held[i] = (person.id, m.channel, m.note)
                out.append([0x90 | m.channel, m.note, m.velocity])
            elif held is not None and x < m.off:
                out.append(self._off(i))
        for p in frame.people:
            self._previous[p.id] = (float(when), np.array(p.xy, np.float32))
        if len(self._previous) > 4 * max(1, len(frame.people)) + 16:
            present = {p.id for p in frame.people}
            self._previous = {k: v for k, v in self._previous.items() if k in present}
        return out

    def leave(self, person: Any) -> list[list[int]]:
        """Note offs for everything ``person`` holds; forget their motion."""
        self._previous.pop(person.id, None)
        return [self._off(i) for i, h in sorted(self.held.items()) if h[0] == person.id]

    def release(self) -> list[list[int]]:
        """Note offs for every held note (scene change, disable, shutdown, a crash)."""
        return [self._off(i) for i in sorted(self.held)]

    def reset(self) -> None:
        """Forget what was sent (after :meth:`release`): a new scene starts from scratch."""
        self.sent.clear()
        self._owners.clear()
        self._previous.clear()

    def _off(self, i: int) -> list[int]:
        _, channel, note = self.held.pop(i)
        return [0x80 | channel, note, 0]

    def _measure(self, value: Value, person: Any, frame: Any, when: float) -> float | None:
        previous, dt = None, 0.0
        if isinstance(value, Speed):
            last = self._previous.get(person.id)
            if last is not None:
                dt, previous = float(when) - last[0], last[1]
        return measure(
            value, person.xy, person.scores, frame.width, frame.height, self.threshold,
            previous, dt,
        )  # fmt: skip

    def _control(self, channel: int, cc: int, value: int, bits: int, out: list) -> None:
        if bits == 14:
            msb, lsb = value >> 7, value & 0x7F
            if self.sent.get((channel, cc)) != msb:
                self.sent[(channel, cc)] = msb
                self.sent[(channel, cc + 32)] = lsb
                out.append([0xB0 | channel, cc, msb])
                out.append([0xB0 | channel, cc + 32, lsb])
            elif self.sent.get((channel, cc + 32)) != lsb:
                self.sent[(channel, cc + 32)] = lsb
                out.append([0xB0 | channel, cc + 32, lsb])
        elif self.sent.get((channel, cc)) != value:
            self.sent[(channel, cc)] = value
            out.append([0xB0 | channel, cc, value])

    # -- learn mode --------------------------------------------------------------------------

    #: A learn sweep goes 0 → top → 0 in this many seconds; a learn note pulses at this period.
    LEARN_PERIOD = 4.0

    def learn_target(self) -> Mapping | None:
        everything = self.mappings
        if not everything or not self.learn:
            return None
        return everything[(self.learn - 1) % len(everything)]

    def _learn(self, when: float) -> list[list[int]]:
        out: list[list[int]] = []
        target = self.learn_target()
        index = (self.learn - 1) % max(1, len(self.mappings))
        for i in sorted(self.held):  # nothing else sounds while learning
            if not (isinstance(target, NoteMapping) and i == index - len(self.controls)):
                out.append(self._off(i))
        phase = (when % self.LEARN_PERIOD) / self.LEARN_PERIOD
        if isinstance(target, ControlMapping):
            t = 1.0 - abs(2.0 * phase - 1.0)  # triangle 0 → 1 → 0
            top = 16383 if target.bits == 14 else 127
            self._control(target.channel, target.cc, int(round(t * top)), target.bits, out)
        elif isinstance(target, NoteMapping):
            i = index - len(self.controls)
            sounding = phase < 0.25
            if sounding and i not in self.held:
                self.held[i] = (-1, target.channel, target.note)
                out.append([0x90 | target.channel, target.note, target.velocity])
            elif not sounding and i in self.held:
                out.append(self._off(i))
        return out
