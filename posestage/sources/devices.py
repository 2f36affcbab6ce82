"""Cameras as FFmpeg sees them: what a camera offers (:class:`Mode`), the mode the stage asks
for (:func:`pick_mode`), and how each system's camera is opened through PyAV's device inputs.

Why PyAV: it is already a dependency (video files), and its wheels carry FFmpeg's device
inputs for every system — AVFoundation on macOS, V4L2 on Linux, DirectShow on Windows — so a
camera works after ``pip install`` alone, with the same decoder, pixel-format conversion and
resize as a video file. ``pygame.camera`` (experimental, no macOS backend without OpenCV) is no
longer used.

A :class:`Driver` lists a system's cameras (:meth:`Driver.cameras`: name and modes) and says
how to open one in a mode (:meth:`Driver.input`: FFmpeg format, URL and options). The drivers
of the three systems, and :func:`~.platforms.driver` which picks one, live in
:mod:`.platforms`; :class:`VirtualDriver` here serves FFmpeg's
``lavfi`` test pictures as cameras — a rehearsal without a camera, and the way the tests open a
camera exactly as a webcam is opened (``POSESTAGE_VIRTUAL_CAMERAS``: a folder of
``NAME.lavfi`` files, each holding a lavfi source such as ``testsrc2``; deleting a file
unplugs that camera).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "COMPRESSED",
    "DEFAULT_FPS",
    "DEFAULT_SIZE",
    "RAW_PREFERENCE",
    "VIRTUAL_ENV",
    "Camera",
    "Driver",
    "Mode",
    "Request",
    "VirtualDriver",
    "format_rank",
    "pick_mode",
]

#: The folder of virtual cameras (``NAME.lavfi`` files); when set, the only cameras there are.
VIRTUAL_ENV = "POSESTAGE_VIRTUAL_CAMERAS"
#: The size asked for when ``--res`` is not given (plenty for the pose models' inputs).
DEFAULT_SIZE = (1280, 720)
#: The rate asked for when ``--fps`` is not given (and the camera offers it).
DEFAULT_FPS = 30.0
#: Compressed formats, best first: over USB 2 a 1080p camera gives ~5 fps raw, 30 as MJPEG.
COMPRESSED = ("mjpeg",)
#: Raw pixel formats, cheapest to convert first.
RAW_PREFERENCE = (
    "nv12",
    "yuyv422",
    "uyvy422",
    "yuv420p",
    "yuvj422p",
    "rgb24",
    "bgr24",
    "0rgb",
    "bgr0",
)


@dataclass(frozen=True)
class Mode:
    """One thing a camera offers: ``width`` x ``height`` at rates from ``min_fps`` to
    ``max_fps`` (0: not known — V4L2 through FFmpeg lists sizes only) in ``pixel_format``
    (an FFmpeg pixel format, or ``mjpeg`` / ``h264`` for compressed modes)."""

    width: int
    height: int
    pixel_format: str
    min_fps: float = 0.0
    max_fps: float = 0.0

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    def offers(self, fps: float) -> bool:
        """True if ``fps`` is in range (or the range is not known)."""
        if not self.max_fps:
            return True
        return (self.min_fps or self.max_fps) - 0.01 <= fps <= self.max_fps + 0.01

    def __str__(self) -> str:
        if not self.max_fps:
            rate = ""
        elif self.min_fps and abs(self.min_fps - self.max_fps) > 0.01:
            rate = f"@{self.min_fps:g}-{self.max_fps:g}"
        else:
            rate = f"@{self.max_fps:g}"
        return f"{self.width}x{self.height}{rate} {self.pixel_format}"


@dataclass(frozen=True)
class Camera:
    """A camera as a driver found it: ``name`` (what ``camera:NAME`` matches), ``device``
    (what the driver opens: ``/dev/video0``, an AVFoundation index, a DirectShow name) and the
    ``modes`` it offers (may be empty when they could not be read)."""

    name: str
    device: str
    modes: tuple[Mode, ...] = field(default=())

    def describe(self) -> str:
        return self.name if self.name == self.device else f"{self.name} ({self.device})"


@dataclass(frozen=True)
class Request:
    """What the stage asks of a camera: the mode picked and the rate within it."""

    mode: Mode
    fps: float


def _area_gap(mode: Mode, size: tuple[int, int]) -> tuple[int, int]:
    """How far a mode is from the asked size: not the asked shape first, then the pixel count
    difference (a mode at least as big beats a smaller one)."""
    w, h = size
    same_shape = abs(mode.width * h - mode.height * w) <= max(w, h)
    diff = mode.width * mode.height - w * h
    return (0 if same_shape else 1, diff if diff >= 0 else 10 * -diff)


def format_rank(pixel_format: str) -> int:
    """How fast a format is to use (0 best): MJPEG first, then the raw formats in order."""
    if pixel_format in COMPRESSED:
        return COMPRESSED.index(pixel_format)
    if pixel_format in RAW_PREFERENCE:
        return len(COMPRESSED) + RAW_PREFERENCE.index(pixel_format)
    return len(COMPRESSED) + len(RAW_PREFERENCE)


def pick_mode(
    modes: tuple[Mode, ...] | list[Mode],
    res: tuple[int, int] | None = None,
    fps: float | None = None,
) -> Request | None:
    """The mode to ask for: the asked size (``--res``, else :data:`DEFAULT_SIZE`) or the
    nearest of the same shape, a mode offering the asked rate (``--fps``, else
    :data:`DEFAULT_FPS`, else its fastest), and among those the fastest pixel format: MJPEG
    when the camera offers it at that size, then the raw formats cheapest to convert. None
    when the camera listed no modes (then it is opened with the size and rate asked)."""
    if not modes:
        return None
    size = tuple(res) if res else DEFAULT_SIZE
    best_gap = min(_area_gap(m, size) for m in modes)
    at_size = [m for m in modes if _area_gap(m, size) == best_gap]
    want = float(fps) if fps else DEFAULT_FPS
    offering = [m for m in at_size if m.offers(want)]
    if not offering:  # the rate is not offered at this size: the fastest there is
        top = max(m.max_fps for m in at_size)
        offering = [m for m in at_size if m.max_fps == top]
        want = top or want
    mode = min(offering, key=lambda m: format_rank(m.pixel_format))
    return Request(mode, want)


class Driver:
    """How one system's cameras are listed and opened (see :mod:`.platforms`)."""

    #: The FFmpeg input format (``avfoundation``, ``v4l2``, ``dshow``, ``lavfi``).
    format: str = ""
    #: What the user reads in ``posestage cameras`` and errors.
    label: str = ""

    def cameras(self) -> list[Camera]:
        """The cameras found now (a camera plugged in later appears on the next call)."""
        raise NotImplementedError

    def input(self, camera: Camera, request: Request | None, res, fps) -> tuple[str, dict]:
        """``(url, options)`` to open ``camera`` in ``request`` (None: modes unknown, ask for
        ``res``/``fps`` as given)."""
        raise NotImplementedError

    def explain(self, camera: Camera, err: BaseException, log: str) -> str:
        """What to do, in a few words, when ``camera`` cannot be opened (``log``: FFmpeg's last
        error line); "" when nothing specific is known."""
        return ""


