"""The plugin registry: which plugins there are, what they implement, what they declare.

Discovery (installed plugins through their entry points, ``-p`` plugins by name, module or
path: :mod:`posestage.host.loading`), registration with pluggy and the hook checks of
:mod:`posestage.host.checks` (a hook that is not posestage's, or one posestage would call
wrongly, refuses the plugin at load), each plugin's settings declaration
(``posestage_settings``), and the two hooks answered once at start rather than during the
show: ``posestage_sources`` (:meth:`Registry.sources`) and ``posestage_commands``
(:meth:`Registry.add_commands`, :func:`add_plugin_commands`).

Nothing here configures a plugin or calls a per-frame hook: :mod:`posestage.host.activation`
does the first, :mod:`posestage.host.dispatch` the second. A registry alone is enough for the
command line (``posestage_commands``) and ``posestage plugins``.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pluggy

import posestage.hookspecs as hookspecs
from posestage.config.schema import Setting
from posestage.errors import PluginError, describe_error, did_you_mean, one_line
from posestage.host.checks import hook_problem
from posestage.host.dispatch import real_interrupt
from posestage.host.loading import entry_points as installed_entry_points
from posestage.host.loading import import_plugin, is_builtin, plugin_name

__all__ = ["PluginInfo", "Registry", "add_plugin_commands"]

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


class Registry:
    """The plugins known to this process, loaded or not, by name.

    :meth:`discover` finds installed plugins and the ``-p`` ones; :meth:`register` adds an
    object (tests, embedding, the plugin folder). ``report`` receives the one-line problems
    found while loading (a broken plugin, a name clash, a refused ``posestage_sources``
    answer): the plugin host hands its dispatcher's error lines, so they reach the overlay.
    """

    def __init__(self, report: Callable[[str], None] | None = None):
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.disabled: set[str] = set()
        #: ``-p`` plugins: active in every scene (added with defaults when a scene omits them)
        self.extra: list[str] = []
        self._report = report if report is not None else self._log

    @staticmethod
    def _log(line: str) -> None:
        log.warning("%s", line)

    # ------------------------------------------------------------------ discovery

    def discover(
        self,
        enable: Iterable[str] = (),
        disable: Iterable[str] = (),
        safe: bool = False,
        *,
        entry_points: bool = True,
    ) -> None:
        """Discover installed plugins (entry points), then the ``-p`` plugins in ``enable``.

        A ``-p`` spec is the name of an installed plugin (as ``posestage plugins`` lists it:
        it is then active in every scene, loaded even in ``--safe`` mode), a dotted module
        name, ``module:attribute`` or a ``.py`` path. A broken installed plugin is recorded
        (``plugins[name].error``, :attr:`errors`) and skipped; a ``-p`` plugin that cannot be
        loaded raises :class:`PluginError`.
        """
        self.disabled.update(disable)
        found = installed_entry_points() if entry_points else []
        for ep in found:
            self._load_entry_point(ep, safe)
        for spec in enable:
            if self._enable_installed(spec, found):
                continue
            plugin = self._import_named(spec)
            name = plugin_name(plugin)
            if name in self.disabled:
                continue
            if name in self.plugins and self.plugins[name].loaded:
                self.unregister(name)  # the development copy wins over the installed one
            self.register(plugin, name, version=getattr(plugin, "__version__", ""), origin="-p")
            self.extra.append(name)

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
            self._report(
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
            self._report(f"{ep.name}: {info.error}")

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

    # ------------------------------------------------------------------ answered once at start

    def _refuse(self, name: str, what: str) -> None:
        line = f"plugin {name!r}: {what}; ignored"
        log.warning("%s", line)
        self._report(line)

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
                    self._report(f"{name}: source scheme {scheme!r} is already registered; ignored")
                elif not callable(opener):
                    self._report(
                        f"{name}: source scheme {scheme!r}: opener is not callable; ignored"
                    )
                else:
                    found[scheme] = opener
        return found

    def osc_addresses(self, name: str, settings: Any) -> list[dict]:
        """What plugin ``name`` publishes with ``settings`` (``posestage_osc_addresses``), each
        answer checked; [] for none, a failure or a bad answer (one line logged)."""
        info = self.plugins.get(name)
        impl = info.impls.get("posestage_osc_addresses") if info is not None else None
        if impl is None:
            return []
        try:
            got = impl.function(*[{"settings": settings}[a] for a in impl.argnames])
            if got is None:
                return []
            out = [dict(d) for d in got if isinstance(d, dict)]
            if len(out) != len(got) or not all(
                isinstance(d.get("address"), str) and d["address"].startswith("/")
                and isinstance(d.get("types", ""), str) for d in out
            ):  # fmt: skip
                raise TypeError("expected a list of dicts with an address and types")
        except BaseException as err:  # noqa: BLE001 - the plugin's failure, not the server's
            if isinstance(err, KeyboardInterrupt) and real_interrupt():
                raise
            log.warning("plugin %s: posestage_osc_addresses() failed: %s", name, one_line(err))
            return []
        return out

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
        registry = Registry()
        registry.discover(enable=enable)
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
    registry.add_commands(subparsers)
