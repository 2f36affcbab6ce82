"""Plugins: discovery and loading (:mod:`.loading`), the host that activates them per scene
(:mod:`.host`), and the dispatcher that calls their hooks (:mod:`.dispatch`).

Everything a caller needs is importable from here: ``from posestage.host import
PluginHost, PluginUse``.
"""

from __future__ import annotations

from posestage.host.dispatch import DEFAULT_MAX_FAILURES, Dispatcher
from posestage.host.loading import (
    BUILTIN_DISTRIBUTIONS,
    ENTRY_POINT_GROUP,
    import_plugin,
    plugin_name,
)
from posestage.host.registry import PluginHost, PluginInfo, PluginUse, add_plugin_commands
from posestage.host.timings import HOOK_BUDGET_MS, HookTiming

__all__ = [
    "BUILTIN_DISTRIBUTIONS",
    "DEFAULT_MAX_FAILURES",
    "ENTRY_POINT_GROUP",
    "HOOK_BUDGET_MS",
    "Dispatcher",
    "HookTiming",
    "PluginHost",
    "PluginInfo",
    "PluginUse",
    "add_plugin_commands",
    "import_plugin",
    "plugin_name",
]
