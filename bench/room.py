"""The room's cost per frame for ten people, as ratios to ``Tracker.update`` in the same run.

Run: ``python bench/room.py [--frames N]``. Ten people walk on a known floor seen through a
known camera (:class:`posestage.testing.RoomCamera`, 1 px of keypoint noise). For the same
frames it times, per frame (median, milliseconds):

- ``Tracker.update`` without a floor calibration (the reference);
- the floor projection alone (``FloorMap.measure``: ten ground points to metres);
- ``Tracker.update`` on a calibrated floor (projection, matching by floor distance, smoothing);
- the zones: ``Zones.update`` with 20 polygons;
- the PosiStageNet encoding: the psn plugin's frame (DATA every frame, INFO once a second),
  its packets built but not sent (needs the psn plugin installed; skipped otherwise).

Each is printed with its ratio to the reference, which a loaded machine changes less than
the times themselves. Target: the room (projection + zones + PSN) well under the tracker.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from posestage.config.room import fit_calibration  # noqa: E402
from posestage.testing import RoomCamera, frame  # noqa: E402
from posestage.tracking.floor import FloorMap  # noqa: E402
from posestage.tracking.tracker import Tracker  # noqa: E402
from posestage.tracking.zones import Zones  # noqa: E402

PEOPLE = 10
CAM = RoomCamera(1280, 720, focal=900.0)


def walkers(count: int, seed: int = 0):
    """``count`` frames of ten people walking on the 4 x 4 m floor (lists of poses)."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0.3, 3.7, (PEOPLE, 2))
    heading = rng.uniform(0, 2 * np.pi, PEOPLE)
    for i in range(count):
        t = i / 30.0
        x = 0.3 + np.abs((start[:, 0] + 0.8 * np.cos(heading) * t - 0.3) % 6.8 - 3.4)
        y = 0.3 + np.abs((start[:, 1] + 0.8 * np.sin(heading) * t - 0.3) % 6.8 - 3.4)
        yield [CAM.pose(x[k], y[k], heading[k], noise=1.0, rng=rng) for k in range(PEOPLE)]


def zones20() -> dict:
    """A 5 x 4 grid of 0.8 m squares over the floor."""
    out = {}
    for r in range(4):
        for c in range(5):
            x, y = c * 0.8, r * 1.0
            out[f"z{r}{c}"] = [[x, y], [x + 0.8, y], [x + 0.8, y + 1.0], [x, y + 1.0]]
    return out


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - t0) * 1000.0


def psn_plugin():
    try:
        from posestage_psn import SETTINGS, PsnOut
    except ImportError:
        return None
    from posestage import validate

    plugin = PsnOut()
    plugin.posestage_configure(None, validate({"target": "127.0.0.1:9"}, SETTINGS, "psn"))
    plugin._send = lambda packet: None  # built, not sent: the encoding only
    return plugin


def run(count: int) -> dict[str, float]:
    data = list(walkers(count))
    calibration = fit_calibration(**CAM.room())
    floor_map = FloorMap(calibration)
    plain, placed = Tracker(), Tracker()
    placed.floor = floor_map
    zones = Zones(zones20(), calibrated=True)
    psn = psn_plugin()
    times: dict[str, list[float]] = {k: [] for k in ("tracker", "projection", "floor", "zones")}
    times["psn"] = []
    for i, poses in enumerate(data):
        stamp = 1000.0 + i / 30.0
        _, ms = timed(plain.update, poses, CAM.width, CAM.height, stamp)
        times["tracker"].append(ms)
        xy = np.stack([p.xy for p in poses])
        scores = np.stack([p.scores for p in poses])
        _, ms = timed(floor_map.measure, xy, scores, CAM.width)
        times["projection"].append(ms)
        update, ms = timed(placed.update, poses, CAM.width, CAM.height, stamp)
        times["floor"].append(ms)
        (counts, events), ms = timed(zones.update, update.people, update.left, stamp, False)
        times["zones"].append(ms)
        if psn is not None:
            f = frame(i, update.people, timestamp=stamp, zones=counts, zone_events=events)
            _, ms = timed(psn.posestage_frame, f)
            times["psn"].append(ms)
    return {k: float(np.median(v[30:])) for k, v in times.items() if v}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1500, help="frames per run (default 1500)")
    parser.add_argument("--runs", type=int, default=3, help="runs; the median is printed")
    args = parser.parse_args()
    runs = [run(args.frames) for _ in range(args.runs)]
    names = {
        "tracker": "Tracker.update, no floor (reference)",
        "projection": "floor projection (10 ground points)",
        "floor": "Tracker.update on a calibrated floor",
        "zones": "zones: 20 polygons",
        "psn": "PosiStageNet encoding (psn plugin)",
    }
    print(f"{PEOPLE} people, {args.frames} frames, median of {args.runs} runs")
    print(f"{'':40s} {'median ms':>10s} {'ratio':>7s}")
    room = 0.0
    for key, label in names.items():
        if key not in runs[0]:
            print(f"{label:40s} {'(not installed)':>18s}")
            continue
        ms = float(np.median([r[key] for r in runs]))
        ratios = [r[key] / r["tracker"] for r in runs]
        if key in ("projection", "zones", "psn"):
            room += float(np.median(ratios))
        print(f"{label:40s} {ms:10.4f} {np.median(ratios):6.2f}x")
    print(f"{'the room (projection + zones + PSN)':40s} {'':10s} {room:6.2f}x")


if __name__ == "__main__":
    main()
