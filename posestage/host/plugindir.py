"""Rehearsal plugins: plain ``.py`` files in a folder, loaded at start and again when saved.

:class:`PluginDir` watches a folder (``posestage run --plugin-dir DIR``). Each ``*.py`` file
(not starting with ``_`` or ``.``) is one plugin: the module itself when it has ``posestage_*``
functions, else its ``plugin`` object; its name is the module's ``PLUGIN_NAME`` or the file
name without ``.py`` and a ``posestage_`` prefix. :meth:`PluginDir.poll` (cheap; call it every
display frame) stats the files at most every ``interval`` seconds and returns what changed:

- ``added`` / ``reloaded``: the file was (re)imported — a fresh module object each time, so the
  old version's state is left alone until the host swaps it (unconfigure the old, configure the
  new);
- ``failed``: importing the saved file raised (a syntax error, an exception at import): the
  error is one line with ``file:line``; the version loaded before keeps running;
- ``removed``: the file is gone.

This module only loads files; the host and the stage do the swapping and show the errors.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from posestage.errors import PluginError, describe_error

#: Seconds between two looks at the folder.
POLL_SECONDS = 0.5
_MODULE_PREFIX = "posestage_plugindir"


@dataclass
class Change:
    """One thing :meth:`PluginDir.poll` noticed (``kind``: added, reloaded, failed, removed)."""

    kind: str
    path: Path
    name: str
    plugin: Any = None  # the new plugin (added, reloaded)
    old: Any = None  # the version loaded before (reloaded, removed, failed)
    error: str = ""  # failed: one line, file:line first


@dataclass
class _Loaded:
    signature: tuple | None
    name: str = ""
    plugin: Any = None
    module: ModuleType | None = None
    error: str = ""
    generation: int = 0


class PluginDir:
    """The plugin files of ``folder``; :meth:`scan` once, then :meth:`poll` again and again."""

    def __init__(self, folder: str | Path, interval: float = POLL_SECONDS):
        self.folder = Path(folder).expanduser()
        if not self.folder.is_dir():
            raise PluginError(
                f"--plugin-dir {folder}: no such folder; give a folder of plugin .py files"
            )
        self.interval = interval
        self._files: dict[Path, _Loaded] = {}
        self._next = 0.0

    # -- public ----------------------------------------------------------------------------

    @property
    def plugins(self) -> dict[str, Any]:
        """``{name: plugin}`` of the versions currently loaded (the last that imported)."""
        return {f.name: f.plugin for f in self._files.values() if f.plugin is not None}

    @property
    def errors(self) -> dict[Path, str]:
        """Files whose last save did not import, with the error."""
        return {p: f.error for p, f in self._files.items() if f.error}

    def scan(self) -> list[Change]:
        """Load every plugin file now (the first call) or whatever changed since."""
        self._next = time.monotonic() + self.interval
        changes: list[Change] = []
        seen = set()
        for path in self._candidates():
            seen.add(path)
            signature = _signature(path)
            known = self._files.get(path)
            if known is not None and known.signature == signature:
                continue
            changes.append(self._load(path, signature, known))
        for path in [p for p in self._files if p not in seen]:
            gone = self._files.pop(path)
            if gone.plugin is not None:
                changes.append(Change("removed", path, gone.name, old=gone.plugin))
        return changes

    def poll(self, now: float | None = None) -> list[Change]:
        """:meth:`scan`, at most every ``interval`` seconds (an empty list in between)."""
        now = time.monotonic() if now is None else now
        if now < self._next:
            return []
        return self.scan()

    # -- loading ---------------------------------------------------------------------------

    def _candidates(self) -> list[Path]:
        try:
            entries = sorted(self.folder.glob("*.py"))
        except OSError:  # the folder went away: nothing to load
            return []
        return [p for p in entries if not p.name.startswith(("_", ".")) and p.is_file()]

    def _load(self, path: Path, signature: tuple | None, known: _Loaded | None) -> Change:
        generation = known.generation + 1 if known else 1
        module_name = f"{_MODULE_PREFIX}.{path.stem}_{generation}"
        try:
            module = _import(path, module_name)
            plugin = _plugin_of(module)
        except PluginError as err:
            error = str(err)
            if known is None:
                known = self._files[path] = _Loaded(signature, _name_of(path, None))
            known.signature, known.error, known.generation = signature, error, generation
            return Change("failed", path, known.name, old=known.plugin, error=error)
        name = _name_of(path, plugin)
        old = known.plugin if known else None
        if known is not None and known.module is not None:
            sys.modules.pop(known.module.__name__, None)  # the old version runs on unaffected
        self._files[path] = _Loaded(signature, name, plugin, module, "", generation)
        return Change("reloaded" if old is not None else "added", path, name, plugin, old)


#: ``PluginInfo.origin`` of plugins loaded from ``--plugin-dir``.
ORIGIN = "--plugin-dir"


def load_into(host: Any, folder: str | Path) -> tuple[PluginDir, list[tuple[Path, str]]]:
    """Load every plugin file of ``folder`` into ``host`` like ``-p`` plugins (active in every
    scene; a file's plugin wins over an installed one of the same name). Returns the
    :class:`PluginDir` (to :meth:`~PluginDir.poll` later) and ``(path, error)`` for each file
    that did not import or whose plugin the host refused — those are left out."""
    plugin_dir = PluginDir(folder)
    problems: list[tuple[Path, str]] = []
    for change in plugin_dir.scan():
        if change.kind == "failed":
            problems.append((change.path, change.error))
            continue
        try:  # checked on a host of its own first: a refused file leaves ``host`` as it was
            type(host)().register(change.plugin, change.name, origin=ORIGIN)
        except PluginError as err:
            problems.append((change.path, f"{change.path}: {err}"))
            continue
        if change.name in host.plugins:
            host.unregister(change.name)  # the file's plugin wins over an installed one
        host.register(change.plugin, change.name, origin=ORIGIN)
        if change.name not in host.extra:
            host.extra.append(change.name)
    return plugin_dir, problems


def _signature(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _import(path: Path, module_name: str) -> ModuleType:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PluginError(f"{path}: cannot read: {err}") from None
    spec = importlib.util.spec_from_loader(module_name, loader=None, origin=str(path))
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(path)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up by name
    try:
        code = compile(source, str(path), "exec")
        exec(code, module.__dict__)  # noqa: S102 - running the performer's own plugin file
    except SyntaxError as err:
        sys.modules.pop(module_name, None)
        raise PluginError(f"{path}:{err.lineno}: SyntaxError: {err.msg}") from None
    except BaseException as err:  # noqa: BLE001 - any failure of the file keeps the old version
        sys.modules.pop(module_name, None)
        line = _line_in(path, err)
        raise PluginError(f"{path}{line}: importing it failed: {describe_error(err)}") from None
    return module


def _line_in(path: Path, err: BaseException) -> str:
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if frame.filename == str(path):
            return f":{frame.lineno}"
    return ""


def _plugin_of(module: ModuleType) -> Any:
    has_hooks = any(n.startswith("posestage_") for n in vars(module))
    if not has_hooks and getattr(module, "plugin", None) is not None:
        return module.plugin
    if not has_hooks:
        raise PluginError(
            f"{module.__file__}: no posestage_* hook functions and no 'plugin' object; "
            "a plugin file defines @hookimpl functions (see docs/plugins.md)"
        )
    return module


def _name_of(path: Path, plugin: Any) -> str:
    explicit = getattr(plugin, "PLUGIN_NAME", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    return path.stem.removeprefix("posestage_")
