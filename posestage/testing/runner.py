"""Run the real stage headless with the plugins under test; what it did as a :class:`PluginRun`.

:func:`run_plugin` builds a real :class:`~posestage.stage.Stage` (``StageOptions(headless=True,
frames=N)``) with a real :class:`~posestage.host.PluginHost`, one scene holding the plugin
with its settings, and a source:

- a pose stream (``.jsonl``, e.g. :data:`SAMPLE_POSES` or a file the recorder plugin wrote),
  replayed as fast as the stage takes frames — no model;
- :class:`SyntheticPeople` — standing stick figures walking across, no model (the default);
- a still image (a path, or an (H, W, 3) uint8 array): the real pose model runs on it;
- any source spec ``posestage run --source`` takes, or a ready :class:`~posestage.sources.Source`.

The plugin is a module or object with ``@hookimpl`` functions (named by its ``PLUGIN_NAME``,
its module name without ``posestage_``, an object by its class name in lower case, or ``name=``), or the name of an installed plugin
(as ``posestage plugins`` lists it), or a ``-p`` spec (a dotted module, ``module:attribute``,
a ``.py`` path). Two helper plugins take part in every run: ``testing-frames`` first in scene
order (keeps each frame, enter and leave) and ``testing-canvas`` last (reads what the window
showed: the stage's backdrop under every plugin's layer, composited in scene order).

What was sent and played:

- OSC: :class:`~posestage.testing.osc.OscReceiver` — a real UDP socket on 127.0.0.1 (a free
  port, a large receive buffer) decoding every datagram, bundles included (needs python-osc);
- MIDI: :class:`~posestage.testing.midi.MidiCapture`, a mido output port that keeps what is
  sent, and :func:`~posestage.testing.midi.capture_midi`, which makes ``mido.open_output()``
  and ``mido.get_output_names()`` use in-process capture ports for the duration (needs mido).
"""

from __future__ import annotations

import os
import time
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from posestage.errors import PluginError
from posestage.hookspecs import hookimpl
from posestage.host import PluginHost, PluginUse, import_plugin, plugin_name
from posestage.model.posestream import SAMPLE
from posestage.sources import ArraySource, Source, SourceFrame, SourceOptions, open_source

if TYPE_CHECKING:  # pragma: no cover
    from posestage.model.frames import PoseFrame
    from posestage.model.poses import Pose
    from posestage.stage import StageReport

# No window, no sound card, whatever the machine has.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

#: A recorded pose stream shipped with posestage (two people walking and crossing, 640x480).
SAMPLE_POSES = SAMPLE

#: Names of the helper plugins every run adds around the plugins under test.
FRAMES_PLUGIN = "testing-frames"
CANVAS_PLUGIN = "testing-canvas"

#: Frames a run of synthetic people lasts when ``frames`` is not given.
DEFAULT_SYNTHETIC_FRAMES = 30

__all__ = [
    "CANVAS_PLUGIN",
    "DEFAULT_SYNTHETIC_FRAMES",
    "FRAMES_PLUGIN",
    "SAMPLE_POSES",
    "PluginRun",
    "SyntheticPeople",
    "run_plugin",
    "run_plugins",
]


# -- the result ----------------------------------------------------------------------------


@dataclass
class PluginRun:
    """What one headless run did.

    - ``frames``: every :class:`~posestage.model.frames.PoseFrame` dispatched, in order (as the
      first plugin saw it; ``image`` is None unless the source had pixels and privacy allowed);
    - ``people``: how many people each frame had (``len(frame.people)``);
    - ``entered`` / ``left``: ``(person id, slot, frame index)`` of every enter / leave hook;
    - ``canvas``: (H, W, 3) uint8 RGB — what the window showed last: the backdrop (the image
      when privacy allows, else black) under every plugin's layer of the last frame (None if
      nothing was drawn); ``canvas_frame`` is that frame's index and ``draws`` how often the
      picture was composited (headless, at most at display rate; the last frame always);
    - ``errors``: every error line of the run (plugin failures, refused settings, source);
    - ``report``: the stage's :class:`~posestage.stage.StageReport`;
    - ``active``: the plugins that were configured at the start, scene order (helpers left out);
    - ``calls``: every hook call of the plugins under test, in the order they started, as
      :class:`posestage.host.trace.HookCall` (``at``, ``thread``, ``plugin``, ``hook``, ``ms``,
      ``failed``) — which thread ran what, in which order (what ``--trace-hooks`` prints).
    """

    frames: list[PoseFrame] = field(default_factory=list)
    people: list[int] = field(default_factory=list)
    entered: list[tuple[int, int, int]] = field(default_factory=list)
    left: list[tuple[int, int, int]] = field(default_factory=list)
    canvas: np.ndarray | None = None
    canvas_frame: int | None = None
    draws: int = 0
    errors: list[str] = field(default_factory=list)
    report: StageReport | None = None
    active: list[str] = field(default_factory=list)
    calls: list = field(default_factory=list)

    def errors_of(self, plugin: str) -> list[str]:
        """The error lines that name ``plugin`` (``"name: ..."``)."""
        return [e for e in self.errors if e.startswith(f"{plugin}:") or f" {plugin}:" in e]


