"""posestage plugin ``control``: gone — the control port is the stage's now.

Control in (OSC that switches scenes and changes plugins live) is no longer a scene's plugin:
the stage opens it for the whole run with ``[stage] control = "9001"`` or ``posestage run
--control 9001`` (see docs/osc.md, "Control in"). A scene that still has ``[plugins.control]``
loads; the plugin opens nothing and says, in one line, what to use instead.
"""

from __future__ import annotations

from typing import Any

from posestage import PluginError, Setting, hookimpl

#: One line: what to use instead.
MOVED = (
    "control: [plugins.control] is gone and opens no port; the control port is the stage's: "
    'put control = "127.0.0.1:9001" under [stage] (or posestage run --control 9001)'
)

SETTINGS = [
    Setting(
        "listen", str, None, "deprecated, opens nothing: use [stage] control (docs/osc.md)",
        live=False,
    ),
]  # fmt: skip


class Control:
    """The deprecated ``control`` plugin: refuses to configure, with the one line."""

    @hookimpl
    def posestage_settings(self) -> list[Setting]:
        return list(SETTINGS)

    @hookimpl
    def posestage_configure(self, stage: Any, settings: Any) -> None:
        raise PluginError(MOVED)


#: The object the ``posestage`` entry point names.
plugin = Control()
