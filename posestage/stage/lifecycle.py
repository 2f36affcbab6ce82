"""The stage itself: assembly, start, run, shutdown."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from posestage.context import ControlInbox, StageContext, StageFacts
from posestage.errors import PosestageError, describe_error, one_line
from posestage.hookspecs import ControlReply
from posestage.host.dispatch import mark_real_interrupt
from posestage.model.frames import PoseFrame
from posestage.stage.capture import Capture
from posestage.stage.control import Control, _scene_name, _scene_stage
from posestage.stage.jobs import ControlThread
from posestage.stage.mailbox import Mailbox
from posestage.stage.options import StageOptions
from posestage.stage.overlay import Overlay
from posestage.stage.pipeline import Pipeline
from posestage.stage.rehearsal import Rehearsal
from posestage.stage.report import STATS_WINDOW, StageReport, _percentiles, _Rate
from posestage.stage.window import JOIN_SECONDS, Window
from posestage.tracking.tracker import Tracker, TrackingSettings

log = logging.getLogger("posestage.stage")


class Stage(Capture, Pipeline, Window, Control, Rehearsal):
    """Runs one show: a source, the engine, the tracker and the plugins of a scene.

    ``scenes`` are :class:`~posestage.config.scenes.Scene` objects or scene file paths (number keys
    switch between them; the first one starts). ``host``, ``source`` and ``engine`` may be
    given ready-made (tests, embedding); otherwise they are built from the scene and options.

    Plugins never see this object: they get :attr:`context`, a read-only
    :class:`~posestage.context.StageContext` (the stage keeps its facts up to date).
    """

    def __init__(
        self,
        scenes: Sequence[Any] = (),
        options: StageOptions | None = None,
        *,
        host: Any = None,
        source: Any = None,
        engine: Any = None,
    ):
        self.options = options or StageOptions()
        self._scene_specs = list(scenes)
        self._scenes: list[Any] = []
        self.host = host
        self.source = source
        self.engine = engine
        self.current_scene: Any = None  # the running Scene object
        self.scene_index = 0
        self.width = getattr(source, "width", 0) or 0
        self.height = getattr(source, "height", 0) or 0
        self.tracker = Tracker(TrackingSettings())
        self.frame: PoseFrame | None = None  # latest dispatched frame
        self.report = StageReport()
        self.overlay: Overlay | None = None
        self._window = None

        self._stop = threading.Event()
        self._wake = threading.Event()  # the headless loop's: a new frame, or stop
        self._stopped_by = ""
        self._mailbox = Mailbox()
        # held by the pose thread from mirroring to tracking, and by scene switches while they
        # change mirror / privacy / tracking: a switch lands between frames, never inside one
        self._scene_lock = threading.Lock()
        self._control = ControlThread()
        self._facts = StageFacts()
        self._inbox = ControlInbox()
        #: what plugins get as ``stage``: facts and post(), nothing that reaches pixels
        self.context = StageContext(self._facts, self._inbox)
        self._replies: deque[tuple[Future, ControlReply]] = deque()
        self._signals: dict[int, Any] = {}
        self._threads: list[threading.Thread] = []
        self._fatal: BaseException | None = None
        self._errors: deque[str] = deque(maxlen=100)
        self._slow: deque[str] = deque(maxlen=100)  # hooks over their time budget
        self._new_errors: deque[str] = deque(maxlen=100)  # for the overlay (main thread)
        self._latency: deque[float] = deque(maxlen=STATS_WINDOW)
        self._inference: deque[float] = deque(maxlen=STATS_WINDOW)
        self._wait: deque[float] = deque(maxlen=STATS_WINDOW)
        self._rate = _Rate()
        self._fps = 0.0
        self._display_fps = 0.0
        self._display_frames = 0
        self._display_span = (0.0, 0.0)  # first and last display frame (perf_counter)
        self._dispatched = 0
        self._read = 0
        self._engine_errors = 0
        self._started = 0.0
        self._watcher: Any = None
        self._mirror = False
        self._privacy_option = False
        self._activated = False
        self._rejected = 0
        self._redraws = 0
        self._housekeeping_ticks = 0  # main-loop rounds (tests watch it to see the loop live)
        self._late: set[str] = set()
        self._caption = ""

    # -- public --------------------------------------------------------------------------

    @property
    def mirror(self) -> bool:
        return self._mirror

    @property
    def scene(self) -> str:
        """The running scene's name (``current_scene`` is the Scene object)."""
        return _scene_name(self.current_scene) if self.current_scene is not None else ""

    @property
    def privacy(self) -> bool:
        """True when no camera pixels may reach the window, files or sockets: the scene (or
        ``--privacy``) says so, or a plugin asked (see :attr:`PluginHost.privacy`)."""
        if self._privacy_option:
            return True
        host = self.host
        return bool(host is not None and getattr(host, "privacy", False))

    @property
    def errors(self) -> list[str]:
        """Errors reported during the run (engine, source, scene, plugins), oldest first."""
        return list(self._errors)

    def stop(self, reason: str = "quit") -> None:
        """Ask the stage to stop (any thread); :meth:`run` then shuts down cleanly."""
        if not self._stop.is_set():
            self._stopped_by = self._stopped_by or reason
            self._stop.set()
            self._wake.set()

    def run(self) -> StageReport:
        """Run until stopped (Esc/Q, ``frames``, ``duration``, end of source, :meth:`stop`).

        Call from the main thread (pygame's window lives there). Start-up problems (scene,
        plugins, source, model) raise a :class:`PosestageError` before anything runs; the
        report is returned after a clean shutdown.
        """
        self._install_signals()
        try:
            self._start()
            if self.options.headless:
                self._headless_loop()
            else:
                self._window_loop()
        except BaseException as err:
            if not isinstance(err, (PosestageError, KeyboardInterrupt)):
                log.exception("stage: unexpected error")
            self._fatal = self._fatal or err
            self.stop("error" if not isinstance(err, KeyboardInterrupt) else "quit")
        finally:
            try:
                self._shutdown()
            finally:
                self._restore_signals()
        fatal = self._fatal
        if isinstance(fatal, (PosestageError, KeyboardInterrupt)) and not self._activated:
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
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            try:
                self._signals[signum] = signal.signal(signum, self._on_signal)
            except (ValueError, OSError):  # pragma: no cover - not allowed here
                pass

    def _restore_signals(self) -> None:
        for signum, previous in self._signals.items():
            try:
                signal.signal(signum, previous)
            except (ValueError, OSError, TypeError):  # pragma: no cover
                pass
        self._signals.clear()
        mark_real_interrupt(False)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if signum == signal.SIGINT:
            if self._stop.is_set():
                mark_real_interrupt()
                raise KeyboardInterrupt
            self.stop("quit")
            return
        self.stop(f"signal {signal.Signals(signum).name}")

    # -- start-up ------------------------------------------------------------------------

    def _load_scenes(self) -> None:
        """Scene objects as given, or loaded from files / folders (validated with the host)."""
        specs = self._scene_specs
        if not specs or any(isinstance(s, (str, os.PathLike)) for s in specs):
            from posestage.config import scenes as scenes_mod

            if not specs:
                self._scenes = [scenes_mod.default_scene(self.host)]
                return
            loaded = []
            for spec in specs:
                if isinstance(spec, (str, os.PathLike)):
                    for path in scenes_mod.scene_files([spec]):
                        loaded.append(scenes_mod.load_scene(path, self.host))
                else:
                    loaded.append(spec)
            specs = loaded
        self._scenes = list(specs)

    def _start(self) -> None:
        opts = self.options
        if self.host is None:
            from posestage.host import PluginHost

            self.host = PluginHost.load(enable=opts.enable, disable=opts.disable, safe=opts.safe)
        if opts.trace_hooks:
            self._start_trace(opts.trace_hooks)
        if opts.plugin_dir:
            self._load_plugin_dir(opts.plugin_dir)
        self._load_scenes()
        scene = self.current_scene = self._scenes[0]

        if self.source is None:
            from posestage.sources import SourceOptions, open_source

            if opts.source:
                spec = opts.source
            elif hasattr(scene, "source_spec"):
                spec = scene.source_spec()
            else:
                spec = _scene_stage(scene, "source", "camera")
            res = opts.res or _scene_stage(scene, "res")
            loop = opts.loop if opts.loop is not None else _scene_stage(scene, "loop", False)
            source_options = SourceOptions(
                res=tuple(res) if res else None,
                pace=opts.pace or _scene_stage(scene, "pace", "realtime"),
                loop=bool(loop),
                hold=not opts.headless,  # a window keeps showing the last still
            )
            extra = self.host.sources() if hasattr(self.host, "sources") else None
            self.source = open_source(str(spec), source_options, extra=extra or None)
        self.width = int(self.source.width or 0)
        self.height = int(self.source.height or 0)
        self._apply_scene_settings(scene)  # after the source: mirror defaults to the source's

        # A source whose frames carry poses and no image (a replay) needs no model.
        if self.engine is None and not getattr(self.source, "gives_poses", False):
            self.engine = self._load_engine()
        if not opts.headless:
            self._open_window()

        self._activate(scene)
        self._watch(scene)
        self._started = time.perf_counter()
        self._threads = [
            threading.Thread(target=self._capture_loop, name="posestage-capture", daemon=True),
            threading.Thread(target=self._pose_loop, name="posestage-pose", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _start_trace(self, target: str) -> None:
        """``--trace-hooks``: the dispatcher tells a :class:`~posestage.host.trace.HookTrace` of
        every hook call (stderr for "-", else the file)."""
        from posestage.host.trace import HookTrace

        dispatcher = getattr(self.host, "dispatcher", None)
        if dispatcher is None:
            return
        self._trace = HookTrace(None if target == "-" else target)
        dispatcher.trace = self._trace

    def _stop_trace(self) -> None:
        trace = getattr(self, "_trace", None)
        if trace is not None:
            self._trace = None
            dispatcher = getattr(self.host, "dispatcher", None)
            if dispatcher is not None:
                dispatcher.trace = None
            trace.close()

    def _activate(self, scene: Any) -> None:
        """The first scene's plugins, configured on the main thread before any frame (so that
        a recorder records from the first frame); later activations run on the control
        thread (:mod:`posestage.stage.control`)."""
        self._update_facts()
        self.host.run_later = self._control.submit
        self.host.activate(getattr(scene, "plugins", []), self.context)
        self._activated = True
        self._control.start()
        self._update_facts()

    def _update_facts(self) -> None:
        """Push the facts plugins may read into the context (main thread, every tick)."""
        f = self._facts
        f.width, f.height = self.width, self.height
        f.fps = self._fps
        f.mirror = self._mirror
        f.privacy = self.privacy
        f.scene = self.scene
        f.scenes = tuple(_scene_name(s) for s in self._scenes)
        f.source = str(getattr(self.source, "name", "") or "")
        f.model = str(getattr(self.engine, "model_name", "") or "")
        if not f.model and getattr(self.source, "gives_poses", False):
            f.model = str(getattr(getattr(self.source, "header", None), "model", "") or "")
        device = getattr(self.engine, "device", "") if self.engine is not None else ""
        f.device = str(device or "")
        host = self.host
        f.plugins = tuple(host.active) if host is not None else ()
        f.dropped = self._mailbox.dropped

    def _empty_frame(self) -> PoseFrame:
        return PoseFrame(
            index=-1,
            timestamp=time.time(),
            captured=time.perf_counter(),
            width=self.width,
            height=self.height,
            source=str(getattr(self.source, "name", "")),
            mirrored=self._mirror,
        )

    # -- errors and shutdown -------------------------------------------------------------

    def _report(self, message: str, *, overlay: bool = True, log_it: bool = True) -> None:
        """One line for the report, the overlay and the log (any thread)."""
        self._errors.append(message)
        if overlay:
            self._new_errors.append(message)
        if log_it:
            log.warning("%s", message)

    def _shutdown(self) -> None:
        """Stop threads, tell plugins everyone left, unconfigure them, close the source."""
        self._stop.set()
        self._mailbox.close()
        source = self.source
        capture = self._threads[0] if self._threads else None
        if capture is not None:
            capture.join(0.5)
        if source is not None:
            try:
                source.close()  # also wakes a read waiting for its frame time
            except Exception as err:
                self._report(f"closing the source: {one_line(err)}", overlay=False)
        for thread in self._threads:
            thread.join(JOIN_SECONDS)
            if thread.is_alive():
                self._report(f"{thread.name} did not stop within {JOIN_SECONDS} s", overlay=False)
        if self._window is not None:  # start-up failed after the window opened
            import pygame

            self._window = None
            pygame.display.quit()
        self._control.stop(JOIN_SECONDS)  # finishes a scene switch or unconfigure under way
        host = self.host
        if host is not None:  # also after a start-up interrupted half-way through activation
            frame = self.frame or self._empty_frame()
            try:
                # people leave first (the docstring's order), then every plugin is unconfigured
                for person in self.tracker.reset():
                    host.person_leave(person, frame)
            except Exception as err:  # the host isolates plugins: only a bug gets here
                self._report(f"person_leave at shutdown: {describe_error(err)}", overlay=False)
            try:
                host.deactivate_all(self.context, timeout=JOIN_SECONDS)  # a stuck one is left
            except Exception as err:
                self._report(f"unconfiguring plugins: {describe_error(err)}", overlay=False)
            self._collect_host_errors()
        self._stop_trace()
        for future, _ in self._inbox.close():
            self._replies.append((future, ControlReply(False, "the stage has stopped")))
        self._resolve_replies()
        elapsed = time.perf_counter() - self._started if self._started else 0.0
        r = self.report
        r.frames = self._dispatched
        r.read = self._read
        r.dropped = self._mailbox.dropped
        r.seconds = elapsed
        r.fps = self._dispatched / elapsed if elapsed > 0 else 0.0
        first, last = self._display_span
        if self._display_frames > 1 and last > first:
            r.display_fps = (self._display_frames - 1) / (last - first)
        r.latency_ms = _percentiles(self._latency)
        r.inference_ms = _percentiles(self._inference)
        r.wait_ms = _percentiles(self._wait)
        r.engine_errors = self._engine_errors
        r.errors = list(self._errors)
        r.slow = list(self._slow)
        r.timings = self._timings()
        lines = getattr(self.host, "profile_lines", None)
        r.profile = list(lines()) if lines is not None else []
        r.rejected = self._rejected
        r.redraws = self._redraws
        dispatcher = getattr(self.host, "dispatcher", None)
        r.failures = dispatcher.failure_lines() if dispatcher is not None else []
        for line in r.failures:
            if line.endswith(" times)"):  # the traceback was logged the first time
                log.warning("%s", line)
        r.stopped_by = self._stopped_by or "quit"
