"""A plugin in a real plugin host, driven hook by hook in the order a test chooses.

For what a whole run cannot pin down: the exact MIDI messages across a scene switch, a failure
counted until the plugin is switched off, what a plugin keeps when its settings change::

    from posestage.testing import hosted, frame, person

    def test_a_switch_keeps_the_port():
        with hosted({"midi": Midi()}) as host:
            assert host.scene('[plugins.midi]\\nvirtual_name = "x"\\n', "one") == []
            host.frame(frame(0, [person(1, 0)]))
            assert host.scene('[plugins.midi]\\nvirtual_name = "x"\\nchannel = 2\\n', "two") == []
            assert host.active == ["midi"] and host.errors == []

Scenes are validated as the stage validates them (a bad one raises its one-line
:class:`~posestage.SceneError`), activated as the stage activates them (kept plugins get
``posestage_scene_changed``, changed settings are offered through
``posestage_settings_changed``), and every hook goes through the real dispatcher: failures are
counted and switched off, errors collected. Each call returns once the plugin has run the hook
on its lane (a host outside a running stage waits for every call).
Leaving the ``with`` block unconfigures every plugin, as the stage's shutdown does.
"""

from __future__ import annotations

from typing import Any

from posestage.config.scenes import parse_scene
from posestage.host import PluginHost
from posestage.testing.factories import context

__all__ = ["HostedPlugins", "hosted"]


class HostedPlugins:
    """Plugins registered with a real :class:`~posestage.host.PluginHost` (the installed ones
    too with ``installed``), activated by :meth:`scene`, their hooks called one by one."""

    def __init__(self, plugins: dict[str, Any], *, installed: bool = False):
        self.host = PluginHost.load() if installed else PluginHost()
        for name, plugin in plugins.items():
            if name in self.host.plugins:
                self.host.unregister(name)  # the plugin under test wins over the installed one
            self.host.register(plugin, name, origin="-p")
        self.scene_name: str | None = None
        self.stage = context(scene="")

    def scene(self, text: str, name: str = "scene", **facts: Any) -> list[str]:
        """Make the scene in ``text`` (TOML) the running one, named ``name``; the problems the
        host reported (one line each; [] when every plugin runs). ``facts`` set the stage
        context the plugins are handed (``width``, ``privacy``…)."""
        uses = parse_scene(text, None, self.host).plugins
        previous, self.scene_name = self.scene_name, name
        self.stage = context(scene=name, **facts)
        change = (previous, name) if previous is not None else None
        return self.host.activate(uses, self.stage, scene_change=change)

    def frame(self, frame: Any) -> None:
        """``posestage_frame(frame)``, as the pose thread calls it."""
        self.host.frame(frame)

    def enter(self, person: Any, frame: Any) -> None:
        """``posestage_person_enter(person, frame)``."""
        self.host.person_enter(person, frame)

    def leave(self, person: Any, frame: Any) -> None:
        """``posestage_person_leave(person, frame)``."""
        self.host.person_leave(person, frame)

    def draw(self, canvas: Any, frame: Any) -> bool:
        """``posestage_draw(canvas, frame)``: each plugin draws its own layer, composited on
        ``canvas`` in scene order; True when a plugin asked to be drawn again."""
        return self.host.draw(canvas, frame)

    def event(self, event: Any) -> bool:
        """``posestage_event(event)``; True when a plugin consumed it."""
        return self.host.event(event)

    @property
    def active(self) -> list[str]:
        """The plugins configured now, scene order (a plugin switched off is not)."""
        return self.host.active

    @property
    def errors(self) -> list[str]:
        """Every error line the host reported (failures, refused settings), oldest first."""
        return self.host.errors

    def close(self) -> None:
        """Unconfigure every plugin, as the stage's shutdown does."""
        self.host.deactivate_all(self.stage)

    def __enter__(self) -> HostedPlugins:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def hosted(plugins: dict[str, Any], *, installed: bool = False) -> HostedPlugins:
    """``plugins`` (name → plugin object) in a real plugin host: see :class:`HostedPlugins`."""
    return HostedPlugins(plugins, installed=installed)
