"""The camera drivers of the three systems, through FFmpeg's device inputs in PyAV's wheel:
:class:`AVFoundation` (macOS), :class:`V4L2` (Linux), :class:`DirectShow` (Windows).

FFmpeg lists devices and modes in its log (``list_devices``, ``list_formats``,
``list_options``, and AVFoundation's "Supported modes" when asked for one it lacks): each
driver asks, reads the log lines (:func:`ffmpeg_log`) and parses them. A camera whose modes
cannot be read is still listed, with no modes; it is then opened at the size and rate asked.
"""

from __future__ import annotations

import errno
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from posestage.sources.devices import VIRTUAL_ENV, Camera, Driver, Mode, Request, VirtualDriver

__all__ = ["BUSY", "AVFoundation", "DirectShow", "V4L2", "driver", "ffmpeg_log", "parse_avfoundation_modes",
           "parse_dshow_devices", "parse_dshow_options", "parse_v4l2_formats"]  # fmt: skip

#: What to do when another program holds the camera.
BUSY = (
    "another program is using it (a browser tab, a video call, OBS, TouchDesigner): close it, "
    "or pick another camera (posestage cameras lists them)"
)


def ffmpeg_log(action: Callable[[], object]) -> tuple[object, BaseException | None, str]:
    """Run ``action`` (an ``av.open`` that makes FFmpeg log what it found) with FFmpeg's log on
    and captured: ``(result, error, log text)``."""
    import av
    import av.logging

    old = av.logging.get_level()
    av.logging.set_level(av.logging.INFO)
    result, error = None, None
    try:
        with av.logging.Capture(local=True) as logs:
            try:
                result = action()
            except Exception as err:  # noqa: BLE001 - listing modes ends in an error on purpose
                error = err
    finally:
        av.logging.set_level(old)
    text = "".join(str(entry[2]) for entry in logs)
    return result, error, text


def _open_and_close(url: str, fmt: str, options: dict) -> Callable[[], object]:
    def action():
        import av

        container = av.open(url, format=fmt, options=options, timeout=5.0)
        container.close()
        return True

    return action


def _size_options(request: Request | None, res, fps) -> dict:
    options = {}
    if request is not None:
        options["video_size"] = f"{request.mode.width}x{request.mode.height}"
        options["framerate"] = f"{request.fps:g}"
    else:
        if res:
            options["video_size"] = f"{res[0]}x{res[1]}"
        if fps:
            options["framerate"] = f"{fps:g}"
    return options


# -- Linux --------------------------------------------------------------------------------


def parse_v4l2_formats(text: str) -> tuple[Mode, ...]:
    """Modes from FFmpeg's ``list_formats=all`` log: ``Compressed: mjpeg : Motion-JPEG : 1280x720
    640x480`` and ``Raw : yuyv422 : YUYV 4:2:2 : 640x480`` (sizes only: no rates)."""
    modes: list[Mode] = []
    for chunk in re.split(r"(?=\b(?:Raw|Compressed)\s*:)", text):
        parts = chunk.split(":", 3)
        if len(parts) < 4 or parts[0].strip() not in ("Raw", "Compressed"):
            continue
        fmt = parts[1].strip()
        if not fmt or fmt == "Unsupported":
            continue
        for w, h in re.findall(r"(?<![\d{,])(\d+)x(\d+)(?![\d}])", parts[3]):
            modes.append(Mode(int(w), int(h), fmt))
    return tuple(modes)


class V4L2(Driver):
    """Linux: ``/dev/video*`` with a capture capability; names from sysfs."""

    format = "video4linux2"
    label = "V4L2 (Linux)"

    def __init__(self, root: str = "/sys/class/video4linux") -> None:
        self.root = Path(root)

    def cameras(self) -> list[Camera]:
        found = []
        nodes = sorted(self.root.glob("video*"), key=lambda p: int(p.name[5:] or 0))
        for node in nodes:
            device = f"/dev/{node.name}"
            try:
                name = (node / "name").read_text(encoding="utf-8").strip() or device
            except OSError:
                name = device
            _, err, text = ffmpeg_log(_open_and_close(device, self.format, {"list_formats": "all"}))
            if (
                err is not None
                and not text
                and getattr(err, "errno", None)
                not in (
                    errno.EACCES,
                    errno.EBUSY,
                )
            ):
                continue  # a metadata node, or gone: not a camera
            if "Not a video capture device" in text:
                continue
            found.append(Camera(name, device, parse_v4l2_formats(text)))
        return found

    def input(self, camera: Camera, request: Request | None, res, fps) -> tuple[str, dict]:
        options = _size_options(request, res, fps)
        if request is not None:
            options["input_format"] = request.mode.pixel_format
        return camera.device, options

    def explain(self, camera: Camera, err: BaseException, log: str) -> str:
        code = getattr(err, "errno", None)
        if code == errno.EACCES or "Permission denied" in log:
            return (
                f"no permission to use {camera.device}: add yourself to the video group "
                "(sudo usermod -aG video $USER) and log in again"
            )
        if code == errno.EBUSY or "busy" in log.lower():
            return BUSY
        if code in (errno.ENOENT, errno.ENODEV):
            return "it is unplugged; plug it back in"
        return ""


# -- macOS --------------------------------------------------------------------------------


def parse_avfoundation_devices(text: str) -> list[tuple[str, str]]:
    """``[(index, name)]`` of the video devices in ``list_devices`` output (screens left out)."""
    video = text.split("AVFoundation audio devices", 1)[0]
    found = []
    for index, name in re.findall(r"\[(\d+)\] ([^\n\[]+)", video):
        name = name.strip()
        if not name.startswith("Capture screen"):
            found.append((index, name))
    return found


