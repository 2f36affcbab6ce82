"""Frames from images in memory: tests, benchmarks, generated pictures."""

from __future__ import annotations

import time

from posestage.errors import SourceError
from posestage.sources.base import Source, SourceFrame


class ArraySource(Source):
    """Frames from images in memory: tests, benchmarks, generated pictures.

    Hands out ``count`` frames cycling through ``images`` (RGB uint8 arrays; default: each
    once). With ``fps`` the source is live and paced like a camera (the stage keeps only the
    newest frame) and timestamps follow the wall clock; without, every frame is processed as
    fast as the stage takes it and timestamps are 1/30 s apart from ``start_time``, so tracking
    and smoothing are reproducible.
    """

    def __init__(
        self,
        images,
        *,
        fps: float | None = None,
        count: int | None = None,
        name: str = "frames",
        start_time: float = 1_700_000_000.0,
    ) -> None:
        super().__init__()
        self.images = list(images)
        if not self.images:
            raise SourceError("ArraySource: no images given")
        self.count = len(self.images) if count is None else int(count)
        self.fps, self.start_time, self.name = fps, start_time, name
        self.live = fps is not None
        self.height, self.width = self.images[0].shape[:2]
        self._i = 0
        self._due: float | None = None

    def _read(self) -> SourceFrame | None:
        if self._i >= self.count:
            return None
        if self.fps:
            now = time.perf_counter()
            self._due = now if self._due is None else self._due + 1.0 / self.fps
            if not self._sleep(self._due - now):
                return None
            stamp = time.time()
        else:
            stamp = self.start_time + self._i / 30.0
        image = self.images[self._i % len(self.images)]
        self._i += 1
        h, w = image.shape[:2]
        return SourceFrame(image, stamp, time.perf_counter(), w, h)