# -- synthetic people ----------------------------------------------------------------------


class SyntheticPeople(Source):
    """Poses without pixels: standing stick figures (:mod:`posestage.model.synthetic`), no model.

    ``people`` is how many stand side by side (each walks ``speed`` pixels per frame, bouncing
    off the edges), or a function ``people(i) -> list[Pose]`` giving frame ``i``'s poses
    (people coming and going). ``frames`` frames, timestamps 1/``fps`` s apart from
    ``start_time`` (reproducible tracking); then the source ends. ``realtime=True`` paces the
    frames at ``fps`` like a camera (a live source: the stage keeps the newest), for tests
    that change something while the show runs.
    """

    gives_poses = True
    live = False

    def __init__(
        self,
        people: int | Callable[[int], Sequence[Pose]] = 2,
        *,
        frames: int = DEFAULT_SYNTHETIC_FRAMES,
        size: tuple[int, int] = (640, 480),
        height: float | None = None,
        speed: float = 4.0,
        fps: float = 30.0,
        start_time: float = 1_700_000_000.0,
        realtime: bool = False,
    ) -> None:
        super().__init__()
        self.live = bool(realtime)
        self._due: float | None = None
        self.width, self.height = (int(v) for v in size)
        self.people, self.count, self.fps, self.start_time = people, int(frames), fps, start_time
        self.figure = float(height) if height else self.height * 0.7
        self.speed = float(speed)
        self.name = f"synthetic:{people if isinstance(people, int) else 'custom'}"
        self._i = 0

    def poses(self, i: int) -> list[Pose]:
        """Frame ``i``'s poses."""
        if callable(self.people):
            return list(self.people(i))
        from posestage.model.synthetic import standing_person

        n = int(self.people)
        margin = self.figure * 0.2
        span = max(self.width - 2 * margin, 1.0)
        feet = self.height - (self.height - self.figure) / 2
        out = []
        for k in range(n):
            walked = span * (k + 0.5) / n + (self.speed if k % 2 == 0 else -self.speed) * i
            folded = walked % (2 * span)  # bounce off the edges
            x = folded if folded <= span else 2 * span - folded
            out.append(standing_person(margin + x, feet, self.figure))
        return out

    def _read(self) -> SourceFrame | None:
        if self._i >= self.count:
            return None
        i, self._i = self._i, self._i + 1
        stamp = self.start_time + i / self.fps
        if self.live:
            now = time.perf_counter()
            self._due = now if self._due is None else self._due + 1.0 / self.fps
            if not self._sleep(self._due - now):
                return None
            stamp = time.time()
        return SourceFrame(
            None, stamp, time.perf_counter(), self.width, self.height, poses=self.poses(i)
        )


# -- the capture plugins -------------------------------------------------------------------


class FrameLog:
    PLUGIN_NAME = FRAMES_PLUGIN

    def __init__(self, run: PluginRun):
        self.run = run

    @hookimpl
    def posestage_person_enter(self, person, frame):
        self.run.entered.append((person.id, person.slot, frame.index))

    @hookimpl
    def posestage_person_leave(self, person, frame):
        self.run.left.append((person.id, person.slot, frame.index))

    @hookimpl
    def posestage_frame(self, frame):
        self.run.frames.append(frame)
        self.run.people.append(len(frame.people))


