"""The JSON pose stream's messages: :func:`hello` once, then :func:`frame_message` per frame.

One WebSocket text message per frame, for p5.js, three.js, TouchDesigner's WebSocket DAT,
Unity and Unreal::

    {"type": "frame", "index": 812, "timestamp": 1764600000.03, "width": 640, "height": 480,
     "fps": 29.9, "latency_ms": 31.2, "inference_ms": 22.4, "scene": "demo",
     "people": [{"id": 7, "slot": 0, "score": 0.91, "missing": 0,
                 "keypoints": [[0.51, 0.22, 0.98], ...17 × [x, y, score]],
                 "floor": {"x": 1.2, "y": 3.4, "score": 0.9} or null}]}

x and y are 0..1 of the image (x right, y down; multiply by width and height for pixels), in
the keypoint order of :func:`hello` (``keypoints``, with ``bones`` to draw); ``zones``: the
scene's zones (``[room.zones]``) this frame, who is in each and how many came in so far
(``[]`` without zones). Numbers only: no
camera pixel is ever in the stream.
"""

from __future__ import annotations

import json
import math
from typing import Any

from posestage.model.keypoints import BONES, KEYPOINT_NAMES

__all__ = ["frame_message", "hello"]


def _num(value: float, digits: int = 4) -> float:
    value = float(value)
    return round(value, digits) if math.isfinite(value) else 0.0


def hello(scene: str, scenes: tuple[str, ...]) -> str:
    """The first message: the keypoint names and bones, the scenes."""
    return json.dumps({
        "type": "hello", "keypoints": list(KEYPOINT_NAMES), "bones": [list(b) for b in BONES],
        "scene": scene, "scenes": list(scenes),
    })  # fmt: skip


def _person(person: Any, width: float, height: float) -> dict:
    xy, scores = person.xy, person.scores
    keypoints = [
        [_num(xy[j, 0] / width), _num(xy[j, 1] / height), _num(scores[j], 3)]
        for j in range(len(KEYPOINT_NAMES))
    ]
    floor = person.floor
    return {
        "id": int(person.id), "slot": int(person.slot), "score": _num(person.score, 3),
        "missing": int(person.missing), "keypoints": keypoints,
        "floor": None if floor is None else
        {"x": _num(floor.x), "y": _num(floor.y), "score": _num(floor.score, 3)},
    }  # fmt: skip


def _zone(zone: Any) -> dict:
    return {"name": zone.name, "count": int(zone.count),
            "people": [int(i) for i in zone.people], "visits": int(zone.visits)}  # fmt: skip


def frame_message(frame: Any, scene: str) -> str:
    """One frame as the stream's JSON text."""
    width, height = max(int(frame.width), 1), max(int(frame.height), 1)
    return json.dumps({
        "type": "frame", "index": int(frame.index), "timestamp": _num(frame.timestamp, 3),
        "width": width, "height": height, "fps": _num(frame.fps, 2),
        "latency_ms": _num(frame.latency_ms, 2), "inference_ms": _num(frame.inference_ms, 2),
        "scene": scene, "zones": [_zone(z) for z in frame.zones],
        "people": [_person(p, width, height) for p in frame.people],
    }, separators=(",", ":"))  # fmt: skip
