"""Make the room pose stream: five visitors walk through a small gallery, seen by a known camera.

Run: ``python tools/make_room_stream.py [--out scenes/room.jsonl]`` (``--check`` prints the
scene's ``[room]`` table and each zone's visits instead of writing).

The gallery for ``scenes/room.toml``: a camera on the front wall (:class:`RoomCamera`'s default,
2.6 m up, looking in), visitors coming in through the left of the picture, most of them
stopping at the exhibit at the back, all leaving through the right. Each visitor is a
:meth:`RoomCamera.pose` (keypoints projected through the camera, 1 px of noise, a stride while
walking) recorded only while all 17 keypoints are inside the 640x480 picture — what a pose engine
would find, never a pixel. The stream holds keypoints only, no floor positions: the scene's
``[room]`` calibration puts people on the floor, as it would for a camera. Deterministic (a
fixed seed and start time): the same file on every run, so ``tests/test_room_scene.py`` knows
the truth — every zone's visits, from the walkers' true paths.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled

from posestage.model.posestream import PoseStreamWriter, StreamFrame, StreamHeader, StreamPerson  # noqa: E402
from posestage.testing.room import RoomCamera  # noqa: E402
from posestage.tracking.zones import inside  # noqa: E402

W, H = 640, 480
FPS = 10.0
START_TIME = 1_700_000_000.0  # fixed, so the file is reproducible
SEED = 19
CAMERA = RoomCamera(W, H)  # at (2, -3, 2.6) m of its own axes, looking at (2, 2, 0)
#: The scene's floor axes, as one measures a gallery: x along the back wall from its left
#: mark, y from the back wall towards the camera (so the floor view, y down, is the picture
#: seen from above). The camera's own axes have y away from it: y_camera = DEPTH - y.
DEPTH = 4.0
#: The marks on the floor (metres) the scene is calibrated with, and how far off (pixels) their
#: image points were measured — a hand's error, so the floor view shows a reprojection error.
MARKS = ((0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0), (2.0, 2.0))
MARK_ERROR = 0.5
#: The scene's zones, metres on the floor.
ZONES = {
    "entrance": [[-1.6, 0.4], [0.6, 0.4], [0.6, 2.0], [-1.6, 2.0]],
    "exhibit": [[1.3, 0.1], [2.7, 0.1], [2.7, 1.4], [1.3, 1.4]],
    "exit": [[3.0, 1.8], [5.0, 1.8], [5.0, 3.6], [3.0, 3.6]],
}
IN, OUT = (-1.8, 1.2), (6.0, 3.3)  # out of the picture, left and right
SPEED = 1.1  # m/s
#: Each visitor: (start in seconds, the stop at the exhibit or None, seconds stopped, height).
VISITORS = (
    (0.0, (1.8, 0.8), 6.0, 1.72),
    (3.0, (2.3, 0.6), 8.0, 1.60),
    (9.0, None, 0.0, 1.85),  # walks straight through: never at the exhibit
    (14.0, (2.0, 1.0), 5.0, 1.68),
    (16.0, (1.7, 0.5), 4.0, 1.78),
)


def camera_xy(x: float, y: float) -> tuple[float, float]:
    """A floor point of the scene's axes in the camera's."""
    return x, DEPTH - y


def waypoints(visitor) -> list[tuple[float, tuple[float, float]]]:
    """(time, floor point) corners of one visitor's walk: in, the stop (arrive, leave), out."""
    start, stop, linger, _ = visitor
    points = [IN] + ([stop, stop] if stop else []) + [OUT]
    out, t = [(start, IN)], start
    for i in range(1, len(points)):
        a, b = np.array(points[i - 1]), np.array(points[i])
        t += linger if (a == b).all() else float(np.hypot(*(b - a))) / SPEED
        out.append((t, points[i]))
    return out


