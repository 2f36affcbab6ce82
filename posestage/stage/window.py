"""The main thread's display: the pygame window, or the off-screen canvas when headless."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import numpy as np

from posestage.errors import PosestageError
from posestage.model.frames import PoseFrame
from posestage.stage.control import _scene_name, _scene_stage
from posestage.stage.overlay import Overlay, StageStatus
from posestage.stage.report import _Rate

log = logging.getLogger("posestage.stage")

#: How long joining a thread may take at shutdown before the stage moves on (seconds).
JOIN_SECONDS = 3.0
#: The window is redrawn at least this often (seconds), even with nothing new to show.
IDLE_REDRAW = 0.25
#: Default window is the source size, shrunk to fit in this (width, height).
MAX_WINDOW = (1280, 800)


def _stage_keys() -> frozenset[int]:
    import pygame

    keys = [pygame.K_ESCAPE, pygame.K_q, pygame.K_f, pygame.K_h, pygame.K_t]
    return frozenset(keys + list(range(pygame.K_1, pygame.K_9 + 1)))


class Window:
    """Part of :class:`~posestage.stage.Stage`: the window and headless display loops."""

    def _headless_loop(self) -> None:
        """No window: chores, and the canvas redrawn off-screen (plugins that render, e.g. to
        a file, keep working) when a new frame came or a plugin animates (its draw returned
        True), at most at display rate; the last frame is always drawn."""
        import pygame

        canvas = None
        drawn = None
        animate = False
        period = 1.0 / self.options.display_fps
        next_draw = 0.0
        wake = self._wake
        while True:
            # woken by a new frame or stop, else once a display period: no busier than the
            # window's loop (on 2 cores every wake-up is taken from inference)
            wake.wait(period)
            wake.clear()
            stopping = self._stop.is_set()
            if not stopping:
                self._housekeeping()
            frame = self.frame
            now = time.perf_counter()
            fresh = frame is not drawn or animate
            if frame is not None and fresh and (stopping or now >= next_draw):
                if stopping:  # let the pose thread finish its frame first
                    self._threads[1].join(JOIN_SECONDS)
                    frame = self.frame
                drawn = frame
                next_draw = now + period
                if canvas is None or canvas.get_size() != (frame.width, frame.height):
                    canvas = pygame.Surface((frame.width, frame.height))
                animate = self._paint(canvas, frame, None)
                self._redraws += 1
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
        self._caption = f"posestage — {self.scene}"
        pygame.display.set_caption(self._caption)
        self.overlay = Overlay()

    def _window_loop(self) -> None:
        """Events and chores every display tick; the window is redrawn when there is something
        new to show — a frame, an event, an overlay change, a plugin animating (its draw
        returned True) — and at least every :data:`IDLE_REDRAW` seconds. Nothing here waits
        for a plugin: a plugin busy on another thread is skipped this tick."""
        import pygame

        window = self._window
        clock = pygame.time.Clock()
        display_rate = _Rate()
        canvas = None
        image_surface = None
        image_frame = None
        animate = False
        overlay_seen: Any = None
        caption = None
        last_redraw = 0.0
        try:
            while not self._stop.is_set():
                dirty = False
                for event in pygame.event.get():
                    window = self._on_event(event, window) or window
                    dirty = True
                self._housekeeping()
                if self._caption != caption:
                    caption = self._caption
                    pygame.display.set_caption(caption)
                self._show_late()
                now = time.perf_counter()
                seen = (self.overlay.errors(now), self.overlay.show_help, self.overlay.show_timings)
                if seen != overlay_seen:
                    overlay_seen, dirty = seen, True
                frame = self.frame
                if dirty or animate or frame is not image_frame or now - last_redraw >= IDLE_REDRAW:
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
                        animate = self._paint(canvas, frame, image_surface)
                        self._present(window, canvas)
                    else:
                        window.fill((0, 0, 0))
                    timings = self._timings() if self.overlay.show_timings else None
                    self.overlay.draw(window, self._status(), timings)
                    pygame.display.flip()
                    self._redraws += 1
                    last_redraw = now
                clock.tick(self.options.display_fps)
                now = time.perf_counter()
                self._display_fps = display_rate.tick(now)
                self._display_frames += 1
                self._display_span = (self._display_span[0] or now, now)
        finally:
            self._window = None
            pygame.display.quit()

    def _show_late(self) -> None:
        """Plugins in a hook past its time budget right now, named on screen while it lasts."""
        late = self.host.running_late() if hasattr(self.host, "running_late") else {}
        for name in self._late - late.keys():
            self.overlay.set_error(f"late:{name}", None)
        for name, line in late.items():
            self.overlay.set_error(f"late:{name}", line)
        self._late = set(late)

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
            self.host.event(event)
        return new_window

    def _paint(self, canvas, frame: PoseFrame, image_surface) -> bool:
        """The camera image (if any and allowed), then every plugin's drawing in scene order
        (a plugin busy elsewhere is skipped). True when a plugin asked to animate."""
        if image_surface is not None and not self.privacy:
            canvas.blit(image_surface, (0, 0))
        else:
            canvas.fill((0, 0, 0))
        return bool(self.host.draw(canvas, frame))

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