#: Sizes and rates every virtual camera offers (as a webcam offers a list of modes).
VIRTUAL_SIZES = ((640, 480), (1280, 720), (1920, 1080))
VIRTUAL_RATES = (15.0, 30.0, 60.0)
VIRTUAL_FORMATS = ("yuv420p", "rgb24")


class VirtualDriver(Driver):
    """FFmpeg's ``lavfi`` test pictures as cameras: every ``NAME.lavfi`` file in ``folder`` is
    a camera called NAME whose picture is the lavfi source written in the file (``testsrc2``,
    ``smptebars``, ``mandelbrot``; options allowed: ``testsrc2=duration=2`` ends after two
    seconds, as an unplugged camera does). Paced in real time like a camera (FFmpeg's
    ``realtime`` filter), in the size, rate and pixel format asked."""

    format = "lavfi"
    label = "virtual (lavfi)"

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def cameras(self) -> list[Camera]:
        if not self.folder.is_dir():
            return []
        modes = tuple(
            Mode(w, h, pix, rate, rate)
            for pix in VIRTUAL_FORMATS
            for (w, h) in VIRTUAL_SIZES
            for rate in VIRTUAL_RATES
        )
        return [
            Camera(path.stem, str(path), modes)
            for path in sorted(self.folder.glob("*.lavfi"))
            if path.is_file()
        ]

    def input(self, camera: Camera, request: Request | None, res, fps) -> tuple[str, dict]:
        try:
            graph = Path(camera.device).read_text(encoding="utf-8").strip() or "testsrc2"
        except OSError as err:
            raise FileNotFoundError(
                err.errno, "the virtual camera is gone", camera.device
            ) from None
        if request is not None:
            (w, h), rate, pix = request.mode.size, request.fps, request.mode.pixel_format
        else:
            (w, h), rate, pix = (res or DEFAULT_SIZE), (fps or DEFAULT_FPS), "yuv420p"
        name, sep, args = graph.partition("=")
        args = f"{args}:" if sep and args else ""
        url = f"{name}={args}size={w}x{h}:rate={rate:g},format={pix},realtime"
        return url, {}
