"""Receiving patches for Pure Data and Max, made from the layout description.

``posestage osc patch --for pd|max --layout NAME`` writes a patch that receives a target's
OSC and hands every value of every slot and keypoint to a named receiver: ``[r pose-0-nose-x]``
(the address's parts joined by ``-``, then the value's name when the message carries several:
``/pose/0/nose/x`` → ``pose-0-nose-x``; ``/pose/0/nose`` x y score → ``pose-0-nose-x``, ``-y``,
``-score``; ``/pose/frame`` → ``pose-frame-index``, ``pose-frame-people``…). Put the patch beside your own and use ``[r …]``
anywhere.

**Pure Data** (0.51 and later): ``[netreceive -u -b PORT]`` → ``[oscparse]`` → ``[list trim]``,
then one ``[route]`` per level of the addresses. ``oscparse`` gives a number in an address
(the slot ``0`` of ``/pose/0/nose``) as a *symbol*, which ``[route 0 1 2]`` never matches; the
patch turns it into a float (``[list fromsymbol]`` → ``[fudiparse]``) before routing by slot.

**Max**: ``[udpreceive PORT]`` → ``[route /pose/0/nose …]`` (the address is the message's
selector), chained through the reject outlets, each outlet unpacked into ``[s …]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .encoder import Options
from .namespace import Address, addresses

__all__ = ["KINDS", "max_patch", "pd_patch", "receive_names"]

#: What ``--for`` accepts, with the file suffix written.
KINDS = {"pd": ".pd", "max": ".maxpat"}


def _send_names(address: Address) -> list[str]:
    parts = [p for p in address.path.split("/") if p]
    base = "-".join(parts)
    if len(address.values) == 1:
        return [base]
    return [f"{base}-{v.name.replace('/', '-')}" for v in address.values]


def _names(address: Address) -> list[str]:
    names = _send_names(address)
    if address.rest:
        parts = [p for p in address.path.split("/") if p]
        names.append("-".join([*parts, address.rest.split(":")[0]]))
    return names


def receive_names(options: Options, zones=(), floor: bool = False) -> dict[str, list[str]]:
    """Address → the receiver names its values go to (in argument order; a trailing list of
    varying length goes to ``<address>-<name>``); ``zones``, ``floor`` as :func:`addresses`."""
    return {a.path: _names(a) for a in addresses(options, zones=zones, floor=floor)}


# -- Pure Data ---------------------------------------------------------------------------------


def _pd_atom(text: str) -> str:
    return "".join("\\" + c if c in " ,;$\\" else c for c in text)


@dataclass
class _Node:
    children: dict = field(default_factory=dict)
    leaf: Address | None = None


@dataclass
class _Pd:
    lines: list = field(default_factory=list)
    connects: list = field(default_factory=list)
    count: int = 0
    column: int = 0

    def text(self, text: str) -> None:
        self.lines.append(f"#X text 10 10 {text};")
        self.count += 1  # a comment is numbered as the objects are

    def obj(self, text: str, depth: int) -> int:
        x, y = 10 + 150 * self.column, 60 + 32 * depth
        self.lines.append(f"#X obj {x} {y} {text};")
        self.count += 1
        return self.count - 1

    def connect(self, src: int, outlet: int, dst: int, inlet: int = 0) -> None:
        self.connects.append(f"#X connect {src} {outlet} {dst} {inlet};")


def _trie(all_addresses: list[Address]) -> _Node:
    root = _Node()
    for a in all_addresses:
        node = root
        for part in (p for p in a.path.split("/") if p):
            node = node.children.setdefault(part, _Node())
        node.leaf = a
    return root


def _pd_emit(pd: _Pd, node: _Node, src: int, outlet: int, depth: int) -> None:
    literal = [p for p in node.children if not p.isdigit()]
    numeric = sorted((p for p in node.children if p.isdigit()), key=int)
    at = (src, outlet)
    if literal:
        route = pd.obj("route " + " ".join(_pd_atom(p) for p in literal), depth)
        pd.connect(*at, route)
        for i, part in enumerate(literal):
            _pd_emit(pd, node.children[part], route, i, depth + 1)
        at = (route, len(literal))
    if numeric:  # the slot: a symbol from oscparse, a float for [route]
        split = pd.obj("list split 1", depth)
        kind = pd.obj("route float symbol", depth + 1)
        text = pd.obj("list fromsymbol", depth + 2)
        number = pd.obj("fudiparse", depth + 3)
        join = pd.obj("list append", depth + 4)
        route = pd.obj("route " + " ".join(numeric), depth + 5)
        pd.connect(*at, split)
        pd.connect(split, 1, join, 1)
        pd.connect(split, 0, kind)
        pd.connect(kind, 0, join)
        pd.connect(kind, 1, text)
        pd.connect(text, 0, number)
        pd.connect(number, 0, join)
        pd.connect(join, 0, route)
        for i, part in enumerate(numeric):
            _pd_emit(pd, node.children[part], route, i, depth + 6)
        return
    if node.leaf is not None:
        _pd_leaf(pd, node.leaf, *at, depth)


def _pd_leaf(pd: _Pd, address: Address, src: int, outlet: int, depth: int) -> None:
    names = _send_names(address)
    if address.rest:
        split = pd.obj(f"list split {len(address.values)}", depth)
        pd.connect(src, outlet, split)
        rest = pd.obj("s " + _pd_atom(_names(address)[-1]), depth + 1)
        pd.connect(split, 1, rest)
        src, outlet, depth = split, 0, depth + 1
    types = " ".join("s" if v.type == "s" else "f" for v in address.values)
    unpack = pd.obj(f"unpack {types}", depth)
    pd.connect(src, outlet, unpack)
    for i, name in enumerate(names):
        send = pd.obj("s " + _pd_atom(name), depth + 1 + i % 3)
        pd.connect(unpack, i, send)
    pd.column += 1


def pd_patch(options: Options, port: int, zones=(), floor: bool = False) -> str:
    """A Pure Data patch receiving ``options``' layout on UDP ``port`` (and the floor and
    ``zones``' messages: :func:`~posestage_osc.namespace.addresses`)."""
    pd = _Pd()
    all_addresses = addresses(options, zones=zones, floor=floor)
    first = _names(all_addresses[-1])[0]
    pd.text(
        f"posestage OSC receiver: layout {options.layout} on UDP port {port}. Every value goes "
        f"to a named receiver such as [r {_pd_atom(first)}] - made by posestage osc patch from "
        "the layout description"
    )
    receive = pd.obj(f"netreceive -u -b {port}", 0)
    parse = pd.obj("oscparse", 1)
    trim = pd.obj("list trim", 2)
    pd.connect(receive, 0, parse)
    pd.connect(parse, 0, trim)
    _pd_emit(pd, _trie(all_addresses), trim, 0, 3)
    return "#N canvas 0 50 1200 800 10;\n" + "\n".join(pd.lines + pd.connects) + "\n"