def where(visitor, t: float) -> tuple[float, float, float, bool] | None:
    """(x, y, heading, walking) at time ``t`` (the scene's axes; heading radians from +x
    towards +y), or None before they start or after they left."""
    corners = waypoints(visitor)
    if t < corners[0][0] or t > corners[-1][0]:
        return None
    for (t0, a), (t1, b) in zip(corners, corners[1:]):
        if t0 <= t <= t1:
            a, b = np.array(a), np.array(b)
            if (a == b).all():
                return float(a[0]), float(a[1]), -math.pi / 2, False  # facing the exhibit
            u = (t - t0) / (t1 - t0)
            x, y = a + u * (b - a)
            return float(x), float(y), math.atan2(b[1] - a[1], b[0] - a[0]), True
    return None


def frame_count() -> int:
    return int(max(waypoints(v)[-1][0] for v in VISITORS) * FPS) + 1


def seen(pose) -> bool:
    """All 17 keypoints inside the picture: what the engine would find."""
    x, y = pose.xy[:, 0], pose.xy[:, 1]
    return bool((x >= 0).all() and (x < W).all() and (y >= 0).all() and (y < H).all())


def frames():
    """Per frame: [(visitor index, pose, true floor point)] of the visitors seen."""
    rng = np.random.default_rng(SEED)
    for i in range(frame_count()):
        t = i / FPS
        people = []
        for k, visitor in enumerate(VISITORS):
            place = where(visitor, t)
            if place is None:
                continue
            x, y, heading, walking = place
            stride = 0.35 * math.sin(2 * math.pi * 0.9 * t) if walking else 0.0
            pose = CAMERA.pose(*camera_xy(x, y), -heading, visitor[3], noise=1.0, rng=rng,
                               stride=stride)  # fmt: skip
            if seen(pose):
                people.append((k, pose, (x, y)))
        yield i, t, people


def truth() -> dict[str, int]:
    """Every zone's visits: a visitor's true floor point going into it, while they are seen."""
    inside_by: dict[int, list[dict[str, bool]]] = {}
    for _, _, people in frames():
        for k, _, point in people:
            inside_by.setdefault(k, []).append(
                {z: bool(inside(np.array([point]), np.array(p))[0]) for z, p in ZONES.items()}
            )
    visits = dict.fromkeys(ZONES, 0)
    for steps in inside_by.values():
        for z in ZONES:
            ins = [s[z] for s in steps]
            visits[z] += int(ins[0]) + sum(1 for a, b in zip(ins, ins[1:]) if b and not a)
    return visits


def room() -> dict:
    """The scene's ``[room]`` image and floor points (image points to 0.1 px)."""
    table = CAMERA.room(tuple(camera_xy(*m) for m in MARKS), error=MARK_ERROR, seed=SEED)
    return {"image": [[round(v, 1) for v in p] for p in table["image"]],
            "floor": [list(m) for m in MARKS]}  # fmt: skip


def make(out: Path) -> int:
    """Write the stream; ids and slots as a stage would have recorded them (lowest slot free)."""
    header = StreamHeader(source="synthetic:room", width=W, height=H, model="synthetic",
                          start_time=START_TIME)  # fmt: skip
    ids: dict[int, int] = {}
    slots: dict[int, int] = {}
    with PoseStreamWriter(out, header) as writer:
        for i, t, people in frames():
            here = {k for k, _, _ in people}
            for k in list(slots):
                if k not in here:
                    del slots[k]
            record = []
            for k, pose, _ in people:
                if k not in ids:
                    ids[k] = len(ids) + 1
                if k not in slots:
                    slots[k] = min(set(range(len(VISITORS))) - set(slots.values()))
                xy = np.round(pose.xy, 1).astype(np.float32)
                record.append(StreamPerson(ids[k], slots[k], pose.score, xy, pose.scores))
            writer.write(StreamFrame(i, START_TIME + t, W, H, record))
    return frame_count()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "scenes" / "room.jsonl")
    parser.add_argument("--check", action="store_true", help="print [room] and the truth")
    args = parser.parse_args(argv)
    if args.check:
        table = room()
        print(f"[room]\nfloor = {table['floor']}\nimage = {table['image']}")
        print(f"visits {truth()}, {frame_count()} frames at {FPS:g} fps")
        return 0
    if args.out.exists():
        args.out.unlink()  # the writer never overwrites
    n = make(args.out)
    print(f"wrote {args.out} ({n} frames, {args.out.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
