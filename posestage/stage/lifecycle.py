"""The stage itself: it assembles its parts, starts them, runs the display, shuts down."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from posestage import signals
from posestage.config.scenes import Scene
from posestage.context import ControlInbox, Outgoing, StageContext, StageFacts
from posestage.errors import PosestageError, describe_error, one_line
from posestage.hookspecs import ControlReply
from posestage.host import PluginHost
from posestage.host.dispatch import mark_real_interrupt
from posestage.model.frames import PoseFrame
from posestage.sources import ReplaySource, Source
from posestage.stage.assembly import load_engine, load_scenes, open_scene_source
from posestage.stage.capture import Capture
from posestage.stage.control import SceneControl
from posestage.stage.control_port import ControlPort, open_control_port
from posestage.stage.jobs import ControlThread
from posestage.stage.mailbox import Mailbox
from posestage.stage.options import StageOptions
from posestage.stage.osc_targets import preparer
from posestage.stage.overlay import Overlay
from posestage.stage.pipeline import PosePipeline
from posestage.stage.rehearsal import Rehearsal
from posestage.stage.report import StageReport
from posestage.stage.room import Backdrop
from posestage.stage.show import Show
from posestage.stage.web import WebServer, open_web
from posestage.stage.window import JOIN_SECONDS, Display, Headless, Window
from posestage.tracking.tracker import Tracker, TrackingSettings

if TYPE_CHECKING:
    from posestage.engine.pose_engine import PoseEngine
    from posestage.host.trace import HookTrace

__all__ = ["Stage"]

log = logging.getLogger("posestage.stage")

#: At shutdown, how long every plugin's unconfigure (each on its lane, all at once, after the
#: leaves of the people still on stage) is waited for; a plugin stuck longer is left behind.
UNCONFIGURE_SECONDS = 5.0


class Stage:
    """Runs one show: a source, the engine, the tracker and the plugins of a scene.

    ``scenes`` are :class:`~posestage.config.scenes.Scene` objects or scene file paths (number
    keys switch between them; the first one starts). ``host``, ``source`` and ``engine`` may
    be given ready-made (tests, embedding); otherwise they are built from the scene and
    options when :meth:`run` starts. The parts (:attr:`capture`, :attr:`pipeline`,
    :attr:`control`, :attr:`display`, :attr:`rehearsal`) are built then too, each handed its
    neighbours; this object only assembles, starts, runs and shuts them down.

    Plugins never see this object: they get :attr:`context`, a read-only
    :class:`~posestage.context.StageContext` (the stage keeps its facts up to date).
    """

    def __init__(
        self,
        scenes: Sequence[Scene | str] = (),
        options: StageOptions | None = None,
        *,
        host: PluginHost | None = None,
        source: Source | None = None,
        engine: PoseEngine | None = None,
    ):
        self.options = options or StageOptions()
        self._scene_specs = list(scenes)
        self.host = host
        self.source = source
        self._engine = engine
        #: the tracker the pose pipeline will use (replaceable before :meth:`run`)
        self.tracker = Tracker(TrackingSettings())
        self.report = StageReport()
        self.show = Show()
        self._mailbox = Mailbox()
        self._jobs = ControlThread()
        self._facts = StageFacts()
        self._inbox = ControlInbox(notify=self.show.wake.set)  # a message wakes the display
        #: what plugins get as ``stage``: facts and post(), nothing that reaches pixels
        #: what plugins said they sent (``stage.sent``): the OSC monitor's numbers
        self.outgoing = Outgoing()
        self.context = StageContext(self._facts, self._inbox, self.outgoing)
        self.capture: Capture | None = None
        self.pipeline: PosePipeline | None = None
        self.control: SceneControl | None = None
        self.display: Display | None = None
        self.rehearsal: Rehearsal | None = None
        #: the control port (OSC in), open for the whole run; None without ``control``
        self.control_port: ControlPort | None = None
        self.web: WebServer | None = None
        self.ticks = 0  #: main-loop rounds (tests watch it to see the loop live)
        self._trace: HookTrace | None = None
        self._signals: dict[int, Any] = {}
        self._taken = False  # the signals were handed over by posestage.signals
        self._started = 0.0
        self._room_pixels = "window"  # [stage] room_pixels of the first scene: never live

    # -- public --------------------------------------------------------------------------

    @property
    def mirror(self) -> bool:
        return self.pipeline is not None and self.pipeline.mirror

    @property
    def scene(self) -> str:
        """The running scene's name (``current_scene`` is the Scene object)."""
        return self.control.scene if self.control is not None else ""

    @property
    def current_scene(self) -> Scene | None:
        return self.control.current_scene if self.control is not None else None

    @property
    def privacy(self) -> bool:
        """True when no camera pixels may reach the window, files or sockets: the scene (or
        ``--privacy``) says so, or a plugin asked (see :attr:`PluginHost.privacy`)."""
        if self.pipeline is not None:
            return self.pipeline.privacy
        return self.host is not None and self.host.privacy

    @property
    def engine(self) -> PoseEngine | None:
        return self.pipeline.engine if self.pipeline is not None else self._engine

    @property
    def frame(self) -> PoseFrame | None:
        """The latest frame dispatched to the plugins."""
        return self.pipeline.frame if self.pipeline is not None else None

    @property
    def overlay(self) -> Overlay | None:
        """The window's overlay (None headless)."""
        return self.display.overlay if self.display is not None else None

    @property
    def display_ticks(self) -> int:
        """The window loop's ticks so far (0 headless)."""
        return self.display.frames if isinstance(self.display, Window) else 0

    @property
    def threads(self) -> list[threading.Thread]:
        """The capture and pose threads, once started."""
        parts = (self.capture, self.pipeline)
        return [p.thread for p in parts if p is not None and p.thread is not None]

    @property
    def errors(self) -> list[str]:
        """Errors reported during the run (engine, source, scene, plugins), oldest first."""
        return self.show.errors

    def post(self, message: Any) -> Future:
        """Hand a control message to the stage (any thread): the same as plugins'
        ``stage.post()``; returns the future of its :class:`ControlReply`."""
        return self._inbox.put(message)

    def switch_scene(self, index: int) -> bool:
        """Make scene ``index`` (0-based) the running one (see :meth:`SceneControl.switch_scene`)."""
        return self.control is not None and self.control.switch_scene(index)

    def stop(self, reason: str = "quit") -> None:
        """Ask the stage to stop (any thread); :meth:`run` then shuts down cleanly."""
        self.show.stop(reason)

    def run(self) -> StageReport:
        """Run until stopped (Esc/Q, ``frames``, ``duration``, end of source, :meth:`stop`).

        Call from the main thread (pygame's window lives there). Start-up problems (scene,
        plugins, source, model) raise a :class:`PosestageError` before anything runs; the
        report is returned after a clean shutdown.
        """
        self._install_signals()
        try:
            self._start()
            self.display.run()
        except BaseException as err:
            if not isinstance(err, (PosestageError, KeyboardInterrupt)):
                log.exception("stage: unexpected error")
            self.show.fail(err)
            self.stop("error" if not isinstance(err, KeyboardInterrupt) else "quit")
        finally:
            try:
                self._shutdown()
            finally:
                self._restore_signals()
        fatal = self.show.fatal
        activated = self.control is not None and self.control.activated
        if isinstance(fatal, (PosestageError, KeyboardInterrupt)) and not activated:
            raise fatal  # a start-up error: the CLI prints it (exit 2)
        if isinstance(fatal, PosestageError):
            self.report.error = str(fatal)
        elif fatal is not None and not isinstance(fatal, KeyboardInterrupt):
            self.report.error = describe_error(fatal)
        return self.report

    # -- signals -------------------------------------------------------------------------

    def _install_signals(self) -> None:
        """SIGTERM and SIGHUP (systemd, docker, a closed terminal) and Ctrl-C stop the show
        cleanly: people leave, plugins are unconfigured, the source is closed. A second Ctrl-C
        while stopping raises KeyboardInterrupt (a real one: plugins do not swallow it)."""
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers live on the main thread; an embedding app keeps its own
        if signals.installed():  # the command line caught them from its first line
            self._taken = True
            for signum in signals.take(self._on_signal):  # one came during start-up
                self._on_signal(signum, None)
            return
        for name in signals.NAMES:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            try:
                self._signals[signum] = signal.signal(signum, self._on_signal)
            except (ValueError, OSError):  # pragma: no cover - not allowed here
                pass

    def _restore_signals(self) -> None:
        if self._taken:
            self._taken = False
            signals.release(self._on_signal)
        for signum, previous in self._signals.items():
            try:
                signal.signal(signum, previous)
            except (ValueError, OSError, TypeError):  # pragma: no cover
                pass
        self._signals.clear()
        mark_real_interrupt(False)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if signum == signal.SIGINT:
            if self.show.stopped:
                mark_real_interrupt()
                raise KeyboardInterrupt
            self.stop("quit")
            return
        self.stop(f"signal {signal.Signals(signum).name}")

    # -- start-up ------------------------------------------------------------------------

    def _start(self) -> None:
        """Build what was not given, then the parts, each with its neighbours; configure the
        first scene's plugins; start the capture and pose threads."""
        opts, show = self.options, self.show
        if self.host is None:
            self.host = PluginHost.load(enable=opts.enable, disable=opts.disable, safe=opts.safe)
        host = self.host
        host.dispatcher.synchronous = False  # post to the plugins' lanes and go on
        if opts.trace_hooks:
            self._start_trace(opts.trace_hooks)
        loaded = None
        if opts.plugin_dir:  # before the scenes: they may configure the folder's plugins
            from posestage.host.plugindir import load_into

            loaded = load_into(host, opts.plugin_dir)
        scenes = load_scenes(self._scene_specs, host)
        self.web = open_web(opts, scenes[0])  # bound now: a port in use stops here
        prepare = preparer(opts.osc, host, self.web.tap_port if self.web else None)
        scenes = [prepare(s) for s in scenes]
        if self.source is None:
            self.source = open_scene_source(scenes[0], opts, host)
        source = self.source
        engine = self._engine
        # A source whose frames carry poses and no image (a replay) needs no model.
        if engine is None and not source.gives_poses:
            engine = load_engine(scenes[0], opts, source)

        self.pipeline = pipeline = PosePipeline(
            self._mailbox,
            self.tracker,
            host,
            show,
            source=source,
            engine=engine,
            load_engine=lambda: load_engine(self.control.current_scene, opts, source),
            frames=opts.frames,
        )
        self.control = control = SceneControl(
            scenes,
            host,
            pipeline,
            show,
            context=self.context,
            facts=self._facts,
            inbox=self._inbox,
            jobs=self._jobs,
            options=opts,
            mirror_default=source.mirror_by_default,
            prepare=prepare,
        )
        control.apply_settings(scenes[0])  # after the source: mirror defaults to the source's
        self._room_pixels = scenes[0].stage_value("room_pixels", "window")
        if loaded is not None:
            folder, problems = loaded
            self.rehearsal = Rehearsal(folder, host, control, show, problems)
        parts = (opts, host, pipeline, control, show, self._chores)
        backdrop = Backdrop(pipeline.room, lambda: pipeline.privacy)
        if opts.headless:
            self.display = Headless(*parts, backdrop=backdrop)
        else:
            size = (int(source.width), int(source.height))
            self.display = Window(
                *parts, size=size, backdrop=backdrop, outgoing=self.outgoing, source=source
            )
        self.display.open()
        self.capture = Capture(source, self._mailbox, show)

        self._update_facts()
        self._open_control_port(scenes[0])  # before any plugin: a port in use stops here
        control.start()
        if self.web is not None:  # one token with the control port; its address for the QR code
            self.web.start(self)
        self._update_facts()
        self._started = time.perf_counter()
        self.capture.start()
        pipeline.start()

    def _open_control_port(self, scene: Scene) -> None:
        """The stage's control port, for the whole run (``--control`` wins over the first
        scene's ``[stage] control``); its token, if any, stays on screen."""
        listen = self.options.control or scene.stage_value("control")
        if listen is None:
            return
        self.control_port = port = open_control_port(
            tuple(listen),
            scene.stage_value("control_allow"),
            scene.stage_value("control_token"),
            self._inbox.put,
        )
        if port.authority.token is not None:
            self.show.pin("control", f"control token: {port.authority.token}")

    def _start_trace(self, target: str) -> None:
        """``--trace-hooks``: the dispatcher tells a :class:`~posestage.host.trace.HookTrace` of
        every hook call (stderr for "-", else the file)."""
        from posestage.host.trace import HookTrace

        self._trace = HookTrace(None if target == "-" else target)
        self.host.dispatcher.trace = self._trace

    def _stop_trace(self) -> None:
        trace, self._trace = self._trace, None
        if trace is not None:
            self.host.dispatcher.trace = None
            trace.close()

    # -- the main thread's chores --------------------------------------------------------

    def _chores(self) -> None:
        """Main-thread chores between frames, once a display round: duration, scene reload,
        control messages, plugin files, plugins' events and errors, the context's facts."""
        self.ticks += 1
        limit = self.options.duration
        if limit is not None and time.perf_counter() - self._started >= limit:
            self.stop("duration")
        self.control.tick()
        if self.rehearsal is not None:
            self.rehearsal.poll()  # --plugin-dir: files saved since the last look
        self.host.watch()  # plugins stuck in a hook: switched off, left behind
        self._collect_host_errors()
        self._update_facts()

    def _collect_host_errors(self) -> None:
        """New plugin errors from the host go to the overlay and the report."""
        for line in self.host.take_errors():
            self.show.report(str(line), log_it=False)  # the host has logged it already
        for line in self.host.take_slow():
            self.show.slow(str(line))  # a warning for the report; logged by the host

    def _update_facts(self) -> None:
        """Push the facts plugins may read into the context (main thread, every tick)."""
        f, source, pipeline, control = self._facts, self.source, self.pipeline, self.control
        f.width, f.height = int(source.width or 0), int(source.height or 0)
        f.fps = pipeline.fps
        f.mirror = pipeline.mirror
        f.floor = pipeline.room_settings
        f.privacy = pipeline.privacy
        # the empty room's camera pixels reach plugins only when the first scene said so
        f.room = pipeline.room.plate if self._room_pixels == "plugins" else None
        f.scene = control.scene
        f.scenes = tuple(s.name for s in control.scenes)
        f.source = source.name
        engine = pipeline.engine
        f.model = engine.model_name if engine is not None else ""
        if not f.model and isinstance(source, ReplaySource):
            f.model = source.header.model or ""
        f.device = engine.device if engine is not None else ""
        f.plugins = tuple(self.host.active)
        f.dropped = self._mailbox.dropped

    # -- shutdown ------------------------------------------------------------------------

    def _shutdown(self) -> None:
        """Stop threads, tell plugins everyone left, unconfigure them, close the source."""
        show = self.show
        show.stopping.set()
        self._mailbox.close()
        if self.capture is not None and self.capture.thread is not None:
            self.capture.thread.join(0.5)
        if self.source is not None:
            try:
                self.source.close()  # also wakes a read waiting for its frame time
            except Exception as err:
                show.report(f"closing the source: {one_line(err)}", on_screen=False)
        for thread in self.threads:
            thread.join(JOIN_SECONDS)
            if thread.is_alive():
                show.report(f"{thread.name} did not stop within {JOIN_SECONDS} s", on_screen=False)
        if self.display is not None:  # start-up failed after the window opened
            self.display.close()
        self._jobs.stop(JOIN_SECONDS)  # finishes a scene switch or unconfigure under way
        host = self.host
        if host is not None:  # also after a start-up interrupted half-way through activation
            if self.pipeline is not None:
                try:  # people leave first (the docstring's order), then plugins unconfigured
                    self.pipeline.finish()
                except Exception as err:  # the host isolates plugins: only a bug gets here
                    show.report(f"person_leave at shutdown: {describe_error(err)}", on_screen=False)
            try:  # each on its lane, all at once, one deadline: a stuck one is left behind
                host.deactivate_all(self.context, timeout=UNCONFIGURE_SECONDS)
            except Exception as err:
                show.report(f"unconfiguring plugins: {describe_error(err)}", on_screen=False)
            host.drain(UNCONFIGURE_SECONDS)  # the lanes of plugins with no unconfigure too
            host.dispatcher.close()
            self._collect_host_errors()
        self._stop_trace()
        if self.control is not None:
            self.control.close()
        else:
            for _, future in self._inbox.close():  # (message, future) pairs
                future.set_result(ControlReply(False, "the stage has stopped"))
        if self.web is not None:
            self.web.close()
        if self.control_port is not None:  # last: every request it posted has its reply
            self.control_port.close()
        self._fill_report()

    def _fill_report(self) -> None:
        r = self.report
        parts = (
            self.capture,
            self.pipeline,
            self.display,
            self.control,
            self.control_port,
            self.web,
        )
        for part in parts:
            if part is not None:
                part.fill(r)
        r.dropped = self._mailbox.dropped
        r.seconds = time.perf_counter() - self._started if self._started else 0.0
        r.fps = r.frames / r.seconds if r.seconds > 0 else 0.0
        r.errors = self.show.errors
        if self.host is not None:
            r.missed = dict(self.host.missed())
        r.slow = self.show.slow_lines
        host = self.host
        if host is not None:
            r.timings = dict(host.timing_summary())
            r.profile = list(host.profile_lines())
            r.failures = host.dispatcher.failure_lines()
            for line in r.failures:
                if line.endswith(" times)"):  # the traceback was logged the first time
                    log.warning("%s", line)
        r.stopped_by = self.show.stopped_by or "quit"
