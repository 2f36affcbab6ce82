"""Still images: one file, a folder (natural sort order) or a glob; one frame each."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from posestage.errors import SourceError
from posestage.sources.base import Source, SourceFrame, SourceOptions

#: File extensions read as still images (everything else that exists is tried as a video).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)
#: Still images kept decoded in memory while looping (bytes).
STILL_CACHE_BYTES = 256 * 1024 * 1024


def natural_key(path: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(path))]


def load_image(path: str | Path, res: tuple[int, int] | None = None) -> np.ndarray:
    """A still image as (H, W, 3) uint8 RGB, resized to ``res`` (W, H) if given."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            if res is not None and img.size != tuple(res):
                img = img.resize(tuple(res), Image.BILINEAR)
            return np.asarray(img).copy()
    except FileNotFoundError:
        raise SourceError(f"--source {path}: image not found") from None
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise SourceError(f"--source {path}: cannot read the image ({err})") from None


class StillsSource(Source):
    """Still images, one frame each, in order (again and again with ``loop``).

    After the last still the source ends — unless ``hold`` is set (the stage sets it when it
    shows a window): then :meth:`read` waits until the source is closed, so the last still
    stays on screen until the performer quits. Headless runs process the stills once and end.

    Frames are handed over as the consumer asks (``live`` is False) with the wall clock as
    timestamp. Images are decoded when read; while looping, decoded images are kept (up to
    :data:`STILL_CACHE_BYTES`). Stills of different sizes give frames of different sizes
    unless ``res`` is set; ``width``/``height`` are the first still's.
    """

    live = False
    continuous = False

    def __init__(self, paths: list[Path], options: SourceOptions, name: str):
        super().__init__()
        self.paths = paths
        self.options = options
        self.name = name
        self._pos = 0
        self._cache: dict[int, np.ndarray] = {}
        self._cached_bytes = 0
        first = self._load(0)
        self.height, self.width = first.shape[:2]

    def _load(self, i: int) -> np.ndarray:
        if i in self._cache:
            return self._cache[i].copy()
        image = load_image(self.paths[i], self.options.res)
        if self.options.loop and self._cached_bytes + image.nbytes <= STILL_CACHE_BYTES:
            self._cache[i] = image.copy()
            self._cached_bytes += image.nbytes
        return image

    def _read(self) -> SourceFrame | None:
        if self._pos >= len(self.paths):
            if not self.options.loop:
                if self.options.hold:  # a window keeps showing the last still: wait for close
                    self._closed.wait()
                return None
            self._pos = 0
        image = self._load(self._pos)
        self._pos += 1
        h, w = image.shape[:2]
        return SourceFrame(image, time.time(), time.perf_counter(), w, h)


def stills_in(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
        key=natural_key,
    )
