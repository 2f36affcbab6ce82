"""What travels over MQTT: the topics and the JSON payloads, written and checked.

Topics, for a room ``ROOM`` and a stage ``STAGE`` (both plain names: letters, digits, ``-``,
``_``, ``.``)::

    posestage/ROOM/STAGE/frame    one message per processed frame (QoS 0, not retained)
    posestage/ROOM/STAGE/health   the stage's state (QoS 1, retained; the last will says offline)

A frame (``"v": 1``; numbers rounded, keypoints in the stage's camera pixels)::

    {"v": 1, "stage": "left", "session": "1733480000.123", "seq": 17, "index": 240,
     "t": 1733480123.456, "sent": 1733480123.471, "width": 640, "height": 480,
     "mirrored": false,
     "people": [{"id": 3, "slot": 0, "score": 0.91, "missing": 0,
                 "floor": {"x": 2.41, "y": 3.05, "score": 0.9, "basis": "feet"},
                 "keypoints": [[x, y, score], ... 17 rows, KEYPOINT_NAMES order]}]}

``t`` is the capture time on the stage's wall clock, ``sent`` the stage's wall clock when the
message left; ``seq`` counts messages of this ``session`` (a new one at each start), so the
merger tells lost, duplicated and out-of-order messages apart. ``floor`` is null when the
stage is not calibrated. Health (retained)::

    {"v": 1, "stage": "left", "session": "…", "state": "online", "time": …, "frames": 1200,
     "fps": 29.8, "people": 2, "calibrated": true, "unsent": 0}

and ``{"v": 1, "stage": "left", "session": "…", "state": "offline", "why": "stopped"}`` when
it stops (``"why": "lost"``: the broker's last will, the stage died or lost its network).

Never an image: :func:`encode_frame` reads only the people's numbers.

:func:`decode_frame` refuses anything else with a :class:`WireError` (one line): not JSON, not
an object, another version, a stage name that is not the topic's, a field of the wrong type,
a number that is not finite, more than :data:`MAX_PEOPLE` people, keypoints not 17 × 3,
a message over :data:`MAX_MESSAGE_BYTES`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from posestage import KEYPOINT_NAMES, FloorPosition

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_PEOPLE",
    "NAME",
    "PREFIX",
    "VERSION",
    "StageFrame",
    "StagePerson",
    "WireError",
    "decode_frame",
    "decode_health",
    "encode_frame",
    "encode_health",
    "split_topic",
    "topic",
]

VERSION = 1
PREFIX = "posestage"
#: Room and stage names: what may stand between two slashes of a topic.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: The largest message taken (100 people of 17 keypoints is about 60 KB).
MAX_MESSAGE_BYTES = 256 * 1024
MAX_PEOPLE = 100
#: The largest image (and so keypoint coordinate) taken, as the stage's limits.
MAX_SIDE = 7680
NUM = len(KEYPOINT_NAMES)


class WireError(ValueError):
    """A message refused: one line saying why."""


@dataclass(frozen=True, slots=True)
class StagePerson:
    """One person as a stage published them."""

    id: int
    slot: int
    score: float
    missing: int
    floor: FloorPosition | None
    xy: np.ndarray  # (17, 2) float32, stage camera pixels
    scores: np.ndarray  # (17,) float32


@dataclass(frozen=True, slots=True)
class StageFrame:
    """One frame as a stage published it."""

    stage: str
    session: str
    seq: int
    index: int
    t: float
    sent: float
    width: int
    height: int
    mirrored: bool
    people: tuple[StagePerson, ...]


def topic(room: str, stage: str, kind: str) -> str:
    """``posestage/ROOM/STAGE/KIND`` (``STAGE`` may be ``+``, MQTT's one-level wildcard)."""
    return f"{PREFIX}/{room}/{stage}/{kind}"


def split_topic(name: str) -> tuple[str, str, str] | None:
    """``(room, stage, kind)`` of a posestage topic, or None."""
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != PREFIX:
        return None
    return parts[1], parts[2], parts[3]


def _r(value: float, digits: int) -> float:
    return round(float(value), digits)


def encode_frame(frame: Any, stage: str, session: str, seq: int, sent: float) -> bytes:
    """The JSON of one :class:`~posestage.PoseFrame`: its people's numbers, never its image."""
    people = []
    for p in frame.people:
        xy, scores = p.xy, p.scores
        floor = p.floor
        people.append(
            {
                "id": int(p.id),
                "slot": int(p.slot),
                "score": _r(p.score, 4),
                "missing": int(p.missing),
                "floor": None
                if floor is None
                else {
                    "x": _r(floor.x, 4),
                    "y": _r(floor.y, 4),
                    "score": _r(floor.score, 3),
                    "basis": str(floor.basis),
                },
                "keypoints": [
                    [_r(xy[k, 0], 1), _r(xy[k, 1], 1), _r(scores[k], 3)] for k in range(NUM)
                ],
            }
        )
    body = {
        "v": VERSION,
        "stage": stage,
        "session": session,
        "seq": int(seq),
        "index": int(frame.index),
        "t": _r(frame.timestamp, 6),
        "sent": _r(sent, 6),
        "width": int(frame.width),
        "height": int(frame.height),
        "mirrored": bool(frame.mirrored),
        "people": people,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def encode_health(stage: str, session: str, state: str, **facts: Any) -> bytes:
    """The JSON of a health message (``state`` online or offline, and any ``facts``)."""
    body = {"v": VERSION, "stage": stage, "session": session, "state": state, **facts}
    return json.dumps(body, separators=(",", ":")).encode()


def _load(payload: bytes, stage: str) -> dict:
    if len(payload) > MAX_MESSAGE_BYTES:
        raise WireError(f"{len(payload)} bytes, over the {MAX_MESSAGE_BYTES} taken")
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise WireError(f"not JSON ({type(err).__name__}: {str(err)[:60]})") from None
    if not isinstance(body, dict):
        raise WireError("not a JSON object")
    if body.get("v") != VERSION:
        raise WireError(f"version {body.get('v')!r}, this merger reads {VERSION}")
    if body.get("stage") != stage:
        raise WireError(f"stage {str(body.get('stage'))[:40]!r} under the topic of {stage!r}")
    if not isinstance(body.get("session"), str) or not 0 < len(body["session"]) <= 64:
        raise WireError("no session")
    return body


def _int(body: dict, key: str, low: int = 0, high: int = 2**53) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise WireError(f"{key!r} is not a whole number in {low}..{high}")
    return value


def _num(body: dict, key: str, low: float = -1e12, high: float = 1e12) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WireError(f"{key!r} is not a number")
    value = float(value)
    if not (math.isfinite(value) and low <= value <= high):
        raise WireError(f"{key!r} is not a finite number in {low:g}..{high:g}")
    return value


def _person(item: Any) -> StagePerson:
    if not isinstance(item, dict):
        raise WireError("a person is not an object")
    floor = item.get("floor")
    if floor is not None:
        if not isinstance(floor, dict):
            raise WireError("floor is not an object")
        basis = floor.get("basis", "feet")
        if not isinstance(basis, str) or len(basis) > 16:
            raise WireError("floor basis is not a short name")
        floor = FloorPosition(
            _num(floor, "x", -1e4, 1e4), _num(floor, "y", -1e4, 1e4),
            _num(floor, "score", 0.0, 1.0), basis,
        )  # fmt: skip
    try:
        keypoints = np.asarray(item.get("keypoints"), dtype=np.float64)
    except (TypeError, ValueError):
        raise WireError("keypoints are not numbers") from None
    if keypoints.shape != (NUM, 3):
        raise WireError(f"keypoints are not {NUM} rows of [x, y, score]")
    if not np.isfinite(keypoints).all() or np.abs(keypoints[:, :2]).max() > 4 * MAX_SIDE:
        raise WireError("keypoints are not finite pixel positions")
    return StagePerson(
        id=_int(item, "id", 0),
        slot=_int(item, "slot", 0, 10_000),
        score=_num(item, "score", 0.0, 1.0),
        missing=_int(item, "missing", 0, 1_000_000),
        floor=floor,
        xy=keypoints[:, :2].astype(np.float32),
        scores=np.clip(keypoints[:, 2], 0.0, 1.0).astype(np.float32),
    )


def decode_frame(payload: bytes, stage: str) -> StageFrame:
    """A frame message published under ``stage``'s topic, checked; :class:`WireError` if not."""
    body = _load(payload, stage)
    people = body.get("people")
    if not isinstance(people, list) or len(people) > MAX_PEOPLE:
        raise WireError(f"people is not a list of at most {MAX_PEOPLE}")
    mirrored = body.get("mirrored", False)
    if not isinstance(mirrored, bool):
        raise WireError("mirrored is not true or false")
    found = tuple(_person(p) for p in people)
    if len({p.id for p in found}) != len(found):
        raise WireError("two people with one id")
    return StageFrame(
        stage=stage,
        session=body["session"],
        seq=_int(body, "seq"),
        index=_int(body, "index"),
        t=_num(body, "t", 0.0, 1e11),
        sent=_num(body, "sent", 0.0, 1e11),
        width=_int(body, "width", 1, MAX_SIDE),
        height=_int(body, "height", 1, MAX_SIDE),
        mirrored=mirrored,
        people=found,
    )


def decode_health(payload: bytes, stage: str) -> dict:
    """A health message published under ``stage``'s topic (``state`` online or offline)."""
    body = _load(payload, stage)
    if body.get("state") not in ("online", "offline"):
        raise WireError("state is neither online nor offline")
    return body
