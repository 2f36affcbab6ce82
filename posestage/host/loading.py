"""Plugin discovery and loading: entry points, ``-p`` modules, plugin names.

Every entry point in the group :data:`ENTRY_POINT_GROUP` is a plugin: its name is the entry
point's name, its value a module or object with ``@hookimpl`` functions. Built-in plugins in
this repository's ``plugins/`` folder are separate distributions found exactly the same way;
``--safe`` loads only those listed in :data:`BUILTIN_DISTRIBUTIONS`. ``-p MODULE`` (a dotted
module name, ``module:attribute`` or a ``.py`` path) adds one for development.

Nothing here calls a hook: :class:`~posestage.host.registry.Registry` registers what is found
here, and :class:`~posestage.host.dispatch.Dispatcher` calls it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
from pathlib import Path
from typing import Any

from posestage.errors import PluginError, describe_error

#: Entry-point group plugins are registered under.
ENTRY_POINT_GROUP = "posestage"
#: Distributions shipped in this repository's ``plugins/`` folder: the only ones ``--safe``
#: loads. A new built-in plugin adds its distribution name here (and nothing else).
BUILTIN_DISTRIBUTIONS = frozenset(
    {
        "posestage-skeleton",
        "posestage-recorder",
        "posestage-osc",
        "posestage-midi",
        "posestage-synth",
        "posestage-anonymizer",
        "posestage-footfall",
        "posestage-mqtt",
        "posestage-psn",
        "posestage-counts",
    }
)


def entry_points() -> list[importlib.metadata.EntryPoint]:
    """The installed plugins' entry points, each once, sorted by name."""
    return _entry_points()


def is_builtin(distribution: str) -> bool:
    """True for a distribution shipped in this repository (``--safe`` loads only these)."""
    return _canonical(distribution) in BUILTIN_DISTRIBUTIONS


def plugin_name(plugin: object) -> str:
    """A plugin's name: its ``PLUGIN_NAME``, else its module's last name part minus
    ``posestage_`` (``posestage_skeleton`` → ``skeleton``)."""
    explicit = getattr(plugin, "PLUGIN_NAME", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    module = getattr(plugin, "__name__", None) or type(plugin).__module__
    return module.rsplit(".", 1)[-1].removeprefix("posestage_")


def import_plugin(spec: str) -> Any:
    """Import a ``-p`` plugin: a dotted module name, ``module:attribute``, or a ``.py`` path.

    A module without module-level hooks but with a ``plugin`` object (the entry-point style
    ``posestage_skeleton:plugin``) gives that object.
    """
    module_spec, _, attr = (
        spec.partition(":") if ":" in spec and not Path(spec).exists() else (spec, "", "")
    )
    module = _import_module(module_spec)
    if attr:
        try:
            return getattr(module, attr)
        except AttributeError:
            raise PluginError(
                f"-p {spec}: module {module_spec!r} has no attribute {attr!r}"
            ) from None
    has_hooks = any(n.startswith("posestage_") for n in vars(module))
    if not has_hooks and getattr(module, "plugin", None) is not None:
        return module.plugin
    return module


def _import_module(spec: str) -> Any:
    path = Path(spec)
    if spec.endswith(".py") or path.is_file():
        if not path.is_file():
            raise PluginError(
                f"-p {spec}: no such file; give a .py file or an importable module name"
            )
        module_name = path.stem
        loader = importlib.util.spec_from_file_location(module_name, path)
        if loader is None or loader.loader is None:
            raise PluginError(f"-p {spec}: cannot load this file as Python")
        module = importlib.util.module_from_spec(loader)
        sys.modules[module_name] = module
        try:
            loader.loader.exec_module(module)
        except Exception as err:
            sys.modules.pop(module_name, None)
            raise PluginError(f"-p {spec}: importing it failed: {describe_error(err)}") from None
        return module
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as err:
        raise PluginError(
            f"-p {spec}: no module named {err.name!r}; give a module importable from here or a path to a .py file"
        ) from None
    except Exception as err:
        raise PluginError(f"-p {spec}: importing it failed: {describe_error(err)}") from None


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    eps = importlib.metadata.entry_points()
    found = (
        eps.select(group=ENTRY_POINT_GROUP)
        if hasattr(eps, "select")
        else eps.get(ENTRY_POINT_GROUP, [])
    )
    seen, out = set(), []
    for ep in found:
        if (ep.name, ep.value) not in seen:
            seen.add((ep.name, ep.value))
            out.append(ep)
    return sorted(out, key=lambda ep: ep.name)


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")
