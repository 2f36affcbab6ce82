"""The main thread's display: the pygame :class:`Window`, or the off-screen :class:`Headless`."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from posestage.context import Outgoing
from posestage.errors import PosestageError
from posestage.host import PluginHost
from posestage.model.frames import PoseFrame
from posestage.sources.stills import StillsSource
from posestage.stage.control import SceneControl
from posestage.stage.layout import Layout, initial_window, text_size
from posestage.stage.options import StageOptions
from posestage.stage.overlay import HELP_LINES, Overlay, Panel, StageStatus
from posestage.stage.panels import RoomPanels
from posestage.stage.pipeline import PosePipeline
from posestage.stage.report import Rate, StageReport
from posestage.stage.room import Backdrop
from posestage.stage.show import Show

__all__ = [
    "IDLE_REDRAW",
    "JOIN_SECONDS",
    "MAX_WINDOW",
    "Display",
    "Headless",
    "Window",
    "compose",
    "shown_layout",
]

log = logging.getLogger("posestage.stage")

#: How long joining a thread may take at shutdown before the stage moves on (seconds).
JOIN_SECONDS = 3.0
#: The window is redrawn at least this often (seconds), even with nothing new to show.
IDLE_REDRAW = 0.25
#: Default window: the source size shrunk to fit in this (width, height), with the status bar
#: and the log strip; the window is resizable, and F makes it the display's size.
MAX_WINDOW = (1280, 800)


def _stage_keys(overlay: Overlay | None = None) -> frozenset[int]:
    import pygame

    keys = [pygame.K_ESCAPE, pygame.K_q, pygame.K_f, pygame.K_h, pygame.K_t, pygame.K_o]
    keys += [pygame.K_v, pygame.K_c]  # the floor view, calibrating by clicking (RoomPanels)
    panels = overlay.keys if overlay is not None else frozenset()
    return frozenset(keys + list(range(pygame.K_1, pygame.K_9 + 1))) | panels


class Display:
    """What the main thread shows: the ``pipeline``'s latest frame — the ``backdrop`` (the
    live image, the empty room, or black: :class:`posestage.stage.room.Backdrop`) under every
    plugin's layer; a plugin's layer never holds it —
    at most at ``options.display_fps``. ``chores`` runs once a round (control messages,
    scene reloads, the context's facts: the stage's). Nothing here waits for a plugin longer
    than a display tick: the plugins draw their layers on their lanes, the display
    composites the latest finished ones."""

    overlay: Overlay | None = None

    def __init__(
        self,
        options: StageOptions,
        host: PluginHost,
        pipeline: PosePipeline,
        control: SceneControl,
        show: Show,
        chores: Callable[[], None],
        backdrop: Callable[[PoseFrame], Any] | None = None,
    ) -> None:
        self.options = options
        self.host = host
        self.pipeline = pipeline
        self.control = control
        self.show = show
        self.chores = chores
        self.backdrop = backdrop or Backdrop(pipeline.room, lambda: pipeline.privacy)
        self.redraws = 0  #: times the canvas was composited
        self.canvas: Any = None  #: the picture last composited (what the window shows)
        self.canvas_frame: int | None = None  #: the index of the frame it shows

    def open(self) -> None:
        """Start-up, before the plugins are configured (raises a one-line error)."""

    def run(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """After a start-up that failed before :meth:`run`."""

    def fill(self, report: StageReport) -> None:
        report.redraws = self.redraws

    def paint(self, frame: PoseFrame, *, ask: bool = True, within: float = 0.0) -> bool:
        """Composite ``frame``'s picture on :attr:`canvas`: the backdrop, then every plugin's
        latest finished layer in scene order. With ``ask``, the plugins are asked to draw
        ``frame`` first and given up to ``within`` seconds. True when a plugin animates."""
        import pygame

        size = (frame.width, frame.height)
        canvas = self.canvas
        if canvas is None or canvas.get_size() != size:
            canvas = self.canvas = pygame.Surface(size)
        backdrop = self.backdrop(frame)
        if backdrop is not None:
            canvas.blit(backdrop, (0, 0))
        else:
            canvas.fill((0, 0, 0))
        if ask:
            animate = self.host.draw(canvas, frame, within=within)
        else:
            animate = self.host.dispatcher.composite(canvas)
        self.canvas_frame = frame.index
        self.redraws += 1
        return bool(animate)


#: Seconds between the headless loop's chores when nothing wakes it (a scene file saved, the
#: duration): a control message, a reply, a frame to draw or a stop wake it at once.
HEADLESS_TICK = 0.1


class Headless(Display):
    """No window: chores, and the canvas composited off-screen (plugins that render, e.g. to
    a file, keep working) when a new frame came or a plugin animates (its draw returned
    True), at most at display rate and only while a plugin draws — a new frame wakes the loop
    only then (on 2 cores every wake-up is taken from inference); the last frame is always
    drawn, every plugin given up to :data:`JOIN_SECONDS` to finish its layer."""

    def run(self) -> None:
        drawn = None
        animate = False
        period = 1.0 / self.options.display_fps
        next_draw = 0.0
        show, wake, pipeline = self.show, self.show.wake, self.pipeline
        while True:
            # woken by a frame to draw, a control message or reply, or stop; else once every
            # HEADLESS_TICK for the chores (on 2 cores every wake-up is taken from inference)
            wake.wait(HEADLESS_TICK)
            wake.clear()
            stopping = show.stopped
            if not stopping:
                self.chores()
            frame = pipeline.frame
            now = time.perf_counter()
            fresh = frame is not drawn or animate
            # a picture nobody looks at is painted only for a plugin that draws (it may render
            # to a file), and once at the end (what the run showed last)
            wanted = stopping or self.host.dispatcher.has("posestage_draw")
            if frame is not None and fresh and wanted and (stopping or now >= next_draw):
                if stopping:  # let the pose thread finish its frame first
                    pipeline.join(JOIN_SECONDS)
                    frame = pipeline.frame
                drawn = frame
                next_draw = now + period
                animate = self.paint(frame, within=JOIN_SECONDS if stopping else period)
            if stopping:
                return


def compose(
    window: Any,
    canvas: Any,
    overlay: Overlay,
    status: StageStatus,
    timings: Any = None,
    size: tuple[int, int] = (640, 480),
) -> Layout:
    """One redraw of the window: the ``canvas`` (None: nothing yet, a black picture of
    ``size``) scaled into its part, keeping its aspect ratio; the status bar, the log strip and
    the open side panels around it, never over it. Returns where everything went."""
    import pygame

    parts = overlay.layout(window.get_size(), canvas.get_size() if canvas is not None else size)
    window.fill((0, 0, 0), parts.stage.as_tuple())
    if canvas is not None:
        box = parts.canvas
        if canvas.get_size() == (box.w, box.h):
            window.blit(canvas, (box.x, box.y))
        else:
            window.blit(pygame.transform.scale(canvas, (box.w, box.h)), (box.x, box.y))
    overlay.draw(window, status, timings, layout=parts)
    _SHOWN[0] = parts
    return parts


#: The layout of the last window redraw (main thread): :func:`shown_layout`.
_SHOWN: list[Layout | None] = [None]


def shown_layout() -> Layout | None:
    """Where the picture and the panels went at the window's last redraw (None: no window
    drew yet) — for tests that look at the window as the audience sees it."""
    return _SHOWN[0]


class Window(Display):
    """The pygame window, sized to ``size`` (the source's, shrunk to fit :data:`MAX_WINDOW`):
    stage keys, plugins' events, the overlay (status line, help, timings, errors)."""

    def __init__(
        self,
        *args: Any,
        size: tuple[int, int],
        outgoing: Outgoing | None = None,
        source: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.size = size
        self.outgoing = outgoing if outgoing is not None else Outgoing()
        self.still = isinstance(source, StillsSource)
        self.layout: Layout | None = None  #: where everything went at the last redraw
        self.frames = 0  #: display ticks so far
        self.display_fps = 0.0
        self._span = (0.0, 0.0)  # first and last display tick (perf_counter)
        self._surface: Any = None
        self._fullscreen = False
        self._window_size = (0, 0)
        self._late: set[str] = set()
        self._pinned: dict[str, str] = {}

    def open(self) -> None:
        import pygame

        try:
            pygame.display.init()
            pygame.font.init()
            canvas = (self.size[0] or 640, self.size[1] or 480)

            def line(height: int) -> int:
                return pygame.font.Font(None, text_size(height)).get_linesize()

            self._window_size = initial_window(canvas, MAX_WINDOW, line)
            fullscreen = self.options.fullscreen or self.control.current_scene.stage_value(
                "fullscreen", False
            )
            self._surface = self._set_mode(bool(fullscreen))
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
        pygame.display.set_caption(self._caption())
        self.overlay = Overlay()
        self.overlay.resize(self._surface.get_height())
        self.overlay.help_rows = self._help_rows
        self.overlay.add_panel(
            Panel("monitor", pygame.K_o, self._monitor_rows, title="sent in the last second")
        )
        pipeline, scene = self.pipeline, lambda: self.control.current_scene.path
        room, frame = (lambda: pipeline.room_settings), (lambda: pipeline.frame)
        # the floor view (V), calibrating (C), the web page's QR code
        self.room_panels = RoomPanels(self.overlay, room, frame, lambda: self.show.qr, scene)
        self.floor_view = self.room_panels.floor_view

    def close(self) -> None:
        if self._surface is not None:
            import pygame

            self._surface = None
            pygame.display.quit()

    def fill(self, report: StageReport) -> None:
        super().fill(report)
        first, last = self._span
        if self.frames > 1 and last > first:
            report.display_fps = (self.frames - 1) / (last - first)

    def _caption(self) -> str:
        return f"posestage — {self.control.scene}"

    def run(self) -> None:
        """Events and chores every display tick; the window is redrawn when there is something
        new to show — a frame, an event, an overlay change, a plugin animating (its draw
        returned True) — and at least every :data:`IDLE_REDRAW` seconds."""
        import pygame

        window = self._surface
        overlay = self.overlay
        clock = pygame.time.Clock()
        display_rate = Rate()
        period = 1.0 / self.options.display_fps
        dispatcher = self.host.dispatcher
        drawn = None
        animate = False
        overlay_seen: Any = None
        caption = None
        last_redraw = 0.0
        try:
            while not self.show.stopped:
                dirty = False
                for event in pygame.event.get():
                    window = self._on_event(event) or window
                    dirty = True
                self.chores()
                if self._caption() != caption:
                    caption = self._caption()
                    pygame.display.set_caption(caption)
                self._show_errors()
                now = time.perf_counter()
                seen = (overlay.errors(), tuple(p.open for p in overlay.panels))
                if seen != overlay_seen or overlay.fading():
                    overlay_seen, dirty = seen, True
                frame = self.pipeline.frame
                ask = dirty or animate or frame is not drawn or now - last_redraw >= IDLE_REDRAW
                if ask or dispatcher.layers_changed:
                    canvas = None
                    if frame is not None:
                        # a plugin's layer finished late: composite again, asking nobody
                        animate = self.paint(frame, ask=ask, within=period) or (animate and not ask)
                        drawn = frame
                        canvas = self.canvas
                    self.room_panels.sync()
                    timings = self.host.timing_summary() if overlay.show_timings else None
                    status = self._status()
                    self.layout = compose(window, canvas, overlay, status, timings, self.size)
                    self.room_panels.draw(window, self.layout)
                    pygame.display.flip()
                    last_redraw = now
                clock.tick(self.options.display_fps)
                now = time.perf_counter()
                self.display_fps = display_rate.tick(now)
                self.frames += 1
                self._span = (self._span[0] or now, now)
        finally:
            self._save_screenshot(window)
            self._surface = None
            pygame.display.quit()

    def _save_screenshot(self, window: Any) -> None:
        """``--screenshot FILE``: the window as last shown, saved when the run ends."""
        path = self.options.screenshot
        if not path or window is None:
            return
        import pygame

        try:
            pygame.image.save(window, path)
            log.info("screenshot: %s (%dx%d)", path, *window.get_size())
        except (pygame.error, OSError) as err:
            log.error("--screenshot %s: cannot save it (%s)", path, err)

    def _show_errors(self) -> None:
        """The show's new and pinned lines onto the overlay, and the plugins in a hook past its
        time budget right now, named while it lasts."""
        overlay = self.overlay
        for line in self.show.take_fresh():
            overlay.add_error(line)
        pinned = self.show.pinned()
        if pinned != self._pinned:
            for key in self._pinned.keys() - pinned.keys():
                overlay.set_error(key, None)
            for key, line in pinned.items():
                overlay.set_error(key, line)
            self._pinned = pinned
        overlay.set_notice("room", getattr(self.backdrop, "notice", None))
        late = self.host.running_late()
        for name in self._late - late.keys():
            overlay.set_error(f"late:{name}", None)
        for name, line in late.items():
            overlay.set_error(f"late:{name}", line)
        self._late = set(late)

    def _set_mode(self, fullscreen: bool):
        """The window: resizable at its last size, or fullscreen at the display's own
        resolution (the picture and the text scaled to it)."""
        import pygame

        self._fullscreen = fullscreen
        if fullscreen:
            sizes = pygame.display.get_desktop_sizes() or [(0, 0)]
            surface = pygame.display.set_mode(sizes[0], pygame.FULLSCREEN)
        else:
            surface = pygame.display.set_mode(self._window_size, pygame.RESIZABLE)
        if self.overlay is not None:
            self.overlay.resize(surface.get_height())
        return surface

    def _on_event(self, event):
        """Stage keys (Esc/Q, F, H, T, 1-9) are the stage's; every other event goes to plugins
        (R also recaptures the empty room while a plugin wants it)."""
        import pygame

        new_window = None
        mine = True
        overlay = self.overlay
        room = self.pipeline.room
        if event.type == pygame.KEYDOWN and event.key == pygame.K_r and room.wanted:
            room.recapture()  # the empty room is the stage's; the key still reaches plugins
        if event.type == pygame.QUIT:
            self.show.stop("quit")
        elif event.type in (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED):
            new_window = pygame.display.get_surface()
            if new_window is not None:
                if not self._fullscreen:
                    self._window_size = new_window.get_size()
                overlay.resize(new_window.get_height())
        elif event.type == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_q):
            self.show.stop("quit")
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_f:
            new_window = self._set_mode(not self._fullscreen)
        elif self.room_panels.on_event(event, self.layout):
            pass
        elif event.type == pygame.KEYDOWN and event.key in overlay.keys:
            overlay.toggle(event.key)
        elif event.type == pygame.KEYDOWN and pygame.K_1 <= event.key <= pygame.K_9:
            self._scene_key(event.key - pygame.K_1)
        elif event.type == pygame.KEYUP and event.key in _stage_keys(overlay):
            pass
        else:
            mine = False
        if not mine:
            self.host.event(event)
        return new_window

    def _scene_key(self, index: int) -> None:
        """Number key ``index + 1``: that scene, or a line saying which numbers have one."""
        scenes = self.control.scenes
        if index < len(scenes):
            self.control.switch_scene(index)
            return
        have = ", ".join(f"{i + 1} {s.name}" for i, s in enumerate(scenes))
        self.overlay.add_message(f"no scene {index + 1}: the scenes are {have}")

    def _help_rows(self) -> list[str | list[str]]:
        """The help panel: the stage's keys, each scene's number, where things go."""
        rows: list[str | list[str]] = list(HELP_LINES)
        current = self.control.scene_index
        for i, scene in enumerate(self.control.scenes[:9]):
            rows.append([str(i + 1), scene.name + ("  (now)" if i == current else "")])
        control = self.options.control
        if control:
            rows.append(["control in", str(control)])
        for target in self.outgoing.targets:
            rows.append(["OSC out", target])
        return rows

    def _monitor_rows(self) -> list[list[str]]:
        """The OSC monitor: per target, what went out in the last second."""
        rows: list[list[str]] = []
        for load in self.outgoing.last_second():
            rows.append([load.target, f"{load.datagrams} datagrams", f"{load.bytes} bytes"])
            shown = ", ".join(load.addresses[:3])
            more = len(load.addresses) - 3
            rows.append(
                ["", f"{len(load.addresses)} addresses", shown + (" …" if more > 0 else "")]
            )
        return rows or [["nothing sent yet (the osc plugin counts here)"]]

    def _status(self) -> StageStatus:
        pipeline = self.pipeline
        frame = pipeline.frame
        return StageStatus(
            fps=pipeline.fps,
            inference_ms=frame.inference_ms if frame and pipeline.engine is not None else None,
            latency_ms=frame.latency_ms if frame else 0.0,
            people=sum(1 for p in frame.people if p.missing == 0) if frame else 0,
            ghosts=sum(1 for p in frame.people if p.missing > 0) if frame else 0,
            still=self.still,
            display_fps=self.display_fps,
            scene=self.control.scene if len(self.control.scenes) > 1 else "",
            privacy=pipeline.privacy,
        )