class CanvasGrab:
    """What the window showed last: the display's composited canvas (the backdrop under every
    plugin's layer), its frame and how often it was composited, read after the run."""

    PLUGIN_NAME = CANVAS_PLUGIN

    def __init__(self, run: PluginRun):
        self.run = run
        self.stage: Any = None

    def array(self) -> np.ndarray | None:
        display = getattr(self.stage, "display", None)
        surface = getattr(display, "canvas", None)
        if surface is None:
            return None
        import pygame

        self.run.canvas_frame = display.canvas_frame
        self.run.draws = display.redraws
        # surfarray gives (W, H, 3); tests index images as (row, column) = (y, x)
        return np.ascontiguousarray(pygame.surfarray.array3d(surface).transpose(1, 0, 2))


# -- running -------------------------------------------------------------------------------

PluginSpec = Any  # a module/object with hooks, an installed plugin's name, or a -p spec


def run_plugin(
    plugin: PluginSpec,
    settings: dict | None = None,
    *,
    name: str | None = None,
    **options: Any,
) -> PluginRun:
    """Run the stage headless with ``plugin`` (and ``settings``); see :func:`run_plugins`."""
    return run_plugins([(plugin, settings or {}, name)], **options)


def run_plugins(
    plugins: Iterable[PluginSpec | tuple],
    *,
    source: Any = None,
    frames: int | None = None,
    mirror: bool | None = None,
    privacy: bool | None = None,
    model: str | None = None,
    res: tuple[int, int] | None = None,
    tracking: dict | None = None,
    stage: dict | None = None,
    budgets: bool = False,
    room: dict | None = None,
) -> PluginRun:
    """Run the stage headless with several plugins, in this scene order; return a :class:`PluginRun`.

    Each item of ``plugins`` is a plugin (see the module docstring), ``(plugin, settings)`` or
    ``(plugin, settings, name)``. ``source``: None (:class:`SyntheticPeople`, 2 people), a
    pose stream or image path, an image array, a ``--source`` spec or a
    :class:`~posestage.sources.Source`. ``frames``: stop after this many (a pose stream, image or
    video loops until then); without it the source plays once (synthetic people:
    :data:`DEFAULT_SYNTHETIC_FRAMES`). ``mirror``, ``privacy``, ``model``, ``res``: as the
    ``[stage]`` keys; ``tracking``: ``[tracking]`` keys; ``stage``: any other ``[stage]`` keys;
    ``room``: the ``[room]`` table (floor calibration, zones).
    ``budgets``: keep the stage's per-hook time budgets (a hook over budget is reported, a
    plugin that keeps overrunning is switched off). Off by default: how long a hook takes
    depends on the machine and its load, and a test asserts behaviour, not speed.

    Start-up problems (unknown setting, a plugin refused at load, a source that cannot be
    opened) raise a :class:`~posestage.errors.PosestageError` with the stage's one-line message;
    failures while running are in :attr:`PluginRun.errors`.
    """
    from posestage.config.room import ROOM_SETTINGS
    from posestage.config.scenes import STAGE_SETTINGS, TRACKING_SETTINGS, Scene
    from posestage.config.schema import validate
    from posestage.stage import Stage, StageOptions

    items = [_as_item(p) for p in plugins]
    installed = None
    if any(isinstance(spec, str) for spec, _, _ in items):
        installed = PluginHost.load()
    host = installed if installed is not None else PluginHost()
    uses = []
    for spec, settings, name in items:
        name = _register(host, spec, name, installed is not None)
        uses.append(PluginUse(name, dict(settings), f"posestage.testing: plugins.{name}"))

    run, log, grab = watched(host, budgets)
    uses = [PluginUse(FRAMES_PLUGIN), *uses, PluginUse(CANVAS_PLUGIN)]

    table = dict(stage or {})
    for key, value in (("mirror", mirror), ("privacy", privacy), ("model", model)):
        if value is not None:
            table[key] = value
    if res is not None:
        table["res"] = f"{res[0]}x{res[1]}"
    where = "posestage.testing"
    scene = Scene(
        "test",
        validate(table, STAGE_SETTINGS, f"{where}: stage"),
        validate(tracking or {}, TRACKING_SETTINGS, f"{where}: tracking"),
        uses,
        room=validate(room or {}, ROOM_SETTINGS, f"{where}: room"),
    )
    scene.tracking_settings()
    scene.room_settings()
    src = open_run_source(source, frames, res, host)
    if source is None:
        frames = None  # the synthetic source ends after exactly that many frames
    options = StageOptions(headless=True, frames=frames, pace="fast", model=model)
    the_stage = grab.stage = Stage([scene], options, host=host, source=src)
    try:
        run.report = the_stage.run()
    finally:
        src.close()
    run.canvas = grab.array()
    run.errors = list(run.report.errors)
    if run.report.error:
        run.errors.append(run.report.error)
    run.active = [u.name for u in uses[1:-1]]
    if log is not None:
        helpers = {FRAMES_PLUGIN, CANVAS_PLUGIN}
        run.calls = sorted((c for c in log.calls if c.plugin not in helpers), key=lambda c: c.at)
    return run


