"""Frame sources: where the stage's frames come from.

:func:`open_source` turns a ``--source`` spec into a :class:`Source`:

=========================  =====================================================================
``camera``, ``camera:N``   a camera through ``pygame.camera`` (N: index in :func:`list_cameras`,
                           or a device name such as ``camera:/dev/video2``)
``clip.mp4`` (any video)   a video file decoded with PyAV, at its own frame rate (pace
                           ``realtime``) or as fast as the consumer takes it (``fast``)
``photo.jpg``              one still image: one frame (forever with ``loop``)
``folder/``, ``'shots/*.png'``  the stills of a folder or glob, in natural sort order
``replay:poses.jsonl``     a recorded pose stream (:mod:`posestage.posestream`): frames carry
                           ``poses`` and no image, so the stage runs no model at all
``SCHEME:REST``            a scheme a plugin registered (``posestage_sources()`` hook)
=========================  =====================================================================

Every source's :meth:`Source.read` blocks until the next :class:`SourceFrame` and returns None
at the end. ``Source.live`` says how to consume it: live sources (camera, realtime video or
replay) produce frames in real time and the newest frame wins; other sources (stills, ``fast``
pace) wait for the consumer, so every frame gets processed. :meth:`Source.close` may be called
from another thread and wakes a :meth:`read` that is waiting for a frame's time.

A spec that cannot be opened raises :class:`~posestage.errors.SourceError` with one line naming
the spec and the valid forms.
"""

from __future__ import annotations

import glob as globlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import PosestageError, SourceError, describe_error, one_line
from .poses import Pose
from .posestream import PoseStreamReader, StreamFrame
from .settings import parse_size

log = logging.getLogger(__name__)

#: File extensions read as still images (everything else that exists is tried as a video).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)
#: File extensions read as pose streams even without ``replay:``.
POSESTREAM_SUFFIXES = frozenset({".jsonl"})
PACES = ("realtime", "fast")
#: Still images kept decoded in memory while looping (bytes).
STILL_CACHE_BYTES = 256 * 1024 * 1024
#: How long :meth:`Source.close` waits for a read in progress (s).
CLOSE_WAIT = 2.0
#: A realtime video or replay that falls this far behind (s) restarts its clock (a pause).
RESYNC_SECONDS = 0.5

VALID_FORMS = (
    "camera, camera:N, a video file, an image file, a folder of stills, "
    "a quoted glob like 'shots/*.jpg', or replay:FILE.jsonl"
)


@dataclass
class SourceOptions:
    """How to read a source (``--res``, ``--pace``, ``--loop``).

    - ``res``: (width, height) to resize every frame to (a camera is asked for it first);
      None keeps the source's size. Replayed poses are scaled to it.
    - ``pace``: ``"realtime"`` plays videos and replays at their recorded pace, ``"fast"`` as
      fast as the consumer takes frames. Cameras are always realtime, stills always consumer-paced.
    - ``loop``: start again at the end (videos, stills, replays), timestamps keep increasing.
    - ``mirror``: carried for the stage, which mirrors; sources never flip frames.
    """

    res: tuple[int, int] | None = None
    pace: str = "realtime"
    loop: bool = False
    mirror: bool = False

    def __post_init__(self) -> None:
        if self.pace not in PACES:
            raise SourceError(f"--pace {self.pace!r} is not valid; use realtime or fast")
        if self.res is not None:
            try:
                w, h = (int(v) for v in self.res)
            except (TypeError, ValueError):
                raise SourceError(
                    f"--res {self.res!r} is not valid; use WxH like 640x480"
                ) from None
            if w <= 0 or h <= 0:
                raise SourceError(f"--res {w}x{h} is not valid; width and height must be > 0")
            self.res = (w, h)


def parse_res(text: str) -> tuple[int, int]:
    """``"640x480"`` → ``(640, 480)``; a :class:`SourceError` naming ``--res`` otherwise."""
    try:
        return parse_size(text)
    except ValueError:
        raise SourceError(f"--res {text!r} is not valid; use WxH like 640x480") from None


