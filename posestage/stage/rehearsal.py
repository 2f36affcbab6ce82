"""``--plugin-dir DIR``: plain ``.py`` plugin files, reloaded when saved, while the show runs.

Part of :class:`~posestage.stage.Stage`. At start every file of the folder is loaded
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
from typing import Any

from posestage.errors import PosestageError
from posestage.host.plugindir import ORIGIN

log = logging.getLogger("posestage.stage")


class Rehearsal:
    """The ``--plugin-dir`` part of the stage (main thread polls, control thread swaps)."""

    _plugin_dir: Any = None

    def _load_plugin_dir(self, folder: str) -> None:
        """Start-up: load every plugin file; a broken one is reported and skipped."""
        from posestage.host.plugindir import load_into

        self._plugin_dir, problems = load_into(self.host, folder)
        for path, error in problems:
            self._plugin_file_error(path, error)

    def _poll_plugin_dir(self) -> None:
        """Main thread, between frames: files saved since the last look."""
        for change in self._plugin_dir.poll():
            if change.kind == "failed":
                self._plugin_file_error(
                    change.path,
                    f"{change.error}; the previous version keeps running"
                    if change.old is not None
                    else change.error,
                )
                continue
            problem = self._refused(change) if change.kind != "removed" else ""
            if problem:
                self._plugin_file_error(
                    change.path, f"{problem}; the previous version keeps running"
                )
                continue
            self._plugin_file_error(change.path, None)
            self._control.submit(lambda c=change: self._swap_plugin(c))

    def _refused(self, change: Any) -> str:
        """Why the host would refuse the file's plugin (hooks, settings declaration), or ""."""
        from posestage.host import PluginHost

        try:
            PluginHost().register(change.plugin, change.name, origin=ORIGIN)
        except PosestageError as err:
            return f"{change.path}: {err}"
        return ""

    def _swap_plugin(self, change: Any) -> None:
        """Control thread: the old version out (unconfigured), the new one in (configured)."""
        from posestage.host import PluginUse

        host, name = self.host, change.name
        info = host.plugins.get(name)
        if info is not None and info.origin == ORIGIN:
            host.deactivate(name, self.context)
            host.unregister(name)
        elif info is not None and info.loaded and change.kind != "removed":
            host.deactivate(name, self.context)  # an installed one of that name: ours wins
            host.unregister(name)
        if change.kind == "removed":
            if name in host.extra:
                host.extra.remove(name)
            self._report(f"plugin {name}: {change.path} was removed; plugin stopped")
            return
        try:
            host.register(change.plugin, name, origin=ORIGIN)
        except PosestageError as err:  # checked before: only a race with another file
            self._plugin_file_error(change.path, str(err))
            return
        if name not in host.extra:
            host.extra.append(name)
        uses = [u for u in getattr(self.current_scene, "plugins", []) if u.name == name]
        use = uses[0] if uses else PluginUse(name, {}, f"--plugin-dir {change.path.name}")
        try:
            problem = host.enable(use, self.context)
        except PosestageError as err:  # the scene's settings do not fit the new version
            problem = str(err)
        if problem:
            self._plugin_file_error(change.path, problem)
            return
        verb = "reloaded" if change.kind == "reloaded" else "loaded"
        log.info("plugin %s %s from %s", name, verb, change.path)

    def _plugin_file_error(self, path: Any, message: str | None) -> None:
        """Show (or, with None, clear) the error of one plugin file."""
        key = f"plugin file {path}"
        if self.overlay is not None:
            self.overlay.set_error(key, message)
        if message is not None:
            self._report(message, overlay=False)
