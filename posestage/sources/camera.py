"""Cameras through ``pygame.camera`` (V4L2 on Linux, MSMF on Windows, OpenCV elsewhere):
``camera`` (the first), ``camera:N`` (the N-th of :func:`list_cameras`) or ``camera:/dev/video2``.
Live, continuous and mirrored by default (a performer facing the screen)."""

from __future__ import annotations

import os
import time

import numpy as np

from posestage.errors import SourceError, one_line
from posestage.sources.base import Source, SourceFrame, SourceOptions


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
    mirror_by_default = True

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


def open_camera(arg: str | None, options: SourceOptions) -> CameraSource:
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