@dataclass
class SourceFrame:
    """One frame from a source.

    - ``image``: (H, W, 3) uint8 RGB, or None when replaying poses.
    - ``timestamp``: wall-clock capture time, seconds since the epoch (on replay the recorded
      one; for videos the start time plus the frame's time in the video).
    - ``captured``: ``time.perf_counter()`` when the frame was read.
    - ``width``, ``height``: image size in pixels (for replays the recorded, or ``res``, size).
    - ``poses``: on replay the recorded detections — the stage then skips the model.
    - ``index``: frame number from this source (0, 1, 2…, continuing across loops).
    - ``recorded``: on replay the whole recorded frame (with the recorded ids and slots).
    """

    image: np.ndarray | None
    timestamp: float
    captured: float
    width: int
    height: int
    poses: list[Pose] | None = None
    index: int = 0
    recorded: StreamFrame | None = None


class Source:
    """Base class of frame sources. Subclasses set ``name``, ``width``, ``height``, ``live``
    and implement :meth:`_read` (and :meth:`_close` when they hold resources)."""

    name: str = "source"
    width: int = 0
    height: int = 0
    live: bool = False
    #: Frames follow each other in time (camera, video): models may track between them
    #: (MoveNet's crop tracking). False for unrelated stills.
    continuous: bool = True

    def __init__(self) -> None:
        self._closed = threading.Event()
        self._lock = threading.Lock()  # one read at a time; close waits for it
        self._index = 0

    def read(self) -> SourceFrame | None:
        """The next frame (blocking), or None at the end of the stream or once closed."""
        if self._closed.is_set():
            return None
        with self._lock:
            if self._closed.is_set():
                return None
            frame = self._read()
            if frame is not None:
                frame.index = self._index
                self._index += 1
            return frame

    def close(self) -> None:
        """Stop: wakes a waiting :meth:`read` (which then returns None) and frees resources.

        Never hangs: if a read is stuck in the device for :data:`CLOSE_WAIT` seconds (an
        unplugged camera), the resources are left to the process exit.
        """
        self._closed.set()
        if not self._lock.acquire(timeout=CLOSE_WAIT):
            log.warning("%s: a read is stuck; closing without waiting for it", self.name)
            return
        try:
            self._close()
        finally:
            self._lock.release()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def _read(self) -> SourceFrame | None:
        raise NotImplementedError

    def _close(self) -> None:
        pass

    def recover(self) -> None:
        """Called by the stage after a read of a live source failed, before it reads again:
        reopen the device here (a camera unplugged and plugged back in). Raise if it is not
        back yet; the stage keeps trying. The default does nothing."""

    def _sleep(self, seconds: float) -> bool:
        """Wait, waking early on :meth:`close`; False if closed."""
        if seconds > 0:
            return not self._closed.wait(seconds)
        return not self._closed.is_set()

    def __iter__(self) -> Iterator[SourceFrame]:
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.width}x{self.height} live={self.live}>"


#: A plugin's source opener (``posestage_sources()`` hook): ``opener(spec, options)`` gets the
#: whole spec (``"SCHEME:REST"``) and returns a :class:`Source` or raises :class:`SourceError`.
Opener = Callable[[str, SourceOptions], Source]


class _Clock:
    """Maps media time (seconds in a video or recording) to perf_counter time for pacing."""

    def __init__(self) -> None:
        self.anchor: tuple[float, float] | None = None  # (media time, perf_counter)

    def delay(self, media_time: float) -> float:
        """Seconds until ``media_time`` is due (negative: late). Starts the clock if needed."""
        now = time.perf_counter()
        if self.anchor is None:
            self.anchor = (media_time, now)
            return 0.0
        delay = (media_time - self.anchor[0]) - (now - self.anchor[1])
        if delay < -RESYNC_SECONDS:  # consumer or decoder stalled: carry on from here
            self.anchor = (media_time, now)
            return 0.0
        return delay


# -- camera --------------------------------------------------------------------------------


