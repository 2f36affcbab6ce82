"""The stage's OSCQuery namespace (the Vidvox proposal): :func:`build_tree`, :func:`host_info`.

The tree holds everything the stage sends and accepts, so a tool (ossia score, Chataigne,
VDMX, Max through ossia) finds every address without anyone typing it:

- what the running scene's plugins send, as they publish it (``posestage_osc_addresses``: the
  osc plugin expands its layout description with a fixed number of slots, so people coming
  and going never change the tree), read-only (``ACCESS`` 1), the last value sent as
  ``VALUE``;
- ``/posestage/scene`` (the running scene, one of the scenes given) and
  ``/posestage/plugin/<name>/<setting>`` for every setting of every active plugin, with
  ``TYPE``, ``RANGE`` (numbers, or the choices as ``VALS``), ``VALUE``, ``ACCESS`` (3 for what
  live control may change, 1 for what only the scene file may: files, hosts, ports),
  ``DESCRIPTION``, ``CLIPMODE``. Writing one is a control message, through the control port
  (``OSC_PORT`` in ``HOST_INFO``) or as binary OSC over the WebSocket, validated as a scene file
  is.

A node that is both a value and a container (the ``person`` layout's ``/pose/0`` beside
``/pose/0/present``) keeps its ``TYPE`` and ``RANGE`` but no ``VALUE`` and ``ACCESS`` 0: several
clients refuse a node with both. Pure functions: the web server calls them with what it reads
from the stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["EXTENSIONS", "Node", "build_tree", "find", "host_info", "paths", "setting_node"]

#: The attributes and commands this server supports (``HOST_INFO``'s ``EXTENSIONS``).
EXTENSIONS = {
    "ACCESS": True, "VALUE": True, "RANGE": True, "DESCRIPTION": True, "TAGS": False,
    "EXTENDED_TYPE": False, "UNIT": True, "CRITICAL": False, "CLIPMODE": True, "OVERLOADS": False,
    "LISTEN": True, "PATH_CHANGED": True, "PATH_RENAMED": False, "PATH_ADDED": False,
    "PATH_REMOVED": False, "HTML": True,
}  # fmt: skip

_TYPES = {bool: "T", int: "i", float: "f", str: "s"}


@dataclass
class Node:
    """One node while the tree is built: its attributes and its children by name."""

    path: str
    attributes: dict
    children: dict

    def json(self) -> dict:
        out = {"FULL_PATH": self.path, **self.attributes}
        if self.children:
            out["CONTENTS"] = {k: c.json() for k, c in self.children.items()}
            if "VALUE" in out:  # a container and a value: keep the description, drop the value
                out.pop("VALUE")
                out["ACCESS"] = 0
        out.setdefault("ACCESS", 0)
        return out


def _placeholder(types: str) -> list:
    return [{"i": 0, "f": 0.0, "s": "", "T": False}.get(t, 0) for t in types]


def _clip(low: Any, high: Any) -> str:
    return {(True, True): "both", (True, False): "low", (False, True): "high"}.get(
        (low is not None, high is not None), "none"
    )


def _published_attributes(item: dict, value: Sequence | None) -> dict:
    types = str(item.get("types", ""))
    attributes: dict = {"DESCRIPTION": str(item.get("description", "") or "")}
    if types:
        ranges = list(item.get("ranges") or [])
        units = list(item.get("units") or [])
        attributes.update({
            "TYPE": types, "ACCESS": 1,
            "VALUE": list(value) if value is not None and len(value) == len(types)
            else _placeholder(types),
            "RANGE": [_range(r) for r in ranges] if len(ranges) == len(types) else
            [{} for _ in types],
            "CLIPMODE": [_clip(*(r or (None, None))) for r in ranges] if len(ranges) == len(types)
            else ["none" for _ in types],
        })  # fmt: skip
        if len(units) == len(types) and any(units):
            attributes["UNIT"] = [u or "" for u in units]
    return attributes


def _range(r: Any) -> dict:
    low, high = (list(r) + [None, None])[:2] if r else (None, None)
    out = {}
    if low is not None:
        out["MIN"] = low
    if high is not None:
        out["MAX"] = high
    return out


def setting_node(setting: Any, value: Any) -> dict | None:
    """A setting's attributes; None for a setting OSC cannot carry (lists, tables)."""
    kind = _TYPES.get(setting.type)
    if kind is None:
        return None
    attributes: dict = {
        "TYPE": kind,
        "DESCRIPTION": setting.help,
        "ACCESS": 3 if setting.live else 1,
    }
    attributes["VALUE"] = [value if value is not None else _placeholder(kind)[0]]
    if setting.choices:
        attributes["RANGE"] = [{"VALS": list(setting.choices)}]
        attributes["CLIPMODE"] = ["none"]
    elif kind in ("i", "f"):
        attributes["RANGE"] = [_range((setting.min, setting.max))]
        attributes["CLIPMODE"] = [_clip(setting.min, setting.max)]
    return attributes


