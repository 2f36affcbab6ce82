"""The main thread's display: the pygame :class:`Window`, or the off-screen :class:`Headless`."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from posestage.draw.floor import FloorView
from posestage.errors import PosestageError
from posestage.host import PluginHost
from posestage.model.frames import PoseFrame
from posestage.stage.calibrate import Calibrating
from posestage.stage.control import SceneControl
from posestage.stage.options import StageOptions
from posestage.stage.overlay import Overlay, StageStatus
from posestage.stage.pipeline import PosePipeline
from posestage.stage.report import Rate, StageReport
from posestage.stage.room import Backdrop
from posestage.stage.show import Show

__all__ = ["IDLE_REDRAW", "JOIN_SECONDS", "MAX_WINDOW", "Display", "Headless", "Window"]

log = logging.getLogger("posestage.stage")

#: How long joining a thread may take at shutdown before the stage moves on (seconds).
JOIN_SECONDS = 3.0
#: The window is redrawn at least this often (seconds), even with nothing new to show.
IDLE_REDRAW = 0.25
#: Default window is the source size, shrunk to fit in this (width, height).
MAX_WINDOW = (1280, 800)


def _stage_keys() -> frozenset[int]:
    import pygame

    keys = [pygame.K_ESCAPE, pygame.K_q, pygame.K_f, pygame.K_h, pygame.K_t, pygame.K_v, pygame.K_c]
    return frozenset(keys + list(range(pygame.K_1, pygame.K_9 + 1)))


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


class Window(Display):
    """The pygame window, sized to ``size`` (the source's, shrunk to fit :data:`MAX_WINDOW`):
    stage keys, plugins' events, the overlay (status line, help, timings, errors)."""

    def __init__(self, *args: Any, size: tuple[int, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.size = size
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
            w, h = self.size[0] or 640, self.size[1] or 480
            fit = min(MAX_WINDOW[0] / w, MAX_WINDOW[1] / h, 1.0)
            self._window_size = (max(int(w * fit), 1), max(int(h * fit), 1))
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
        self.floor_view = FloorView()  # the room from above (V; [room] view)
        self.calibrating = Calibrating()  # the floor calibrated by clicking (C)

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
                seen = (overlay.errors(now), overlay.show_help, overlay.show_timings)
                if seen != overlay_seen:
                    overlay_seen, dirty = seen, True
                frame = self.pipeline.frame
                ask = dirty or animate or frame is not drawn or now - last_redraw >= IDLE_REDRAW
                if ask or dispatcher.layers_changed:
                    if frame is not None:
                        # a plugin's layer finished late: composite again, asking nobody
                        animate = self.paint(frame, ask=ask, within=period) or (animate and not ask)
                        drawn = frame
                        self._present(window, self.canvas)
                        if self.floor_view.visible(self.pipeline.room_settings):
                            self.floor_view.draw(window, frame, self.pipeline.room_settings)
                        self.calibrating.draw(window, (frame.width, frame.height), frame.mirrored)
                    else:
                        window.fill((0, 0, 0))
                    timings = self.host.timing_summary() if overlay.show_timings else None
                    overlay.draw(window, self._status(), timings)
                    pygame.display.flip()
                    last_redraw = now
                clock.tick(self.options.display_fps)
                now = time.perf_counter()
                self.display_fps = display_rate.tick(now)
                self.frames += 1
                self._span = (self._span[0] or now, now)
        finally:
            self._surface = None
            pygame.display.quit()

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
        late = self.host.running_late()
        for name in self._late - late.keys():
            overlay.set_error(f"late:{name}", None)
        for name, line in late.items():
            overlay.set_error(f"late:{name}", line)
        self._late = set(late)

    def _set_mode(self, fullscreen: bool):
        import pygame

        self._fullscreen = fullscreen
        if fullscreen:
            return pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
        return pygame.display.set_mode(self._window_size)

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
        elif event.type == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_q):
            self.show.stop("quit")
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_f:
            new_window = self._set_mode(not self._fullscreen)
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_h:
            overlay.show_help = not overlay.show_help
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_t:
            overlay.show_timings = not overlay.show_timings
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_v:
            self.floor_view.toggle(self.pipeline.room_settings)
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_c:
            room, scene = self.pipeline.room_settings, self.control.current_scene
            marks = room.to_click or (room.calibration.floor if room.calibration else ())
            self.calibrating.toggle(marks, scene.path)
        elif self.calibrating.active and event.type in (pygame.KEYDOWN, pygame.MOUSEBUTTONDOWN):
            frame = self.pipeline.frame
            if event.type == pygame.KEYDOWN and event.key == pygame.K_BACKSPACE:
                self.calibrating.undo()
            elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 and frame is not None:
                size, mirrored = (frame.width, frame.height), frame.mirrored
                window_size = pygame.display.get_surface().get_size()
                self.calibrating.click(event.pos, window_size, size, mirrored)
            else:
                mine = False
        elif event.type == pygame.KEYDOWN and pygame.K_1 <= event.key <= pygame.K_9:
            self.control.switch_scene(event.key - pygame.K_1)
        elif event.type == pygame.KEYUP and event.key in _stage_keys():
            pass
        else:
            mine = False
        if not mine:
            self.host.event(event)
        return new_window

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
        pipeline = self.pipeline
        frame = pipeline.frame
        return StageStatus(
            fps=pipeline.fps,
            inference_ms=frame.inference_ms if frame and pipeline.engine is not None else None,
            latency_ms=frame.latency_ms if frame else 0.0,
            people=sum(1 for p in frame.people if p.missing == 0) if frame else 0,
            display_fps=self.display_fps,
            scene=self.control.scene if len(self.control.scenes) > 1 else "",
            privacy=pipeline.privacy,
        )