def _camera_module():
    """pygame.camera, initialised; a SourceError if this system has no camera backend."""
    try:
        import pygame.camera as camera

        camera.init()
    except Exception as err:  # pygame raises various errors without a usable backend
        raise SourceError(
            f"--source camera: no camera backend ({err}); use a video file, stills or replay:FILE"
        ) from None
    return camera


def list_cameras() -> list[str]:
    """Names of the cameras pygame finds (``camera:N`` is the N-th); empty if none."""
    try:
        return [str(c) for c in _camera_module().list_cameras()]
    except SourceError:
        return []


class CameraSource(Source):
    """A live camera via ``pygame.camera`` (V4L2 on Linux, MSMF on Windows, OpenCV elsewhere)."""

    live = True

    def __init__(self, device: str, options: SourceOptions):
        super().__init__()
        import pygame

        self._pygame = pygame
        self._res = options.res
        self._device = device
        self._cam = None
        self._open()
        self.width, self.height = options.res or tuple(self._cam.get_size())
        self.name = f"camera:{device}"

    def _open(self) -> None:
        camera, device = _camera_module(), self._device
        try:
            self._cam = camera.Camera(device, self._res or (640, 480), "RGB")
            self._cam.start()
        except Exception as err:
            self._close()  # release the device a half-started camera may hold
            raise SourceError(
                f"--source camera: cannot open camera {device!r} ({one_line(err)}); is another "
                "program using it? Close it, or pick another with camera:N"
            ) from None

    def recover(self) -> None:
        with self._lock:
            self._close()
            self._open()

    def _read(self) -> SourceFrame | None:
        pg = self._pygame
        if self._cam is None:
            raise SourceError(f"--source {self.name}: the camera is not open")
        try:
            surface = self._cam.get_image()
        except Exception as err:
            raise SourceError(f"--source {self.name}: the camera stopped ({err})") from None
        captured, stamp = time.perf_counter(), time.time()
        if surface.get_size() != (self.width, self.height):
            surface = pg.transform.scale(surface, (self.width, self.height))
        data = bytearray(pg.image.tobytes(surface, "RGB"))
        image = np.frombuffer(data, dtype=np.uint8).reshape(self.height, self.width, 3)
        return SourceFrame(image, stamp, captured, self.width, self.height)

    def _close(self) -> None:
        cam, self._cam = getattr(self, "_cam", None), None
        if cam is not None:
            try:
                cam.stop()
            except Exception:
                pass


def _open_camera(arg: str | None, options: SourceOptions) -> CameraSource:
    cameras = list_cameras()
    spec = "camera" if arg is None else f"camera:{arg}"
    found = ", ".join(f"camera:{i} ({name})" for i, name in enumerate(cameras)) or "none"
    if arg is None or arg.strip() == "":
        index: int | None = 0
    else:
        index = int(arg) if arg.strip().isdigit() else None
    if index is not None:
        if index >= len(cameras):
            what = "no camera found" if not cameras else f"there is no camera {index}"
            raise SourceError(
                f"--source {spec}: {what}; cameras found: {found}. "
                "Connect one, or use a video file, stills or replay:FILE"
            )
        device = cameras[index]
    else:
        device = arg
        if device not in cameras and not os.path.exists(device):
            raise SourceError(f"--source {spec}: no such camera; cameras found: {found}")
    return CameraSource(device, options)


# -- video ---------------------------------------------------------------------------------


