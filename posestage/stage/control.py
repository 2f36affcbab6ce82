"""Scene switching, scene-file reloads and control messages: :class:`SceneControl`.

The main thread takes posted messages out of the context's inbox between frames, checks them
(any message, any field, any type: a bad one is refused with one line and counted, never
more), and hands the work that calls plugin code — a scene switch, ``set``, ``enable``,
``disable``, a ``room`` edit (the scene again with another ``[room]``, as a reload) — to the
**control thread**. There, plugins are unconfigured / configured without
holding up the window (main thread) or the frames (pose thread); a configured plugin joins
dispatch when its configure returns. The reply goes back to the main thread, which resolves
the sender's future.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from posestage.config.scenes import Scene, SceneWatcher
from posestage.context import ControlInbox, StageContext, StageFacts
from posestage.errors import PosestageError, describe_error
from posestage.hookspecs import ControlMessage, ControlReply
from posestage.host import PluginHost, PluginUse
from posestage.host.dispatch import real_interrupt
from posestage.stage.jobs import ControlThread
from posestage.stage.messages import (
    MAX_LINE,
    Refusals,
    check_message,
    is_remote,
    scene_index,
    shown,
)
from posestage.stage.options import StageOptions
from posestage.stage.osc_targets import with_osc_targets
from posestage.stage.pipeline import PosePipeline
from posestage.stage.report import StageReport
from posestage.stage.room_edit import edited, save_room
from posestage.stage.show import Show

__all__ = ["SCENE_POLL_SECONDS", "SceneControl"]

log = logging.getLogger("posestage.stage")

#: How often the scene file is checked for changes (seconds).
SCENE_POLL_SECONDS = 0.5


class SceneControl:
    """The scenes, the control messages and the control thread (``jobs``).

    ``scenes`` in the order given (the first one runs first). What a scene sets live goes to
    the ``pipeline`` (mirror, privacy, tracking; ``options`` win, ``mirror_default`` when
    neither says) and to the ``host`` (its plugins, configured with ``context``); the running
    scene's name goes into ``facts`` before the plugins are told. Messages come from
    ``inbox``; :meth:`tick` (main thread) handles them and reloads an edited scene file.
    """

    def __init__(
        self,
        scenes: list[Scene],
        host: PluginHost,
        pipeline: PosePipeline,
        show: Show,
        *,
        context: StageContext,
        facts: StageFacts,
        inbox: ControlInbox,
        jobs: ControlThread,
        options: StageOptions,
        mirror_default: bool,
        prepare: Callable[[Scene], Scene] | None = None,
    ) -> None:
        self.scenes = scenes
        self.host = host
        self.pipeline = pipeline
        self.show = show
        self.context = context
        self.facts = facts
        self.inbox = inbox
        self.jobs = jobs
        self.options = options
        self.mirror_default = mirror_default
        #: what a reloaded scene goes through, as the scenes given did (--osc, the web tap)
        self.prepare = prepare or (lambda scene: with_osc_targets(scene, options.osc, host))
        self.current_scene: Scene = scenes[0]
        self.scene_index = 0
        self.activated = False
        self.refused: list[str] = []  # the first scene's plugins that did not start
        self.refusals = Refusals()  # local senders' (keys, plugins): on screen and in the log
        self.remote_refusals = Refusals()  # the control port's: in the log only
        self._watcher: SceneWatcher | None = None
        self._replies: deque[tuple[Future, ControlReply]] = deque()

    @property
    def scene(self) -> str:
        """The running scene's name."""
        return self.current_scene.name

    @property
    def busy(self) -> bool:
        """Control jobs are waiting or running."""
        return self.jobs.busy

    def submit(self, job: Callable[[], Any]) -> Future:
        """Run ``job`` on the control thread (in order with scene switches)."""
        return self.jobs.submit(job)

    def apply_settings(self, scene: Scene) -> None:
        """Stage settings that apply live: mirror, privacy, tracking, room (CLI options win).

        Raises :class:`SceneError` for invalid tracking settings (nothing is changed then).
        """
        tracking = scene.tracking_settings()
        opts = self.options
        mirror = opts.mirror if opts.mirror is not None else scene.stage_value("mirror")
        if mirror is None:  # not set: cameras are mirrored, files are not
            mirror = self.mirror_default
        self.pipeline.apply(
            mirror=bool(mirror),
            privacy=self._privacy(scene),
            tracking=tracking,
            empty_seconds=scene.stage_value("empty_seconds", 2.0),
            room=scene.room_settings(),
            scene=scene.name,
        )

    def _privacy(self, scene: Scene) -> bool:
        opts = self.options
        return bool(opts.privacy if opts.privacy is not None else scene.stage_value("privacy"))

    def start(self) -> None:
        """The first scene's plugins, configured on the main thread before any frame (so that
        a recorder records from the first frame); later activations run on the control
        thread. Then the scene file is watched."""
        scene = self.current_scene
        self.host.run_later = self.jobs.submit
        problems = self.host.activate(scene.plugins, self.context)
        self.refused = [line for line in problems if "disabled (--disable)" not in line]
        self.activated = True
        self.jobs.start()
        self._watch(scene)

    def tick(self) -> None:
        """Main thread, between frames: an edited scene file, posted messages, replies."""
        if self._watcher is not None and not self.jobs.busy:
            self._poll_scene()
        for message, future in self.inbox.take():
            self.handle(message, future)
        self.resolve_replies()

    def close(self) -> None:
        """At shutdown (the control thread stopped): messages still waiting are refused."""
        for _, future in self.inbox.close():  # (message, future) pairs
            self._replies.append((future, ControlReply(False, "the stage has stopped")))
        self.resolve_replies()

    @property
    def rejected(self) -> int:
        """Control messages refused so far."""
        return self.refusals.count + self.remote_refusals.count

    def fill(self, report: StageReport) -> None:
        report.rejected = self.rejected
        report.refused = list(self.refused)

    def _watch(self, scene: Scene) -> None:
        """Watch the running scene's file: edits reload it live (see :meth:`_poll_scene`)."""
        self._watcher = None
        if scene.path:
            self._watcher = SceneWatcher(scene.path, self.host, interval=SCENE_POLL_SECONDS)

    def resolve_replies(self) -> None:
        """Answer the senders whose messages were handled (main thread)."""
        while self._replies:
            future, reply = self._replies.popleft()
            if not future.done():
                future.set_result(reply)

    def _reply(self, future: Future | None, ok: bool, text: str) -> None:
        if future is not None:
            self._replies.append((future, ControlReply(ok, text)))
            self.show.wake.set()  # the display's next round answers it (any thread)

    # -- control messages ----------------------------------------------------------------

    def handle(self, message: Any, future: Future | None = None) -> None:
        """A posted message: checked here, the built-in actions done on the control thread,
        then every valid message passed to the plugins' ``posestage_event``. A bad message of
        any shape is refused with one line and counted (:attr:`StageReport.rejected`)."""
        remote = False
        try:
            remote = isinstance(message, ControlMessage) and is_remote(message.source)
            action, target, name, value, origin = check_message(message)
            if action == "scene":
                self._scene_message(value, origin, future)
            elif action == "set":
                job = lambda: self._set_setting(target, name, value, origin)  # noqa: E731
                self._submit(future, job, origin)
            elif action == "disable":
                self._submit(future, lambda: self._disable_plugin(target, origin), origin)
            elif action == "enable":
                self._submit(future, lambda: self._enable_plugin(target, origin), origin)
            elif action == "room":  # the page's calibration and zones (name "save": the file)
                self._room_message(name, value, origin, future)
            elif action == "recapture":  # the empty room is the stage's (any target: the room)
                self.pipeline.room.recapture()
                self._reply(future, True, "recapture: waiting for an empty room")
            else:
                self._reply(future, True, f"{action}: passed to the plugins")
        except BaseException as err:  # noqa: BLE001 - no message ends the show
            if isinstance(err, KeyboardInterrupt) and real_interrupt():
                raise
            self._reject(future, err, remote)
            return
        self.host.event(message)

    def _reject(self, future: Future | None, err: BaseException, remote: bool = False) -> None:
        """Refused: the sender is told; the log (and, for a local sender, the screen) gets the
        first refusal, then one line now and then with the count (a flood of bad requests is
        not a flood of lines). A remote sender's refusals are never painted over the
        performers: the sender has its reply, the operator the log and the report."""
        line = str(err) if isinstance(err, PosestageError) else describe_error(err)
        if len(line) > MAX_LINE:
            line = line[: MAX_LINE - 3] + "..."
        shown_line = (self.remote_refusals if remote else self.refusals).add(line)
        if shown_line is not None:
            self.show.report(shown_line, on_screen=not remote)
        self._reply(future, False, line)

    def _done(self, origin: str, text: str) -> None:
        """What control did, one line per accepted change: who, what."""
        log.info("control: %s: %s", origin, text)

    def _submit(self, future: Future | None, job: Callable[[], str], origin: str) -> None:
        """Run ``job`` on the control thread; its returned text (or error) is the reply, and
        what it did is logged with ``origin``."""

        def run() -> None:
            try:
                text = job()
            except BaseException as err:  # noqa: BLE001
                if isinstance(err, KeyboardInterrupt) and real_interrupt():
                    raise
                self._reject(future, err, is_remote(origin))
                return
            self._done(origin, text)
            self._reply(future, True, text)

        self.jobs.submit(run)

    def _scene_message(self, value: Any, origin: str, future: Future | None) -> None:
        index = scene_index(self.scenes, value)
        if index is None:
            names = ", ".join(s.name for s in self.scenes)
            raise PosestageError(f"{origin}: no scene {shown(value)}; scenes: {names}")
        scene = self.scenes[index]
        text = f"scene {index + 1}: {scene.name}"
        if index == self.scene_index:
            self._reply(future, True, f"{text} (already running)")
            return
        self._check_privacy_ends(scene, origin)
        self.switch_scene(index, future=future, reply=text, origin=origin)

    def _room_message(self, name: str, value: Any, origin: str, future: Future | None) -> None:
        """``room``: a whole ``[room]`` table, checked as a scene file's, made the running
        scene's room as a reload of its file would (the file untouched); named ``save``: the
        running room written into the scene file (:mod:`posestage.stage.room_edit`)."""
        scene = self.scenes[self.scene_index]
        if name == "save":
            text = save_room(scene)
            self._done(origin, text)
            self._reply(future, True, text)
            return
        new = edited(scene, value, origin)
        self.scenes[self.scene_index] = new
        zones = len(new.room["zones"] or {})
        text = f"room: {zones} zone{'s' if zones != 1 else ''}"
        if new.room["image"] is not None:
            text += f", calibrated (error {new.room_settings().calibration.error:.1f} px)"

        def change() -> None:
            ok = self._change_scene(new)
            if ok:
                self._done(origin, text)
            self._reply(future, ok, text if ok else "room: not applied; see the log")

        self.jobs.submit(change)

    def _check_privacy_ends(self, scene: Scene, origin: str) -> None:
        """The privacy rule for switches from outside (every control message: the control
        port, a plugin's ``stage.post``, ``Stage.post``; keys at the window are local): a switch
        out of privacy is refused unless the private scene says ``[stage] privacy_ends =
        "anyone"``. A scene keeps privacy when it is strict (``[stage] privacy`` or
        ``--privacy``) or runs, with the same settings, a plugin asking for privacy now."""
        if not self.pipeline.privacy or self._privacy(scene):
            return
        if self.current_scene.stage_value("privacy_ends", "local") == "anyone":
            return
        asking = self.host.privacy_asking
        for use in self.host.check(scene.plugins):
            if use.name in asking and self.host.settings_of(use.name) == use.settings:
                return
        raise PosestageError(
            f"{origin}: scene {scene.name!r} would end privacy; only a key at the window may "
            f'(or [stage] privacy_ends = "anyone" in scene {self.scene!r})'
        )

    def _set_setting(self, target: str, name: str, value: Any, origin: str) -> str:
        new = self.host.update_settings(target, {name: value}, self.context, origin)
        return f"{target}.{name} = {shown(new.get(name, value))}"

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
        if name in self.host.active:
            return f"{name} already enabled"
        use = self.plugin_use(name, f"{origin}: enable {name}")
        problem = self.host.enable(use, self.context)
        if problem:
            raise PosestageError(problem)
        return f"{name} enabled"

    def plugin_use(self, name: str, where: str) -> PluginUse:
        """The running scene's use of plugin ``name``, or one with its defaults."""
        uses = [u for u in self.current_scene.plugins if u.name == name]
        return uses[0] if uses else PluginUse(name, {}, where)

    # -- scenes --------------------------------------------------------------------------

    def _poll_scene(self) -> None:
        """Reload the scene file when it changed; an invalid edit keeps the running scene and
        shows the error until a later edit fixes it."""
        got = self._watcher.poll()
        if got is None:
            return
        if isinstance(got, BaseException):
            message = f"scene not reloaded, still running the previous one: {got}"
            self.show.pin("scene", message)
            self.show.report(message, on_screen=False)
            return
        self.show.pin("scene", None)
        got = self.prepare(got)
        self.scenes[self.scene_index] = got
        self.jobs.submit(lambda: self._change_scene(got))

    def switch_scene(
        self, index: int, *, future: Future | None = None, reply: str = "", origin: str = ""
    ) -> bool:
        """Make scene ``index`` (0-based, in the order given) the running one. The switch
        itself runs on the control thread (plugins unconfigured / configured there)."""
        if not 0 <= index < len(self.scenes) or index == self.scene_index:
            return False
        self.scene_index = index
        scene = self.scenes[index]
        self._watch(scene)

        def switch() -> None:
            ok = self._change_scene(scene)
            text = reply or f"scene {index + 1}: {scene.name}"
            if ok and origin:
                self._done(origin, text)
            self._reply(future, ok, text)

        self.jobs.submit(switch)
        return True

    def _change_scene(self, scene: Scene) -> bool:
        """Make ``scene`` the running one (control thread): the host unconfigures the plugins
        it drops (or whose settings changed), configures the new ones and tells the ones kept
        (``posestage_scene_changed``). People stay (same ids); plugins configured now find them
        in ``frame.people`` (no enter is re-announced). Privacy fails closed: it stays on
        through the switch when the old scene had it, and is on before the first frame when
        the new one asks."""
        old, new = self.scene, scene.name
        previous = self.current_scene
        pipeline = self.pipeline
        try:
            scene.tracking_settings()  # invalid tracking: refused before anything changes
            pipeline.apply(privacy=pipeline.strict_privacy or self._privacy(scene))
            # the plugins' configure / settings_changed / scene_changed see the new scene
            self.current_scene = scene
            self.facts.scene = new
            self.facts.floor = scene.room_settings()
            self.host.activate(scene.plugins, self.context, scene_change=(old, new))
            self.apply_settings(scene)
        except PosestageError as err:
            self.current_scene = previous
            self.facts.scene = old
            self.facts.floor = previous.room_settings()
            pipeline.apply(privacy=self._privacy(previous))
            self.show.report(f"scene {new}: {err}")
            return False
        return True
