"""Frames → OSC bundles, fast: byte templates compiled from :mod:`posestage_osc.layouts`.

Every address and type tag string of a layout is known before the first frame, and OSC keeps
every field 4-byte aligned, so each person's messages are one precompiled template (per slot,
id or index): a frame copies the template and writes all its float32 values with one numpy
scatter into a big-endian word view. Frame-level messages are precompiled heads plus
``struct``. The bytes are exactly what python-osc's builders produce for the same messages
(``tests/test_osc_encoder.py`` compares them for every layout and option).

Order inside a frame's bundle: the layout's ``frame`` messages, ``health``, ``leave``,
``enter``, ``zone``, ``zone leave``, ``zone enter``, ``floor`` (only when the frame has zones or
floor positions), ``slot`` (presence), then per person in slot order its ``person`` messages and, per
keypoint, its ``keypoint`` messages (each in the layout's order). When the bundle is larger
than ``max_datagram`` it is split, between messages, into several bundles with the same time
tag.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from posestage import KEYPOINT_NAMES
from posestage import osc_wire as wire

from .layouts import LAYOUTS, PARTS, Layout, Message

NK = len(KEYPOINT_NAMES)
#: Floats per person in the source row: pose score, then x, y, score for each keypoint.
ROW = 1 + 3 * NK
_I32_MIN, _I32_MAX = -(2**31), 2**31 - 1
#: Compiled per-person templates kept (ids are never reused, so the cache is bounded).
TEMPLATE_CACHE = 512
#: Joined templates kept, per set of keys present together.
COMBO_CACHE = 64


@dataclass(frozen=True)
class Options:
    """One target's encoding options (validated settings, layout defaults filled in)."""

    layout: str = "values"
    prefix: str | None = None
    coords: str | None = None  # "normalized" | "pixels"; None: the layout's default
    y_up: bool = False
    address_by: str = "slot"  # "slot" | "id"
    slots: int = 6
    min_score: float = 0.0
    below: str = "zero"  # "zero" | "omit"
    health: bool = False
    max_datagram: int = 1472

    @property
    def spec(self) -> Layout:
        return LAYOUTS[self.layout]

    @property
    def resolved_prefix(self) -> str:
        return (self.spec.prefix if self.prefix is None else self.prefix).rstrip("/")

    @property
    def resolved_coords(self) -> str:
        return self.spec.coords if self.coords is None else self.coords


def _fill(address: str, prefix: str, key: Any = "", index: Any = "", j: int = -1) -> str:
    return address.format(
        prefix=prefix,
        key=key,
        index=index,
        keypoint=KEYPOINT_NAMES[j] if j >= 0 else "",
        part=PARTS[j] if j >= 0 else "",
    )


def _head(address: str, types: str) -> bytes:
    return wire.osc_string(address) + wire.osc_string("," + types)


def _i32(value: Any) -> int:
    return min(max(int(value), _I32_MIN), _I32_MAX)


class _Fixed:
    """A message with fixed address and types: precompiled head + a struct for the numbers."""

    def __init__(self, address: str, message: Message, layout: Layout) -> None:
        self.types = layout.types(message)
        self.names = tuple(a.name for a in message.args)
        self.head = _head(address, self.types)
        self.numeric = "s" not in self.types
        self.struct = struct.Struct(">" + self.types) if self.numeric else None
        self.prefix_size = len(self.head) + (self.struct.size if self.numeric else 0)

    def encode(self, values: dict) -> bytes:
        if self.numeric:
            nums = [
                _i32(values[n]) if t == "i" else float(values[n])
                for n, t in zip(self.names, self.types)
            ]
            body = self.head + self.struct.pack(*nums)
        else:
            body = wire.message("", [values[n] for n in self.names], self.types)
            body = self.head + body[8:]  # the args after the empty address and "," + types
        return wire.element(body)


