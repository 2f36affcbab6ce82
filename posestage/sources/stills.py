"""Still images: one file, a folder (natural sort order) or a glob; one frame each."""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path

import numpy as np

from posestage.errors import SourceError, one_line
from posestage.model.limits import (
    MAX_HEIGHT,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_WIDTH,
    regular_file,
)
from posestage.sources.base import Source, SourceFrame, SourceOptions

#: File extensions read as still images (everything else that exists is tried as a video).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)
#: Still images kept decoded in memory while looping (bytes).
STILL_CACHE_BYTES = 256 * 1024 * 1024


def natural_key(path: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(path))]


def open_image(path: str | Path, what: str = "--source"):
    """An image file decoded as an RGB PIL image, or one-line :class:`SourceError`.

    Only a regular file of at most :data:`~posestage.model.limits.MAX_IMAGE_BYTES`, and only
    when its header says at most 8K UHD of pixels — checked before decoding, so a
    decompression bomb (a 30000x30000 PNG of 109 KB) is refused without allocating it. A
    header that lies, a truncated or corrupt file: the same one line.
    """
    from PIL import Image, UnidentifiedImageError

    where = f"{what} {path}" if what else str(path)
    try:
        regular_file(path, f"{where}: image", MAX_IMAGE_BYTES, SourceError)
        with warnings.catch_warnings():  # Pillow's bomb warning: our own check says it
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(path)
        with opened as img:
            width, height = img.size
            if width * height > MAX_IMAGE_PIXELS:
                raise SourceError(
                    f"{where}: the image has more pixels ({width}x{height}) than the "
                    f"{MAX_WIDTH}x{MAX_HEIGHT} allowed; scale it down"
                )
            img.load()
            return img.convert("RGB")
    except SourceError:
        raise
    except Image.DecompressionBombError:  # Pillow's own guard, past twice its limit
        raise SourceError(
            f"{where}: the image has more pixels than the {MAX_WIDTH}x{MAX_HEIGHT} allowed; "
            "scale it down"
        ) from None
    except FileNotFoundError:
        raise SourceError(f"{where}: image not found; check the path") from None
    except IsADirectoryError:
        raise SourceError(f"{where}: is a folder; give image files") from None
    except UnidentifiedImageError:
        raise SourceError(
            f"{where}: cannot read the image: not an image (JPEG, PNG, BMP, ...); give an image file"
        ) from None
    except Exception as err:  # noqa: BLE001 - a lying header fails in many ways inside Pillow
        raise SourceError(
            f"{where}: cannot read the image ({one_line(err)}); is it truncated or corrupt?"
        ) from None


def load_image(path: str | Path, res: tuple[int, int] | None = None) -> np.ndarray:
    """A still image as (H, W, 3) uint8 RGB, resized to ``res`` (W, H) if given."""
    from PIL import Image

    img = open_image(path)
    if res is not None and img.size != tuple(res):
        img = img.resize(tuple(res), Image.BILINEAR)
    return np.asarray(img).copy()


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
