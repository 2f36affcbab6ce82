"""``--plugin-dir DIR``: plain ``.py`` plugin files, reloaded when saved, while the show runs.

The :class:`Rehearsal` part of the :class:`~posestage.stage.Stage`. At start every file of the folder is loaded
(:class:`~posestage.host.plugindir.PluginDir`) and registered like a ``-p`` plugin: active in every
scene, with its defaults unless the scene configures it. The main thread looks at the folder
every :data:`~posestage.host.plugindir.POLL_SECONDS`; a saved file is re-imported there and, when
it imports and its hooks are accepted, swapped on the control thread: the old version leaves
dispatch and is unconfigured, the new one is registered under the same name and configured
with the scene's settings (or its defaults) at the same place in the scene order. A file that
does not import, or whose hooks are refused, leaves the old version running and shows the
error (one line, ``file:line``) on screen until a later save fixes it. A deleted file's plugin
is unconfigured and forgotten.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from posestage.errors import PosestageError
from posestage.host import PluginHost
from posestage.host.plugindir import ORIGIN, PluginDir
from posestage.stage.control import SceneControl
from posestage.stage.show import Show

__all__ = ["Rehearsal"]

log = logging.getLogger("posestage.stage")


class Rehearsal:
    """``--plugin-dir``: the folder's plugins, swapped when saved (main thread polls, the
    control thread swaps). ``folder`` was loaded into ``host`` at start-up
    (:func:`~posestage.host.plugindir.load_into`); ``problems`` are the files it left out.
    ``control`` gives the running scene's settings and runs the swaps in order with scene
    switches."""

    def __init__(
        self,
        folder: PluginDir,
        host: PluginHost,
        control: SceneControl,
        show: Show,
        problems: list[tuple[Path, str]] = (),
    ) -> None:
        self.folder = folder
        self.host = host
        self.control = control
        self.show = show
        for path, error in problems:
            self._file_error(path, error)

    def poll(self) -> None:
        """Main thread, between frames: files saved since the last look."""
        if self.control.busy:
            return
        for change in self.folder.poll():
            if change.kind == "failed":
                self._file_error(
                    change.path,
                    f"{change.error}; the previous version keeps running"
                    if change.old is not None
                    else change.error,
                )
                continue
            problem = self._refused(change) if change.kind != "removed" else ""
            if problem:
                self._file_error(change.path, f"{problem}; the previous version keeps running")
                continue
            self._file_error(change.path, None)
            self.control.submit(lambda c=change: self._swap(c))

    def _refused(self, change: Any) -> str:
        """Why the host would refuse the file's plugin (hooks, settings declaration), or ""."""
        try:
            PluginHost().register(change.plugin, change.name, origin=ORIGIN)
        except PosestageError as err:
            return f"{change.path}: {err}"
        return ""

    def _swap(self, change: Any) -> None:
        """Control thread: the old version out (unconfigured), the new one in (configured)."""
        host, name, context = self.host, change.name, self.control.context
        info = host.plugins.get(name)
        if info is not None and info.origin == ORIGIN:
            host.deactivate(name, context)
            host.unregister(name)
        elif info is not None and info.loaded and change.kind != "removed":
            host.deactivate(name, context)  # an installed one of that name: ours wins
            host.unregister(name)
        if change.kind == "removed":
            if name in host.extra:
                host.extra.remove(name)
            self.show.report(f"plugin {name}: {change.path} was removed; plugin stopped")
            return
        try:
            host.register(change.plugin, name, origin=ORIGIN)
        except PosestageError as err:  # checked before: only a race with another file
            self._file_error(change.path, str(err))
            return
        if name not in host.extra:
            host.extra.append(name)
        use = self.control.plugin_use(name, f"--plugin-dir {change.path.name}")
        try:
            problem = host.enable(use, context)
        except PosestageError as err:  # the scene's settings do not fit the new version
            problem = str(err)
        if problem:
            self._file_error(change.path, problem)
            return
        verb = "reloaded" if change.kind == "reloaded" else "loaded"
        log.info("plugin %s %s from %s", name, verb, change.path)

    def _file_error(self, path: Any, message: str | None) -> None:
        """Show (or, with None, clear) the error of one plugin file."""
        self.show.pin(f"plugin file {path}", message)
        if message is not None:
            self.show.report(message, on_screen=False)