def no_time_budgets(host: PluginHost) -> None:
    """Switch the host's per-hook time budgets off (a host without budgets: nothing to do)."""
    dispatcher = getattr(host, "dispatcher", None)
    if dispatcher is not None and isinstance(getattr(dispatcher, "budgets", None), dict):
        dispatcher.budgets = {}


def hook_log(host: PluginHost) -> Any:
    """An in-memory hook trace on the host's dispatcher (None if the host has none)."""
    dispatcher = getattr(host, "dispatcher", None)
    if dispatcher is None or not hasattr(dispatcher, "trace"):
        return None
    from posestage.host.trace import HookLog

    dispatcher.trace = HookLog()
    return dispatcher.trace


def _as_item(item: Any) -> tuple[Any, dict, str | None]:
    if isinstance(item, tuple):
        spec, settings, name = (*item, None, None)[:3]
        return spec, dict(settings or {}), name
    return item, {}, None


def _register(host: PluginHost, spec: Any, name: str | None, installed: bool) -> str:
    """Put ``spec`` into ``host``; returns the name it is used by in the scene."""
    if isinstance(spec, str):
        info = host.plugins.get(spec)
        if info is not None and info.origin == "entry point":
            if not info.loaded:
                raise PluginError(f"plugin {spec!r} is installed but not loaded: {info.error}")
            return spec
        spec = import_plugin(spec)  # a -p style module name, module:attribute or .py path
    name = name or default_name(spec)
    taken = host.plugins.get(name)
    if taken is not None:
        if taken.origin != "entry point":
            raise PluginError(
                f"two plugins of this run are named {name!r}; give one a name: (plugin, settings, name)"
            )
        host.unregister(name)  # the plugin under test wins over the installed one
    host.register(spec, name, version=str(getattr(spec, "__version__", "")), origin="-p")
    return name


def default_name(plugin: Any) -> str:
    """``PLUGIN_NAME``, a module's name without ``posestage_``, else the class name in lower
    case (``NoseBox()`` → ``nosebox``)."""
    if isinstance(plugin, types.ModuleType) or getattr(plugin, "PLUGIN_NAME", None):
        return plugin_name(plugin)
    return type(plugin).__name__.lower()


def open_run_source(
    source: Any,
    frames: int | None,
    res: tuple[int, int] | None,
    host: PluginHost,
    pace: str | None = "fast",
    loop: bool | None = None,
):
    if source is None:
        return SyntheticPeople(frames=frames or DEFAULT_SYNTHETIC_FRAMES, size=res or (640, 480))
    if isinstance(source, Source) or callable(getattr(source, "read", None)):
        return source
    if isinstance(source, np.ndarray):
        if source.ndim != 3 or source.shape[2] != 3 or source.dtype != np.uint8:
            raise ValueError(f"an image source must be (H, W, 3) uint8 RGB, got {source.shape}")
        return ArraySource([source], count=frames or 1, name="image")
    loop = frames is not None if loop is None else loop
    options = SourceOptions(res=res, pace=pace or "fast", loop=loop)
    return open_source(str(source), options, extra=host.sources() or None)


def watched(host: PluginHost, budgets: bool) -> tuple[PluginRun, Any, CanvasGrab]:
    """What every run adds to ``host``: time budgets off (unless ``budgets``), the hook log,
    and the two helper plugins that keep each frame and the canvas, registered (the caller
    puts them first and last in its scene)."""
    if not budgets:
        no_time_budgets(host)
    log = hook_log(host)
    run = PluginRun()
    grab = CanvasGrab(run)
    host.register(FrameLog(run), FRAMES_PLUGIN)
    host.register(grab, CANVAS_PLUGIN)
    return run, log, grab