class VideoSource(Source):
    """A video file decoded with PyAV (threaded decoding; RGB conversion and resize in one
    swscale pass). Realtime pace honours the frame times and skips converting frames that are
    already late; fast pace hands over every frame."""

    def __init__(self, path: Path, options: SourceOptions):
        super().__init__()
        self.path = path
        self.options = options
        self.live = options.pace == "realtime"
        self.name = f"video:{path.name}"
        self._container = None
        self._open()
        cc = self._stream.codec_context
        self.width, self.height = options.res or (int(cc.width), int(cc.height))
        if self.width <= 0 or self.height <= 0:
            self._close()
            raise SourceError(f"--source {path}: the video has no picture size; is it corrupt?")
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.fps = float(rate) if rate else 30.0
        self._clock = _Clock()
        self._start_wall = time.time()
        self._offset = 0.0  # media-time offset added on each loop
        self._first_time: float | None = None
        self._last_time = 0.0
        self._frames = self._decode()

    def _open(self) -> None:
        import av

        try:
            container = av.open(str(self.path), "r")
        except (av.FFmpegError, OSError, ValueError) as err:
            raise SourceError(
                f"--source {self.path}: cannot read it as a video or image "
                f"({getattr(err, 'strerror', None) or err}); valid forms: {VALID_FORMS}"
            ) from None
        if not container.streams.video:
            container.close()
            raise SourceError(
                f"--source {self.path}: the file has no video stream; valid forms: {VALID_FORMS}"
            )
        self._container = container
        self._stream = container.streams.video[0]
        self._stream.thread_type = "AUTO"

    def _decode(self) -> Iterator:
        """Decoded frames; corrupt packets are skipped (a few glitches beat a stopped show)."""
        import av

        bad = 0
        for packet in self._container.demux(self._stream):
            try:
                frames = packet.decode()
            except av.FFmpegError as err:
                bad += 1
                if bad > 50:
                    raise SourceError(
                        f"--source {self.path}: too many corrupt frames ({err})"
                    ) from None
                continue
            bad = 0
            yield from frames

    def _read(self) -> SourceFrame | None:
        spf = 1.0 / self.fps
        while True:
            frame = next(self._frames, None)
            if frame is None:
                if not self.options.loop or self._first_time is None:
                    return None
                self._offset += self._last_time - self._first_time + spf
                self._first_time = None
                self._container.close()
                self._open()
                self._frames = self._decode()
                continue
            t = frame.time
            if t is None:
                t = self._last_time + spf if self._first_time is not None else 0.0
            if self._first_time is None:
                self._first_time = t
            self._last_time = t
            media = self._offset + t - self._first_time
            if self.live:
                delay = self._clock.delay(media)
                if delay < -spf:
                    continue  # late: drop it without the costly RGB conversion
                if not self._sleep(delay):
                    return None
            image = frame.to_ndarray(format="rgb24", width=self.width, height=self.height)
            return SourceFrame(
                image, self._start_wall + media, time.perf_counter(), self.width, self.height
            )

    def _close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None


# -- stills --------------------------------------------------------------------------------


def _natural_key(path: Path) -> list:
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


