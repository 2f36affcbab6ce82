"""The stage: the runtime loop from frames to plugins to the window.

Three threads, each doing one thing at its own pace::

    capture thread   source.read() ──► Mailbox (one slot)
    pose thread      Mailbox ──► engine.detect ──► mirror ──► tracker ──► PoseFrame
                         ──► posestage_person_leave / _enter / posestage_frame
    main thread      pygame window at the display rate: posestage_draw, posestage_event,
                     overlay, keys, scene switching and reloading

- The :class:`Mailbox` holds one frame. For a *live* source (camera, realtime video/replay) the
  newest frame replaces an unprocessed one (counted in :attr:`StageReport.dropped`): no queue
  grows and no stale frame is processed. For other sources the capture thread waits for the
  pose thread to take the frame, so every frame is processed.
- **Which thread calls which hook** (documented for plugin authors in ``hookspecs``):
  ``posestage_frame``, ``posestage_person_enter`` and ``posestage_person_leave`` are called from
  the pose thread; ``posestage_draw`` and ``posestage_event`` from the main thread; configure /
  unconfigure from the main thread. The stage holds one lock around every hook call, so **no
  two hooks ever run at the same time**: a plugin never needs its own locking. For each frame
  the order is: leave (people gone), enter (people new), then frame.
- ``--mirror`` flips the camera image *and* the pose coordinates (``x → width - 1 - x``) right
  after detection, before tracking: the tracker, every plugin, the recorder and the window all
  see the mirrored world. Detection runs on the camera's own image, so keypoint names stay
  anatomical (the performer's left wrist is ``left_wrist``, now drawn on the screen's left).
- Privacy mode (``privacy = true`` in the scene, or a plugin asking the host for it) withholds
  the camera image (``PoseFrame.image is None``) from every plugin except the ones whose
  ``posestage_privacy()`` asked for it (the anonymizer needs pixels to lock its empty
  background); the host does that filtering. The window then never shows a live frame.
- Nothing stops the show but the performer: a plugin that raises is isolated by the host and
  its error shown; an engine error on one frame is reported and the loop goes on; a live
  source (camera) whose read fails is reported, reopened every :data:`SOURCE_RETRY_SECONDS`
  and read again while the window and plugins keep running; a file source that ends (or
  fails) stops the stage cleanly. On every exit path people get
  ``person_leave``, every plugin is unconfigured, threads are joined and the source closed.
- Scenes: number keys (or a ``scene`` control message, see :meth:`Stage.post`) switch to
  another scene; an edit of the running scene's file reloads it. The host keeps plugins whose
  settings did not change, unconfigures dropped/changed ones and configures new ones; people
  stay (same ids, not re-announced). What applies live: plugins, ``[tracking]``, ``mirror``,
  ``privacy``; ``source``, ``model``, ``device``, ``res`` need a restart.
- Latency (``PoseFrame.latency_ms``) is capture → ``posestage_frame``: for a live source it is
  the age of the newest frame when the pose thread is free + detect + tracking. When the
  camera is faster than detection, that age would average half a camera period; the pose
  thread instead waits up to :data:`FRESH_FRAME_WAIT` for a frame that is about to arrive
  rather than take one nearly a period old. For stills / ``fast`` sources latency includes
  the wait for the previous frame.
- ``headless`` opens no window: the newest frame is drawn on an off-screen canvas at most at
  display rate, and the last frame always.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import PosestageError, describe_error, one_line
from .frames import PoseFrame
from .overlay import Overlay, StageStatus, timing_lines
from .poses import Pose
from .tracking import Tracker, TrackingSettings

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

log = logging.getLogger(__name__)

#: Display rate of the window loop (frames per second).
DISPLAY_FPS = 60.0
#: Default window is the source size, shrunk to fit in this (width, height).
MAX_WINDOW = (1280, 800)
#: How often the scene file is checked for changes (seconds).
SCENE_POLL_SECONDS = 0.5
#: Latency / inference samples kept for the report (a bounded window, not the whole run).
STATS_WINDOW = 2000
#: ``[stage]`` settings handed to :class:`~posestage.engine.PoseEngine` (scene key → argument).
_ENGINE_SETTINGS = {
    "input_size": "input_size",
    "resize": "resize",
    "num_threads": "num_threads",
    "threshold": "score_threshold",
    "max_poses": "max_poses",
}
#: Live sources: when the next camera frame is due within this many seconds, the pose thread
#: waits for it rather than take the frame about to be replaced (see :meth:`Mailbox.take`).
FRESH_FRAME_WAIT = 0.009
#: After a live source's read fails, wait this long before reopening it and reading again.
SOURCE_RETRY_SECONDS = 1.0
#: How long joining a thread may take at shutdown before the stage moves on (seconds).
JOIN_SECONDS = 3.0


# -- the one-slot mailbox ------------------------------------------------------------------


class Mailbox:
    """One-slot hand-over from the capture thread to the pose thread.

    ``put(item, wait=False)`` replaces an item not yet taken (the newest frame wins; counted
    in :attr:`dropped`); ``put(item, wait=True)`` waits until the slot is empty instead, so
    nothing is dropped. :meth:`take` waits for an item. After :meth:`close` ``put`` refuses
    and ``take`` still returns the item left in the slot, then None.

    The mailbox also learns the interval between puts (the camera period), so that
    ``take(fresh_within=...)`` can skip a frame that is about to be replaced: see :meth:`take`.
    ``clock`` (``time.perf_counter``) is injectable, for tests.
    """

    def __init__(self, clock=time.perf_counter) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._item: Any = None
        self._closed = False
        self._last_put = 0.0
        self.period = 0.0  #: smoothed seconds between puts (0 until two puts)
        self.dropped = 0

    def put(self, item: Any, wait: bool = False) -> bool:
        with self._cond:
            if wait:
                while self._item is not None and not self._closed:
                    self._cond.wait()
            if self._closed:
                return False
            if self._item is not None:
                self.dropped += 1
            self._item = item
            now = self._clock()
            if self._last_put:
                interval = now - self._last_put
                self.period = interval if not self.period else 0.9 * self.period + 0.1 * interval
            self._last_put = now
            self._cond.notify_all()
            return True

    def take(self, timeout: float | None = None, fresh_within: float = 0.0) -> Any:
        """The item (emptying the slot), or None after ``timeout`` or once closed and empty.

        With ``fresh_within`` (seconds): when the next put is due within that time, wait for
        it and take the newer item instead. When inference is slower than the camera, the
        waiting frame is on average half a camera period old; skipping one that is nearly a
        whole period old, for a wait of a few ms, cuts latency at little cost in throughput.
        """
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            if fresh_within > 0 and self._item is not None and self.period > 0:
                due = self._last_put + self.period - self._clock()
                if 0 < due <= fresh_within:
                    current = self._item
                    self._cond.wait_for(
                        lambda: self._item is not current or self._closed, due + fresh_within
                    )
            item, self._item = self._item, None
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def finished(self) -> bool:
        """Closed and empty: nothing more will come."""
        with self._cond:
            return self._closed and self._item is None


# -- options and report --------------------------------------------------------------------


@dataclass
class StageOptions:
    """How to run the stage. ``None`` means "as the scene says" (CLI options override scenes).

    ``res`` is (width, height). ``frames`` / ``duration`` stop the stage by themselves;
    ``display_fps`` is the window's redraw rate.
    """

    source: str | None = None
    model: str | None = None
    device: str | None = None
    res: tuple[int, int] | None = None
    mirror: bool | None = None
    pace: str | None = None
    loop: bool | None = None
    privacy: bool | None = None
    headless: bool = False
    frames: int | None = None
    duration: float | None = None
    enable: list[str] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)
    safe: bool = False
    profile: bool = False
    display_fps: float = DISPLAY_FPS
    fullscreen: bool = False

    def __post_init__(self) -> None:
        if self.frames is not None and (isinstance(self.frames, bool) or int(self.frames) < 1):
            raise PosestageError(f"--frames {self.frames!r} is not valid; use a count >= 1")
        if self.duration is not None and not float(self.duration) > 0:
            raise PosestageError(f"--duration {self.duration!r} is not valid; use seconds > 0")
        if not float(self.display_fps) > 0:
            raise PosestageError(f"display rate {self.display_fps!r} must be > 0 fps")


@dataclass
class StageReport:
    """What a run did: counts, rates, latency, errors, per-plugin timings.

    ``display_fps`` is the window's average redraw rate over the run (0 headless).
    ``latency_ms`` / ``inference_ms`` / ``wait_ms`` are (median, 95th percentile) over the last
    :data:`STATS_WINDOW` frames; ``wait_ms`` is how old a frame was when the pose thread took
    it (for a live source about half a camera period: the phase of the newest frame);
    ``stopped_by`` says why the stage stopped ("frames", "duration", "source ended", "quit",
    "source error", "error").
    """

    frames: int = 0
    read: int = 0
    dropped: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    display_fps: float = 0.0
    latency_ms: tuple[float, float] = (0.0, 0.0)
    inference_ms: tuple[float, float] = (0.0, 0.0)
    wait_ms: tuple[float, float] = (0.0, 0.0)
    engine_errors: int = 0
    errors: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    stopped_by: str = ""
    error: str | None = None
    profile: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.frames} frames in {self.seconds:.1f} s ({self.fps:.1f} fps), "
            f"latency median {self.latency_ms[0]:.1f} ms, stopped by {self.stopped_by}"
        )


def format_profile(report: StageReport) -> str:
    """What ``--profile`` prints at exit: the run's rates, then per-plugin, per-hook timings."""
    lines = [
        f"stage: {report.frames} frames in {report.seconds:.2f} s = {report.fps:.1f} fps; "
        f"{report.dropped} stale frames dropped",
        f"latency ms: median {report.latency_ms[0]:.1f}, p95 {report.latency_ms[1]:.1f}; "
        f"inference ms: median {report.inference_ms[0]:.1f}, p95 {report.inference_ms[1]:.1f}",
    ]
    if report.profile:
        lines.append("plugin timings:")
        lines.extend("  " + line for line in report.profile)
    elif report.timings:
        lines.append("plugin timings:")
        lines.extend("  " + line for line in timing_lines(report.timings, limit=1000))
    else:
        lines.append("plugin timings: none recorded")
    return "\n".join(lines)


