"""The pose stream: recorded people as JSON Lines, written by the recorder, read by replay.

A pose stream is a text file, one JSON object per line, never any pixels:

- line 1, the header::

    {"format": "posestage.posestream", "version": 1, "source": "camera:/dev/video0",
     "width": 640, "height": 480, "model": "posenet_…", "start_time": 1732660000.123,
     "keypoints": ["nose", …]}

- then one line per processed frame::

    {"index": 0, "timestamp": 1732660000.2, "width": 640, "height": 480,
     "people": [{"id": 1, "slot": 0, "score": 0.93, "missing": 0,
                 "keypoints": [[x, y, score], … 17 rows]}]}

Keypoints are the *raw* detections (``Person.raw_xy``, before smoothing) in source-image pixels,
written as the shortest decimal that reads back to the very same float32, so replaying a stream
into the tracker with its recorded timestamps reproduces the same people. Streams are always in
camera coordinates: a frame the stage mirrored is recorded unmirrored (replay with the same
``mirror`` setting to see it as it was on stage; the double flip may move a value by one float32
step). ``missing`` > 0 marks
a person the tracker was holding through a dropout (not detected that frame); replay leaves
them out of the poses, exactly as the engine did.

:class:`PoseStreamWriter` writes a stream; :func:`open_posestream` / :class:`PoseStreamReader`
read one lazily, raising :class:`PoseStreamError` with ``file:line`` for a bad line — or, not
``strict`` (a replay), skipping it with a warning and counting it in
:attr:`PoseStreamReader.skipped`, so one bad line in the middle of a day-long recording does not
end the show. A last line cut short (the recorder killed mid-write) is skipped with a warning,
not an error. Whatever a file claims, the reader takes frames of at most 8K, at most
:data:`~posestage.model.limits.MAX_PEOPLE` people a frame (the best scored) and lines of at most
:data:`~posestage.model.limits.MAX_LINE_BYTES`, and only from a regular file.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from posestage.model.frames import PoseFrame
from posestage.model.limits import MAX_LINE_BYTES, regular_file
from posestage.model.streamlines import (
    FORMAT,
    SUFFIX,
    VERSION,
    LineError,
    PoseStreamError,
    StreamFrame,
    StreamHeader,
    StreamPerson,
    encode_frame,
    encode_header,
    parse_frame,
    parse_header,
)

__all__ = [
    "FORMAT",
    "SAMPLE",
    "SUFFIX",
    "VERSION",
    "PoseStreamError",
    "PoseStreamReader",
    "PoseStreamWriter",
    "StreamFrame",
    "StreamHeader",
    "StreamPerson",
    "open_posestream",
    "read_posestream",
]

log = logging.getLogger(__name__)

#: A recorded pose stream shipped with posestage: 90 frames (6 s at 15 fps, 640x480) of two
#: people walking towards each other and crossing (one hides the other for a few frames).
#: Recorded with the real PoseNet model by ``tools/make_demo_stream.py``; plugin tests replay it
#: (``posestage.testing.SAMPLE_POSES``) and ``posestage new-plugin`` copies it into a project.
SAMPLE = Path(__file__).resolve().parent / "data" / "sample-poses.jsonl"


class PoseStreamWriter:
    """Writes a pose stream file: the header at once, then :meth:`write` one frame per call.

    Writes are buffered and flushed to the OS every ``flush_seconds`` (and on :meth:`close`),
    so a crash loses at most that much. Not thread-safe: call it from one thread (the recorder
    plugin calls it from its own writer thread so the frame loop never waits on the disk).

    :attr:`frames_written` counts the frames handed to :meth:`write`; :attr:`frames_on_disk`
    only those the operating system took whole — counted when a flush returns, and after a
    write or flush that failed (a full disk) from the bytes the file really holds. Frames
    the disk refused are never counted.
    """

    def __init__(self, path: str | Path, header: StreamHeader, flush_seconds: float = 1.0):
        self.path = Path(path)
        self.flush_seconds = float(flush_seconds)
        self.frames_written = 0  #: frames handed to :meth:`write` (buffered)
        self.frames_on_disk = 0  #: frames whose every byte the operating system took
        self._bytes = 0  # bytes handed to the file so far
        self._unflushed: deque[int] = deque()  # where each frame not yet known on disk ends
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[str] | None = open(  # noqa: SIM115 - closed in close()
                self.path, "w", encoding="utf-8", buffering=1 << 16
            )
        except OSError as err:
            raise PoseStreamError(
                f"cannot write pose stream {self.path}: {err.strerror or err}; "
                "choose a writable path"
            ) from None
        try:
            self._write(encode_header(header))
        except PoseStreamError:
            self.close()
            raise
        self._last_flush = time.monotonic()

    def _write(self, text: str) -> None:
        if self._file is None:
            raise PoseStreamError(f"pose stream {self.path} is already closed")
        try:
            self._file.write(text)
        except OSError as err:  # the buffer was full and the disk refused it
            self._settle(failed=True)
            raise self._error(err) from None
        self._bytes += len(text) if text.isascii() else len(text.encode("utf-8"))

    def _error(self, err: OSError) -> PoseStreamError:
        return PoseStreamError(
            f"cannot write pose stream {self.path}: {err.strerror or err}; "
            "check the disk is not full"
        )

    def _settle(self, failed: bool = False) -> None:
        """Count the frames now known to be on disk: all after a flush returned; after a
        failure those the file holds whole (a pipe or device: none beyond the last flush)."""
        pending = self._unflushed
        if failed:
            held = 0
            try:
                info = os.fstat(self._file.fileno()) if self._file is not None else None
                if info is not None and stat.S_ISREG(info.st_mode):
                    held = info.st_size
            except (OSError, ValueError):
                pass
            while pending and pending[0] <= held:
                pending.popleft()
                self.frames_on_disk += 1
        else:
            self.frames_on_disk += len(pending)
            pending.clear()

    def write(self, frame: StreamFrame | PoseFrame) -> None:
        """Append one frame (a :class:`PoseFrame` keeps only its raw keypoints and ids)."""
        if isinstance(frame, PoseFrame):
            frame = StreamFrame.from_pose_frame(frame)
        self._write(encode_frame(frame))
        self._unflushed.append(self._bytes)
        self.frames_written += 1
        now = time.monotonic()
        if now - self._last_flush >= self.flush_seconds:
            self.flush()
            self._last_flush = now

    def flush(self) -> None:
        """Hand what is buffered to the operating system (:attr:`frames_on_disk` follows)."""
        if self._file is not None:
            try:
                self._file.flush()
            except OSError as err:
                self._settle(failed=True)
                raise self._error(err) from None
            self._settle()

    def close(self) -> None:
        """Flush and close; calling it again does nothing."""
        if self._file is not None:
            file = self._file
            try:
                self.flush()
            finally:
                self._file = None
                try:
                    file.close()
                except OSError:
                    pass  # flush() above has already reported it

    @property
    def closed(self) -> bool:
        return self._file is None

    def __enter__(self) -> PoseStreamWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- reading ---------------------------------------------------------------------------------


#: Bad lines of a replay said one by one; after that, one line every :data:`SAY_EVERY`.
SAY_FIRST, SAY_EVERY = 3, 100


class PoseStreamReader:
    """Reads a pose stream lazily: :attr:`header` at once, frames by iterating.

    A bad header always raises :class:`PoseStreamError` (``file:line: what is wrong``). A bad
    frame line raises it too when ``strict``; otherwise it is skipped, counted in
    :attr:`skipped` and logged (the first :data:`SAY_FIRST`, then every :data:`SAY_EVERY`-th).
    Use as a context manager (or call :meth:`close`).
    """

    def __init__(self, path: str | Path, *, strict: bool = True):
        self.path = Path(path)
        self.strict = strict
        self.skipped = 0  #: bad frame lines skipped (not strict)
        self.first_skipped = ""  #: what was wrong with the first of them
        self._line = 0
        try:
            regular_file(self.path, f"pose stream {self.path}", 1 << 62, PoseStreamError)
            self._file: IO[str] | None = open(self.path, encoding="utf-8")  # noqa: SIM115
        except FileNotFoundError:
            raise PoseStreamError(
                f"pose stream {self.path} not found; give the path of a .jsonl file "
                "recorded by the recorder plugin"
            ) from None
        except IsADirectoryError:
            raise PoseStreamError(
                f"pose stream {self.path} is a folder; give the path of a .jsonl file"
            ) from None
        except OSError as err:
            raise PoseStreamError(f"cannot read pose stream {self.path}: {err.strerror}") from None
        try:
            first = self._next_line()
            if first is None:
                raise PoseStreamError(
                    f"{self.path}: empty file, not a pose stream; record one with the recorder plugin"
                )
            self.header = self._parse(first[0], parse_header)
        except BaseException:
            self.close()
            raise

    def _next_line(self) -> tuple[str, bool] | None:
        """(text, ended_with_newline) of the next non-blank line, or None at the end. A line
        longer than :data:`MAX_LINE_BYTES` raises (its rest is passed over first)."""
        assert self._file is not None
        while True:
            try:
                text = self._file.readline(MAX_LINE_BYTES + 1)
            except UnicodeDecodeError:
                self._line += 1
                self._file.readline()  # on to the next line, should the caller go on
                raise PoseStreamError(
                    f"{self.path}:{self._line}: not UTF-8 text; is this really a pose stream?"
                ) from None
            if not text:
                return None
            self._line += 1
            if len(text) > MAX_LINE_BYTES:
                while text and not text.endswith("\n"):
                    text = self._file.readline(MAX_LINE_BYTES)
                raise PoseStreamError(
                    f"{self.path}:{self._line}: a line of more than {MAX_LINE_BYTES} characters; "
                    "not a frame posestage wrote"
                )
            if text.strip():
                return text, text.endswith("\n")

    def _parse(self, text: str, parse):
        try:
            record = json.loads(text)
        except json.JSONDecodeError as err:
            raise PoseStreamError(
                f"{self.path}:{self._line}: not valid JSON ({err.msg}, column {err.colno}); "
                "fix or delete that line"
            ) from None
        try:
            return parse(record)
        except LineError as err:
            raise PoseStreamError(f"{self.path}:{self._line}: {err}") from None

    def __iter__(self) -> Iterator[StreamFrame]:
        while self._file is not None:
            got = None
            try:
                got = self._next_line()
                if got is None:
                    return
                text, complete = got
                frame = self._parse(text, parse_frame)
            except PoseStreamError as err:
                # A last line without its newline is a recording cut short: end there.
                if _cut_short(got) and self._file is not None and not self._file.read(1):
                    log.warning("%s:%d: incomplete last line skipped", self.path, self._line)
                    return
                if self.strict:
                    raise
                self._skip(err)
                continue
            yield frame

    def _skip(self, err: PoseStreamError) -> None:
        self.skipped += 1
        self.first_skipped = self.first_skipped or str(err)
        n = self.skipped
        if n <= SAY_FIRST or n % SAY_EVERY == 0:
            log.warning("%s; line skipped (%d bad line%s so far)", err, n, "s" * (n > 1))

    @property
    def line(self) -> int:
        """The number of the line read last (1 = the header)."""
        return self._line

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> PoseStreamReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cut_short(got: tuple[str, bool] | None) -> bool:
    """The line read last was the file's last and lacked its newline."""
    return got is not None and not got[1]


def open_posestream(path: str | Path, *, strict: bool = True) -> PoseStreamReader:
    """Open a pose stream for reading (checks the header now)."""
    return PoseStreamReader(path, strict=strict)


def read_posestream(path: str | Path) -> tuple[StreamHeader, list[StreamFrame]]:
    """The whole stream at once: ``(header, frames)``. For tests and small streams."""
    with PoseStreamReader(path) as reader:
        return reader.header, list(reader)
