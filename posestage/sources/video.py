"""Video files decoded with PyAV, at their own frame rate (pace ``realtime``) or as fast as the
consumer takes frames (``fast``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from posestage.errors import SourceError, one_line
from posestage.sources.base import VALID_FORMS, MediaClock, Source, SourceFrame, SourceOptions

#: More corrupt packets than this in a row end the video with an error.
MAX_BAD_PACKETS = 50
#: A video ending this much (s) before the length its container announces ended early.
EARLY_END_SECONDS = 0.5


class VideoSource(Source):
    """A video file decoded with PyAV (threaded decoding; RGB conversion and resize in one
    swscale pass). Realtime pace honours the frame times and skips converting frames that are
    already late; fast pace hands over every frame.

    Corrupt packets are skipped (a few glitches beat a stopped show; more than
    :data:`MAX_BAD_PACKETS` in a row end it with an error). A video that ends before the length
    its container announces (a truncated download, a recording cut off) or that had corrupt
    packets says so in :attr:`end_note` when it ends: the stage reports that line.
    """

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
        self._clock = MediaClock()
        self._start_wall: float | None = None  # wall clock at the first frame handed over
        self._offset = 0.0  # media-time offset added on each loop
        self._first_time: float | None = None
        self._last_time = 0.0
        self._skipped = 0  # corrupt packets skipped
        self._broken = ""  # why demuxing stopped, if it failed
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
        packets = self._container.demux(self._stream)
        while True:
            try:
                packet = next(packets, None)
            except av.FFmpegError as err:  # the file breaks off here
                self._broken = one_line(err)
                return
            if packet is None:
                return
            try:
                frames = packet.decode()
            except av.FFmpegError as err:
                bad += 1
                self._skipped += 1
                if bad > MAX_BAD_PACKETS:
                    raise SourceError(
                        f"--source {self.path}: too many corrupt frames ({one_line(err)}); "
                        "the file is damaged: re-encode or re-download it"
                    ) from None
                continue
            bad = 0
            yield from frames

    def _early_end(self) -> str:
        """One line when the video ended before its announced length or skipped packets."""
        spf = 1.0 / self.fps
        shown = self._last_time + spf if self._first_time is not None else 0.0
        duration = None
        if self._container is not None and self._container.duration:
            duration = self._container.duration / 1_000_000  # av.time_base
        problems = []
        if self._broken:
            problems.append(self._broken)
        if self._skipped:
            problems.append(f"{self._skipped} corrupt packet(s) skipped")
        early = duration is not None and duration - shown > max(EARLY_END_SECONDS, 2 * spf)
        if not early and not problems:
            return ""
        where = f"{shown:.1f} s of {duration:.1f} s" if duration else f"{shown:.1f} s"
        why = f" ({'; '.join(problems)})" if problems else ""
        if early or self._broken:
            return (
                f"--source {self.path}: the video stopped early, at {where}{why}: the file is "
                "truncated or corrupt; re-encode or re-download it"
            )
        return f"--source {self.path}: played to the end, but {self._skipped} corrupt packet(s) were skipped"

    def _read(self) -> SourceFrame | None:
        spf = 1.0 / self.fps
        while True:
            frame = next(self._frames, None)
            if frame is None:
                if not self.options.loop or self._first_time is None:
                    self.end_note = self._early_end()
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
            now = time.time()  # the capture time: when the frame was decoded, on the wall clock
            if self._start_wall is None:  # this run's media time starts with the first frame
                self._start_wall = now - media
            return SourceFrame(
                image,
                now,
                time.perf_counter(),
                self.width,
                self.height,
                media=self._start_wall + media,
            )

    def _close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