def parse_avfoundation_modes(text: str, pixel_formats: list[str]) -> tuple[Mode, ...]:
    """Modes from AVFoundation's "Supported modes" (``1280x720@[1.000000 30.000000]fps``),
    once per pixel format the device offers."""
    found = re.findall(r"(\d+)x(\d+)@\[([\d.]+) ([\d.]+)\]fps", text)
    modes = {
        Mode(int(w), int(h), pix, float(lo), float(hi))
        for w, h, lo, hi in found
        for pix in pixel_formats
    }
    return tuple(sorted(modes, key=lambda m: (m.width * m.height, m.max_fps, m.pixel_format)))


#: The pixel formats AVFoundation delivers without conversion on Mac cameras, best first.
AVFOUNDATION_FORMATS = ["nv12", "uyvy422", "yuyv422"]


class AVFoundation(Driver):
    """macOS: AVFoundation video devices (by index; ``camera:NAME`` matches their names)."""

    format = "avfoundation"
    label = "AVFoundation (macOS)"

    def cameras(self) -> list[Camera]:
        _, _, text = ffmpeg_log(_open_and_close("", self.format, {"list_devices": "true"}))
        found = []
        for index, name in parse_avfoundation_devices(text):
            # Asking for a size no camera has makes FFmpeg list the modes the camera offers.
            ask = {"video_size": "2x2", "framerate": "1"}
            _, _, modes = ffmpeg_log(_open_and_close(f"{index}:none", self.format, ask))
            found.append(Camera(name, index, parse_avfoundation_modes(modes, AVFOUNDATION_FORMATS)))
        return found

    def input(self, camera: Camera, request: Request | None, res, fps) -> tuple[str, dict]:
        options = _size_options(request, res, fps)
        # FFmpeg's default rate (29.97) is refused by most cameras: always ask for one.
        options.setdefault("framerate", "30")
        options["pixel_format"] = request.mode.pixel_format if request else "uyvy422"
        return f"{camera.device}:none", options

    def explain(self, camera: Camera, err: BaseException, log: str) -> str:
        lowered = log.lower()
        if (
            "not authorized" in lowered
            or "cannot use" in lowered
            or "failed to create av capture" in lowered
        ):
            return (
                "macOS has not allowed this program to use the camera: System Settings → "
                "Privacy & Security → Camera, turn on your terminal (or the app you run "
                "posestage from), then start it again"
            )
        if "in use" in lowered:
            return BUSY
        return ""


# -- Windows ------------------------------------------------------------------------------


def parse_dshow_devices(text: str) -> list[str]:
    """Video device names in ``list_devices`` output: ``"Name" (video)`` (FFmpeg 5 and later),
    or the quoted names under "DirectShow video devices" (older)."""
    names = re.findall(r'"([^"\n]+)"\s*\(video\)', text)
    if names:
        return names
    video = text.split("DirectShow audio devices", 1)[0]
    return [n for n in re.findall(r'"([^"\n]+)"', video) if not n.startswith("@device")]


def parse_dshow_options(text: str) -> tuple[Mode, ...]:
    """Modes from ``list_options`` output: ``vcodec=mjpeg  min s=1280x720 fps=5 max
    s=1280x720 fps=30`` and ``pixel_format=yuyv422  min s=… fps=… max s=… fps=…``."""
    pattern = (
        r"(?:vcodec|pixel_format)=(\S+)\s+min s=(\d+)x(\d+) fps=([\d.]+)\s+"
        r"max s=(\d+)x(\d+) fps=([\d.]+)"
    )
    modes = set()
    for fmt, w, h, lo, w2, h2, hi in re.findall(pattern, text):
        modes.add(Mode(int(w2), int(h2), fmt, float(lo), float(hi)))
        if (w, h) != (w2, h2):
            modes.add(Mode(int(w), int(h), fmt, float(lo), float(hi)))
    return tuple(sorted(modes, key=lambda m: (m.width * m.height, m.max_fps, m.pixel_format)))


class DirectShow(Driver):
    """Windows: DirectShow video devices, by name."""

    format = "dshow"
    label = "DirectShow (Windows)"

    def cameras(self) -> list[Camera]:
        _, _, text = ffmpeg_log(_open_and_close("dummy", self.format, {"list_devices": "true"}))
        found = []
        for name in parse_dshow_devices(text):
            ask = {"list_options": "true"}
            _, _, modes = ffmpeg_log(_open_and_close(f"video={name}", self.format, ask))
            found.append(Camera(name, name, parse_dshow_options(modes)))
        return found

    def input(self, camera: Camera, request: Request | None, res, fps) -> tuple[str, dict]:
        options = _size_options(request, res, fps)
        if request is not None:
            pix = request.mode.pixel_format
            options["vcodec" if pix in ("mjpeg", "h264") else "pixel_format"] = pix
        return f"video={camera.device}", options

    def explain(self, camera: Camera, err: BaseException, log: str) -> str:
        if "Could not run graph" in log or "in use" in log:
            return (
                f"{BUSY}; or camera access is off: Settings → Privacy & security → Camera, "
                "allow desktop apps"
            )
        return ""


def driver() -> Driver:
    """This system's camera driver, or the virtual cameras when :data:`VIRTUAL_ENV` names a
    folder."""
    folder = os.environ.get(VIRTUAL_ENV)
    if folder:
        return VirtualDriver(folder)
    if sys.platform == "darwin":
        return AVFoundation()
    if sys.platform.startswith("win"):
        return DirectShow()
    return V4L2()
