"""Network video as a source: ``rtsp://`` (network cameras), ``http(s)://`` (MJPEG from a phone
camera app, or any stream FFmpeg reads), ``srt://``, ``udp://`` (MPEG-TS), ``rtmp://``, ``tcp://``.

Opened through PyAV with FFmpeg's low-latency settings (no input buffering, short probing,
RTSP over TCP), read as a live source: a frame is stamped with its arrival on this machine's
wall clock, and a reader that fell behind (frames piling up in the socket) skips the frames
already stale without converting them, as a live camera's newest frame wins. A stream that
drops (the sender gone, a cable pulled, no frame for :data:`READ_TIMEOUT` seconds) fails its
read: the stage reports it once, keeps a line on screen, and :meth:`StreamSource.recover`
reconnects until it is back — the show goes on meanwhile.
"""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import urlsplit, urlunsplit

from posestage.errors import SourceError, one_line
from posestage.sources.base import Source, SourceFrame, SourceOptions
from posestage.sources.live import LiveReader

__all__ = [
    "NETWORK_SCHEMES",
    "OPEN_TIMEOUT",
    "READ_TIMEOUT",
    "STALE_SECONDS",
    "WAITED_SECONDS",
    "StreamSource",
    "low_latency_options",
    "open_stream",
    "shown",
]

log = logging.getLogger("posestage.sources")

#: The URL schemes read as network streams.
NETWORK_SCHEMES = ("rtsp", "rtsps", "http", "https", "srt", "udp", "rtmp", "rtmps", "tcp")
#: Seconds to connect (and see the first frames) before a (re)connection fails.
OPEN_TIMEOUT = 5.0
#: Seconds without data before a read fails (the stream is reported dropped and reopened).
READ_TIMEOUT = 2.0
#: A frame this much later than the freshest frames were (s) is stale: skipped unconverted.
STALE_SECONDS = 0.25
#: A read that blocked this long (s) waited for the network: the reader is caught up.
WAITED_SECONDS = 0.002


def shown(url: str) -> str:
    """``url`` without a password (for the screen and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def low_latency_options(scheme: str) -> dict[str, str]:
    """FFmpeg options for a live stream of ``scheme``: no buffering, short probing."""
    options = {
        "fflags": "nobuffer+discardcorrupt",
        "flags": "low_delay",
        "probesize": "500000",
        "analyzeduration": "1000000",
        "max_delay": "200000",
    }
    if scheme in ("rtsp", "rtsps"):
        options["rtsp_transport"] = "tcp"  # no lost packets, and through NAT and firewalls
        options["reorder_queue_size"] = "0"
    elif scheme == "udp":
        options["overrun_nonfatal"] = "1"
        options["fifo_size"] = "50000"
    elif scheme == "srt":
        options["latency"] = "120000"  # µs: SRT's own retransmission window
    return options


class StreamSource(LiveReader, Source):
    """A live network stream through PyAV, reconnected when it drops."""

    live = True
    continuous = True

    def __init__(self, url: str, options: SourceOptions):
        super().__init__()
        self.url, self.options = url, options
        self.scheme = url.split(":", 1)[0].lower()
        self.name = shown(url)
        self._container = None
        self._frames = None
        self.skipped = 0  #: stale frames skipped unconverted
        self.reconnects = 0  #: times the stream was reopened after a drop
        self._open()
        cc = self._stream.codec_context
        self.width, self.height = options.res or (int(cc.width), int(cc.height))
        if self.width <= 0 or self.height <= 0:
            self._close()
            raise SourceError(f"--source {self.name}: the stream has no picture size")

    def _open(self) -> None:
        import av

        try:
            container = av.open(
                self.url,
                options=low_latency_options(self.scheme),
                timeout=(OPEN_TIMEOUT, READ_TIMEOUT),
            )
        except av.error.ProtocolNotFoundError:
            raise SourceError(
                f"--source {self.name}: this FFmpeg (in PyAV's wheel) cannot read {self.scheme}://;"
                " relay the stream as rtsp:// or udp:// (e.g. with mediamtx or ffmpeg)"
            ) from None
        except (av.FFmpegError, OSError) as err:
            raise SourceError(f"--source {self.name}: {self._why(err)}") from None
        if not container.streams.video:
            container.close()
            raise SourceError(f"--source {self.name}: the stream has no video")
        self._container = container
        self._stream = container.streams.video[0]
        self._stream.thread_type = "SLICE"  # frame threads would hold frames back
        self._frames = self._decode()
        self._best: float | None = None  # the smallest arrival - media time seen (s)

    def _why(self, err: BaseException) -> str:
        text = one_line(getattr(err, "strerror", None) or err)
        if re.search(r"401|Unauthorized", str(err)):
            return f"cannot connect ({text}): check the user and password in the URL"
        if re.search(r"404|Not Found", str(err)):
            return f"cannot connect ({text}): check the path after the address"
        return f"cannot connect ({text}); is the address right and the sender on?"

    def _decode(self):
        """Decoded frames with their arrival time, and whether the reader had to wait for them
        (it was caught up) or found them already buffered (it may be behind)."""
        packets = self._container.demux(self._stream)
        while True:
            asked = time.perf_counter()
            packet = next(packets, None)
            if packet is None:
                return
            waited = time.perf_counter() - asked > WAITED_SECONDS
            arrived = time.time()
            for frame in packet.decode():
                yield frame, arrived, waited

    def _stale(self, frame, arrived: float, waited: bool) -> bool:
        """True when ``frame`` was already waiting in the buffers and is much later, against
        its media time, than the frames that came as the reader waited for them: the reader
        fell behind and newer frames are queued. A frame the reader waited for sets the
        reference (a sender slower than its rate, or clocks drifting, is never "stale")."""
        if frame.time is None:
            return False
        lag = arrived - frame.time
        if waited or self._best is None or lag < self._best:
            self._best = lag
            return False
        return lag - self._best > STALE_SECONDS

    def recover(self) -> None:
        """Reconnect; raise while the stream is not back."""
        with self._lock:
            self._close()
            if self.closed:
                return
            self._open()
            self.reconnects += 1

    def _read(self) -> SourceFrame | None:
        while True:
            item = self._next_item(
                "the stream is down; reconnecting",
                "the stream dropped",
                "the stream ended (the sender stopped?)",
            )
            if item is None:
                return None
            frame, arrived, waited = item
            if self._stale(frame, arrived, waited):
                self.skipped += 1
                continue
            return self._picture(frame, arrived)


def open_stream(url: str, options: SourceOptions) -> StreamSource:
    """A network stream (see the module docstring)."""
    return StreamSource(url, options)
