"""``posestage run --osc HOST:PORT[,layout=NAME]``: OSC targets added to every scene; and the
web server's tap (:func:`tapped`): a twin of every target sending to the server, for OSCQuery.

An operator points OSC at another computer or port without editing a scene file (a copy of a
scene elsewhere would break its relative replay path). Each ``--osc`` is one more receiver of
the ``osc`` plugin in every scene, kept across scene switches and reloads of an edited scene:

- a scene with ``[plugins.osc]`` keeps its own targets and sends to these too; a ``--osc``
  target inherits the scene's unset keys as a ``[[plugins.osc.targets]]`` table does (its
  layout, ``y_up``, ``min_score``…);
- a scene without it (``demo``, ``synth``, ``daw-midi``) gets the ``osc`` plugin, last, with
  only these targets.

After the address, ``,key=value`` pairs are the keys of a ``[[plugins.osc.targets]]`` table
(``layout=values``, ``y_up=true``, ``health=true``), validated as a scene file's are: a bad one
is one line naming ``--osc``.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from typing import Any

from posestage.config.scenes import PluginCheck, PluginUse, Scene
from posestage.errors import PosestageError, SceneError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["OSC_PLUGIN", "osc_target", "preparer", "tapped", "with_osc_targets"]

#: The plugin ``--osc`` targets belong to.
OSC_PLUGIN = "osc"


def osc_target(text: str) -> dict:
    """``"HOST:PORT,layout=values,y_up=true"`` → the raw table ``{"target": "HOST:PORT",
    "layout": "values", "y_up": True}`` (values read as TOML scalars, else text); a
    ``ValueError`` in words for anything else."""
    parts = [p.strip() for p in str(text).split(",")]
    if not parts[0] or "=" in parts[0]:
        raise ValueError(f"expected HOST:PORT[,layout=NAME], got {text!r}")
    table: dict = {"target": parts[0]}
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key or key in table:
            raise ValueError(f"expected key=value after HOST:PORT (layout=values), got {part!r}")
        try:
            table[key] = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            table[key] = value.strip()
    return table


def with_osc_targets(scene: Scene, tables: Sequence[dict], host: PluginCheck) -> Scene:
    """``scene`` with the ``--osc`` ``tables`` added to its ``osc`` plugin (or the plugin added
    with only them); the scene itself when there are none. A table the plugin refuses is a
    :class:`PosestageError` naming ``--osc``."""
    if not tables:
        return scene
    extra = PluginUse(OSC_PLUGIN, {"targets": [dict(t) for t in tables]}, where="--osc")
    try:
        (checked,) = host.check([extra])
    except SceneError as err:
        raise PosestageError(f"{err}; install the osc plugin (pip install ./plugins/osc)") from None
    if not checked.validated:  # installed but not loaded (--safe, --disable osc): as given
        return scene
    added = list(checked.settings["targets"])
    uses = []
    for use in scene.plugins:
        if use.name == OSC_PLUGIN and use.validated:
            settings = dict(use.settings)
            settings["targets"] = [*(settings.get("targets") or [{}]), *added]
            use = dataclasses.replace(use, settings=settings)
            added = []
        uses.append(use)
    if added:
        uses.append(checked)
    return dataclasses.replace(scene, plugins=uses)


#: Keys of a target table that say where it sends, not what: a tap's twin leaves them out.
_WHERE = ("target", "broadcast", "ttl")


def tapped(scene: Scene, port: int) -> Scene:
    """``scene`` with, for every distinct target of its ``osc`` plugin, a twin sending the same
    (layout, options) to ``127.0.0.1:port`` — the web server's tap."""
    uses = []
    for use in scene.plugins:
        if use.name == OSC_PLUGIN and use.validated:
            tables = list(use.settings.get("targets") or [{}])
            twins: dict = {}
            for table in tables:
                what = {k: v for k, v in dict(table).items() if k not in _WHERE and v is not None}
                twins.setdefault(repr(sorted(what.items())), what)
            extra = [{**w, "target": f"127.0.0.1:{port}"} for w in twins.values()]
            settings = dict(use.settings)
            settings["targets"] = [*tables, *extra]
            use = dataclasses.replace(use, settings=settings)
        uses.append(use)
    return dataclasses.replace(scene, plugins=uses)


def preparer(tables: Sequence[dict], host: PluginCheck, tap: int | None) -> Any:
    """What every scene goes through when loaded or reloaded: the ``--osc`` targets, then the
    tap's twins (``tap``: the web server's port, None without one)."""

    def prepare(scene: Scene) -> Scene:
        scene = with_osc_targets(scene, tables, host)
        return tapped(scene, tap) if tap is not None else scene

    return prepare