# -- Max -----------------------------------------------------------------------------------------

#: Addresses per [route] in the Max patch (chained through the reject outlets).
MAX_ROUTE = 24


def max_patch(options: Options, port: int, zones=(), floor: bool = False) -> str:
    """A Max patch (``.maxpat`` JSON) receiving ``options``' layout on UDP ``port`` (and the
    floor and ``zones``' messages)."""
    boxes: list[dict] = []
    lines: list[dict] = []

    def box(text: str, x: float, y: float, inlets: int, outlets: int) -> str:
        ident = f"obj-{len(boxes) + 1}"
        boxes.append({"box": {
            "id": ident, "maxclass": "newobj", "text": text, "numinlets": inlets,
            "numoutlets": outlets, "outlettype": [""] * outlets,
            "patching_rect": [x, y, max(60.0, 7.0 * len(text)), 22.0],
        }})  # fmt: skip
        return ident

    def connect(src: str, outlet: int, dst: str, inlet: int = 0) -> None:
        lines.append({"patchline": {"source": [src, outlet], "destination": [dst, inlet]}})

    boxes.append({"box": {
        "id": "obj-comment", "maxclass": "comment", "numinlets": 1, "numoutlets": 0,
        "patching_rect": [10.0, 10.0, 700.0, 20.0],
        "text": f"posestage OSC receiver: layout {options.layout} on UDP port {port}; every "
        "value goes to a named receiver such as [r pose-0-nose-x] (posestage osc patch)",
    }})  # fmt: skip
    source, outlet = box(f"udpreceive {port}", 10, 40, 1, 1), 0
    all_addresses = addresses(options, zones=zones, floor=floor)
    column = 0
    for start in range(0, len(all_addresses), MAX_ROUTE):
        group = all_addresses[start : start + MAX_ROUTE]
        y = 80 + 160 * (start // MAX_ROUTE)
        route = box("route " + " ".join(a.path for a in group), 10, y, 2, len(group) + 1)
        connect(source, outlet, route)
        for i, address in enumerate(group):
            x = 10 + 110 * (column % 40)
            column += 1
            src, out = route, i
            names = _names(address)
            if address.rest:
                n = len(address.values)
                zl = box(f"zl slice {n}", x, y + 40, 2, 2)
                connect(route, i, zl)
                connect(zl, 1, box("s " + names[-1], x, y + 120, 1, 0))
                src, out = zl, 0
            types = " ".join({"i": "i", "s": "s"}.get(v.type, "f") for v in address.values)
            unpack = box(f"unpack {types}", x, y + 60, 1, len(address.values))
            connect(src, out, unpack)
            for j in range(len(address.values)):
                connect(unpack, j, box("s " + names[j], x + 10 * j, y + 100 + 20 * (j % 3), 1, 0))
        source, outlet = route, len(group)
    patcher = {
        "fileversion": 1,
        "appversion": {"major": 8, "minor": 5, "revision": 0, "architecture": "x64",
                       "modernui": 1},
        "classnamespace": "box",
        "rect": [50.0, 50.0, 1200.0, 800.0],
        "boxes": boxes,
        "lines": lines,
    }  # fmt: skip
    return json.dumps({"patcher": patcher}, indent=1) + "\n"
