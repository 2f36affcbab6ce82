"""Time ``Tracker.update`` for 1..10 people walking with jittery keypoints.

Run: ``python bench/tracking.py [--frames N] [--no-smoothing]``. Prints, per number of people,
the median, 99th percentile and worst update time in milliseconds, and how many extra ids the
simulated walkers got (each should keep one id; they walk through each other, so a few swaps
where two people of about the same size overlap are expected). Target: well under 1 ms at 10
people (the whole frame budget at 30 fps is 33 ms) — this is where the speed the test suite
used to assert (``median < 1 ms`` for ten people) is measured now. The last line gives the
cost of ten people as a ratio to one person in the same run, which a loaded machine does not
change much.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from posestage.model.poses import Pose  # noqa: E402
from posestage.model.synthetic import standing_xy  # noqa: E402
from posestage.tracking.tracker import Tracker, TrackingSettings  # noqa: E402

WIDTH, HEIGHT = 1280, 720


def frames(people: int, count: int, seed: int = 0):
    """``count`` frames of ``people`` walking back and forth, as lists of poses (shuffled)."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(100, WIDTH - 100, people)
    speed = rng.uniform(-6, 6, people)
    size = rng.uniform(250, 400, people)
    for i in range(count):
        cx = 100 + np.abs((start + speed * i - 100) % (2 * (WIDTH - 200)) - (WIDTH - 200))
        poses = []
        for p in range(people):
            xy = standing_xy(cx[p], HEIGHT - 20, size[p])
            xy = xy + rng.normal(0, 2.0, xy.shape)
            scores = rng.uniform(0.4, 1.0, 17).astype(np.float32)
            poses.append((p, Pose(float(scores.mean()), xy.astype(np.float32), scores)))
        rng.shuffle(poses)
        yield poses


def bench(people: int, count: int, smoothing: bool) -> tuple[np.ndarray, int]:
    """Update times (ms, after warm-up) and how many extra ids the walkers were given."""
    tracker = Tracker(TrackingSettings(smoothing=smoothing))
    data = list(frames(people, count))
    times = np.empty(count)
    ids: dict[int, set[int]] = {}
    for i, frame in enumerate(data):
        poses = [pose for _, pose in frame]
        t0 = time.perf_counter()
        update = tracker.update(poses, WIDTH, HEIGHT, i / 30.0)
        times[i] = time.perf_counter() - t0
        by_raw = {person.raw_xy.tobytes(): person.id for person in update.people}  # copies
        for truth, pose in frame:
            ids.setdefault(truth, set()).add(by_raw[pose.xy.tobytes()])
    switches = sum(len(v) - 1 for v in ids.values())
    return times[20:] * 1000.0, switches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000, help="frames per run (default 2000)")
    parser.add_argument("--no-smoothing", action="store_true", help="turn One Euro off")
    args = parser.parse_args()
    print(f"Tracker.update, {args.frames} frames, smoothing {'off' if args.no_smoothing else 'on'}")
    print("people  median ms    p99 ms    max ms  extra ids")
    medians = {}
    for people in range(1, 11):
        ms, switches = bench(people, args.frames, not args.no_smoothing)
        medians[people] = float(np.median(ms))
        print(
            f"{people:6d}  {np.median(ms):9.3f} {np.percentile(ms, 99):9.3f} {ms.max():9.3f}"
            f"  {switches:9d}"
        )
    print(f"10 people cost {medians[10] / medians[1]:.1f}x one person (same run)")


if __name__ == "__main__":
    main()
