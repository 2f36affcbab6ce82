"""The same frames built with python-osc, message by message: the tests' and the bench's yardstick.

Straight from :mod:`posestage_osc.layouts` with python-osc's ``OscMessageBuilder`` and
``OscBundleBuilder`` — no templates, no numpy tricks — so a byte-for-byte match with
:class:`~posestage_osc.encoder.FrameEncoder` shows the fast path sends exactly what python-osc
would. python-osc is a test/bench dependency only; importing this module needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from posestage import KEYPOINT_NAMES

from .encoder import Options
from .layouts import PARTS

NK = len(KEYPOINT_NAMES)


def person_values(person: Any, width: int, height: int, options: Options) -> dict:
    """What a person's messages carry, converted as ``options`` say: (17,) float32 x, y, score
    and the bool ``keep`` (score sent as it is)."""
    w, h = np.float32(max(width, 1)), np.float32(max(height, 1))
    xy = np.asarray(person.xy, np.float32)

    def clamp(v, top):  # NaN → 0
        return np.fmin(np.fmax(v, 0), top)

    if options.resolved_coords == "pixels":
        x, y = clamp(xy[:, 0], w), clamp(xy[:, 1], h)
        if options.y_up:
            y = h - y
    else:
        norm = xy / np.array([w, h], np.float32)
        x, y = clamp(norm[:, 0], 1), clamp(norm[:, 1], 1)
        if options.y_up:
            y = np.float32(1) - y
    scores = np.asarray(person.scores, np.float32)
    keep = (scores >= np.float32(options.min_score)) & (person.missing == 0)
    score = np.where(keep, clamp(scores, 1), np.float32(0))
    return {"x": x, "y": y, "score": score, "keep": keep}


def messages(
    frame: Any,
    options: Options,
    entered: Sequence[Any] = (),
    left: Sequence[Any] = (),
    *,
    latency_ms: float = 0.0,
    dropped: int = 0,
    device: str = "",
) -> list[tuple[str, list[tuple[str, Any]]]]:
    """(address, [(type, value)…]) in bundle order, for python-osc to build."""
    layout = options.spec
    prefix = options.resolved_prefix
    people = sorted(frame.people, key=lambda p: p.slot)
    by_id = options.address_by == "id"
    omit = options.below == "omit" and layout.can_omit
    vals = [person_values(p, frame.width, frame.height, options) for p in people]
    frame_values = {
        "index": frame.index, "people": len(people), "fps": float(frame.fps),
        "latency_ms": float(latency_ms), "width": frame.width, "height": frame.height,
        "count": len(people), "inference_ms": float(frame.inference_ms), "dropped": dropped,
        "device": device,
    }  # fmt: skip
    out = []

    def fill(address, key="", index="", j=-1):
        return address.format(
            prefix=prefix, key=key, index=index,
            keypoint=KEYPOINT_NAMES[j] if j >= 0 else "", part=PARTS[j] if j >= 0 else "",
        )  # fmt: skip

    def key_of(p):
        return p.id if by_id else p.slot

    for m in layout.messages:
        if m.per != "frame":
            continue
        args = []
        for a in m.args:
            if a.name == "poses":
                for p, v in zip(people, vals):
                    args.append(("f", float(p.score)))
                    for j in range(NK):
                        args += [("f", v["x"][j]), ("f", v["y"][j]), ("f", v["score"][j])]
            else:
                args.append((a.type, frame_values[a.name]))
        out.append((fill(m.address), args))
    if options.health:
        for m in layout.messages:
            if m.per == "health":
                out.append((fill(m.address), [(a.type, frame_values[a.name]) for a in m.args]))
    for per, who in (("leave", left), ("enter", entered)):
        for m in layout.messages:
            if m.per == per:
                for p in who:
                    out.append((fill(m.address, key_of(p)), [("i", p.id)]))
    for zone in frame.zones:
        for m in layout.messages:
            if m.per == "zone":
                out.append((m.address.replace("{zone}", zone.name),
                            [("i", zone.count), ("i", zone.visits)]))  # fmt: skip
    for kind in ("leave", "enter"):
        for e in frame.zone_events:
            for m in layout.messages:
                if e.kind == kind and m.per == "zone " + kind:
                    values = {"id": ("i", e.id), "slot": ("i", e.slot), "dwell": ("f", e.dwell)}
                    out.append((m.address.replace("{zone}", e.zone),
                                [values[a.name] for a in m.args]))  # fmt: skip
    for p in people:
        for m in layout.messages:
            if m.per == "floor" and p.floor is not None:
                score = 0.0 if p.missing else p.floor.score
                out.append((fill(m.address, key_of(p)),
                            [("f", p.floor.x), ("f", p.floor.y), ("f", score)]))  # fmt: skip
    for m in layout.messages:
        if m.per != "slot":
            continue
        if by_id:
            keyed = [(p.id, 1) for p in people] + [(p.id, 0) for p in left]
        else:
            held = {p.slot for p in people}
            keys = sorted(set(range(options.slots)) | held | {p.slot for p in left})
            keyed = [(k, int(k in held)) for k in keys]
        for key, present in keyed:
            out.append((fill(m.address, key), [("i", present)]))
    for index, (p, v) in enumerate(zip(people, vals)):
        for m in layout.messages:
            if m.per != "person":
                continue
            args = []
            for a in m.args:
                if a.name == "id":
                    args.append(("i", p.id))
                elif a.name == "score":
                    args.append(("f", float(p.score)))
                elif a.name == "keypoints":
                    for j in range(NK):
                        args += [("f", v["x"][j]), ("f", v["y"][j]), ("f", v["score"][j])]
            out.append((fill(m.address, key_of(p), index), args))
        for j in range(NK):
            if omit and not v["keep"][j]:
                continue
            for m in layout.messages:
                if m.per == "keypoint":
                    args = [("f", v[a.name][j]) for a in m.args]
                    out.append((fill(m.address, key_of(p), index, j), args))
    return out


def build_message(address: str, args: list[tuple[str, Any]]) -> Any:
    builder = OscMessageBuilder(address=address)
    for tag, value in args:
        builder.add_arg(int(value) if tag == "i" else float(value) if tag == "f" else value, tag)
    return builder.build()


def datagrams(frame: Any, options: Options, *args: Any, **kwargs: Any) -> list[bytes]:
    """python-osc's bundles for ``frame``: :func:`messages` built by :func:`build`."""
    return build(messages(frame, options, *args, **kwargs), frame.timestamp, options.max_datagram)


def build(msgs: list, timestamp: float, max_datagram: int) -> list[bytes]:
    """Messages (address, [(type, value)…]) built with python-osc and split greedily in
    order so that each bundle fits ``max_datagram`` (a message too big travels alone)."""
    built = [build_message(a, g) for a, g in msgs]
    limit = max_datagram - 16
    groups: list[list[Any]] = [[]]
    used = 0
    for msg in built:
        size = 4 + msg.size
        if groups[-1] and used + size > limit:
            groups.append([])
            used = 0
        groups[-1].append(msg)
        used += size
    out = []
    for group in groups:
        bundle = OscBundleBuilder(timestamp)
        for msg in group:
            bundle.add_content(msg)
        out.append(bundle.build().dgram)
    return out
