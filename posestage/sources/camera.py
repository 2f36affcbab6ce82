"""Cameras through PyAV's device inputs (AVFoundation on macOS, V4L2 on Linux, DirectShow on
Windows; see :mod:`.devices` for why): ``camera`` (the first), ``camera:N`` (the N-th of
``posestage cameras``), ``camera:NAME`` (a unique part of its name) or ``camera:/dev/video2``.
``--res`` and ``--fps`` pick the mode (MJPEG when the camera offers it at that size). Live,
continuous and mirrored by default (a performer facing the screen). A camera unplugged
mid-show fails its reads; the stage reports it and calls :meth:`CameraSource.recover`, which
finds the camera again by name (its number may have changed) and reopens it."""

from __future__ import annotations

import logging
import time

from posestage.errors import SourceError, one_line
from posestage.sources.base import Source, SourceFrame, SourceOptions
from posestage.sources.devices import Camera, Driver, Request, pick_mode
from posestage.sources.live import LiveReader
from posestage.sources.platforms import driver, ffmpeg_log

__all__ = [
    "OPEN_TIMEOUT",
    "READ_TIMEOUT",
    "CameraSource",
    "NoCamera",
    "find_camera",
    "find_cameras",
    "list_cameras",
    "open_camera",
]

log = logging.getLogger("posestage.sources")

#: Seconds a camera may take to open (a Mac camera warms up for about a second).
OPEN_TIMEOUT = 10.0
#: Seconds without a frame before a read fails (the camera is reported away and reopened).
READ_TIMEOUT = 3.0

ELSEWHERE = "use a video file, stills or replay:FILE (e.g. --source replay:scenes/demo.jsonl)"


class NoCamera(SourceError):
    """``camera`` or ``camera:N`` asked for where there is no such camera."""


def find_cameras(drv: Driver | None = None) -> list[Camera]:
    """The cameras this system's driver finds now (empty if none, or if listing fails)."""
    drv = drv or driver()
    try:
        return drv.cameras()
    except Exception as err:  # noqa: BLE001 - a broken device must not stop the listing
        log.debug("listing cameras failed: %s", err)
        return []


def list_cameras() -> list[str]:
    """Names of the cameras found (``camera:N`` is the N-th); empty if none."""
    return [camera.describe() for camera in find_cameras()]


def find_camera(arg: str | None, cameras: list[Camera], spec: str) -> Camera:
    """The camera ``camera:ARG`` means: none or a number (index), a device (``/dev/video2``)
    or a unique part of a name (case ignored). One-line :class:`SourceError` otherwise."""
    found = ", ".join(f"camera:{i} ({c.describe()})" for i, c in enumerate(cameras)) or "none"
    arg = (arg or "").strip()
    if not arg or arg.isdigit():
        index = int(arg or 0)
        if index < len(cameras):
            return cameras[index]
        what = "no camera found" if not cameras else f"there is no camera {index}"
        raise NoCamera(
            f"--source {spec}: {what}; cameras found: {found}. Connect one, or {ELSEWHERE}"
        )
    exact = [c for c in cameras if arg in (c.device, c.name)]
    if exact:
        return exact[0]
    matches = [c for c in cameras if arg.lower() in c.name.lower()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise SourceError(
            f"--source {spec}: {len(matches)} cameras match {arg!r} "
            f"({', '.join(c.name for c in matches)}); give more of the name, or camera:N"
        )
    raise SourceError(f"--source {spec}: no such camera; cameras found: {found}")


class CameraSource(LiveReader, Source):
    """A live camera opened through PyAV in the mode :func:`pick_mode` chose."""

    live = True
    mirror_by_default = True

    def __init__(self, camera: Camera, options: SourceOptions, drv: Driver, spec: str = ""):
        super().__init__()
        self.camera, self.options, self.driver = camera, options, drv
        self.spec = spec or f"camera:{camera.name}"
        self.name = f"camera:{camera.name}"
        self.request: Request | None = pick_mode(camera.modes, options.res, options.fps)
        self._container = None
        self._frames = None
        self._open()
        cc = self._stream.codec_context
        self.width, self.height = options.res or (int(cc.width), int(cc.height))
        if self.width <= 0 or self.height <= 0:
            self._close()
            raise SourceError(f"--source {self.spec}: the camera gave no picture size")
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.fps = float(rate) if rate else (self.request.fps if self.request else 0.0)
        log.info("%s: %s", self.name, self.mode_line)

    @property
    def mode_line(self) -> str:
        """What the camera was opened in, e.g. ``1280x720@30 mjpeg``."""
        cc = self._stream.codec_context if self._container is not None else None
        fmt = self.request.mode.pixel_format if self.request else ""
        if cc is not None:
            fmt = fmt or (cc.pix_fmt or cc.name or "")
        size = f"{cc.width}x{cc.height}" if cc is not None else "?"
        return f"{size}@{self.fps:g} {fmt}".strip() if self.fps else f"{size} {fmt}".strip()

    def _open(self) -> None:
        import av

        try:
            url, av_options = self.driver.input(
                self.camera, self.request, self.options.res, self.options.fps
            )
        except OSError as err:
            raise SourceError(
                f"--source {self.spec}: cannot open the camera ({one_line(err)})"
            ) from None

        def action():
            return av.open(
                url,
                format=self.driver.format,
                options=av_options,
                timeout=(OPEN_TIMEOUT, READ_TIMEOUT),
            )

        container, err, text = ffmpeg_log(action)
        if err is not None:
            raise SourceError(self._cannot_open(err, text)) from None
        if not container.streams.video:
            container.close()
            raise SourceError(f"--source {self.spec}: the device gives no video")
        self._container = container
        self._stream = container.streams.video[0]
        self._frames = self._decode()

    def _cannot_open(self, err: BaseException, text: str) -> str:
        last = [line for line in text.splitlines() if line.strip()]
        why = one_line(getattr(err, "strerror", None) or err)
        hint = self.driver.explain(self.camera, err, text)
        if not hint:
            hint = f"{'FFmpeg: ' + last[-1].strip() + '; ' if last else ''}{BUSY_OR_ELSEWHERE}"
        return f"--source {self.spec}: cannot open camera {self.camera.describe()} ({why}): {hint}"

    def _decode(self):
        """Decoded frames with their arrival time on the wall clock (the capture time)."""
        for packet in self._container.demux(self._stream):
            arrived = time.time()
            for frame in packet.decode():
                yield frame, arrived

    def recover(self) -> None:
        """Find the camera again (by name: it may come back as another number) and reopen it;
        raise while it is away."""
        with self._lock:
            self._close()
            if self.closed:
                return
            cameras = find_cameras(self.driver)
            again = [c for c in cameras if c.name == self.camera.name] or [
                c for c in cameras if c.device == self.camera.device
            ]
            if not again:
                raise SourceError(f"{self.name} is away; plug it back in")
            self.camera = again[0]
            self._open()

    def _read(self) -> SourceFrame | None:
        item = self._next_item(
            "the camera is away; waiting for it",
            "the camera stopped",
            "the camera stopped sending frames (unplugged?)",
        )
        return None if item is None else self._picture(*item)


BUSY_OR_ELSEWHERE = "is another program using it? Close it, or pick another with camera:N"


def open_camera(arg: str | None, options: SourceOptions) -> CameraSource:
    """``camera`` / ``camera:ARG`` opened (see :func:`find_camera`)."""
    spec = "camera" if arg is None else f"camera:{arg}"
    drv = driver()
    camera = find_camera(arg, find_cameras(drv), spec)
    return CameraSource(camera, options, drv, spec)
