"""The plugin host, along the way a plugin goes: found (:mod:`.loading`, :mod:`.plugindir`),
checked (:mod:`.checks`) and registered (:mod:`.registry`); configured per scene
(:mod:`.activation`); its hooks called (:mod:`.dispatch`, timed by :mod:`.timings`, traced by
:mod:`.trace`). :class:`PluginHost` (:mod:`.plugin_host`) composes the three parts.

Everything a caller needs is importable from here: ``from posestage.host import
PluginHost, PluginUse``. Modules of this package import each other, never this file.
"""

from __future__ import annotations

from posestage.config.scenes import PluginUse
from posestage.host.activation import Activation
from posestage.host.dispatch import DEFAULT_MAX_FAILURES, Dispatcher
from posestage.host.loading import (
    BUILTIN_DISTRIBUTIONS,
    ENTRY_POINT_GROUP,
    import_plugin,
    plugin_name,
)
from posestage.host.plugin_host import PluginHost
from posestage.host.registry import PluginInfo, Registry, add_plugin_commands
from posestage.host.timings import HOOK_BUDGET_MS, HookTiming

__all__ = [
    "BUILTIN_DISTRIBUTIONS",
    "Activation",
    "DEFAULT_MAX_FAILURES",
    "ENTRY_POINT_GROUP",
    "HOOK_BUDGET_MS",
    "Dispatcher",
    "HookTiming",
    "PluginHost",
    "PluginInfo",
    "PluginUse",
    "Registry",
    "add_plugin_commands",
    "import_plugin",
    "plugin_name",
]