@dataclass
class _Person:
    """One person's precompiled messages: the bytes, where each float goes (word index into
    a '>f4' view, and which source-row entry it takes), where the id goes, and per element
    its size in bytes and the keypoint it belongs to (-1: none)."""

    words: np.ndarray  # uint32 (native), the template
    fpos: np.ndarray
    fsrc: np.ndarray
    ipos: np.ndarray
    sizes: np.ndarray
    kp: np.ndarray
    word_el: np.ndarray  # per word: the element it belongs to


@dataclass
class _Combo:
    """Several people's templates joined (see :meth:`FrameEncoder._combo`)."""

    words: np.ndarray
    fpos: np.ndarray
    fsrc: np.ndarray  # into the flattened (n, ROW) rows
    ipos: np.ndarray
    iperson: np.ndarray
    sizes: np.ndarray
    kp: np.ndarray  # person * 17 + keypoint, -1 none
    word_el: np.ndarray


class FrameEncoder:
    """Encodes :class:`posestage.model.frames.PoseFrame` objects for one target."""

    def __init__(self, options: Options) -> None:
        self.options = options
        layout = self.layout = options.spec
        prefix = self.prefix = options.resolved_prefix
        self.pixels = options.resolved_coords == "pixels"
        self.omit = options.below == "omit" and layout.can_omit
        self.by_id = options.address_by == "id"
        by_per: dict[str, list[Message]] = {}
        for m in layout.messages:
            by_per.setdefault(m.per, []).append(m)
        # frame-level messages in the layout's order; None marks PoseOSC's /poses/arr
        self._arr: Message | None = None
        self._frame: list[_Fixed | None] = []
        for m in by_per.get("frame", []):
            if any(a.name == "poses" for a in m.args):
                self._arr = m
                self._frame.append(None)
            else:
                self._frame.append(_Fixed(_fill(m.address, prefix), m, layout))
        self._arr_heads: dict[int, bytes] = {}
        self._health = [_Fixed(_fill(m.address, prefix), m, layout) for m in by_per["health"]]
        self._keyed = {per: by_per.get(per, []) for per in ("enter", "leave", "slot", "floor")}
        self._zoned = {per: by_per.get(per, []) for per in ("zone", "zone enter", "zone leave")}
        self._zone_cache: dict[tuple, _Fixed] = {}
        self._keyed_cache: dict[tuple, _Fixed] = {}
        self._present_cache: dict[tuple, bytes] = {}
        self._person_msgs = by_per.get("person", [])
        self._keypoint_msgs = by_per.get("keypoint", [])
        self._templates: dict[Any, _Person] = {}
        self._combos: dict[tuple, _Combo] = {}
        self._presence_cache: dict[tuple, tuple[bytes, list[int]]] = {}
        self._splits: dict[tuple, list[tuple[int, int]]] = {}

    # -- public ------------------------------------------------------------------------------

    def encode(
        self,
        frame: Any,
        entered: Sequence[Any] = (),
        left: Sequence[Any] = (),
        *,
        now: float | None = None,
        dropped: int = 0,
        device: str = "",
    ) -> list[bytes]:
        """The datagrams (one or more bundles, time tag = ``frame.timestamp``) for ``frame``;
        ``entered`` / ``left`` are the people who entered / left since the previous frame.
        ``now`` is the send time on ``time.perf_counter()`` (for the latency value)."""
        people = sorted(frame.people, key=lambda p: p.slot)
        now = time.perf_counter() if now is None else now
        values = {
            "index": frame.index,
            "people": len(people),
            "fps": frame.fps,
            "latency_ms": max(0.0, (now - frame.captured) * 1000.0),
            "width": frame.width,
            "height": frame.height,
            "count": len(people),
            "inference_ms": frame.inference_ms,
            "dropped": dropped,
            "device": device,
        }
        rows, keep = self._rows(people, frame.width, frame.height)
        parts: list[bytes] = []  # frame-level elements, each with its size prefix
        for fixed in self._frame:
            parts.append(self._encode_arr(values, rows) if fixed is None else fixed.encode(values))
        if self.options.health:
            parts += [fixed.encode(values) for fixed in self._health]
        for per, who in (("leave", left), ("enter", entered)):
            for m in self._keyed[per]:
                parts += [self._keyed_fixed(m, self._key(p)).encode({"id": p.id}) for p in who]
        if frame.zones or frame.zone_events or any(p.floor is not None for p in people):
            parts += self._room(frame, people)
        sizes = [len(p) for p in parts]
        if self._keyed["slot"]:
            block, block_sizes = self._presence_block(people, left)
            parts.append(block)
            sizes += block_sizes
        if not people or (not self._person_msgs and not self._keypoint_msgs):
            return self._datagrams(frame.timestamp, parts, sizes, None, None)
        combo = self._combo(people)
        words = combo.words.copy()
        words.view(">f4")[combo.fpos] = rows.reshape(-1)[combo.fsrc]
        if len(combo.ipos):
            ids = np.array([_i32(p.id) for p in people], np.int32)
            words.view(">i4")[combo.ipos] = ids[combo.iperson]
        if self.omit and not keep.all():
            keep_el = np.append(keep.reshape(-1), True)[combo.kp]  # -1: not a keypoint's
            words = words[keep_el[combo.word_el]]
            parts.append(words.tobytes())
            return self._datagrams(frame.timestamp, parts, sizes, combo.sizes[keep_el], None)
        parts.append(words.tobytes())
        return self._datagrams(frame.timestamp, parts, sizes, combo.sizes, combo)

    # -- values --------------------------------------------------------------------------------

    def _rows(self, people: list, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, ROW) float32 source rows (pose score, then x y score per keypoint, converted as
        the options say) and (n, 17) bool: keypoint above ``min_score`` and person seen.
        Coordinates are clamped to the image (NaN → 0)."""
        n = len(people)
        if n == 0:
            return np.empty((0, ROW), np.float32), np.zeros((0, NK), bool)
        xy = np.array([p.xy for p in people], np.float32)
        scores = np.array([p.scores for p in people], np.float32)
        wh = np.array([max(width, 1), max(height, 1)], np.float32)
        if self.pixels:
            top = wh
        else:
            xy = xy / wh  # as Person.xy_norm
            top = np.ones(2, np.float32)
        xy = np.fmin(np.fmax(xy, np.float32(0)), top)
        if self.options.y_up:
            xy[..., 1] = top[1] - xy[..., 1]
        keep = scores >= np.float32(self.options.min_score)
        for i, p in enumerate(people):
            if p.missing:
                keep[i] = False  # last known position: not sent as if seen (never stale)
        kp = np.empty((n, NK, 3), np.float32)
        kp[..., :2] = xy
        kp[..., 2] = np.where(keep, np.fmin(np.fmax(scores, np.float32(0)), np.float32(1)), 0)
        rows = np.empty((n, ROW), np.float32)
        rows[:, 0] = [p.score for p in people]
        rows[:, 1:] = kp.reshape(n, 3 * NK)
        return rows, keep

    def _room(self, frame: Any, people: list) -> list[bytes]:
        """The zone and floor elements of ``frame``."""
        out = []
        for zone in frame.zones:
            for m in self._zoned["zone"]:
                out.append(self._zone_fixed(m, zone.name).encode(
                    {"count": zone.count, "visits": zone.visits}))  # fmt: skip
        for kind in ("leave", "enter"):
            for e in frame.zone_events:
                if e.kind == kind:
                    for m in self._zoned["zone " + kind]:
                        values = {"id": e.id, "slot": e.slot, "dwell": e.dwell}
                        out.append(self._zone_fixed(m, e.zone).encode(values))
        for p in people:
            where = p.floor
            if where is not None:
                values = {"floor_x": where.x, "floor_y": where.y,
                          "floor_score": 0.0 if p.missing else where.score}  # fmt: skip
                for m in self._keyed["floor"]:
                    out.append(self._keyed_fixed(m, self._key(p)).encode(values))
        return out

    def _zone_fixed(self, m: Message, name: str) -> _Fixed:
        got = self._zone_cache.get((id(m), name))
        if got is None:
            if len(self._zone_cache) > TEMPLATE_CACHE:
                self._zone_cache.clear()
            address = m.address.replace("{zone}", name)
            got = self._zone_cache[(id(m), name)] = _Fixed(address, m, self.layout)
        return got

    def _key(self, person: Any) -> int:
        return person.id if self.by_id else person.slot

    def _presence_block(self, people: list, left: Sequence[Any]) -> tuple[bytes, list[int]]:
        """The presence elements (``slot`` messages) joined, and their sizes; cached by who
        is here and who just left."""
        if self.by_id:
            keyed = [(p.id, 1) for p in people] + [(p.id, 0) for p in left]
        else:
            held = [p.slot for p in people]
            gone = [p.slot for p in left]
            cache_key = (tuple(held), tuple(gone))
            got = self._presence_cache.get(cache_key)
            if got is not None:
                return got
            on = set(held)
            keys = sorted(set(range(self.options.slots)).union(on, gone))
            keyed = [(k, 1 if k in on else 0) for k in keys]
        items = [self._present(m, k, v) for m in self._keyed["slot"] for k, v in keyed]
        got = (b"".join(items), [len(i) for i in items])
        if not self.by_id:
            if len(self._presence_cache) >= TEMPLATE_CACHE:
                self._presence_cache.clear()
            self._presence_cache[cache_key] = got
        return got

    # -- compiled pieces -----------------------------------------------------------------------

    def _keyed_fixed(self, m: Message, key: int) -> _Fixed:
        got = self._keyed_cache.get((id(m), key))
        if got is None:
            if len(self._keyed_cache) > TEMPLATE_CACHE:
                self._keyed_cache.clear()
            got = self._keyed_cache[(id(m), key)] = _Fixed(
                _fill(m.address, self.prefix, key), m, self.layout
            )
        return got

    def _present(self, m: Message, key: int, present: int) -> bytes:
        got = self._present_cache.get((id(m), key, present))
        if got is None:
            if len(self._present_cache) > TEMPLATE_CACHE:
                self._present_cache.clear()
            got = self._keyed_fixed(m, key).encode({"present": present})
            self._present_cache[(id(m), key, present)] = got
        return got

    def _encode_arr(self, values: dict, rows: np.ndarray) -> bytes:
        n = len(rows)
        head = self._arr_heads.get(n)
        if head is None:
            head = _head(self._arr.address, self.layout.types(self._arr, n))
            if n < 64:
                self._arr_heads[n] = head
        ints = struct.pack(
            ">iii", _i32(values["width"]), _i32(values["height"]), _i32(values["count"])
        )
        return wire.element(head + ints + rows.astype(">f4").tobytes())

    def _combo(self, people: list) -> _Combo:
        """The people's templates joined, cached by their keys (stable while nobody moves
        slot), with every position made absolute."""
        indexed = self.layout.keyed == "index"
        keys = tuple(range(len(people))) if indexed else tuple(self._key(p) for p in people)
        got = self._combos.get(keys)
        if got is not None:
            return got
        tpls = [self._template(k, i) for i, k in enumerate(keys)]
        word_off = np.cumsum([0] + [len(t.words) for t in tpls])
        el_off = np.cumsum([0] + [len(t.sizes) for t in tpls])
        got = _Combo(
            words=np.concatenate([t.words for t in tpls]),
            fpos=np.concatenate([t.fpos + o for t, o in zip(tpls, word_off)]),
            fsrc=np.concatenate([t.fsrc + i * ROW for i, t in enumerate(tpls)]),
            ipos=np.concatenate([t.ipos + o for t, o in zip(tpls, word_off)]),
            iperson=np.concatenate([np.full(len(t.ipos), i, np.intp) for i, t in enumerate(tpls)]),
            sizes=np.concatenate([t.sizes for t in tpls]),
            kp=np.concatenate([np.where(t.kp >= 0, t.kp + i * NK, -1) for i, t in enumerate(tpls)]),
            word_el=np.concatenate([t.word_el + o for t, o in zip(tpls, el_off)]),
        )
        if len(self._combos) >= COMBO_CACHE:
            self._combos.clear()
            self._splits.clear()  # keyed by id() of the combos just dropped
        self._combos[keys] = got
        return got

    def _template(self, key: int, index: int) -> _Person:
        cache_key = index if self.layout.keyed == "index" else key
        got = self._templates.get(cache_key)
        if got is None:
            if len(self._templates) > TEMPLATE_CACHE:
                self._templates.clear()
            got = self._templates[cache_key] = self._compile(key, index)
        return got

    def _compile(self, key: int, index: int) -> _Person:
        chunks: list[bytes] = []
        fpos: list[int] = []
        fsrc: list[int] = []
        ipos: list[int] = []
        sizes: list[int] = []
        kps: list[int] = []
        at = 0  # bytes so far

        def emit(m: Message, j: int) -> None:
            nonlocal at
            address = _fill(m.address, self.prefix, key, index, j)
            types = self.layout.types(m)
            head = _head(address, types)
            word = (at + 4 + len(head)) // 4  # first argument word (after the size field)
            srcs: list[int | None] = []
            for a in m.args:
                if a.type not in ("f", "*") and (a.type, a.name) != ("i", "id"):
                    raise ValueError(f"{m.address}: a person's messages carry floats and the id")
                if a.name == "keypoints":
                    srcs += list(range(1, ROW))
                elif a.name == "id":
                    srcs.append(None)
                elif a.name == "score" and m.per == "person":
                    srcs.append(0)
                else:
                    srcs.append({"x": 1, "y": 2, "score": 3}[a.name] + 3 * j)
            for k, src in enumerate(srcs):
                if src is None:
                    ipos.append(word + k)
                else:
                    fpos.append(word + k)
                    fsrc.append(src)
            body = head + b"\x00" * (4 * len(srcs))
            chunk = wire.element(body)
            chunks.append(chunk)
            sizes.append(len(chunk))
            kps.append(j)
            at += len(chunk)

        for m in self._person_msgs:
            emit(m, -1)
        for j in range(NK):
            for m in self._keypoint_msgs:
                emit(m, j)
        data = b"".join(chunks)
        kp = np.array(kps, np.intp)
        sizes_arr = np.array(sizes, np.int64)
        return _Person(
            words=np.frombuffer(data, np.uint32).copy(),
            fpos=np.array(fpos, np.intp),
            fsrc=np.array(fsrc, np.intp),
            ipos=np.array(ipos, np.intp),
            sizes=sizes_arr,
            kp=kp,
            word_el=np.repeat(np.arange(len(kp)), sizes_arr // 4),
        )

    def _datagrams(
        self,
        stamp: float,
        parts: list[bytes],
        head: list[int],
        people: np.ndarray | None,
        combo: _Combo | None,
    ) -> list[bytes]:
        """Bundles of ``parts`` (frame-level elements of sizes ``head``, then the people's
        elements of sizes ``people``) of at most ``max_datagram`` bytes, split between
        elements; the split is cached per element sizes when the people are a whole combo."""
        header = wire.bundle_header(stamp)
        body = b"".join(parts)
        limit = self.options.max_datagram - wire.BUNDLE_HEADER
        if len(body) <= limit:
            return [header + body]
        key = (tuple(head), id(combo)) if combo is not None else None
        cuts = self._splits.get(key) if key is not None else None
        if cuts is None:
            flat = np.array(head, np.int64)
            if people is not None:
                flat = np.concatenate([flat, people])
            ends = [0, *np.cumsum(flat).tolist()]
            cuts = [(ends[a], ends[b]) for a, b in wire.split_points(flat, limit)]
            if key is not None:
                if len(self._splits) >= COMBO_CACHE:
                    self._splits.clear()
                self._splits[key] = cuts
        return [header + body[a:b] for a, b in cuts]
