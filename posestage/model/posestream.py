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
read one lazily, raising :class:`PoseStreamError` with ``file:line`` for a bad line. A last
line cut short (the recorder killed mid-write) is skipped with a warning, not an error.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from posestage.errors import SourceError
from posestage.model.frames import PoseFrame
from posestage.model.keypoints import KEYPOINT_NAMES, NUM_KEYPOINTS
from posestage.model.poses import Pose

log = logging.getLogger(__name__)

#: The ``format`` value of every pose stream header.
FORMAT = "posestage.posestream"
#: The version this code writes; it reads every version up to this one.
VERSION = 1
#: File extension used for pose streams.
SUFFIX = ".jsonl"


class PoseStreamError(SourceError):
    """A pose stream file is missing, not a pose stream, or has a bad line (``file:line``)."""


@dataclass
class StreamHeader:
    """The first line of a pose stream: where and when it was recorded."""

    source: str = ""
    width: int = 0
    height: int = 0
    model: str = ""
    start_time: float = 0.0
    version: int = VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "source": self.source,
            "width": int(self.width),
            "height": int(self.height),
            "model": self.model,
            "start_time": float(self.start_time),
            "keypoints": list(KEYPOINT_NAMES),
        }


@dataclass
class StreamPerson:
    """One recorded person: tracker id and slot, pose score, raw keypoints (17, 2) + scores."""

    id: int
    slot: int
    score: float
    xy: np.ndarray
    scores: np.ndarray
    missing: int = 0

    def to_pose(self) -> Pose:
        """The detection as the engine returned it (a copy)."""
        return Pose(score=self.score, xy=self.xy.copy(), scores=self.scores.copy())


@dataclass
class StreamFrame:
    """One recorded frame: its index, capture timestamp, image size and people."""

    index: int
    timestamp: float
    width: int
    height: int
    people: list[StreamPerson] = field(default_factory=list)

    @classmethod
    def from_pose_frame(cls, frame: PoseFrame) -> StreamFrame:
        """What the recorder keeps of a :class:`PoseFrame`: raw keypoints and ids, no pixels.

        A mirrored frame is recorded unmirrored (``x → width - 1 - x``, the stage's mirror
        undone), so every stream is in camera coordinates whatever the stage's mirror was.
        """
        people = []
        for p in frame.people:
            xy = np.array(p.raw_xy, dtype=np.float32)
            if frame.mirrored:
                xy[:, 0] = (frame.width - 1) - xy[:, 0]
            people.append(
                StreamPerson(
                    id=int(p.id),
                    slot=int(p.slot),
                    score=float(p.score),
                    xy=xy,
                    scores=np.array(p.scores, dtype=np.float32),
                    missing=int(p.missing),
                )
            )
        return cls(
            index=int(frame.index),
            timestamp=float(frame.timestamp),
            width=int(frame.width),
            height=int(frame.height),
            people=people,
        )

    def poses(self) -> list[Pose]:
        """The detections of this frame (people with ``missing == 0``), best score first."""
        seen = [p for p in self.people if p.missing == 0]
        seen.sort(key=lambda p: -p.score)
        return [p.to_pose() for p in seen]


# -- writing ---------------------------------------------------------------------------------


def _f32(values: np.ndarray) -> list[float]:
    """float32 values as the shortest Python floats that read back to the same float32."""
    return [float(str(v)) for v in np.asarray(values, dtype=np.float32).ravel()]


def encode_header(header: StreamHeader) -> str:
    """The header as one JSON line (with the trailing newline)."""
    return json.dumps(header.to_dict(), separators=(",", ":")) + "\n"


def encode_frame(frame: StreamFrame) -> str:
    """One frame as one JSON line (with the trailing newline)."""
    people = []
    for p in frame.people:
        xy = _f32(p.xy)
        sc = _f32(p.scores)
        people.append(
            {
                "id": p.id,
                "slot": p.slot,
                "score": float(p.score),
                "missing": p.missing,
                "keypoints": [[xy[2 * k], xy[2 * k + 1], sc[k]] for k in range(len(sc))],
            }
        )
    record = {
        "index": frame.index,
        "timestamp": frame.timestamp,
        "width": frame.width,
        "height": frame.height,
        "people": people,
    }
    return json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"


class PoseStreamWriter:
    """Writes a pose stream file: the header at once, then :meth:`write` one frame per call.

    Writes are buffered and flushed to the OS every ``flush_seconds`` (and on :meth:`close`),
    so a crash loses at most that much. Not thread-safe: call it from one thread (the recorder
    plugin calls it from its own writer thread so the frame loop never waits on the disk).
    """

    def __init__(self, path: str | Path, header: StreamHeader, flush_seconds: float = 1.0):
        self.path = Path(path)
        self.flush_seconds = float(flush_seconds)
        self.frames_written = 0
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
        except OSError as err:
            raise PoseStreamError(
                f"cannot write pose stream {self.path}: {err.strerror or err}; "
                "check the disk is not full"
            ) from None

    def write(self, frame: StreamFrame | PoseFrame) -> None:
        """Append one frame (a :class:`PoseFrame` keeps only its raw keypoints and ids)."""
        if isinstance(frame, PoseFrame):
            frame = StreamFrame.from_pose_frame(frame)
        self._write(encode_frame(frame))
        self.frames_written += 1
        now = time.monotonic()
        if now - self._last_flush >= self.flush_seconds:
            self.flush()
            self._last_flush = now

    def flush(self) -> None:
        if self._file is not None:
            try:
                self._file.flush()
            except OSError as err:
                raise PoseStreamError(
                    f"cannot write pose stream {self.path}: {err.strerror or err}; "
                    "check the disk is not full"
                ) from None

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