class StillsSource(Source):
    """Still images, one frame each, in order (again and again with ``loop``).

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
                return None
            self._pos = 0
        image = self._load(self._pos)
        self._pos += 1
        h, w = image.shape[:2]
        return SourceFrame(image, time.time(), time.perf_counter(), w, h)


def _stills_in(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
        key=_natural_key,
    )


# -- replay --------------------------------------------------------------------------------


class ReplaySource(Source):
    """A recorded pose stream: frames with ``poses`` (and the ``recorded`` frame) but no image.

    Realtime pace waits for each frame's recorded time; fast pace hands frames over as the
    consumer asks. Timestamps are the recorded ones (plus the stream's length per loop), so
    replaying into the tracker reproduces the recorded people.
    """

    gives_poses = True  # the stage needs no model for this source

    def __init__(self, path: Path, options: SourceOptions):
        super().__init__()
        self.path = path
        self.options = options
        self.live = options.pace == "realtime"
        self.name = f"replay:{path.name}"
        self._reader = PoseStreamReader(path)
        self.header = self._reader.header
        self._frames = iter(self._reader)
        self._pending: StreamFrame | None = None
        if not (self.header.width > 0 and self.header.height > 0):
            self._pending = next(self._frames, None)
            if self._pending is None:
                self._close()
                raise SourceError(f"--source replay:{path}: the pose stream has no frames")
            self.header.width, self.header.height = self._pending.width, self._pending.height
        self.width, self.height = options.res or (self.header.width, self.header.height)
        self._clock = _Clock()
        self._offset = 0.0
        self._first: float | None = None
        self._last = 0.0
        self._step = 1.0 / 30.0  # last time step seen, used between loops

    def _next_record(self) -> StreamFrame | None:
        if self._pending is not None:
            record, self._pending = self._pending, None
            return record
        return next(self._frames, None)

    def _read(self) -> SourceFrame | None:
        record = self._next_record()
        if record is None:
            if not self.options.loop or self._first is None:
                return None
            self._offset += self._last - self._first + self._step
            self._first = None
            self._reader.close()
            self._reader = PoseStreamReader(self.path)
            self._frames = iter(self._reader)
            record = self._next_record()
            if record is None:
                return None
        if self._first is None:
            self._first = record.timestamp
        elif record.timestamp > self._last:
            self._step = record.timestamp - self._last
        self._last = record.timestamp
        media = self._offset + record.timestamp - self._first
        if self.live and not self._sleep(self._clock.delay(media)):
            return None
        poses = record.poses()
        if self.options.res is not None and (record.width, record.height) != self.options.res:
            scale = np.array(
                [self.width / record.width, self.height / record.height], dtype=np.float32
            )
            for pose in poses:
                pose.xy = pose.xy * scale
            width, height = self.width, self.height
        else:
            width, height = record.width, record.height
        return SourceFrame(
            None,
            self._first + media,
            time.perf_counter(),
            width,
            height,
            poses=poses,
            recorded=record,
        )

    def _close(self) -> None:
        self._reader.close()


# -- open_source ---------------------------------------------------------------------------


def _has_glob(spec: str) -> bool:
    return any(c in spec for c in "*?[")


def open_source(
    spec: str, options: SourceOptions | None = None, extra: dict[str, Opener] | None = None
) -> Source:
    """Open ``spec`` (see the module docstring) with ``options``.

    ``extra`` maps schemes registered by plugins (``posestage_sources()``) to openers, called
    as ``opener(spec, options)`` with the whole spec; built-in schemes cannot be replaced.
    """
    options = options or SourceOptions()
    extra = extra or {}
    spec = (spec or "").strip()
    if not spec:
        raise SourceError(f"--source is empty; use {VALID_FORMS}")
    scheme, sep, arg = spec.partition(":")
    if scheme == "camera":
        return _open_camera(arg if sep else None, options)
    if scheme == "replay" and sep:
        if not arg:
            raise SourceError("--source replay: needs a file, e.g. replay:scenes/demo.jsonl")
        return ReplaySource(Path(arg).expanduser(), options)
    if sep and scheme in extra:
        return _open_extra(spec, scheme, extra[scheme], options)

    path = Path(spec).expanduser()
    if path.is_dir():
        paths = _stills_in(path)
        if not paths:
            raise SourceError(
                f"--source {spec}: no images in this folder "
                f"(looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        return StillsSource(paths, options, f"stills:{path.name or spec} ({len(paths)})")
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            return StillsSource([path], options, f"still:{path.name}")
        if suffix in POSESTREAM_SUFFIXES:
            return ReplaySource(path, options)
        return VideoSource(path, options)
    if _has_glob(spec):
        matches = [Path(p) for p in globlib.glob(os.path.expanduser(spec), recursive=True)]
        paths = sorted(
            (p for p in matches if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
            key=_natural_key,
        )
        if not paths:
            raise SourceError(f"--source {spec}: the pattern matches no image files")
        return StillsSource(paths, options, f"stills:{spec} ({len(paths)})")
    if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]+", scheme):
        known = ["camera", "replay", *sorted(extra)]
        raise SourceError(
            f"--source {spec}: unknown source type {scheme!r} (known: {', '.join(known)}); "
            f"valid forms: {VALID_FORMS}"
        )
    raise SourceError(f"--source {spec}: no such file or folder; valid forms: {VALID_FORMS}")


def _open_extra(spec: str, scheme: str, opener: Opener, options: SourceOptions) -> Source:
    try:
        source = opener(spec, options)
    except PosestageError:
        raise
    except Exception as err:
        raise SourceError(
            f"--source {spec}: the plugin source {scheme!r} failed: {describe_error(err)}"
        ) from None
    if not isinstance(source, Source) and not callable(getattr(source, "read", None)):
        raise SourceError(f"--source {spec}: the plugin source {scheme!r} returned no source")
    return source