# -- helpers -------------------------------------------------------------------------------


def mirror_poses(poses: Sequence[Pose], width: int) -> list[Pose]:
    """The poses as seen in the horizontally flipped image (``x → width - 1 - x``); copies."""
    out = []
    for pose in poses:
        xy = np.array(pose.xy, dtype=np.float32, copy=True)
        xy[:, 0] = (width - 1) - xy[:, 0]
        out.append(Pose(score=pose.score, xy=xy, scores=pose.scores))
    return out


def _stage_keys() -> frozenset[int]:
    import pygame

    keys = [pygame.K_ESCAPE, pygame.K_q, pygame.K_f, pygame.K_h, pygame.K_t]
    return frozenset(keys + list(range(pygame.K_1, pygame.K_9 + 1)))


def _percentiles(values) -> tuple[float, float]:
    if not values:
        return (0.0, 0.0)
    arr = np.fromiter(values, dtype=np.float64)
    return float(np.median(arr)), float(np.percentile(arr, 95))


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


class _Rate:
    """Events per second over the last second (what the status line shows)."""

    def __init__(self, window: float = 1.0):
        self.window = window
        self._times: deque[float] = deque()

    def tick(self, now: float) -> float:
        times = self._times
        times.append(now)
        while len(times) > 2 and now - times[0] > self.window:
            times.popleft()
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])