class _Bad(Exception):
    """Internal: what is wrong with one line (becomes a PoseStreamError with file:line)."""


def _number(record: dict, key: str, kind: type = float) -> Any:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(f"{key!r} must be a number, got {value!r}")
    if kind is int:
        if value != int(value):
            raise _Bad(f"{key!r} must be a whole number, got {value!r}")
        return int(value)
    if not math.isfinite(value):
        raise _Bad(f"{key!r} must be finite, got {value!r}")
    return float(value)


def _parse_header(record: Any) -> StreamHeader:
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise _Bad(
            f'not a pose stream header (expected {{"format": "{FORMAT}", ...}}); '
            "record one with the recorder plugin"
        )
    version = record.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _Bad(f"bad pose stream version {version!r}")
    if version > VERSION:
        raise _Bad(
            f"pose stream version {version} is newer than this posestage reads "
            f"(up to {VERSION}); upgrade posestage"
        )
    names = record.get("keypoints", list(KEYPOINT_NAMES))
    if list(names) != list(KEYPOINT_NAMES):
        raise _Bad("keypoints are not the 17 COCO keypoints posestage uses")
    return StreamHeader(
        source=str(record.get("source", "")),
        width=_number(record, "width", int) if "width" in record else 0,
        height=_number(record, "height", int) if "height" in record else 0,
        model=str(record.get("model", "")),
        start_time=_number(record, "start_time") if "start_time" in record else 0.0,
        version=version,
    )


def _parse_person(p: Any) -> StreamPerson:
    if not isinstance(p, dict):
        raise _Bad(f"a person must be an object, got {p!r:.40}")
    kps = p.get("keypoints")
    try:
        arr = np.array(kps, dtype=np.float32)
    except (TypeError, ValueError):
        raise _Bad("'keypoints' must be 17 rows of [x, y, score] numbers") from None
    if arr.shape != (NUM_KEYPOINTS, 3) or not np.isfinite(arr).all():
        raise _Bad(f"'keypoints' must be {NUM_KEYPOINTS} rows of [x, y, score] finite numbers")
    return StreamPerson(
        id=_number(p, "id", int),
        slot=_number(p, "slot", int),
        score=_number(p, "score"),
        xy=np.ascontiguousarray(arr[:, :2]),
        scores=np.ascontiguousarray(arr[:, 2]),
        missing=_number(p, "missing", int) if "missing" in p else 0,
    )


def _parse_frame(record: Any) -> StreamFrame:
    if not isinstance(record, dict):
        raise _Bad(f"a frame line must be a JSON object, got {type(record).__name__}")
    if record.get("format") == FORMAT:
        raise _Bad("a second header: two pose streams were joined; split them")
    people = record.get("people", [])
    if not isinstance(people, list):
        raise _Bad("'people' must be a list")
    width, height = _number(record, "width", int), _number(record, "height", int)
    if width <= 0 or height <= 0:
        raise _Bad(f"image size {width}x{height} must be positive")
    return StreamFrame(
        index=_number(record, "index", int),
        timestamp=_number(record, "timestamp"),
        width=width,
        height=height,
        people=[_parse_person(p) for p in people],
    )


class PoseStreamReader:
    """Reads a pose stream lazily: :attr:`header` at once, frames by iterating.

    Every bad line raises :class:`PoseStreamError` as ``file:line: what is wrong``. Use as a
    context manager (or call :meth:`close`).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._line = 0
        try:
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
            self.header = self._parse(first[0], _parse_header)
        except BaseException:
            self.close()
            raise

    def _next_line(self) -> tuple[str, bool] | None:
        """(text, ended_with_newline) of the next non-blank line, or None at the end."""
        assert self._file is not None
        while True:
            try:
                text = self._file.readline()
            except UnicodeDecodeError:
                self._line += 1
                raise PoseStreamError(
                    f"{self.path}:{self._line}: not UTF-8 text; is this really a pose stream?"
                ) from None
            if not text:
                return None
            self._line += 1
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
        except _Bad as err:
            raise PoseStreamError(f"{self.path}:{self._line}: {err}") from None

    def __iter__(self) -> Iterator[StreamFrame]:
        while self._file is not None:
            got = self._next_line()
            if got is None:
                return
            text, complete = got
            try:
                yield self._parse(text, _parse_frame)
            except PoseStreamError:
                # A last line without its newline is a recording cut short: end there.
                if not complete and self._file is not None and not self._file.read(1):
                    log.warning("%s:%d: incomplete last line skipped", self.path, self._line)
                    return
                raise

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


def open_posestream(path: str | Path) -> PoseStreamReader:
    """Open a pose stream for reading (checks the header now)."""
    return PoseStreamReader(path)


def read_posestream(path: str | Path) -> tuple[StreamHeader, list[StreamFrame]]:
    """The whole stream at once: ``(header, frames)``. For tests and small streams."""
    with PoseStreamReader(path) as reader:
        return reader.header, list(reader)
