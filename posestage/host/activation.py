"""Scene activation: which plugins are configured, in which order, with which settings.

The stage uses (threads as documented in :mod:`posestage.hookspecs`)::

    problems = activation.activate(scene.plugins, stage)  # validate, configure in scene order,
                                                          # unconfigure the ones dropped/changed
    activation.enable(use, stage); activation.deactivate(name, stage)  # one plugin alone
    activation.update_settings(name, {"gain": 0.5}, stage)  # live, validated as a scene
    activation.deactivate_all(stage)                      # every plugin unconfigured
    activation.active                                     # configured names, scene order

Every lifecycle hook (``posestage_configure``, ``posestage_privacy``,
``posestage_settings_changed``, ``posestage_scene_changed``, ``posestage_unconfigure``) is
called here, through :meth:`Dispatcher.lifecycle <posestage.host.dispatch.Dispatcher.lifecycle>`
(the dispatcher owns the plugin's lock, or whatever serialises its calls). What activation
tells the dispatcher is only *who* is in dispatch (:meth:`~posestage.host.dispatch.Dispatcher
.set_plugins`, scene order): a plugin joins dispatch when its configure returned, and leaves it
before its unconfigure is called. Activation's own state
(who is configured, in which order) has a lock of its own that is never held while plugin code
runs.

Privacy asked by a plugin (``posestage_privacy()`` True, or ``"room"``) fails closed:
:attr:`Activation.privacy` goes on when a plugin asks, and stays on — whatever happens to that
plugin (fails, is disabled, is reconfigured live) — until :meth:`Activation.activate` makes a
scene running in which no plugin asks; a plugin implementing ``posestage_privacy`` whose
configure fails, or whose answer is neither None, False, True nor ``"room"``, counts as
asking. Privacy grants nothing: while it is on *no* plugin gets ``frame.image``, the one that
asked included. A healthy plugin that answered ``"room"`` asks the stage to show the empty
room under the drawings (:attr:`Activation.room_wanted`; the stage keeps the plate).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from posestage.config.scenes import PluginUse
from posestage.config.schema import Values, validate
from posestage.errors import PluginError, SceneError, describe_error, did_you_mean, one_line
from posestage.host.dispatch import FAILED, Dispatcher, real_interrupt
from posestage.host.registry import PluginInfo, Registry
from posestage.host.timings import PER_FRAME

__all__ = ["Activation"]

log = logging.getLogger("posestage.host")


class Activation:
    """Configures the plugins of the running scene (from ``registry``) and keeps the
    ``dispatcher``'s idea of who is in dispatch, in which order; latches privacy."""

    def __init__(self, registry: Registry, dispatcher: Dispatcher):
        self.registry = registry
        self.dispatcher = dispatcher
        #: how an unconfigure after a switch-off is run: ``run_later(fn)``; the stage hands it
        #: to its control thread, by default it runs at once on the failing thread
        self.run_later: Callable[[Callable[[], None]], Any] | None = None
        self._configured: dict[str, Values] = {}
        self._order: list[str] = []
        self._privacy: set[str] = set()
        self._room: set[str] = set()
        self._privacy_latched = False
        self._stage: Any = None
        self._state = threading.RLock()  # _configured / _order / dispatch tables; no plugin code

    def check(self, uses: Sequence[PluginUse]) -> list[PluginUse]:
        """Validate each use's settings against its plugin's declaration (defaults filled in).

        An unknown name raises :class:`SceneError` listing the installed plugins; plugins that
        are installed but not loaded (disabled, ``--safe``, broken) pass through unvalidated —
        :meth:`activate` reports them.
        """
        out = []
        for use in uses:
            info = self.registry.plugins.get(use.name)
            if info is None:
                if use.name in self.registry.disabled:
                    out.append(use)
                    continue
                known = ", ".join(sorted(self.registry.plugins)) or "(none installed)"
                hint = did_you_mean(use.name, list(self.registry.plugins))
                raise SceneError(f"{use.location}: unknown plugin{hint}; installed: {known}")
            if not info.loaded or use.validated:
                out.append(use)
                continue
            settings = validate(use.settings, info.settings, use.location)
            out.append(replace(use, settings=settings, validated=True))
        return out

    def activate(
        self, uses: Sequence[PluginUse], stage: Any, *, scene_change: tuple[str, str] | None = None
    ) -> list[str]:
        """Make ``uses`` the running scene's plugins, in that order.

        Validates first (a :class:`SceneError` changes nothing). Plugins dropped leave
        dispatch and are unconfigured (reverse order). Plugins in both scenes with other
        settings are offered them through ``posestage_settings_changed``; those that decline
        (or lack the hook) are unconfigured too. New and declining ones are configured in scene
        order, each joining dispatch as soon as its configure returned. Unchanged ones and
        those that applied their new settings stay configured (ports stay open across a scene
        switch) and, with ``scene_change=(old, new)``, are told so through
        ``posestage_scene_changed``. ``-p`` plugins the scene does not mention are added with
        defaults. Returns the problems (one line each, also in :attr:`errors`): plugins that
        could not be activated — the rest of the scene runs anyway.
        """
        uses = self.check(uses)
        named = {u.name for u in uses}
        for extra in self.registry.extra:
            if extra not in named and extra in self.registry.plugins:
                info = self.registry.plugins[extra]
                uses.append(
                    PluginUse(
                        extra,
                        validate({}, info.settings, f"-p {extra}"),
                        f"-p {extra}",
                        validated=True,
                    )
                )
        problems: list[str] = []
        self._stage = stage
        with self._state:
            wanted = {u.name: u for u in uses}
            keep = {
                n: s for n, s in self._configured.items() if n in wanted and wanted[n].settings == s
            }
            # in both scenes with other settings: offered them live first (ports stay open)
            retune = {n: s for n, s in self._configured.items() if n in wanted and n not in keep}
            dropped = [n for n in self._configured if n not in keep and n not in retune]
            self._configured = {n: s for n, s in self._configured.items() if n not in dropped}
            self._order = [u.name for u in uses]
            self._sync()
        for name in reversed(dropped):
            self._unconfigure(name, stage)
        for name, current in retune.items():
            new = wanted[name].settings
            if self._retune(name, current, new, stage):
                keep[name] = new
                continue
            with self._state:
                self._configured.pop(name, None)
                self._sync()
            self._unconfigure(name, stage)
        privacy_failed = False
        for use in uses:
            if use.name in keep:
                continue
            info = self.registry.plugins.get(use.name)
            if info is None or not info.loaded:
                why = info.error if info is not None else "disabled (--disable)"
                problems.append(f"{use.location}: {why}; skipped")
                continue
            problem = self._configure(info, use.settings, stage, use.location)
            if problem:
                problems.append(problem)
                privacy_failed = privacy_failed or "posestage_privacy" in info.impls
            else:
                self._join(use.name, use.settings)
        if scene_change is not None:
            old, new = scene_change
            for name in keep:
                if name in self._configured:
                    self._scene_changed(name, stage, old, new)
        with self._state:
            # the scene now running decides: privacy stays on only if one of its plugins asks
            self._privacy_latched = bool(self._privacy) or privacy_failed
        for line in problems:
            if "disabled (--disable)" in line:
                log.info("%s", line)
            else:
                log.warning("%s", line)  # also headless: the performer reads it on stderr
                self.dispatcher.error(line)
        return problems

    def enable(self, use: PluginUse, stage: Any) -> str:
        """Switch one plugin on (configured, joins dispatch) without touching the others.
        Returns the problem line, or "" when it runs (or already ran)."""
        (use,) = self.check([use])
        if use.name in self._configured:
            return ""
        info = self.registry.plugins.get(use.name)
        if info is None or not info.loaded:
            why = info.error if info is not None else "disabled (--disable)"
            problem = f"{use.location}: {why}; not enabled"
            self.dispatcher.error(problem)
            return problem
        self._stage = stage
        with self._state:
            if use.name not in self._order:
                self._order.append(use.name)
        problem = self._configure(info, use.settings, stage, use.location)
        if problem:
            if "posestage_privacy" in info.impls:
                with self._state:
                    self._privacy_latched = True
            self.dispatcher.error(problem)
            return problem
        self._join(use.name, use.settings)
        return ""

    def deactivate(self, name: str, stage: Any) -> bool:
        """Switch one plugin off in the running scene (out of dispatch, then unconfigured).
        False when it was not active."""
        with self._state:
            if name not in self._configured:
                return False
            del self._configured[name]
            self._sync()
        self._unconfigure(name, stage)
        return True

    def deactivate_all(self, stage: Any, *, timeout: float | None = None) -> None:
        """Unconfigure every configured plugin (shutdown, before a new stage), each on its own
        lane at the same time, waited for together: ``timeout`` seconds (default: the
        unconfigure deadline); a plugin stuck that long is left behind (reported)."""
        with self._state:
            names = list(self._configured)
            self._configured = {}
            self._privacy.clear()
            self._room.clear()
            self._sync()
        # each on its own lane, all at once: a stuck plugin holds up nobody's unconfigure
        calls = []
        for name in reversed(names):
            info = self.registry.plugins.get(name)
            impl = info.impls.get("posestage_unconfigure") if info else None
            if impl is not None:
                hook = "posestage_unconfigure"
                calls.append((name, hook, impl.function, impl.argnames, {"stage": stage}))
        if not calls:
            return
        results = self.dispatcher.lifecycles(calls, timeout)
        for (name, hook, *_), got in zip(calls, results):
            if isinstance(got, BaseException):
                if isinstance(got, KeyboardInterrupt) and real_interrupt():
                    raise got
                self.dispatcher.report(name, hook, got)

    def update_settings(
        self, name: str, changes: dict, stage: Any, where: str = "control", *, coerce: bool = True
    ) -> Values:
        """Change some settings of an active plugin live (the control port, ``stage.post()``).

        Validated as a scene (``live``: settings that name a file, folder, host or address are
        refused): a refused value raises and changes nothing. The plugin's
        ``posestage_settings_changed`` applies them if it returns True; otherwise the plugin
        leaves dispatch, is unconfigured and configured with the new settings — and when that
        configure refuses them, configured again with its old ones (it keeps running as it
        was; the :class:`PluginError` names what was refused). Returns the plugin's new
        settings. Privacy asked by it stays on (see the module docstring).
        """
        with self._state:
            if not isinstance(name, str) or name not in self._configured:
                active = ", ".join(self.active) or "none"
                raise PluginError(f"{where}: plugin {name!r} is not active; active: {active}")
            info = self.registry.plugins[name]
            current = self._configured[name]
        given = validate(
            changes, info.settings, f"{where}: plugins.{name}", partial=True, coerce=coerce,
            live=True,
        )  # fmt: skip
        new = Values({**current, **given})
        if new == current:
            return current
        if self._retune(name, current, new, stage):
            return new
        with self._state:
            self._configured.pop(name, None)
            self._sync()
        self._unconfigure(name, stage)
        problem = self._configure(info, new, stage, f"{where}: plugins.{name}")
        if not problem:
            self._join(name, new)
            return new
        # the new settings refused: the old ones come back (the show goes on as it was)
        again = self._configure(info, current, stage, f"{where}: plugins.{name}")
        if again:
            self.dispatcher.error(again)
        else:
            self._join(name, current)
        raise PluginError(
            f"{problem}; {name} keeps its previous settings" if not again else problem
        )

    # ------------------------------------------------------------------ what runs

    @property
    def active(self) -> list[str]:
        """Names of the configured plugins, in scene order."""
        with self._state:
            return [n for n in self._order if n in self._configured]

    def settings_of(self, name: str) -> Values | None:
        """The settings an active plugin was configured with."""
        return self._configured.get(name)

    @property
    def privacy_requested(self) -> bool:
        """True while an active, healthy plugin's ``posestage_privacy()`` returned True."""
        return bool(self._privacy)

    @property
    def privacy(self) -> bool:
        """Privacy mode asked by plugins: on since a plugin asked (or one that could ask
        failed), until a scene in which none asks is activated. Fails closed."""
        return self._privacy_latched

    @property
    def privacy_asking(self) -> frozenset[str]:
        """The active, healthy plugins whose ``posestage_privacy()`` asked."""
        return frozenset(self._privacy)

    @property
    def room_wanted(self) -> bool:
        """True while an active, healthy plugin's ``posestage_privacy()`` answered ``"room"``."""
        return bool(self._room)

    # ------------------------------------------------------------------ lifecycle calls

    def _lifecycle(
        self, name: str, hook: str, impl: Any, args: dict, timeout: float | None = None
    ) -> Any:
        """A lifecycle hook under the plugin's lock; its failure is reported, FAILED returned."""
        try:
            return self.dispatcher.lifecycle(
                name, hook, impl.function, impl.argnames, args, timeout
            )
        except BaseException as err:  # noqa: BLE001 - the plugin's failure, not the show's
            if isinstance(err, KeyboardInterrupt) and real_interrupt():
                raise
            self.dispatcher.report(name, hook, err)
            return FAILED

    def _configure(self, info: PluginInfo, settings: Values, stage: Any, where: str) -> str:
        impl = info.impls.get("posestage_configure")
        if impl is not None:
            args = {"stage": stage, "settings": settings}
            try:
                self.dispatcher.lifecycle(
                    info.name, "posestage_configure", impl.function, impl.argnames, args
                )
            except BaseException as err:  # noqa: BLE001 - SystemExit & co: the plugin's failure
                self._unconfigure(info.name, stage)  # release what it opened half-way
                if isinstance(err, KeyboardInterrupt) and real_interrupt():
                    raise
                if not isinstance(err, PluginError):
                    log.error("%s: posestage_configure failed", info.name, exc_info=err)
                why = one_line(err) if isinstance(err, PluginError) else describe_error(err)
                return f"{where}: {info.name} refused its settings: {why}"
        self._ask_privacy(info)
        return ""

    def _ask_privacy(self, info: PluginInfo) -> None:
        impl = info.impls.get("posestage_privacy")
        if impl is None:
            return
        got = self._lifecycle(info.name, "posestage_privacy", impl, {})
        room = isinstance(got, str) and got == "room"
        asks = not (got is None or got is False)  # fails closed: True, "room", anything odd
        with self._state:
            for names, member in ((self._privacy, asks), (self._room, room)):
                if member:
                    names.add(info.name)
                else:
                    names.discard(info.name)
            if asks:
                self._privacy_latched = True

    def _unconfigure(self, name: str, stage: Any, timeout: float | None = None) -> None:
        with self._state:
            self._privacy.discard(name)
            self._room.discard(name)
        info = self.registry.plugins.get(name)
        impl = info.impls.get("posestage_unconfigure") if info else None
        if impl is not None:
            self._lifecycle(name, "posestage_unconfigure", impl, {"stage": stage}, timeout)

    def _retune(self, name: str, current: Values, new: Values, stage: Any) -> bool:
        """Offer a configured plugin its ``new`` settings through ``posestage_settings_changed``
        (it stays in dispatch meanwhile). True when it applied them (they are then its
        settings); False when it has no such hook, declined or failed."""
        info = self.registry.plugins[name]
        impl = info.impls.get("posestage_settings_changed")
        if impl is None:
            return False
        changed = [k for k in new if current.get(k) != new.get(k)]
        args = {"stage": stage, "settings": new, "changed": changed}
        if self._lifecycle(name, "posestage_settings_changed", impl, args) is not True:
            return False
        with self._state:
            if name in self._configured:
                self._configured[name] = new
        self._ask_privacy(info)
        return True

    def _scene_changed(self, name: str, stage: Any, old: str, new: str) -> None:
        impl = self.registry.plugins[name].impls.get("posestage_scene_changed")
        if impl is not None:
            args = {"stage": stage, "old": old, "new": new}
            self._lifecycle(name, "posestage_scene_changed", impl, args)

    def _join(self, name: str, settings: Values) -> None:
        """A configured plugin joins dispatch (from its next call on)."""
        with self._state:
            self._configured[name] = settings
            if name not in self._order:
                self._order.append(name)
            self.dispatcher.forget_failures(name)
            self._sync()

    def switched_off(self, name: str, line: str) -> None:
        """The dispatcher switched a plugin off (any thread): forget it, unconfigure it.
        The plugin host hands this to the dispatcher as its ``on_switch_off``."""
        with self._state:
            if name not in self._configured:
                return
            del self._configured[name]
            self._privacy.discard(name)
            self._room.discard(name)
            self._sync()
        stage = self._stage
        if self.dispatcher.left_behind(name):
            return  # stuck in a hook: never called again while that call runs

        def unconfigure() -> None:
            self._unconfigure(name, stage)

        if self.run_later is not None:
            self.run_later(unconfigure)
        else:
            unconfigure()

    def _sync(self) -> None:
        """The dispatcher's tables: configured plugins' per-frame hooks, scene order."""
        rows = []
        for name in self._order:
            if name in self._configured:
                impls = self.registry.plugins[name].impls
                rows.append((name, {h: i for h, i in impls.items() if h in PER_FRAME}))
        self.dispatcher.set_plugins(rows)