def _add(root: Node, path: str, attributes: dict) -> None:
    node = root
    parts = [p for p in path.split("/") if p]
    for i, part in enumerate(parts):
        child = node.children.get(part)
        if child is None:
            child = node.children[part] = Node("/" + "/".join(parts[: i + 1]), {}, {})
        node = child
    node.attributes.update(attributes)


def build_tree(
    published: Iterable[dict],
    settings: Iterable[tuple[str, Sequence[Any], dict]],
    scenes: Sequence[str],
    scene: str,
    values: dict | None = None,
) -> dict:
    """The whole namespace as OSCQuery JSON: ``published`` addresses (``values``: the last
    arguments sent to each, by address), ``settings`` as (plugin, declarations, current values),
    the ``scenes`` with the running ``scene``."""
    root = Node("/", {"DESCRIPTION": "posestage"}, {})
    values = values or {}
    for item in published:
        address = str(item.get("address", ""))
        if address.startswith("/") and address != "/":
            _add(root, address, _published_attributes(item, values.get(address)))
    _add(root, "/posestage/scene", {
        "TYPE": "s", "ACCESS": 3, "VALUE": [scene], "RANGE": [{"VALS": list(scenes)}],
        "CLIPMODE": ["none"], "DESCRIPTION": "the running scene: send a name or a number to switch",
    })  # fmt: skip
    for plugin, declared, current in settings:
        for setting in declared:
            attributes = setting_node(setting, current.get(setting.name))
            if attributes is not None:
                _add(root, f"/posestage/plugin/{plugin}/{setting.name}", attributes)
    return root.json()


def find(tree: dict, path: str) -> dict | None:
    """The node at ``path`` (``/`` is the root), or None."""
    node = tree
    for part in (p for p in path.split("/") if p):
        node = (node.get("CONTENTS") or {}).get(part)
        if node is None:
            return None
    return node


def paths(tree: dict) -> set[str]:
    """Every path in the tree (to tell whether a scene switch changed it)."""
    out = {tree["FULL_PATH"]}
    for child in (tree.get("CONTENTS") or {}).values():
        out |= paths(child)
    return out


def host_info(name: str, osc: tuple[str, int] | None, web: tuple[str, int]) -> dict:
    """``HOST_INFO``: the server's name, extensions, where OSC goes (the control port; none:
    only over the WebSocket) and the WebSocket."""
    info: dict = {"NAME": name, "EXTENSIONS": dict(EXTENSIONS)}
    if osc is not None:
        info.update({"OSC_IP": osc[0], "OSC_PORT": osc[1], "OSC_TRANSPORT": "UDP"})
    else:
        info.update({"OSC_IP": web[0], "OSC_PORT": web[1], "OSC_TRANSPORT": "TCP"})
    info.update({"WS_IP": web[0], "WS_PORT": web[1]})
    return info
