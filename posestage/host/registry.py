"""The plugin host: registers plugins, activates them per scene, hands calls to the dispatcher.

The stage uses (threads as documented in :mod:`posestage.hookspecs`)::

    host = PluginHost.load(enable=["my_dev_plugin"], disable=["recorder"], safe=False)
    problems = host.activate(scene.plugins, stage)  # validate, configure in scene order,
                                                    # unconfigure the ones dropped / changed
    host.enable(use, stage); host.deactivate(name, stage)  # one plugin, the others untouched
    host.person_enter(person, frame); host.person_leave(person, frame); host.frame(frame)
    host.draw(canvas, frame); consumed = host.event(event)
    host.deactivate_all(stage)                      # every configured plugin unconfigured
    host.timing_summary()  # {plugin: {"mean_ms", "max_ms", "calls"}} for the overlay
    host.errors            # recent error lines; host.take_errors() → the ones not yet taken
    host.active            # configured plugin names, scene order
    host.sources()         # {scheme: opener} from posestage_sources()
    host.privacy           # privacy mode asked by a plugin (fails closed: see below)

Calls go through the host's :class:`~posestage.host.dispatch.Dispatcher`, the one owner of
hook dispatch and its per-plugin locks. A plugin joins dispatch when its configure returned,
and leaves it before its unconfigure is called. The host's own state (who is configured, in
which order) has a lock of its own that is never held while plugin code runs.

Privacy asked by a plugin (``posestage_privacy()`` True) fails closed: :attr:`privacy` goes on
when a plugin asks, and stays on — whatever happens to that plugin (fails, is disabled, is
reconfigured live) — until :meth:`activate` makes a scene running in which no plugin asks; a
plugin implementing ``posestage_privacy`` whose configure fails counts as asking. While it is
on, only healthy plugins that asked get ``frame.image``.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pluggy

from posestage import hookspecs
from posestage.config.scenes import PluginUse
from posestage.config.schema import Setting, Values, validate
from posestage.errors import PluginError, SceneError, describe_error, did_you_mean, one_line
from posestage.host import loading
from posestage.host.checks import hook_problem
from posestage.host.dispatch import DEFAULT_MAX_FAILURES, FAILED, Dispatcher, real_interrupt
from posestage.host.loading import import_plugin, is_builtin, plugin_name
from posestage.host.timings import PER_FRAME

log = logging.getLogger("posestage.host")


@dataclass
class PluginInfo:
    """What the host knows about one plugin, loaded or not (``error`` says why not)."""

    name: str
    plugin: object | None = None
    version: str = ""
    distribution: str = ""
    builtin: bool = False
    origin: str = "registered"  # "entry point", "-p", "registered"
    hooks: tuple[str, ...] = ()
    settings: tuple[Setting, ...] = ()
    error: str = ""
    impls: dict = field(default_factory=dict, repr=False)

    @property
    def loaded(self) -> bool:
        return self.plugin is not None


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
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.disabled: set[str] = set()
        self.extra: list[str] = []
        self.dispatcher = Dispatcher(
            max_failures=max_failures, clock=clock, budgets=budgets, on_switch_off=self._off
        )
        #: how an unconfigure after a switch-off is run: ``run_later(fn)``; the stage hands it
        #: to its control thread, by default it runs at once on the failing thread
        self.run_later: Callable[[Callable[[], None]], Any] | None = None
        self._configured: dict[str, Values] = {}
        self._order: list[str] = []
        self._privacy: set[str] = set()
        self._privacy_latched = False
        self._stage: Any = None
        self._state = threading.RLock()  # _configured / _order / dispatch tables; no plugin code

    @property
    def max_failures(self) -> int:
        return self.dispatcher.max_failures

    @max_failures.setter
    def max_failures(self, value: int) -> None:
        self.dispatcher.max_failures = value

    # ------------------------------------------------------------------ discovery

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
        """Discover installed plugins (entry points), then the ``-p`` plugins in ``enable``.

        A ``-p`` spec is the name of an installed plugin (as ``posestage plugins`` lists it:
        it is then active in every scene, loaded even in ``--safe`` mode), a dotted module
        name, ``module:attribute`` or a ``.py`` path. A broken installed plugin is recorded
        (``plugins[name].error``, :attr:`errors`) and skipped; a ``-p`` plugin that cannot be
        loaded raises :class:`PluginError`.
        """
        host = cls(max_failures=max_failures)
        host.disabled = set(disable)
        found = loading.entry_points() if entry_points else []
        for ep in found:
            host._load_entry_point(ep, safe)
        for spec in enable:
            if host._enable_installed(spec, found):
                continue
            plugin = host._import_named(spec)
            name = plugin_name(plugin)
            if name in host.disabled:
                continue
            if name in host.plugins and host.plugins[name].loaded:
                host.unregister(name)  # the development copy wins over the installed one
            host.register(plugin, name, version=getattr(plugin, "__version__", ""), origin="-p")
            host.extra.append(name)
        return host

    def _enable_installed(self, spec: str, found: list) -> bool:
        """``-p NAME`` naming an installed plugin: make it active in every scene (True), or
        False when ``spec`` is no installed plugin's name."""
        info = self.plugins.get(spec)
        if info is None or info.origin != "entry point":
            return False
        if spec in self.disabled:
            return True  # --disable wins
        if not info.loaded and info.error == "not loaded in --safe mode":
            del self.plugins[spec]  # you named it: load it in safe mode too
            for ep in found:
                if ep.name == spec:
                    self._load_entry_point(ep, safe=False)
            info = self.plugins[spec]
        if not info.loaded:
            raise PluginError(
                f"-p {spec}: the installed plugin {spec!r} is not loaded: {info.error}"
            )
        if spec not in self.extra:
            self.extra.append(spec)
        return True

    def _import_named(self, spec: str) -> Any:
        """A ``-p`` module; a bare name that is neither installed nor importable says what is."""
        try:
            return import_plugin(spec)
        except PluginError as err:
            bare = spec.isidentifier() and f"no module named {spec!r}" in str(err)
            if not bare:
                raise
            installed = sorted(n for n, i in self.plugins.items() if i.origin == "entry point")
            hint = did_you_mean(spec, installed)
            raise PluginError(
                f"-p {spec}: no installed plugin or module named {spec!r}{hint}; installed: "
                f"{', '.join(installed) or '(none)'}; or give a module importable from here "
                "or a path to a .py file"
            ) from None

    def _load_entry_point(self, ep: importlib.metadata.EntryPoint, safe: bool) -> None:
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else ""
        version = dist.version if dist is not None else ""
        builtin = is_builtin(dist_name)
        info = PluginInfo(ep.name, None, version, dist_name, builtin, "entry point")
        if ep.name in self.plugins:
            other = self.plugins[ep.name]
            if other.distribution == dist_name:
                return  # the same distribution seen twice on sys.path
            self._error(
                f"{ep.name}: plugin name also used by {other.distribution}; {dist_name} skipped"
            )
            return
        if ep.name in self.disabled:
            info.error = "disabled (--disable)"
        elif safe and not builtin:
            info.error = "not loaded in --safe mode"
        if info.error:
            self.plugins[ep.name] = info
            return
        try:
            plugin = ep.load()
            self.register(
                plugin,
                ep.name,
                version=version,
                distribution=dist_name,
                builtin=builtin,
                origin="entry point",
            )
        except BaseException as err:  # noqa: BLE001 - a broken plugin must not stop the stage
            if isinstance(err, KeyboardInterrupt) and real_interrupt():
                raise
            info.error = (
                one_line(err)
                if isinstance(err, PluginError)
                else f"failed to load: {describe_error(err)}"
            )
            self.plugins[ep.name] = info
            log.error(
                "plugin %s (%s): %s",
                ep.name,
                dist_name or ep.value,
                info.error,
                exc_info=not isinstance(err, PluginError),
            )
            self._error(f"{ep.name}: {info.error}")

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
        """Add a plugin object (a module, class instance…) under ``name``; check its hooks.

        Raises :class:`PluginError` when the name is taken, a hook name or argument is not in
        :mod:`posestage.hookspecs`, a ``posestage_*`` function lacks ``@hookimpl``, or its
        settings declaration is invalid.
        """
        name = name or plugin_name(plugin)
        if name in self.plugins and self.plugins[name].loaded:
            raise PluginError(
                f"plugin {name!r}: the name is already taken by {self._describe(self.plugins[name])}"
            )
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as err:
            self._forget(plugin, name)  # pluggy keeps a half-registered plugin
            raise PluginError(f"plugin {name!r} refused: {one_line(err)}") from None
        except ValueError as err:
            raise PluginError(f"plugin {name!r} refused: {one_line(err)}") from None
        try:
            impls = self._check_hooks(plugin, name)
            info = PluginInfo(
                name,
                plugin,
                version,
                distribution,
                builtin,
                origin,
                tuple(sorted(impls)),
                (),
                "",
                impls,
            )
            info.settings = self._declared_settings(info)
        except PluginError:
            self._forget(plugin, name)
            raise
        self.plugins[name] = info
        return info

    def _forget(self, plugin: object, name: str) -> None:
        try:
            self.pm.unregister(plugin, name)
        except Exception:  # noqa: BLE001 - it was never fully registered
            pass

    def unregister(self, name: str) -> None:
        """Forget a plugin (unconfigure it first if needed: see :meth:`deactivate`)."""
        info = self.plugins.pop(name, None)
        if info is not None and info.plugin is not None:
            self.pm.unregister(info.plugin)

    def _check_hooks(self, plugin: object, name: str) -> dict[str, Any]:
        impls: dict[str, Any] = {}
        for caller in self.pm.get_hookcallers(plugin) or []:
            if caller.spec is None:
                hint = did_you_mean(caller.name, self.hook_names())
                raise PluginError(
                    f"plugin {name!r} refused: {caller.name} is not a posestage hook{hint}"
                )
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin:
                    # async/generator hooks, *args, defaulted arguments, tryfirst, wrappers
                    problem = hook_problem(name, caller.name, impl)
                    if problem:
                        raise PluginError(problem)
                    impls[caller.name] = impl
        for attr in dir(plugin):
            if (
                attr.startswith("posestage_")
                and attr not in impls
                and callable(getattr(plugin, attr, None))
            ):
                raise PluginError(
                    f"plugin {name!r} refused: {attr} is not marked with @hookimpl (from posestage import hookimpl)"
                )
        return impls

    def _declared_settings(self, info: PluginInfo) -> tuple[Setting, ...]:
        impl = info.impls.get("posestage_settings")
        if impl is None:
            return ()
        try:
            declared = impl.function(*[{}.get(a) for a in impl.argnames])
        except BaseException as err:  # noqa: BLE001 - SystemExit & co: the plugin's failure
            if isinstance(err, KeyboardInterrupt) and real_interrupt():
                raise
            raise PluginError(
                f"plugin {info.name!r}: posestage_settings() failed: {describe_error(err)}"
            ) from None
        if declared is None:
            declared = ()
        if not isinstance(declared, (list, tuple)):
            raise PluginError(
                f"plugin {info.name!r}: posestage_settings() must return a list of Setting "
                f"objects, got {type(declared).__name__}"
            )
        declared = tuple(declared)
        names = set()
        for s in declared:
            if not isinstance(s, Setting):
                raise PluginError(
                    f"plugin {info.name!r}: posestage_settings() must return Setting objects, got {s!r}"
                )
            if s.name in names:
                raise PluginError(f"plugin {info.name!r}: setting {s.name!r} is declared twice")
            names.add(s.name)
        return declared

    def hook_names(self) -> list[str]:
        """Every hook a plugin may implement."""
        return sorted(n for n in dir(hookspecs) if n.startswith("posestage_"))

    # ------------------------------------------------------------------ scenes

    def check(self, uses: Sequence[PluginUse]) -> list[PluginUse]:
        """Validate each use's settings against its plugin's declaration (defaults filled in).

        An unknown name raises :class:`SceneError` listing the installed plugins; plugins that
        are installed but not loaded (disabled, ``--safe``, broken) pass through unvalidated —
        :meth:`activate` reports them.
        """
        out = []
        for use in uses:
            info = self.plugins.get(use.name)
            if info is None:
                if use.name in self.disabled:
                    out.append(use)
                    continue
                known = ", ".join(sorted(self.plugins)) or "(none installed)"
                hint = did_you_mean(use.name, list(self.plugins))
                raise SceneError(f"{use.location}: unknown plugin{hint}; installed: {known}")
            if not info.loaded or use.validated:
                out.append(use)
                continue
            settings = validate(use.settings, info.settings, use.location)
            out.append(replace(use, settings=settings, validated=True))
        return out

    # ------------------------------------------------------------------ scenes

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
        for extra in self.extra:
            if extra not in named and extra in self.plugins:
                info = self.plugins[extra]
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
            info = self.plugins.get(use.name)
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
            self._sync_privacy()
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
        info = self.plugins.get(use.name)
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
                    self._sync_privacy()
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
        """Unconfigure every configured plugin, last first (shutdown, before a new stage).
        With ``timeout``, a plugin stuck in another hook that long is left (reported)."""
        with self._state:
            names = list(self._configured)
            self._configured = {}
            self._sync()
        for name in reversed(names):
            self._unconfigure(name, stage, timeout=timeout)

    def update_settings(
        self, name: str, changes: dict, stage: Any, where: str = "control", *, coerce: bool = True
    ) -> Values:
        """Change some settings of an active plugin live (OSC control in), validated as a scene.

        The plugin's ``posestage_settings_changed`` applies them if it returns True; otherwise
        the plugin leaves dispatch, is unconfigured and configured again. Returns the plugin's
        new settings. Privacy asked by it stays on (see the module docstring).
        """
        with self._state:
            if not isinstance(name, str) or name not in self._configured:
                active = ", ".join(self.active) or "none"
                raise PluginError(f"{where}: plugin {name!r} is not active; active: {active}")
            info = self.plugins[name]
            current = self._configured[name]
        given = validate(
            changes, info.settings, f"{where}: plugins.{name}", partial=True, coerce=coerce
        )
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
        if problem:
            self.dispatcher.error(problem)
            raise PluginError(problem)
        self._join(name, new)
        return new

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
        with self._state:
            if got is True:
                self._privacy.add(info.name)
            else:
                self._privacy.discard(info.name)
            if got is True or got is FAILED:  # fails closed: a broken answer counts as asking
                self._privacy_latched = True
            self._sync_privacy()

    def _unconfigure(self, name: str, stage: Any, timeout: float | None = None) -> None:
        with self._state:
            self._privacy.discard(name)
            self._sync_privacy()
        info = self.plugins.get(name)
        impl = info.impls.get("posestage_unconfigure") if info else None
        if impl is not None:
            self._lifecycle(name, "posestage_unconfigure", impl, {"stage": stage}, timeout)

    def _retune(self, name: str, current: Values, new: Values, stage: Any) -> bool:
        """Offer a configured plugin its ``new`` settings through ``posestage_settings_changed``
        (it stays in dispatch meanwhile). True when it applied them (they are then its
        settings); False when it has no such hook, declined or failed."""
        info = self.plugins[name]
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
        impl = self.plugins[name].impls.get("posestage_scene_changed")
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

    def _off(self, name: str, line: str) -> None:
        """The dispatcher switched a plugin off (any thread): forget it, unconfigure it."""
        with self._state:
            if name not in self._configured:
                return
            del self._configured[name]
            self._privacy.discard(name)
            self._sync_privacy()
            self._sync()
        stage = self._stage

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
                impls = self.plugins[name].impls
                rows.append((name, {h: i for h, i in impls.items() if h in PER_FRAME}))
        self.dispatcher.set_plugins(rows)

    def _sync_privacy(self) -> None:
        self.dispatcher.pixels_for = frozenset(self._privacy) if self._privacy_latched else None

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
    def pixels_for(self) -> frozenset[str] | None:
        """Who gets ``frame.image`` (None: every plugin; else only these)."""
        return self.dispatcher.pixels_for

    # ------------------------------------------------------------------ dispatch

    def frame(self, frame: Any) -> None:
        """``posestage_frame(frame)`` on every active plugin (pose thread)."""
        self.dispatcher.dispatch("posestage_frame", {"frame": frame})

    def draw(self, canvas: Any, frame: Any, *, wait: bool = False) -> bool:
        """``posestage_draw(canvas, frame)`` in scene order (main thread); a plugin busy on
        another thread is skipped this time (unless ``wait``); no-op without a frame. True
        when a plugin asked to be drawn again on the next display tick (animating)."""
        if frame is None:
            return False
        args = {"canvas": canvas, "frame": frame}
        return self.dispatcher.dispatch("posestage_draw", args, wait=wait)

    def person_enter(self, person: Any, frame: Any) -> None:
        """``posestage_person_enter(person, frame)`` (pose thread)."""
        self.dispatcher.dispatch("posestage_person_enter", {"person": person, "frame": frame})

    def person_leave(self, person: Any, frame: Any) -> None:
        """``posestage_person_leave(person, frame)`` (pose thread)."""
        self.dispatcher.dispatch("posestage_person_leave", {"person": person, "frame": frame})

    def event(self, event: Any) -> bool:
        """``posestage_event(event)`` in scene order until a plugin returns True (consumed).
        A plugin busy elsewhere gets it (and the events after it) later, in order."""
        return self.dispatcher.event(event)

    def pump_events(self) -> None:
        """Deliver events that waited for a busy plugin (main thread, every tick)."""
        self.dispatcher.pump_events()

    # ------------------------------------------------------------------ errors and timings

    def _error(self, line: str) -> None:
        self.dispatcher.error(line)

    @property
    def errors(self) -> list[str]:
        """Recent error lines (newest last, at most 50): for the overlay and tests."""
        return self.dispatcher.errors

    def take_errors(self) -> list[str]:
        """Error lines added since the last call (the stage pushes them to the overlay)."""
        return self.dispatcher.take_errors()

    @property
    def slow(self) -> list[str]:
        """Recent notes of hooks over their time budget (warnings, not errors)."""
        return self.dispatcher.slow

    def take_slow(self) -> list[str]:
        """Over-budget notes added since the last call (the stage shows them on screen)."""
        return self.dispatcher.take_slow()

    def running_late(self) -> dict[str, str]:
        """Plugins in a hook past its time budget right now: ``{name: line}``."""
        return self.dispatcher.running_late()

    @property
    def timings(self) -> dict[str, dict[str, float]]:
        """``{plugin: {hook: mean ms}}``: moving average of the time spent per call."""
        return self.dispatcher.timings.means()

    def timing_summary(self) -> dict[str, dict[str, float]]:
        """Per plugin, over its per-frame hooks: ``mean_ms``, ``max_ms``, ``calls`` (overlay)."""
        return self.dispatcher.timings.summary()

    def profile_lines(self) -> list[str]:
        """One line per plugin and hook, for ``--profile`` at exit."""
        return self.dispatcher.timings.profile_lines()

    # ------------------------------------------------------------------ registries

    def _refuse(self, name: str, what: str) -> None:
        line = f"plugin {name!r}: {what}; ignored"
        log.warning("%s", line)
        self.dispatcher.error(line)

    def sources(self) -> dict[str, Any]:
        """``{scheme: opener}`` from every loaded plugin's ``posestage_sources()``; a plugin
        whose answer is not a ``{str: callable}`` dict is refused with one line."""
        found: dict[str, Any] = {}
        for name, info in self.plugins.items():
            impl = info.impls.get("posestage_sources")
            if impl is None:
                continue
            try:
                got = impl.function()
            except BaseException as err:  # noqa: BLE001 - a plugin must not stop the stage
                if isinstance(err, KeyboardInterrupt) and real_interrupt():
                    raise
                self._refuse(name, f"posestage_sources() failed: {describe_error(err)}")
                continue
            if got is None:
                continue
            if not isinstance(got, Mapping):
                self._refuse(
                    name,
                    "posestage_sources() must return a dict {scheme: opener}, "
                    f"got {type(got).__name__}",
                )
                continue
            for scheme, opener in got.items():
                if not isinstance(scheme, str) or not scheme.isidentifier():
                    self._refuse(name, f"source scheme {scheme!r} is not a plain name")
                elif scheme in found:
                    self.dispatcher.error(
                        f"{name}: source scheme {scheme!r} is already registered; ignored"
                    )
                elif not callable(opener):
                    self.dispatcher.error(
                        f"{name}: source scheme {scheme!r}: opener is not callable; ignored"
                    )
                else:
                    found[scheme] = opener
        return found

    def add_commands(self, subparsers: Any) -> None:
        """Let every loaded plugin add CLI sub-commands (``posestage_commands``)."""
        for name, info in self.plugins.items():
            impl = info.impls.get("posestage_commands")
            if impl is None:
                continue
            try:
                got = impl.function(*[{"subparsers": subparsers}[a] for a in impl.argnames])
            except BaseException as err:  # noqa: BLE001 - a plugin must not break the CLI
                if isinstance(err, KeyboardInterrupt) and real_interrupt():
                    raise
                log.warning("plugin %s: could not add its commands: %s", name, one_line(err))
                continue
            if got is not None:
                log.warning(
                    "plugin %s: posestage_commands() must return None (it adds parsers to "
                    "subparsers), got %s; ignored",
                    name,
                    type(got).__name__,
                )

    def _describe(self, info: PluginInfo) -> str:
        return info.distribution or info.origin


def add_plugin_commands(subparsers: Any, enable: Iterable[str] = ()) -> None:
    """Called by the CLI while it builds its parser: installed plugins, and the ``-p`` plugins
    in ``enable``, add their commands. A ``-p`` plugin that cannot be loaded raises
    :class:`PluginError` (you named it); a broken installed one never breaks the CLI."""
    quiet, log.disabled = log.disabled, True  # broken plugins are reported by the command run
    try:
        host = PluginHost.load(enable=enable)
    except PluginError as err:
        log.disabled = quiet
        if enable:
            raise
        log.warning("plugin commands unavailable: %s", one_line(err))
        return
    except Exception as err:  # noqa: BLE001 - never break the command line
        log.disabled = quiet
        log.warning("plugin commands unavailable: %s", one_line(err))
        return
    finally:
        log.disabled = quiet
    host.add_commands(subparsers)