# -- the stage -----------------------------------------------------------------------------


class Stage:
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

    def post(self, message: Any) -> None:
        """Hand a control message to the main loop (any thread); handled between frames.

        Built-in actions: ``scene`` (1-based number or file name), ``set`` (plugin setting),
        ``enable`` / ``disable`` (a plugin in the running scene); every message then goes on
        to the plugins' ``posestage_event``.
        """
        self._inbox.append(message)

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
            from . import scenes as scenes_mod

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
            from .plugins import PluginHost

            self.host = PluginHost.load(enable=opts.enable, disable=opts.disable, safe=opts.safe)
        self._load_scenes()
        scene = self.current_scene = self._scenes[0]

        if self.source is None:
            from .sources import SourceOptions, open_source

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

    def _load_engine(self) -> Any:
        """The pose engine for the scene's model and device (CLI options win)."""
        from .engine import PoseEngine

        scene = self.current_scene
        model = self.options.model or _scene_stage(scene, "model")
        device = self.options.device or _scene_stage(scene, "device", "auto")
        kwargs = {}
        for name, arg in _ENGINE_SETTINGS.items():
            value = _scene_stage(scene, name)
            if value is not None:
                kwargs[arg] = value
        if model:
            kwargs["model"] = model
        # Crop tracking (MoveNet) follows a person from frame to frame: on for camera and video.
        kwargs["tracking"] = bool(getattr(self.source, "continuous", True))
        return PoseEngine(device=device, **kwargs)

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
        privacy = (
            opts.privacy if opts.privacy is not None else _scene_stage(scene, "privacy", False)
        )
        self._mirror = bool(mirror)
        self._privacy_option = bool(privacy)
        if tracking is not None:
            self.tracker.settings = tracking

    def _activate(self, scene: Any) -> None:
        with self._hooks:
            self.host.activate(getattr(scene, "plugins", []), self)
            self._activated = True

    def _watch(self, scene: Any) -> None:
        """Watch the running scene's file: edits reload it live (see :meth:`_poll_scene`)."""
        path = getattr(scene, "path", None)
        self._watcher = None
        if path:
            from .scenes import SceneWatcher

            self._watcher = SceneWatcher(path, self.host, interval=SCENE_POLL_SECONDS)

    # -- capture thread ------------------------------------------------------------------

    def _capture_loop(self) -> None:
        source, box = self.source, self._mailbox
        live = bool(getattr(source, "live", False))
        index = 0
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    frame = source.read()
                except Exception as err:
                    if not live:
                        raise
                    # A live source (camera) failing mid-show: report it, wait, reopen, go on.
                    failures += 1
                    self._source_failed(source, err, failures)
                    continue
                if failures:
                    name = getattr(source, "name", "")
                    self._report(f"source {name}: back after {failures} failed read(s)")
                    failures = 0
                if frame is None:
                    if getattr(source, "end_note", ""):  # e.g. a video that stopped early
                        self._report(str(source.end_note))
                    if not self._stop.is_set():
                        self._stopped_by = self._stopped_by or "source ended"
                    break
                frame.index = index  # stage frame number: gaps = frames dropped as stale
                index += 1
                self._read = index
                if not box.put(frame, wait=not live):
                    break
        except PosestageError as err:
            self._report(str(err))
            self._stopped_by = self._stopped_by or "source error"
            self._fatal = self._fatal or err
        except Exception as err:
            self._report(f"source {getattr(source, 'name', '')}: {describe_error(err)}")
            self._stopped_by = self._stopped_by or "source error"
        finally:
            box.close()

    def _source_failed(self, source: Any, err: BaseException, failures: int) -> None:
        """One failed read of a live source: report it (the first few times, then now and
        then), wait :data:`SOURCE_RETRY_SECONDS`, and let the source reopen its device. People
        leave through the tracker's dropout grace meanwhile; plugins keep running."""
        if failures <= 3 or failures % 30 == 0:
            why = err if isinstance(err, PosestageError) else describe_error(err)
            every = f"{SOURCE_RETRY_SECONDS:g} s"
            self._report(f"{why} (read failed {failures}x; retrying every {every})")
        if self._stop.wait(SOURCE_RETRY_SECONDS):
            return
        try:
            source.recover()
        except Exception as again:  # not back yet: the next read fails and we come back here
            log.debug("source recover failed: %s", again)

    # -- pose thread ---------------------------------------------------------------------

    def _pose_loop(self) -> None:
        box = self._mailbox
        limit = self.options.frames
        fresh = FRESH_FRAME_WAIT if getattr(self.source, "live", False) else 0.0
        try:
            while not self._stop.is_set():
                sf = box.take(timeout=0.1, fresh_within=fresh)
                if sf is None:
                    if box.finished:
                        break
                    continue
                if self._stop.is_set():
                    break
                self._process(sf)
                if limit is not None and self._dispatched >= limit:
                    self.stop("frames")
        except BaseException as err:  # pragma: no cover - a bug in the stage itself
            log.exception("stage: pose thread failed")
            self._fatal = self._fatal or err
        finally:
            self.stop(self._stopped_by or "source ended")

    def _process(self, sf: Any) -> None:
        """One frame: detect (or take replayed poses), mirror, track, dispatch."""
        self._wait.append((time.perf_counter() - sf.captured) * 1000.0)
        width, height = int(sf.width), int(sf.height)
        image = sf.image
        inference_ms = 0.0
        if sf.poses is not None:
            poses = list(sf.poses)
        elif image is None:
            poses = []
        else:
            if self.engine is None:  # a source that unexpectedly has images
                try:
                    self.engine = self._load_engine()
                except PosestageError as err:
                    self._report(str(err))
                    self._fatal = self._fatal or err
                    self.stop("error")
                    return
            t0 = time.perf_counter()
            try:
                result = self.engine.detect(image)
            except Exception as err:
                self._engine_errors += 1
                if self._engine_errors <= 3 or self._engine_errors % 100 == 0:
                    self._report(
                        f"engine error on frame {sf.index} ({self._engine_errors} so far): "
                        f"{describe_error(err)}"
                    )
                return
            inference_ms = (time.perf_counter() - t0) * 1000.0
            poses = result.poses
        # One lock from mirroring to dispatch: a scene change (mirror, privacy, tracking, set
        # by the main thread under the same lock) lands between frames, never inside one.
        with self._hooks:
            mirror = self._mirror
            if mirror:
                poses = mirror_poses(poses, width)
            update = self.tracker.update(poses, width, height, sf.timestamp)

            # In privacy mode only the plugins that asked for it get pixels (the host filters);
            # with privacy set by the scene and no such plugin, nobody does.
            requested = getattr(self.host, "privacy_requested", False)
            if image is None or (self.privacy and not requested):
                shown = None
            elif mirror:
                shown = np.ascontiguousarray(image[:, ::-1])
            else:
                shown = image
            frame = PoseFrame(
                index=int(sf.index),
                timestamp=float(sf.timestamp),
                captured=float(sf.captured),
                width=width,
                height=height,
                people=update.people,
                inference_ms=inference_ms,
                image=shown,
                source=str(getattr(self.source, "name", "")),
                mirrored=mirror,
                recorded=getattr(sf.recorded, "timestamp", None),  # replays: recorded time
            )
            now = time.perf_counter()
            self._fps = frame.fps = self._rate.tick(now)
            frame.latency_ms = (now - frame.captured) * 1000.0
            for person in update.left:
                self.host.person_leave(person, frame)
            for person in update.entered:
                self.host.person_enter(person, frame)
            self.host.frame(frame)
        self.frame = frame
        self._dispatched += 1
        self._latency.append(frame.latency_ms)
        if inference_ms:
            self._inference.append(inference_ms)

    # -- main thread: window and headless ------------------------------------------------

    def _headless_loop(self) -> None:
        """No window: chores, and the newest frame drawn off-screen at most at display rate
        (plugins that render, e.g. to a file, keep working); the last frame is always drawn."""
        import pygame

        canvas = None
        drawn = None
        period = 1.0 / self.options.display_fps
        next_draw = 0.0
        while True:
            stopping = self._stop.wait(0.005)
            if not stopping:
                self._housekeeping()
            frame = self.frame
            now = time.perf_counter()
            if frame is not None and frame is not drawn and (stopping or now >= next_draw):
                if stopping:  # let the pose thread finish its frame first
                    self._threads[1].join(JOIN_SECONDS)
                    frame = self.frame
                drawn = frame
                next_draw = now + period
                if canvas is None or canvas.get_size() != (frame.width, frame.height):
                    canvas = pygame.Surface((frame.width, frame.height))
                self._paint(canvas, frame, None)
            if stopping:
                return

    def _open_window(self) -> None:
        """The pygame window, sized to the source (shrunk to fit :data:`MAX_WINDOW`)."""
        import pygame

        try:
            pygame.display.init()
            pygame.font.init()
            w, h = self.width or 640, self.height or 480
            fit = min(MAX_WINDOW[0] / w, MAX_WINDOW[1] / h, 1.0)
            self._window_size = (max(int(w * fit), 1), max(int(h * fit), 1))
            fullscreen = self.options.fullscreen or _scene_stage(
                self.current_scene, "fullscreen", False
            )
            self._window = self._set_mode(bool(fullscreen))
        except pygame.error as err:
            pygame.display.quit()
            raise PosestageError(
                f"cannot open the stage window ({err}); run with --headless, or set "
                "SDL_VIDEODRIVER=dummy for a window nobody sees"
            ) from None
        driver = pygame.display.get_driver()
        if driver in ("offscreen", "dummy") and os.environ.get("SDL_VIDEODRIVER") != driver:
            # SDL found no screen and fell back to drawing nowhere: say so, once.
            log.warning(
                "no display found (SDL video driver %r): the stage runs but its window is not "
                "visible; set DISPLAY to show it, or pass --headless to say you mean it",
                driver,
            )
        pygame.display.set_caption(f"posestage — {self.scene}")
        self.overlay = Overlay()

    def _window_loop(self) -> None:
        """Events, chores, then redraw at the display rate with the newest frame."""
        import pygame

        window = self._window
        clock = pygame.time.Clock()
        display_rate = _Rate()
        canvas = None
        image_surface = None
        image_frame = None
        try:
            while not self._stop.is_set():
                for event in pygame.event.get():
                    window = self._on_event(event, window) or window
                self._housekeeping()
                frame = self.frame
                if frame is not None:
                    size = (frame.width, frame.height)
                    if canvas is None or canvas.get_size() != size:
                        canvas = pygame.Surface(size)
                    if frame is not image_frame:
                        image_frame = frame
                        image_surface = None
                        if frame.image is not None and not self.privacy:
                            pixels = np.ascontiguousarray(frame.image)
                            image_surface = pygame.image.frombuffer(pixels, size, "RGB")
                    self._paint(canvas, frame, image_surface)
                    self._present(window, canvas)
                else:
                    window.fill((0, 0, 0))
                timings = self._timings() if self.overlay.show_timings else None
                self.overlay.draw(window, self._status(), timings)
                pygame.display.flip()
                clock.tick(self.options.display_fps)
                now = time.perf_counter()
                self._display_fps = display_rate.tick(now)
                self._display_frames += 1
                self._display_span = (self._display_span[0] or now, now)
        finally:
            self._window = None
            pygame.display.quit()

    def _set_mode(self, fullscreen: bool):
        import pygame

        self._fullscreen = fullscreen
        if fullscreen:
            return pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
        return pygame.display.set_mode(self._window_size)

    def _on_event(self, event, window):
        """Stage keys (Esc/Q, F, H, T, 1-9) are the stage's; every other event goes to plugins."""
        import pygame

        new_window = None
        mine = True
        if event.type == pygame.QUIT:
            self.stop("quit")
        elif event.type == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_q):
            self.stop("quit")
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_f:
            new_window = self._set_mode(not self._fullscreen)
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_h and self.overlay:
            self.overlay.show_help = not self.overlay.show_help
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_t and self.overlay:
            self.overlay.show_timings = not self.overlay.show_timings
        elif event.type == pygame.KEYDOWN and pygame.K_1 <= event.key <= pygame.K_9:
            self.switch_scene(event.key - pygame.K_1)
        elif event.type == pygame.KEYUP and event.key in _stage_keys():
            pass
        else:
            mine = False
        if not mine:
            with self._hooks:
                self.host.event(event)
        return new_window

    def _paint(self, canvas, frame: PoseFrame, image_surface) -> None:
        """The camera image (if any and allowed), then every plugin's drawing in scene order."""
        if image_surface is not None and not self.privacy:
            canvas.blit(image_surface, (0, 0))
        else:
            canvas.fill((0, 0, 0))
        with self._hooks:
            self.host.draw(canvas, frame)

    def _present(self, window, canvas) -> None:
        """The canvas scaled into the window, keeping its aspect ratio (letterboxed)."""
        import pygame

        ww, wh = window.get_size()
        cw, ch = canvas.get_size()
        if (ww, wh) == (cw, ch):
            window.blit(canvas, (0, 0))
            return
        scale = min(ww / cw, wh / ch)
        size = (max(int(cw * scale), 1), max(int(ch * scale), 1))
        window.fill((0, 0, 0))
        target = pygame.Rect(0, 0, *size)
        target.center = (ww // 2, wh // 2)
        window.blit(pygame.transform.scale(canvas, size), target)

    def _status(self) -> StageStatus:
        frame = self.frame
        return StageStatus(
            fps=self._fps,
            inference_ms=frame.inference_ms if frame and self.engine is not None else None,
            latency_ms=frame.latency_ms if frame else 0.0,
            people=sum(1 for p in frame.people if p.missing == 0) if frame else 0,
            display_fps=self._display_fps,
            scene=_scene_name(self.current_scene) if len(self._scenes) > 1 else "",
            privacy=self.privacy,
        )

    def _timings(self) -> dict:
        """Per-plugin ``{"mean_ms", "max_ms", "calls"}`` over the per-frame hooks."""
        summary = getattr(self.host, "timing_summary", None)
        return dict(summary()) if summary is not None else {}

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
        from .plugins import PluginUse

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


def run_stage(
    scenes: Sequence[Any] = (), options: StageOptions | None = None, **kwargs
) -> StageReport:
    """Build a :class:`Stage` and run it (see :meth:`Stage.run`)."""
    return Stage(scenes, options, **kwargs).run()


__all__ = [
    "Mailbox",
    "Stage",
    "StageOptions",
    "StageReport",
    "format_profile",
    "mirror_poses",
    "run_stage",
]
