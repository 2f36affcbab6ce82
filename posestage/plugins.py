"""The plugin host: discovery, activation by scenes, isolated and timed hook calls.

Discovery: every entry point in the group ``posestage`` is a plugin (its name is the entry
point's name, its value a module or object with ``@hookimpl`` functions). Built-in plugins in
this repository's ``plugins/`` folder are separate distributions found exactly the same way —
the host imports none of them by name. ``-p MODULE`` (a dotted module name or a ``.py`` path)
adds a plugin for development; its name is the module's ``PLUGIN_NAME`` or its last name part
without a ``posestage_`` prefix, and it is active in every scene (default settings) unless the
scene configures it. ``--disable NAME`` loads nothing under that name. ``--safe`` loads only
the distributions in :data:`BUILTIN_DISTRIBUTIONS` — the ones shipped in this repository
(``-p`` modules are still loaded: you named them).

The stage loop uses (threads as documented in :mod:`posestage.hookspecs`)::

    host = PluginHost.load(enable=["my_dev_plugin"], disable=["recorder"], safe=False)
    problems = host.activate(scene.plugins, stage)  # validate, configure in scene order,
                                                    # unconfigure the ones dropped / changed
    host.person_enter(person, frame); host.person_leave(person, frame); host.frame(frame)
    host.draw(canvas, frame); consumed = host.event(event)
    host.deactivate_all(stage)                      # every configured plugin unconfigured
    host.timings      # {plugin: {hook: mean ms}} (exponential moving average)
    host.timing_summary()  # {plugin: {"mean_ms", "max_ms", "calls"}} for the overlay
    host.errors       # recent error lines; host.take_errors() → the ones not yet taken
    host.active       # configured plugin names, scene order
    host.sources()    # {scheme: opener} from posestage_sources()
    host.privacy_requested  # an active plugin asked for privacy mode

Isolation: an exception in a hook is logged once (per plugin, hook and message) with its
traceback and added to :attr:`PluginHost.errors`; the other plugins are still called. After
``max_failures`` consecutive failures (default :data:`DEFAULT_MAX_FAILURES`) the plugin is
switched off — removed from dispatch, then unconfigured (best effort) — and stays off until a
scene is activated again.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError, SceneError, describe_error, did_you_mean, one_line
from .settings import Setting, Values, validate

log = logging.getLogger("posestage.plugins")

#: Entry-point group plugins are registered under.
ENTRY_POINT_GROUP = "posestage"
#: Distributions shipped in this repository's ``plugins/`` folder: the only ones ``--safe``
#: loads. A new built-in plugin adds its distribution name here (and nothing else).
BUILTIN_DISTRIBUTIONS = frozenset(
    {"posestage-skeleton", "posestage-recorder", "posestage-anonymizer", "posestage-footfall"}
)
#: Consecutive failures after which a plugin is switched off.
DEFAULT_MAX_FAILURES = 3
#: Weight of the newest call in the timing moving average.
TIMING_ALPHA = 0.1

_FAILED = object()


@dataclass(frozen=True)
class PluginUse:
    """One plugin enabled by a scene, with its settings (raw from the file, or validated).

    ``where`` prefixes error messages: ``"scenes/x.toml: plugins.skeleton"``.
    """

    name: str
    settings: dict = field(default_factory=dict)
    where: str = ""

    @property
    def location(self) -> str:
        return self.where or f"plugins.{self.name}"


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


@dataclass
class HookTiming:
    """Time spent in one plugin's hook: moving-average and peak milliseconds, call count."""

    mean_ms: float = 0.0
    max_ms: float = 0.0
    calls: int = 0

    def add(self, ms: float) -> None:
        self.calls += 1
        self.mean_ms = ms if self.calls == 1 else self.mean_ms + TIMING_ALPHA * (ms - self.mean_ms)
        if ms > self.max_ms:
            self.max_ms = ms


