"""Scene switching, scene-file reloads and control messages (main thread)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..errors import PosestageError
from ..tracking import TrackingSettings

#: How often the scene file is checked for changes (seconds).
SCENE_POLL_SECONDS = 0.5


def _scene_stage(scene: Any, name: str, default: Any = None) -> Any:
    """A ``[stage]`` setting of a scene (None-tolerant: a scene may not set it)."""
    settings = getattr(scene, "stage", None)
    if settings is None:
        return default
    if isinstance(settings, dict):
        value = settings.get(name, default)
    else:
        value = getattr(settings, name, default)
    return default if value is None else value


def _scene_name(scene: Any) -> str:
    name = getattr(scene, "name", None)
    if name:
        return str(name)
    path = getattr(scene, "path", None)
    return Path(path).stem if path else "scene"


class Control:
    """Part of :class:`~posestage.stage.Stage`: scenes and control messages."""

    def post(self, message: Any) -> None:
        """Hand a control message to the main loop (any thread); handled between frames.

        Built-in actions: ``scene`` (1-based number or file name), ``set`` (plugin setting),
        ``enable`` / ``disable`` (a plugin in the running scene); every message then goes on
        to the plugins' ``posestage_event``.
        """
        self._inbox.append(message)

    def _apply_scene_settings(self, scene: Any) -> None:
        """Stage settings that apply live: mirror, privacy, tracking (CLI options win).

        Raises :class:`SceneError` for invalid tracking settings (nothing is changed then).
        """
        opts = self.options
        tracking = None
        if hasattr(scene, "tracking_settings"):
            tracking = scene.tracking_settings()
        elif isinstance(getattr(scene, "tracking", None), TrackingSettings):
            tracking = scene.tracking
        mirror = opts.mirror if opts.mirror is not None else _scene_stage(scene, "mirror", False)
        privacy = (
            opts.privacy if opts.privacy is not None else _scene_stage(scene, "privacy", False)
        )
        self._mirror = bool(mirror)
        self._privacy_option = bool(privacy)
        if tracking is not None:
            self.tracker.settings = tracking

    def _watch(self, scene: Any) -> None:
        """Watch the running scene's file: edits reload it live (see :meth:`_poll_scene`)."""
        path = getattr(scene, "path", None)
        self._watcher = None
        if path:
            from ..scenes import SceneWatcher

            self._watcher = SceneWatcher(path, self.host, interval=SCENE_POLL_SECONDS)

    def _housekeeping(self) -> None:
        """Main-thread chores between frames: duration, scene reload, errors to the overlay."""
        limit = self.options.duration
        if limit is not None and time.perf_counter() - self._started >= limit:
            self.stop("duration")
        if self._watcher is not None:
            self._poll_scene()
        while self._inbox:
            self._handle_message(self._inbox.popleft())
        self._collect_host_errors()
        if self.overlay is not None:
            while self._new_errors:
                self.overlay.add_error(self._new_errors.popleft())

    def _collect_host_errors(self) -> None:
        """New plugin errors from the host go to the overlay and the report."""
        take = getattr(self.host, "take_errors", None)
        if take is None:
            return
        for line in take():
            self._report(str(line), log_it=False)  # the host has logged it already

    def _handle_message(self, message: Any) -> None:
        """A control message (see :meth:`post`): built-in actions, then the plugins' event."""
        action = getattr(message, "action", "")
        target = getattr(message, "target", "")
        value = getattr(message, "value", None)
        origin = getattr(message, "source", "") or "control"
        try:
            if action == "scene":
                index = self._scene_index_of(value)
                if index is None:
                    names = ", ".join(_scene_name(s) for s in self._scenes)
                    raise PosestageError(f"{origin}: no scene {value!r}; scenes: {names}")
                self.switch_scene(index)
            elif action == "set":
                name = getattr(message, "name", "")
                with self._hooks:
                    self.host.update_settings(target, {name: value}, self, origin)
            elif action == "disable":
                with self._hooks:
                    self.host.deactivate(target, self)
            elif action == "enable":
                self._enable_plugin(target)
        except PosestageError as err:
            self._report(str(err))
        with self._hooks:
            self.host.event(message)

    def _scene_index_of(self, value: Any) -> int | None:
        """A scene by 1-based number or by name / file name."""
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            return None  # also NaN and infinities, which int() refuses
        if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
            index = int(value) - 1
            return index if 0 <= index < len(self._scenes) else None
        for i, scene in enumerate(self._scenes):
            path = getattr(scene, "path", None)
            if str(value) in (_scene_name(scene), str(path), Path(str(path)).name if path else ""):
                return i
        return None

    # -- scenes --------------------------------------------------------------------------

    def _poll_scene(self) -> None:
        """Reload the scene file when it changed; an invalid edit keeps the running scene and
        shows the error until a later edit fixes it."""
        got = self._watcher.poll()
        if got is None:
            return
        if isinstance(got, BaseException):
            message = f"scene not reloaded, still running the previous one: {got}"
            if self.overlay is not None:
                self.overlay.set_error("scene", message)
            self._report(message, overlay=False)
            return
        if self.overlay is not None:
            self.overlay.set_error("scene", None)
        self._scenes[self.scene_index] = got
        self._change_scene(got)

    def switch_scene(self, index: int) -> bool:
        """Make scene ``index`` (0-based, in the order given) the running one."""
        if not 0 <= index < len(self._scenes) or index == self.scene_index:
            return False
        self.scene_index = index
        self._change_scene(self._scenes[index])
        self._watch(self.current_scene)
        return True

    def _change_scene(self, scene: Any) -> None:
        """Make ``scene`` the running one: the host unconfigures the plugins it drops (or whose
        settings changed) and configures the new ones. People stay (same ids); plugins
        configured now find them in ``frame.people`` (no enter is re-announced)."""
        with self._hooks:
            try:
                self.host.activate(getattr(scene, "plugins", []), self)  # validates first
                self._apply_scene_settings(scene)
                self.current_scene = scene
            except PosestageError as err:
                self._report(f"scene {_scene_name(scene)}: {err}")
        if not self.options.headless:
            try:
                import pygame

                pygame.display.set_caption(f"posestage — {_scene_name(scene)}")
            except Exception:
                pass

    def _enable_plugin(self, name: str) -> None:
        """Switch one plugin (back) on: with the scene's settings if the scene lists it, else
        with its defaults. Every other plugin stays as it is — one switched off after failing
        stays off. An unknown name is reported (the host lists the installed plugins)."""
        from ..plugins import PluginUse

        active = self.host.active
        uses = [u for u in self.current_scene.plugins if u.name in active or u.name == name]
        listed = {u.name for u in uses}
        # plugins enabled by hand earlier (not in the scene) keep running with their settings
        uses += [
            PluginUse(n, dict(self.host.settings_of(n) or {}), f"enable {n}")
            for n in active
            if n not in listed
        ]
        if name not in listed and name not in active:
            uses.append(PluginUse(name, {}, f"enable {name}"))
        with self._hooks:
            self.host.activate(uses, self)
