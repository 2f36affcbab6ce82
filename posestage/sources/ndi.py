"""NDI in: ``--source ndi:NAME`` takes the NDI source on the network whose name holds NAME (a
TouchDesigner NDI Out TOP, OBS, a phone camera app), through ``cyndilib`` — the optional extra
``pip install 'posestage[ndi]'``, whose wheel carries the NDI runtime.

NDI finds senders by mDNS. Where mDNS does not reach (another subnet, a venue network that
blocks multicast, a container), the NDI runtime reads ``ndi-config.v1.json`` in the folder
``NDI_CONFIG_DIR`` names: ``{"ndi": {"networks": {"ips": "192.168.1.20,192.168.1.21"}}}`` lists
the senders' addresses (or a Discovery Server's). A frame is stamped with its arrival on this
machine's wall clock; a sender that goes away fails the read, and the stage reconnects by name
until it is back.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from posestage.errors import SourceError
from posestage.sources.base import Source, SourceFrame, SourceOptions

__all__ = [
    "FIND_SECONDS",
    "INSTALL",
    "POLL_SECONDS",
    "SETTLE_SECONDS",
    "READ_TIMEOUT",
    "NdiSource",
    "find_ndi_sources",
    "ndi_available",
    "open_ndi",
]

log = logging.getLogger("posestage.sources")

#: How long to look for senders on the network (s).
FIND_SECONDS = 3.0
#: Seconds without a frame before a read fails (the sender is reported away).
READ_TIMEOUT = 2.0
#: How long to go on looking for senders once one matching was seen (s).
SETTLE_SECONDS = 0.5
#: How often to look for a new frame while waiting (s).
POLL_SECONDS = 0.004
#: The fix when cyndilib is missing.
INSTALL = "pip install 'posestage[ndi]'"
NO_MDNS = (
    "without mDNS, list the sender's address in ndi-config.v1.json in the folder NDI_CONFIG_DIR "
    'names: {"ndi": {"networks": {"ips": "ADDRESS"}}}'
)


def ndi_available() -> bool:
    """True when cyndilib (and its NDI runtime) can be imported."""
    try:
        import cyndilib  # noqa: F401
    except Exception:  # noqa: BLE001 - a broken runtime is "not available" too
        return False
    return True


def _finder(seconds: float, wanted: str = ""):
    """An open NDI finder that looked for ``seconds`` (less once a source holding ``wanted``
    was seen, and at least :data:`SETTLE_SECONDS`, so that a second match shows up too)."""
    from cyndilib.finder import Finder

    finder = Finder()
    finder.open()
    start = time.monotonic()
    while (now := time.monotonic()) < start + seconds:
        finder.wait_for_sources(min(0.25, max(0.05, start + seconds - now)))
        finder.update_sources()
        names = finder.get_source_names()
        if (
            wanted
            and now - start >= SETTLE_SECONDS
            and any(wanted.lower() in n.lower() for n in names)
        ):
            break
    return finder


def find_ndi_sources(seconds: float = FIND_SECONDS) -> list[str]:
    """Names of the NDI sources seen within ``seconds`` (``HOST (NAME)``); empty without
    cyndilib."""
    if not ndi_available():
        return []
    finder = _finder(seconds)
    try:
        return sorted(finder.get_source_names())
    finally:
        finder.close()


def _match(names: list[str], wanted: str, spec: str) -> str:
    exact = [n for n in names if n == wanted]
    if exact:
        return exact[0]
    matches = [n for n in names if wanted.lower() in n.lower()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise SourceError(
            f"--source {spec}: {len(matches)} NDI sources match {wanted!r} "
            f"({', '.join(matches)}); give more of the name"
        )
    raise SourceError(
        f"--source {spec}: no NDI source matches {wanted!r} (found: {', '.join(names) or 'none'});"
        f" is the sender on and on this network? {NO_MDNS}"
    )


class NdiSource(Source):
    """A live NDI source, received as RGB, reconnected by name when it goes away."""

    live = True
    continuous = True

    def __init__(self, wanted: str, options: SourceOptions, spec: str):
        super().__init__()
        self.wanted, self.options, self.spec = wanted, options, spec
        self._receiver = self._frame = self._finder = None
        self.source_name = ""
        self._connect(FIND_SECONDS)
        self.name = f"ndi:{self.source_name}"
        first = self._receive(OPEN_WAIT)
        if first is None:
            self._close()
            raise SourceError(f"--source {spec}: {self.source_name} sends no video")
        # the first frame tells the size; reads hand out newer ones (it would be stale by then)
        self.height, self.width = options.res[::-1] if options.res else first[0].shape[:2]

    def _connect(self, seconds: float) -> None:
        from cyndilib.receiver import Receiver
        from cyndilib.video_frame import VideoFrameSync
        from cyndilib.wrapper.ndi_recv import RecvBandwidth, RecvColorFormat

        finder = _finder(seconds, self.wanted)
        try:
            name = _match(sorted(finder.get_source_names()), self.wanted, self.spec)
            source = finder.get_source(name)
            receiver = Receiver(
                color_format=RecvColorFormat.RGBX_RGBA,
                bandwidth=RecvBandwidth.highest,
                recv_name="posestage",
            )
            # NDI's frame synchronizer: always the newest frame, never a queue of stale ones
            frame = VideoFrameSync()
            receiver.frame_sync.set_video_frame(frame)
            receiver.set_source(source)
        except BaseException:
            finder.close()
            raise
        self._finder, self._receiver, self._frame = finder, receiver, frame
        self._last_stamp: float | None = None
        self.source_name = name

    def _receive(self, seconds: float) -> tuple[np.ndarray, float] | None:
        """The next new video frame as (RGB array, arrival wall time), or None after
        ``seconds``. Polled (the synchronizer never waits; cyndilib's waiting receive holds the
        GIL, which would stall the stage's other threads), a new frame known by its NDI time."""
        deadline = time.monotonic() + seconds
        while self._receiver is not None:
            self._receiver.frame_sync.capture_video()
            frame = self._frame
            width, height = frame.get_resolution()
            stamp = frame.get_timestamp_posix()
            if width and height and stamp != self._last_stamp:
                arrived = time.time()
                self._last_stamp = stamp
                data = np.asarray(frame.get_array(), dtype=np.uint8)
                stride = frame.get_line_stride() or width * 4
                rows = data[: stride * height].reshape(height, stride)[:, : width * 4]
                return rows.reshape(height, width, 4)[:, :, :3].copy(), arrived
            if time.monotonic() > deadline or not self._sleep(POLL_SECONDS):
                return None
        return None

    def _read(self) -> SourceFrame | None:
        if self._receiver is None:
            raise SourceError(f"{self.name}: the NDI sender is away; reconnecting")
        got = self._receive(READ_TIMEOUT)
        if got is None:
            if self.closed:
                return None
            raise SourceError(
                f"{self.name}: no video from the NDI sender for {READ_TIMEOUT:g} s "
                "(stopped, or off the network?)"
            )
        image, arrived = got
        if (image.shape[1], image.shape[0]) != (self.width, self.height):
            from PIL import Image

            image = np.asarray(Image.fromarray(image).resize((self.width, self.height)))
        return SourceFrame(image, arrived, time.perf_counter(), self.width, self.height)

    def recover(self) -> None:
        """Find the sender again by name and reconnect; raise while it is not back."""
        with self._lock:
            self._close()
            if not self.closed:
                self._connect(1.0)

    def _close(self) -> None:
        receiver, self._receiver = self._receiver, None
        finder, self._finder = self._finder, None
        if receiver is not None:
            try:
                receiver.disconnect()
            except Exception:  # noqa: BLE001 - the runtime may have dropped it already
                pass
        if finder is not None:
            finder.close()


#: Seconds to wait for the first frame once connected.
OPEN_WAIT = 5.0


def open_ndi(spec: str, options: SourceOptions) -> NdiSource:
    """``ndi:NAME`` (see the module docstring)."""
    wanted = spec.partition(":")[2].strip()
    if not wanted:
        raise SourceError(f"--source {spec}: name the NDI source, e.g. ndi:TouchDesigner")
    if not ndi_available():
        raise SourceError(f"--source {spec}: NDI needs its optional extra: {INSTALL}")
    return NdiSource(wanted, options, spec)