class PluginHost:
    """Loads plugins, activates them per scene, and calls their hooks one by one, guarded.

    Create with :meth:`load` (entry points) or construct empty and :meth:`register` objects
    (tests, embedding).
    """

    def __init__(self, *, max_failures: int = DEFAULT_MAX_FAILURES):
        self.max_failures = max_failures
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.disabled: set[str] = set()
        self.extra: list[str] = []
        self._configured: dict[str, Values] = {}
        self._tables: dict[str, tuple] = {}
        self._timing: dict[str, dict[str, HookTiming]] = {}
        self._failures: dict[str, int] = {}
        self._reported: set[tuple] = set()
        self._errors: deque[tuple[int, str]] = deque(maxlen=50)
        self._error_seq = 0
        self._taken = 0
        self._privacy: set[str] = set()
        self._stage: Any = None
        self._lock = threading.RLock()

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
        """Discover installed plugins (entry points), then the ``-p`` modules in ``enable``.

        A broken installed plugin is recorded (``plugins[name].error``, :attr:`errors`) and
        skipped; a ``-p`` module that cannot be imported raises :class:`PluginError`.
        """
        host = cls(max_failures=max_failures)
        host.disabled = set(disable)
        if entry_points:
            for ep in _entry_points():
                host._load_entry_point(ep, safe)
        for spec in enable:
            plugin = import_plugin(spec)
            name = plugin_name(plugin)
            if name in host.disabled:
                continue
            if name in host.plugins and host.plugins[name].loaded:
                host.unregister(name)  # the development copy wins over the installed one
            host.register(plugin, name, version=getattr(plugin, "__version__", ""), origin="-p")
            host.extra.append(name)
        return host

    def _load_entry_point(self, ep: importlib.metadata.EntryPoint, safe: bool) -> None:
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else ""
        version = dist.version if dist is not None else ""
        builtin = _canonical(dist_name) in BUILTIN_DISTRIBUTIONS
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
        except Exception as err:  # noqa: BLE001 - a broken plugin must not stop the stage
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
                    if impl.hookwrapper or impl.wrapper:
                        raise PluginError(
                            f"plugin {name!r} refused: {caller.name}: hook wrappers are not supported"
                        )
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
            declared = impl.function(*[{}.get(a) for a in impl.argnames]) or []
            declared = tuple(declared)
        except Exception as err:  # noqa: BLE001
            raise PluginError(
                f"plugin {info.name!r}: posestage_settings() failed: {describe_error(err)}"
            ) from None
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
            if not info.loaded:
                out.append(use)
                continue
            out.append(replace(use, settings=validate(use.settings, info.settings, use.location)))
        return out

    def activate(self, uses: Sequence[PluginUse], stage: Any) -> list[str]:
        """Make ``uses`` the running scene's plugins, in that order.

        Validates first (a :class:`SceneError` changes nothing). Plugins dropped, or whose
        settings changed, are unconfigured (reverse order); new and changed ones are configured
        in scene order; unchanged ones stay configured untouched (ports stay open across a
        scene switch). ``-p`` plugins the scene does not mention are added with defaults.
        Returns the problems (one line each, also in :attr:`errors`): plugins that could not
        be activated — the rest of the scene runs anyway.
        """
        uses = self.check(uses)
        named = {u.name for u in uses}
        for extra in self.extra:
            if extra not in named and extra in self.plugins:
                info = self.plugins[extra]
                uses.append(
                    PluginUse(extra, validate({}, info.settings, f"-p {extra}"), f"-p {extra}")
                )
        problems: list[str] = []
        with self._lock:
            self._stage = stage
            wanted = {u.name: u for u in uses}
            keep = {
                n: s for n, s in self._configured.items() if n in wanted and wanted[n].settings == s
            }
            dropped = [n for n in self._configured if n not in keep]
            self._configured = keep
            self._rebuild()
            for name in reversed(dropped):
                self._unconfigure(name, stage)
            configured: dict[str, Values] = {}
            try:
                for use in uses:
                    if use.name in keep:
                        configured[use.name] = keep[use.name]
                        continue
                    info = self.plugins.get(use.name)
                    if info is None or not info.loaded:
                        why = info.error if info is not None else "disabled (--disable)"
                        problems.append(f"{use.location}: {why}; skipped")
                        continue
                    problem = self._configure(info, use.settings, stage, use.location)
                    if problem:
                        problems.append(problem)
                    else:
                        configured[use.name] = use.settings
            finally:
                # Interrupted half-way (Ctrl-C in a slow configure): every plugin configured so
                # far must stay known, so that deactivate_all() unconfigures it.
                for name, values in keep.items():
                    configured.setdefault(name, values)
                self._configured = configured
                for name in configured:
                    if name not in keep:
                        self._failures[name] = 0
                self._rebuild()
        for line in problems:
            if "disabled (--disable)" in line:
                log.info("%s", line)
            else:
                self._error(line)
        return problems

    def deactivate(self, name: str, stage: Any) -> None:
        """Switch one plugin off in the running scene (unconfigured)."""
        with self._lock:
            if name not in self._configured:
                return
            del self._configured[name]
            self._rebuild()
            self._unconfigure(name, stage)

    def deactivate_all(self, stage: Any) -> None:
        """Unconfigure every configured plugin, last first (shutdown, before a new stage)."""
        with self._lock:
            names = list(self._configured)
            self._configured = {}
            self._rebuild()
            for name in reversed(names):
                self._unconfigure(name, stage)

    def update_settings(
        self, name: str, changes: dict, stage: Any, where: str = "control", *, coerce: bool = True
    ) -> Values:
        """Change some settings of an active plugin live (OSC control in), validated as a scene.

        The plugin's ``posestage_settings_changed`` applies them if it returns True; otherwise
        the plugin is unconfigured and configured again. Returns the plugin's new settings.
        """
        with self._lock:
            if name not in self._configured:
                active = ", ".join(self._configured) or "none"
                raise PluginError(f"{where}: plugin {name!r} is not active; active: {active}")
            info = self.plugins[name]
            current = self._configured[name]
            given = validate(
                changes, info.settings, f"{where}: plugins.{name}", partial=True, coerce=coerce
            )
            new = Values({**current, **given})
            changed = [k for k in given if current.get(k) != given[k]]
            if not changed:
                return current
            impl = info.impls.get("posestage_settings_changed")
            if impl is not None:
                args = {"stage": stage, "settings": new, "changed": changed}
                if (
                    self._call(
                        name, "posestage_settings_changed", impl.function, impl.argnames, args
                    )
                    is True
                ):
                    self._configured[name] = new
                    return new
            del self._configured[name]
            self._rebuild()
            self._unconfigure(name, stage)
            problem = self._configure(info, new, stage, f"{where}: plugins.{name}")
            if problem:
                self._error(problem)
                raise PluginError(problem)
            self._configured[name] = new
            self._rebuild()
            return new

    def _configure(self, info: PluginInfo, settings: Values, stage: Any, where: str) -> str:
        impl = info.impls.get("posestage_configure")
        if impl is not None:
            try:
                start = time.perf_counter()
                impl.function(*[{"stage": stage, "settings": settings}[a] for a in impl.argnames])
                self._time(info.name, "posestage_configure", start)
            except Exception as err:  # noqa: BLE001
                if not isinstance(err, PluginError):
                    log.error("%s: posestage_configure failed", info.name, exc_info=err)
                self._unconfigure(info.name, stage)  # release what it opened half-way
                return f"{where}: {info.name} refused its settings: {one_line(err)}"
            except BaseException:  # Ctrl-C / exit during configure: release, then stop
                self._unconfigure(info.name, stage)
                raise
        self._privacy.discard(info.name)
        privacy = info.impls.get("posestage_privacy")
        if privacy is not None:
            if self._call(info.name, "posestage_privacy", privacy.function, (), {}) is True:
                self._privacy.add(info.name)
        return ""

    def _unconfigure(self, name: str, stage: Any) -> None:
        self._privacy.discard(name)
        info = self.plugins.get(name)
        impl = info.impls.get("posestage_unconfigure") if info else None
        if impl is None:
            return
        try:
            start = time.perf_counter()
            impl.function(*[{"stage": stage}[a] for a in impl.argnames])
            self._time(name, "posestage_unconfigure", start)
        except Exception as err:  # noqa: BLE001 - best effort: the show goes on
            self._report(name, "posestage_unconfigure", err)

    def _rebuild(self) -> None:
        """Per-hook dispatch tables for the configured plugins, scene order (swapped whole)."""
        tables: dict[str, list] = {}
        for name in self._configured:
            for hook, impl in self.plugins[name].impls.items():
                tables.setdefault(hook, []).append((name, impl.function, tuple(impl.argnames)))
        self._tables = {hook: tuple(rows) for hook, rows in tables.items()}

    @property
    def active(self) -> list[str]:
        """Names of the configured plugins, in scene order."""
        return list(self._configured)

    def settings_of(self, name: str) -> Values | None:
        """The settings an active plugin was configured with."""
        return self._configured.get(name)

    @property
    def privacy_requested(self) -> bool:
        """True while an active plugin's ``posestage_privacy()`` returned True.

        The stage then shows no live frame and writes/sends no pixels; the host passes
        ``frame.image`` only to the plugins that asked (the anonymizer needs the pixels for
        its background plate) and None to every other plugin.
        """
        return bool(self._privacy)

    # ------------------------------------------------------------------ dispatch

    def frame(self, frame: Any) -> None:
        """``posestage_frame(frame)`` on every active plugin (pose thread)."""
        self._dispatch("posestage_frame", {"frame": frame})

    def draw(self, canvas: Any, frame: Any) -> None:
        """``posestage_draw(canvas, frame)`` in scene order (main thread); no-op without a frame."""
        if frame is not None:
            self._dispatch("posestage_draw", {"canvas": canvas, "frame": frame})

    def person_enter(self, person: Any, frame: Any) -> None:
        """``posestage_person_enter(person, frame)`` (pose thread)."""
        self._dispatch("posestage_person_enter", {"person": person, "frame": frame})

    def person_leave(self, person: Any, frame: Any) -> None:
        """``posestage_person_leave(person, frame)`` (pose thread)."""
        self._dispatch("posestage_person_leave", {"person": person, "frame": frame})

    def event(self, event: Any) -> bool:
        """``posestage_event(event)`` in scene order until a plugin returns True (consumed)."""
        for name, fn, argnames in self._tables.get("posestage_event", ()):
            if self._call(name, "posestage_event", fn, argnames, {"event": event}) is True:
                return True
        return False

    def _dispatch(self, hook: str, kwargs: dict) -> None:
        rows = self._tables.get(hook, ())
        private = self._privacy
        if private and rows:
            frame = kwargs.get("frame")
            if frame is not None and getattr(frame, "image", None) is not None:
                # Privacy mode asked by a plugin: only the plugins that asked see the pixels.
                withheld = dict(kwargs, frame=replace(frame, image=None))
                for name, fn, argnames in rows:
                    self._call(name, hook, fn, argnames, kwargs if name in private else withheld)
                return
        for name, fn, argnames in rows:
            self._call(name, hook, fn, argnames, kwargs)

    def _call(self, name: str, hook: str, fn: Any, argnames: Sequence[str], kwargs: dict) -> Any:
        start = time.perf_counter()
        try:
            result = fn(*[kwargs[a] for a in argnames])
        except Exception as err:  # noqa: BLE001 - isolate every plugin from the others
            self._time(name, hook, start)
            self._failed(name, hook, err)
            return _FAILED
        self._time(name, hook, start)
        if self._failures.get(name):
            self._failures[name] = 0
        return result

    def _time(self, name: str, hook: str, start: float) -> None:
        ms = (time.perf_counter() - start) * 1000.0
        hooks = self._timing.get(name)
        if hooks is None:
            hooks = self._timing.setdefault(name, {})
        timing = hooks.get(hook)
        if timing is None:
            timing = hooks.setdefault(hook, HookTiming())
        timing.add(ms)

    def _failed(self, name: str, hook: str, err: BaseException) -> None:
        with self._lock:
            self._report(name, hook, err)
            count = self._failures[name] = self._failures.get(name, 0) + 1
            if count >= self.max_failures and name in self._configured:
                line = f"{name}: switched off after {count} failures in a row (last in {hook}: {describe_error(err)})"
                log.error("%s", line)
                self._error(line)
                del self._configured[name]
                self._rebuild()
                self._unconfigure(name, self._stage)

    def _report(self, name: str, hook: str, err: BaseException) -> None:
        """Log a failure with its traceback and show it — once per plugin, hook and message."""
        key = (name, hook, type(err).__name__, str(err))
        if key in self._reported:
            return
        if len(self._reported) > 1000:
            self._reported.clear()
        self._reported.add(key)
        log.error("plugin %s: %s failed", name, hook, exc_info=err)
        self._error(f"{name}: {hook} failed: {describe_error(err)}")

    def _error(self, line: str) -> None:
        with self._lock:
            self._error_seq += 1
            self._errors.append((self._error_seq, line))

    @property
    def errors(self) -> list[str]:
        """Recent error lines (newest last, at most 50): for the overlay and tests."""
        return [line for _, line in self._errors]

    def take_errors(self) -> list[str]:
        """Error lines added since the last call (the stage pushes them to the overlay)."""
        with self._lock:
            new = [line for seq, line in self._errors if seq > self._taken]
            self._taken = self._error_seq
            return new

    # ------------------------------------------------------------------ timings

    @property
    def timings(self) -> dict[str, dict[str, float]]:
        """``{plugin: {hook: mean ms}}``: moving average of the time spent per call."""
        return {
            p: {h: t.mean_ms for h, t in hooks.items()} for p, hooks in list(self._timing.items())
        }

    def timing_summary(self) -> dict[str, dict[str, float]]:
        """Per plugin, over its per-frame hooks: ``mean_ms`` (sum of the hooks' means),
        ``max_ms`` and ``calls`` — the shape :func:`posestage.overlay.timing_lines` reads."""
        out = {}
        for plugin, hooks in list(self._timing.items()):
            rows = [t for h, t in hooks.items() if h in _PER_FRAME]
            if rows:
                out[plugin] = {
                    "mean_ms": sum(t.mean_ms for t in rows),
                    "max_ms": max(t.max_ms for t in rows),
                    "calls": sum(t.calls for t in rows),
                }
        return out

    def profile_lines(self) -> list[str]:
        """One line per plugin and hook, for ``--profile`` at exit."""
        lines = []
        for plugin, hooks in sorted(self._timing.items()):
            for hook, t in sorted(hooks.items()):
                lines.append(
                    f"{plugin:<16} {hook:<26} mean {t.mean_ms:8.3f} ms  max {t.max_ms:8.3f} ms  {t.calls} calls"
                )
        return lines

    # ------------------------------------------------------------------ registries

    def sources(self) -> dict[str, Any]:
        """``{scheme: opener}`` from every loaded plugin's ``posestage_sources()``."""
        found: dict[str, Any] = {}
        for name, info in self.plugins.items():
            impl = info.impls.get("posestage_sources")
            if impl is None:
                continue
            got = self._call(name, "posestage_sources", impl.function, (), {})
            if got is _FAILED or not got:
                continue
            for scheme, opener in dict(got).items():
                if scheme in found:
                    self._error(f"{name}: source scheme {scheme!r} is already registered; ignored")
                elif not callable(opener):
                    self._error(
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
                impl.function(*[{"subparsers": subparsers}[a] for a in impl.argnames])
            except Exception as err:  # noqa: BLE001 - a plugin must not break the CLI
                log.warning("plugin %s: could not add its commands: %s", name, one_line(err))

    def _describe(self, info: PluginInfo) -> str:
        return info.distribution or info.origin


_PER_FRAME = frozenset(
    {
        "posestage_frame",
        "posestage_draw",
        "posestage_person_enter",
        "posestage_person_leave",
        "posestage_event",
    }
)


def add_plugin_commands(subparsers: Any) -> None:
    """Called by the CLI while it builds its parser: installed plugins add their commands."""
    quiet, log.disabled = log.disabled, True  # broken plugins are reported by the command run
    try:
        host = PluginHost.load()
    except Exception as err:  # noqa: BLE001 - never break the command line
        log.disabled = quiet
        log.warning("plugin commands unavailable: %s", one_line(err))
        return
    log.disabled = quiet
    host.add_commands(subparsers)


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
