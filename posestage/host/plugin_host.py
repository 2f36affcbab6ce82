"""The plugin host: a registry, the activation of scenes and the dispatcher, composed.

The stage (and tests) hold one :class:`PluginHost`::

    host = PluginHost.load(enable=["my_dev_plugin"], disable=["recorder"], safe=False)
    problems = host.activate(scene.plugins, stage)   # activation: configure in scene order
    host.person_enter(person, frame); host.person_leave(person, frame); host.frame(frame)
    host.draw(canvas, frame); host.event(event)      # dispatch: posted to each plugin's lane
    host.deactivate_all(stage)                       # every configured plugin unconfigured
    host.sources()                                   # registry: {scheme: opener}

Each job lives in its own module — :mod:`~posestage.host.registry` (which plugins, what they
implement and declare), :mod:`~posestage.host.activation` (scenes, lifecycle hooks, the
privacy latch) and :mod:`~posestage.host.dispatch` (every hook call, on each plugin's own lane;
layers, failures and budgets). The host builds the three and wires them: the
registry reports to the dispatcher's error lines, activation tells the dispatcher who is in
dispatch, the dispatcher tells activation whom it switched off. Its methods hand each call to
the part that does it, under a banner naming that part; reach a part directly
(``host.registry``, ``host.activation``, ``host.dispatcher``) for anything else.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from posestage.config.scenes import PluginUse
from posestage.config.schema import Values
from posestage.host.activation import Activation
from posestage.host.dispatch import DEFAULT_MAX_FAILURES, Dispatcher
from posestage.host.registry import PluginInfo, Registry

__all__ = ["PluginHost"]


class PluginHost:
    """Loads plugins, activates them per scene, and has the dispatcher call their hooks.

    Create with :meth:`load` (entry points) or construct empty and :meth:`register` objects
    (tests, embedding). ``clock`` (seconds, monotonic) times the hooks against their budgets;
    tests inject one.
    """

    def __init__(
        self,
        *,
        max_failures: int = DEFAULT_MAX_FAILURES,
        clock: Callable[[], float] = time.perf_counter,
        budgets: dict[str, float] | None = None,
    ):
        self.dispatcher = Dispatcher(max_failures=max_failures, clock=clock, budgets=budgets)
        self.registry = Registry(report=self.dispatcher.error)
        self.activation = Activation(self.registry, self.dispatcher)
        self.dispatcher.on_switch_off = self.activation.switched_off

    @classmethod
    def load(
        cls,
        enable: Iterable[str] = (),
        disable: Iterable[str] = (),
        safe: bool = False,
        *,
        entry_points: bool = True,
        max_failures: int = DEFAULT_MAX_FAILURES,
    ) -> PluginHost:
        """A host with the installed plugins and the ``-p`` ones (:meth:`Registry.discover
        <posestage.host.registry.Registry.discover>`)."""
        host = cls(max_failures=max_failures)
        host.registry.discover(enable, disable, safe, entry_points=entry_points)
        return host

    @property
    def max_failures(self) -> int:
        return self.dispatcher.max_failures

    @max_failures.setter
    def max_failures(self, value: int) -> None:
        self.dispatcher.max_failures = value

    # ------------------------------------------------------------------ the registry's

    @property
    def plugins(self) -> dict[str, PluginInfo]:
        return self.registry.plugins

    @property
    def disabled(self) -> set[str]:
        return self.registry.disabled

    @property
    def extra(self) -> list[str]:
        return self.registry.extra

    def register(
        self,
        plugin: object,
        name: str | None = None,
        *,
        version: str = "",
        distribution: str = "",
        builtin: bool = False,
        origin: str = "registered",
    ) -> PluginInfo:
        return self.registry.register(
            plugin,
            name,
            version=version,
            distribution=distribution,
            builtin=builtin,
            origin=origin,
        )

    def unregister(self, name: str) -> None:
        self.registry.unregister(name)

    def hook_names(self) -> list[str]:
        return self.registry.hook_names()

    def sources(self) -> dict[str, Any]:
        return self.registry.sources()

    def add_commands(self, subparsers: Any) -> None:
        self.registry.add_commands(subparsers)

    # ------------------------------------------------------------------ activation's

    def check(self, uses: Sequence[PluginUse]) -> list[PluginUse]:
        return self.activation.check(uses)

    def activate(
        self, uses: Sequence[PluginUse], stage: Any, *, scene_change: tuple[str, str] | None = None
    ) -> list[str]:
        return self.activation.activate(uses, stage, scene_change=scene_change)

    def enable(self, use: PluginUse, stage: Any) -> str:
        return self.activation.enable(use, stage)

    def deactivate(self, name: str, stage: Any) -> bool:
        return self.activation.deactivate(name, stage)

    def deactivate_all(self, stage: Any, *, timeout: float | None = None) -> None:
        self.activation.deactivate_all(stage, timeout=timeout)

    def update_settings(
        self, name: str, changes: dict, stage: Any, where: str = "control", *, coerce: bool = True
    ) -> Values:
        return self.activation.update_settings(name, changes, stage, where, coerce=coerce)

    def settings_of(self, name: str) -> Values | None:
        return self.activation.settings_of(name)

    @property
    def active(self) -> list[str]:
        return self.activation.active

    @property
    def privacy(self) -> bool:
        return self.activation.privacy

    @property
    def privacy_requested(self) -> bool:
        return self.activation.privacy_requested

    @property
    def privacy_asking(self) -> frozenset[str]:
        return self.activation.privacy_asking

    @property
    def room_wanted(self) -> bool:
        return self.activation.room_wanted

    @property
    def run_later(self) -> Callable[[Callable[[], None]], Any] | None:
        return self.activation.run_later

    @run_later.setter
    def run_later(self, value: Callable[[Callable[[], None]], Any] | None) -> None:
        self.activation.run_later = value

    # ------------------------------------------------------------------ the dispatcher's

    def person_leave(self, person: Any, frame: Any) -> None:
        self.dispatcher.person_leave(person, frame)

    def person_enter(self, person: Any, frame: Any) -> None:
        self.dispatcher.person_enter(person, frame)

    def frame(self, frame: Any) -> None:
        self.dispatcher.frame(frame)

    def draw(self, canvas: Any, frame: Any, *, within: float = 0.0) -> bool:
        return self.dispatcher.draw(canvas, frame, within=within)

    def event(self, event: Any) -> bool:
        return self.dispatcher.event(event)

    def watch(self) -> None:
        self.dispatcher.watch()

    def drain(self, timeout: float) -> bool:
        return self.dispatcher.drain(timeout)

    def missed(self) -> dict[str, int]:
        return self.dispatcher.missed()

    @property
    def errors(self) -> list[str]:
        return self.dispatcher.errors

    def take_errors(self) -> list[str]:
        return self.dispatcher.take_errors()

    @property
    def slow(self) -> list[str]:
        return self.dispatcher.slow

    def take_slow(self) -> list[str]:
        return self.dispatcher.take_slow()

    def running_late(self) -> dict[str, str]:
        return self.dispatcher.running_late()

    @property
    def timings(self) -> dict[str, dict[str, float]]:
        return self.dispatcher.timings.means()

    def timing_summary(self) -> dict[str, dict[str, float]]:
        summary = self.dispatcher.timings.summary()
        for name, missed in self.dispatcher.missed().items():
            if name in summary:
                summary[name]["missed"] = missed
        return summary

    def profile_lines(self) -> list[str]:
        return self.dispatcher.timings.profile_lines()
