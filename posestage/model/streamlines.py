"""One pose stream line, one record: the header, a frame and its people, to JSON and back.

The format is described in :mod:`posestage.model.posestream`, which reads and writes files of
these lines. Parsing takes whatever a file claims and keeps what the stage can take: frame
sizes within 8K, at most :data:`~posestage.model.limits.MAX_PEOPLE` people a frame (the best
scored); anything else is a :class:`LineError` saying what is wrong.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from posestage.errors import SourceError
from posestage.model.floor import FloorPosition
from posestage.model.frames import PoseFrame
from posestage.model.keypoints import KEYPOINT_NAMES, NUM_KEYPOINTS
from posestage.model.limits import MAX_HEIGHT, MAX_PEOPLE, MAX_WIDTH
from posestage.model.poses import Pose

__all__ = [
    "FORMAT",
    "SUFFIX",
    "VERSION",
    "LineError",
    "PoseStreamError",
    "StreamFrame",
    "StreamHeader",
    "StreamPerson",
    "encode_frame",
    "encode_header",
    "parse_frame",
    "parse_header",
]

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
    """One recorded person: tracker id and slot, pose score, raw keypoints (17, 2) + scores,
    and where they stood on the floor (None when the stage was not calibrated)."""

    id: int
    slot: int
    score: float
    xy: np.ndarray
    scores: np.ndarray
    missing: int = 0
    floor: FloorPosition | None = None

    def to_pose(self) -> Pose:
        """The detection as the engine returned it (a copy), with its floor position."""
        return Pose(self.score, self.xy.copy(), self.scores.copy(), self.floor)


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

        Its time is the frame's ``media`` time when it has one (a video or replay: the steps
        the tracker saw), else its capture ``timestamp``. A mirrored frame is recorded unmirrored (``x → width - 1 - x``, the stage's mirror
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
                    floor=p.floor,
                )
            )
        # when the people moved: a file's own clock (a replay then steps as this run tracked),
        # else the capture time
        when = frame.timestamp if getattr(frame, "media", None) is None else frame.media
        return cls(
            index=int(frame.index),
            timestamp=float(when),
            width=int(frame.width),
            height=int(frame.height),
            people=people,
        )

    def poses(self) -> list[Pose]:
        """The detections of this frame (people with ``missing == 0``), best score first."""
        seen = [p for p in self.people if p.missing == 0]
        seen.sort(key=lambda p: -p.score)
        return [p.to_pose() for p in seen]


# -- to JSON --------------------------------------------------------------------------------


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
        person = {
            "id": p.id,
            "slot": p.slot,
            "score": float(p.score),
            "missing": p.missing,
            "keypoints": [[xy[2 * k], xy[2 * k + 1], sc[k]] for k in range(len(sc))],
        }
        if p.floor is not None:  # metres, to the millimetre
            f = p.floor
            person["floor"] = [round(f.x, 4), round(f.y, 4), round(f.score, 4), f.basis]
        people.append(person)
    record = {
        "index": frame.index,
        "timestamp": frame.timestamp,
        "width": frame.width,
        "height": frame.height,
        "people": people,
    }
    return json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"


# -- from JSON ------------------------------------------------------------------------------


class LineError(Exception):
    """What is wrong with one line (the reader makes it a PoseStreamError with file:line)."""


def _number(record: dict, key: str, kind: type = float) -> Any:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LineError(f"{key!r} must be a number, got {value!r}")
    if kind is int:
        if value != int(value):
            raise LineError(f"{key!r} must be a whole number, got {value!r}")
        return int(value)
    if not math.isfinite(value):
        raise LineError(f"{key!r} must be finite, got {value!r}")
    return float(value)


def parse_header(record: Any) -> StreamHeader:
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise LineError(
            f'not a pose stream header (expected {{"format": "{FORMAT}", ...}}); '
            "record one with the recorder plugin"
        )
    version = record.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise LineError(f"bad pose stream version {version!r}")
    if version > VERSION:
        raise LineError(
            f"pose stream version {version} is newer than this posestage reads "
            f"(up to {VERSION}); upgrade posestage"
        )
    names = record.get("keypoints", list(KEYPOINT_NAMES))
    if list(names) != list(KEYPOINT_NAMES):
        raise LineError("keypoints are not the 17 COCO keypoints posestage uses")
    width = _number(record, "width", int) if "width" in record else 0
    height = _number(record, "height", int) if "height" in record else 0
    if (width or height) and not _sane_size(width, height):
        raise LineError(f"image size {width}x{height} is outside 1x1 to {MAX_WIDTH}x{MAX_HEIGHT}")
    return StreamHeader(
        source=str(record.get("source", "")),
        width=width,
        height=height,
        model=str(record.get("model", "")),
        start_time=_number(record, "start_time") if "start_time" in record else 0.0,
        version=version,
    )


def _parse_person(p: Any) -> StreamPerson:
    if not isinstance(p, dict):
        raise LineError(f"a person must be an object, got {p!r:.40}")
    kps = p.get("keypoints")
    try:
        arr = np.array(kps, dtype=np.float32)
    except (TypeError, ValueError):
        raise LineError("'keypoints' must be 17 rows of [x, y, score] numbers") from None
    if arr.shape != (NUM_KEYPOINTS, 3) or not np.isfinite(arr).all():
        raise LineError(f"'keypoints' must be {NUM_KEYPOINTS} rows of [x, y, score] finite numbers")
    return StreamPerson(
        id=_number(p, "id", int),
        slot=_number(p, "slot", int),
        score=_number(p, "score"),
        xy=np.ascontiguousarray(arr[:, :2]),
        scores=np.ascontiguousarray(arr[:, 2]),
        missing=_number(p, "missing", int) if "missing" in p else 0,
        floor=_parse_floor(p["floor"]) if p.get("floor") is not None else None,
    )


def _parse_floor(value: Any) -> FloorPosition:
    """``[x, y, score, basis]`` (metres) → a :class:`FloorPosition`."""
    if (
        not isinstance(value, list)
        or len(value) != 4
        or value[3] not in ("feet", "hips")
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value[:3])
        or not all(math.isfinite(v) for v in value[:3])
    ):
        raise LineError("'floor' must be [x, y, score, basis] (metres, 0..1, feet or hips)")
    return FloorPosition(float(value[0]), float(value[1]), float(value[2]), value[3])


def parse_frame(record: Any) -> StreamFrame:
    if not isinstance(record, dict):
        raise LineError(f"a frame line must be a JSON object, got {type(record).__name__}")
    if record.get("format") == FORMAT:
        raise LineError("a second header: two pose streams were joined; split them")
    people = record.get("people", [])
    if not isinstance(people, list):
        raise LineError("'people' must be a list")
    width, height = _number(record, "width", int), _number(record, "height", int)
    if not _sane_size(width, height):
        raise LineError(f"image size {width}x{height} is outside 1x1 to {MAX_WIDTH}x{MAX_HEIGHT}")
    people = [_parse_person(p) for p in people]
    if len(people) > MAX_PEOPLE:  # the best scored, as the engine would have kept them
        people = sorted(people, key=lambda p: -p.score)[:MAX_PEOPLE]
    return StreamFrame(
        index=_number(record, "index", int),
        timestamp=_number(record, "timestamp"),
        width=width,
        height=height,
        people=people,
    )


def _sane_size(width: int, height: int) -> bool:
    return 1 <= width <= MAX_WIDTH and 1 <= height <= MAX_HEIGHT
