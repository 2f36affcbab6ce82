"""The stage itself: assembly, start, run, shutdown."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from ..errors import PosestageError, describe_error, one_line
from ..frames import PoseFrame
from ..overlay import Overlay
from ..tracking import Tracker, TrackingSettings
from .capture import Capture
from .control import Control, _scene_name, _scene_stage
from .mailbox import Mailbox
from .pipeline import Pipeline
from .report import STATS_WINDOW, StageOptions, StageReport, _percentiles, _Rate
from .window import JOIN_SECONDS, Window

log = logging.getLogger("posestage.stage")


class Stage(Capture, Pipeline, Window, Control):
    """Runs one show: a source, the engine, the tracker and the plugins of a scene.

    ``scenes`` are :class:`~posestage.scenes.Scene` objects or scene file paths (number keys
    switch between them; the first one starts). ``host``, ``source`` and ``engine`` may be
    given ready-made (tests, embedding); otherwise they are built from the scene and options.

    Plugins receive the stage in their configure hook; what they may use: :attr:`options`,
    :attr:`scene`, :attr:`width`, :attr:`height`, :attr:`mirror`, :attr:`privacy`,
    :attr:`frame` (the latest :class:`PoseFrame`), :meth:`stop`.
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
        self._stopped_by = ""
        self._mailbox = Mailbox()
        self._hooks = threading.RLock()  # held around every hook call: hooks never overlap
        self._threads: list[threading.Thread] = []
        self._fatal: BaseException | None = None
        self._errors: deque[str] = deque(maxlen=100)
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
        self._inbox: deque[Any] = deque(maxlen=1000)

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
        """True when no camera pixels may reach plugins or the window."""
        if self._privacy_option:
            return True
        host = self.host
        return bool(host is not None and getattr(host, "privacy_requested", False))

    @property
    def errors(self) -> list[str]:
        """Errors reported during the run (engine, source, scene, plugins), oldest first."""
        return list(self._errors)

    def stop(self, reason: str = "quit") -> None:
        """Ask the stage to stop (any thread); :meth:`run` then shuts down cleanly."""
        if not self._stop.is_set():
            self._stopped_by = self._stopped_by or reason
            self._stop.set()

    def run(self) -> StageReport:
        """Run until stopped (Esc/Q, ``frames``, ``duration``, end of source, :meth:`stop`).

        Call from the main thread (pygame's window lives there). Start-up problems (scene,
        plugins, source, model) raise a :class:`PosestageError` before anything runs; the
        report is returned after a clean shutdown.
        """
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
            self._shutdown()
        fatal = self._fatal
        if isinstance(fatal, (PosestageError, KeyboardInterrupt)) and not self._activated:
            raise fatal  # a start-up error: the CLI prints it (exit 2)
        if isinstance(fatal, PosestageError):
            self.report.error = str(fatal)
        elif fatal is not None and not isinstance(fatal, KeyboardInterrupt):
            self.report.error = describe_error(fatal)
        return self.report

    # -- start-up ------------------------------------------------------------------------

    def _load_scenes(self) -> None:
        """Scene objects as given, or loaded from files / folders (validated with the host)."""
        specs = self._scene_specs
        if not specs or any(isinstance(s, (str, os.PathLike)) for s in specs):
            from .. import scenes as scenes_mod

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
            from ..plugins import PluginHost

            self.host = PluginHost.load(enable=opts.enable, disable=opts.disable, safe=opts.safe)
        self._load_scenes()
        scene = self.current_scene = self._scenes[0]
        self._apply_scene_settings(scene)

        if self.source is None:
            from ..sources import SourceOptions, open_source

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
                mirror=self._mirror,
            )
            extra = self.host.sources() if hasattr(self.host, "sources") else None
            self.source = open_source(str(spec), source_options, extra=extra or None)
        self.width = int(self.source.width or 0)
        self.height = int(self.source.height or 0)

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

    def _activate(self, scene: Any) -> None:
        with self._hooks:
            self.host.activate(getattr(scene, "plugins", []), self)
            self._activated = True

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
        self._errors.append(message)
        if overlay:
            self._new_errors.append(message)
        if log_it:
            print(f"posestage: {message}", file=sys.stderr)

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
        host = self.host
        if host is not None:  # also after a start-up interrupted half-way through activation
            with self._hooks:
                frame = self.frame or self._empty_frame()
                for person in self.tracker.reset():
                    try:
                        host.person_leave(person, frame)
                    except Exception as err:  # the host isolates plugins; never stop here
                        self._report(f"person_leave at shutdown: {one_line(err)}", overlay=False)
                try:
                    host.deactivate_all(self)
                except Exception as err:
                    self._report(f"unconfiguring plugins: {one_line(err)}", overlay=False)
            self._collect_host_errors()
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
        r.timings = self._timings()
        lines = getattr(self.host, "profile_lines", None)
        r.profile = list(lines()) if lines is not None else []
        r.stopped_by = self._stopped_by or "quit"
