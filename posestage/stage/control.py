"""Scene switching, scene-file reloads and control messages.

The main thread takes posted messages out of the context's inbox between frames, checks them
(any message, any field, any type: a bad one is refused with one line and counted, never
more), and hands the work that calls plugin code — a scene switch, ``set``, ``enable``,
``disable`` — to the **control thread**. There, plugins are unconfigured / configured without
holding up the window (main thread) or the frames (pose thread); a configured plugin joins
dispatch when its configure returns. The reply goes back to the main thread, which resolves
the sender's future.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from posestage.errors import PosestageError, describe_error
from posestage.hookspecs import ControlMessage, ControlReply
from posestage.host.dispatch import real_interrupt
from posestage.tracking.tracker import TrackingSettings

log = logging.getLogger("posestage.stage")

#: How often the scene file is checked for changes (seconds).
SCENE_POLL_SECONDS = 0.5
#: Built-in control actions (anything else goes to the plugins' ``posestage_event`` only).
ACTIONS = ("scene", "set", "enable", "disable")
#: Longest text field of a control message that is looked at (longer ones are refused).
MAX_FIELD = 200
#: Longest reply / error line (a huge value in a message is not echoed whole).
MAX_LINE = 240


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


def _shown(value: Any) -> str:
    """A value for an error line: short, and never raising."""
    try:
        text = repr(value)
    except BaseException:  # noqa: BLE001 - a hostile __repr__
        return f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."


class Control:
    """Part of :class:`~posestage.stage.Stage`: scenes and control messages."""

    def post(self, message: Any) -> Future:
        """Hand a control message to the stage (any thread): the same as plugins'
        ``stage.post()``; returns the future of its :class:`ControlReply`."""
        return self._inbox.put(message)

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
        mirror = opts.mirror if opts.mirror is not None else _scene_stage(scene, "mirror")
        if mirror is None:  # not set: cameras are mirrored, files are not
            mirror = getattr(self.source, "mirror_by_default", False)
        with self._scene_lock:
            self._mirror = bool(mirror)
            self._privacy_option = self._scene_privacy(scene)
            if tracking is not None:
                self.tracker.settings = tracking

    def _scene_privacy(self, scene: Any) -> bool:
        opts = self.options
        privacy = (
            opts.privacy if opts.privacy is not None else _scene_stage(scene, "privacy", False)
        )
        return bool(privacy)

    def _watch(self, scene: Any) -> None:
        """Watch the running scene's file: edits reload it live (see :meth:`_poll_scene`)."""
        path = getattr(scene, "path", None)
        self._watcher = None
        if path:
            from posestage.config.scenes import SceneWatcher

            self._watcher = SceneWatcher(path, self.host, interval=SCENE_POLL_SECONDS)

    def _housekeeping(self) -> None:
        """Main-thread chores between frames: duration, scene reload, control messages,
        replies, errors to the overlay, the context's facts."""
        self._housekeeping_ticks += 1
        limit = self.options.duration
        if limit is not None and time.perf_counter() - self._started >= limit:
            self.stop("duration")
        if self._watcher is not None and not self._control.busy:
            self._poll_scene()
        if self._plugin_dir is not None and not self._control.busy:
            self._poll_plugin_dir()  # --plugin-dir: files saved since the last look
        for message, future in self._inbox.take():
            self._handle_message(message, future)
        self._resolve_replies()
        pump = getattr(self.host, "pump_events", None)
        if pump is not None:
            pump()
        self._collect_host_errors()
        if self.overlay is not None:
            while self._new_errors:
                self.overlay.add_error(self._new_errors.popleft())
        self._update_facts()

    def _collect_host_errors(self) -> None:
        """New plugin errors from the host go to the overlay and the report."""
        take = getattr(self.host, "take_errors", None)
        if take is None:
            return
        for line in take():
            self._report(str(line), log_it=False)  # the host has logged it already
        for line in self.host.take_slow() if hasattr(self.host, "take_slow") else ():
            self._slow.append(str(line))  # a warning for the report; logged by the host
            self._new_errors.append(str(line))

    def _resolve_replies(self) -> None:
        """Answer the senders whose messages were handled (main thread)."""
        while self._replies:
            future, reply = self._replies.popleft()
            if not future.done():
                future.set_result(reply)

    def _reply(self, future: Future | None, ok: bool, text: str) -> None:
        if future is not None:
            self._replies.append((future, ControlReply(ok, text)))

    # -- control messages ----------------------------------------------------------------

    def _handle_message(self, message: Any, future: Future | None = None) -> None:
        """A posted message: checked here, the built-in actions done on the control thread,
        then every valid message passed to the plugins' ``posestage_event``. A bad message of
        any shape is refused with one line and counted (:attr:`StageReport.rejected`)."""
        try:
            action, target, name, value, origin = self._fields(message)
            if action == "scene":
                self._scene_message(value, origin, future)
            elif action == "set":
                self._submit(future, origin, lambda: self._set_setting(target, name, value, origin))
            elif action == "disable":
                self._submit(future, origin, lambda: self._disable_plugin(target, origin))
            elif action == "enable":
                self._submit(future, origin, lambda: self._enable_plugin(target, origin))
            else:
                self._reply(future, True, f"{action}: passed to the plugins")
        except BaseException as err:  # noqa: BLE001 - no message ends the show
            if isinstance(err, KeyboardInterrupt) and real_interrupt():
                raise
            self._reject(future, err)
            return
        self.host.event(message)

    def _reject(self, future: Future | None, err: BaseException) -> None:
        self._rejected += 1
        line = str(err) if isinstance(err, PosestageError) else describe_error(err)
        if len(line) > MAX_LINE:
            line = line[: MAX_LINE - 3] + "..."
        self._report(f"control message refused ({self._rejected} so far): {line}")
        self._reply(future, False, line)

    def _fields(self, message: Any) -> tuple[str, str, str, Any, str]:
        """(action, target, name, value, origin) of a well-formed message, else a one-line
        :class:`PosestageError`."""
        if not isinstance(message, ControlMessage):
            raise PosestageError(
                f"control: not a ControlMessage but a {type(message).__name__}; "
                "post posestage.hookspecs.ControlMessage(action, target, name, value, source)"
            )
        origin = message.source
        if not isinstance(origin, str) or not origin or len(origin) > MAX_FIELD:
            origin = "control"
        texts = {}
        for field in ("action", "target", "name"):
            got = getattr(message, field)
            if not isinstance(got, str) or len(got) > MAX_FIELD:
                raise PosestageError(
                    f"{origin}: {field} {_shown(got)} is not valid; give a short text"
                )
            texts[field] = got
        action = texts["action"]
        if action in ("set", "enable", "disable") and not texts["target"]:
            raise PosestageError(f"{origin}: {action} needs a target (a plugin name)")
        if action == "set" and not texts["name"]:
            raise PosestageError(f"{origin}: set {texts['target']} needs the setting's name")
        return action, texts["target"], texts["name"], message.value, origin

    def _submit(self, future: Future | None, origin: str, job: Callable[[], str]) -> None:
        """Run ``job`` on the control thread; its returned text (or error) is the reply."""

        def run() -> None:
            try:
                text = job()
            except BaseException as err:  # noqa: BLE001
                if isinstance(err, KeyboardInterrupt) and real_interrupt():
                    raise
                self._reject(future, err)
                return
            self._reply(future, True, text)

        self._control.submit(run)

    def _scene_message(self, value: Any, origin: str, future: Future | None) -> None:
        index = self._scene_index_of(value)
        if index is None:
            names = ", ".join(_scene_name(s) for s in self._scenes)
            raise PosestageError(f"{origin}: no scene {_shown(value)}; scenes: {names}")
        scene = self._scenes[index]
        text = f"scene {index + 1}: {_scene_name(scene)}"
        if index == self.scene_index:
            self._reply(future, True, f"{text} (already running)")
            return
        self.switch_scene(index, future=future, reply=text)

    def _scene_index_of(self, value: Any) -> int | None:
        """A scene by 1-based number or by name / file name (None: no such scene)."""
        count = len(self._scenes)
        if isinstance(value, bool):
            return None
        if isinstance(value, float):
            if not math.isfinite(value) or not value.is_integer():
                return None
            value = int(value)
        if isinstance(value, int):
            return value - 1 if 1 <= value <= count else None
        if not isinstance(value, str) or len(value) > MAX_FIELD:
            return None
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 6:
            number = int(text)
            return number - 1 if 1 <= number <= count else None
        for i, scene in enumerate(self._scenes):
            path = getattr(scene, "path", None)
            if text and text in (
                _scene_name(scene),
                str(path) if path else "",
                Path(path).name if path else "",
            ):
                return i
        return None

    def _set_setting(self, target: str, name: str, value: Any, origin: str) -> str:
        new = self.host.update_settings(target, {name: value}, self.context, origin)
        return f"{target}.{name} = {_shown(new.get(name, value))}"

    def _disable_plugin(self, name: str, origin: str) -> str:
        if not self.host.deactivate(name, self.context):
            active = ", ".join(self.host.active) or "none"
            raise PosestageError(f"{origin}: plugin {name!r} is not active; active: {active}")
        return f"{name} disabled"

    def _enable_plugin(self, name: str, origin: str) -> str:
        """Switch one plugin (back) on: with the scene's settings if the scene lists it, else
        with its defaults. Every other plugin stays exactly as it is (live settings, open
        ports) — one switched off after failing stays off. An unknown name is refused (the
        host lists the installed plugins)."""
        from posestage.host import PluginUse

        if name in self.host.active:
            return f"{name} already enabled"
        uses = [u for u in getattr(self.current_scene, "plugins", []) if u.name == name]
        use = uses[0] if uses else PluginUse(name, {}, f"{origin}: enable {name}")
        problem = self.host.enable(use, self.context)
        if problem:
            raise PosestageError(problem)
        return f"{name} enabled"

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
        self._control.submit(lambda: self._change_scene(got))

    def switch_scene(self, index: int, *, future: Future | None = None, reply: str = "") -> bool:
        """Make scene ``index`` (0-based, in the order given) the running one. The switch
        itself runs on the control thread (plugins unconfigured / configured there)."""
        if not 0 <= index < len(self._scenes) or index == self.scene_index:
            return False
        self.scene_index = index
        scene = self._scenes[index]
        self._watch(scene)

        def switch() -> None:
            ok = self._change_scene(scene)
            self._reply(future, ok, reply or f"scene {index + 1}: {_scene_name(scene)}")

        self._control.submit(switch)
        return True

    def _change_scene(self, scene: Any) -> bool:
        """Make ``scene`` the running one (control thread): the host unconfigures the plugins
        it drops (or whose settings changed), configures the new ones and tells the ones kept
        (``posestage_scene_changed``). People stay (same ids); plugins configured now find them
        in ``frame.people`` (no enter is re-announced). Privacy fails closed: it stays on
        through the switch when the old scene had it, and is on before the first frame when
        the new one asks."""
        old = self.scene
        new = _scene_name(scene)
        previous = self.current_scene
        try:
            if hasattr(scene, "tracking_settings"):
                scene.tracking_settings()  # invalid tracking: refused before anything changes
            with self._scene_lock:
                self._privacy_option = self._privacy_option or self._scene_privacy(scene)
            # the plugins' configure / settings_changed / scene_changed see the new scene
            self.current_scene = scene
            self._facts.scene = new
            self.host.activate(getattr(scene, "plugins", []), self.context, scene_change=(old, new))
            self._apply_scene_settings(scene)
        except PosestageError as err:
            self.current_scene = previous
            self._facts.scene = old
            with self._scene_lock:
                self._privacy_option = self._scene_privacy(previous)
            self._report(f"scene {new}: {err}")
            return False
        self._caption = f"posestage — {new}"
        return True
