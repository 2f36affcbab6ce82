"""Several cameras over MQTT: what the merger costs and what it adds to latency, as ratios.

Run: ``python bench/mqtt.py [--frames N] [--seconds S] [--runs R]`` (needs the mqtt plugin
installed and, for the latency part, the ``mosquitto`` program). Prints:

- ``merge/track``: the merger's cost per merged frame for 3 stages × 10 people — decoding the
  three stage messages, lining them up, fusing 30 observations into 10 people — as a ratio to
  ``Tracker.update`` for 10 people on the same frames, interleaved in one loop (a busy machine
  slows both alike). Also ``encode/track``: a stage's cost to encode one frame of 10 people.
- ``merged/stage``: capture → dispatch latency on the merger (3 stage processes of 10 synthetic
  people at 30 fps, a private Mosquitto on 127.0.0.1, the merger a real headless stage) as a
  ratio to capture → dispatch on one of those stages, in the same run; the medians in ms too.
  The stages run no model (their people are given), so their own latency is the stage's
  bare overhead and the ratio shows all the merger adds; with a model, a stage's latency is
  tens of milliseconds of inference and the same addition is a ratio near 1. Twice: with the
  default (``?wait=0``, the newest frame makes a merged frame) and ``?wait=0.1`` (every merged
  frame waits until every stage has reached its instant).

Prints, never asserts (a shared VM is noisy). Medians over R runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled

from posestage.model.floor import FloorPosition  # noqa: E402
from posestage.model.poses import Pose  # noqa: E402
from posestage.model.synthetic import standing_xy  # noqa: E402
from posestage.tracking.tracker import Tracker, TrackingSettings  # noqa: E402

STAGES, PEOPLE = ("a", "b", "c"), 10


def stage_frames(count: int, seed: int = 0):
    """Per frame: 10 walkers' poses (for the tracker) and each stage's PoseFrame of them
    (with floor positions, a few centimetres apart between cameras)."""
    from posestage.testing import frame, person

    rng = np.random.default_rng(seed)
    start = rng.uniform(0, 10, PEOPLE)
    for i in range(count):
        xs = 1 + np.abs((start + 0.04 * i) % 20 - 10)
        ys = np.linspace(0.5, 5.5, PEOPLE)
        poses = []
        for p in range(PEOPLE):
            xy = standing_xy(60 + 55 * xs[p], 400 + 10 * (p % 3), 250) + rng.normal(0, 2, (17, 2))
            poses.append(Pose(0.9, xy.astype(np.float32), np.full(17, 0.9, np.float32)))
        frames = {}
        for s, name in enumerate(STAGES):
            people = [
                replace(
                    person(p + 1 + 100 * s, p, xy=poses[p].xy),
                    floor=FloorPosition(xs[p] + rng.normal(0, 0.03), ys[p], 0.9, "feet"),
                )
                for p in range(PEOPLE)
            ]
            frames[name] = frame(i, people, timestamp=1000.0 + i / 30)
        yield poses, frames


def cost(count: int) -> dict[str, float]:
    from posestage_mqtt.clocks import StageClock
    from posestage_mqtt.fusion import Fusion, Observation
    from posestage_mqtt.wire import decode_frame, encode_frame

    tracker = Tracker(TrackingSettings())
    fusion = Fusion()
    clocks = {name: StageClock() for name in STAGES}
    track_ms, merge_ms, encode_ms = [], [], []
    for i, (poses, frames) in enumerate(stage_frames(count)):
        t0 = time.perf_counter()
        payloads = {n: encode_frame(f, n, "s", i + 1, f.timestamp) for n, f in frames.items()}
        t1 = time.perf_counter()
        tracker.update(poses, 640, 480, 1000.0 + i / 30)
        t2 = time.perf_counter()
        observations = []
        for name, payload in payloads.items():
            got = decode_frame(payload, name)
            clocks[name].observe(got.sent, got.sent + 0.001)
            observations += [Observation(name, got.session, p, got.width, got.height)
                             for p in got.people]  # fmt: skip
        fusion.update(observations, 1000.0 + i / 30)
        t3 = time.perf_counter()
        if i >= 20:
            encode_ms.append((t1 - t0) * 1000 / len(STAGES))
            track_ms.append((t2 - t1) * 1000)
            merge_ms.append((t3 - t2) * 1000)
    track = statistics.median(track_ms)
    return {
        "track_ms": track,
        "merge_ms": statistics.median(merge_ms),
        "encode_ms": statistics.median(encode_ms),
        "merge/track": statistics.median(merge_ms) / track,
        "encode/track": statistics.median(encode_ms) / track,
    }


def run_stage(url: str, name: str, seconds: float) -> None:
    """A stage process: 10 synthetic people at 30 fps, published; prints its latency."""
    from posestage_mqtt import plugin

    from posestage.testing import SyntheticPeople, run_plugin

    frames = int(seconds * 30)
    settings = {"broker": url, "room": "bench", "stage": name}
    run = run_plugin(plugin, settings, source=SyntheticPeople(PEOPLE, frames=frames,
                                                              realtime=True))  # fmt: skip
    latency = [f.latency_ms for f in run.frames[30:]]
    print(json.dumps({"latency_ms": statistics.median(latency)}), flush=True)


def latency(seconds: float, wait: float = 0.0) -> dict[str, float]:
    from posestage_mqtt.merger import open_merger
    from posestage_mqtt.testing import Mosquitto

    from posestage import SourceOptions
    from posestage.testing import run_plugins

    with tempfile.TemporaryDirectory() as folder, Mosquitto(Path(folder)) as broker:
        source = open_merger(f"{broker.url}/bench?wait={wait}", SourceOptions())
        result = {}
        merger = threading.Thread(target=lambda: result.update(run=run_plugins([],
                                                               source=source)))  # fmt: skip
        merger.start()
        stages = [
            subprocess.Popen(
                [sys.executable, __file__, "--stage", broker.url, name, str(seconds)],
                stdout=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for name in STAGES
        ]
        own = [json.loads(p.communicate(timeout=seconds + 60)[0].splitlines()[-1]) for p in stages]
        source.close()
        merger.join(30)
    merged = [f.latency_ms for f in result["run"].frames if len(f.people) >= PEOPLE][30:]
    stage = statistics.median(o["latency_ms"] for o in own)
    return {
        "stage_ms": stage,
        "merged_ms": statistics.median(merged),
        "merged/stage": statistics.median(merged) / stage,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--stage":
        run_stage(sys.argv[2], sys.argv[3], float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600, help="frames for the cost (600)")
    parser.add_argument("--seconds", type=float, default=8.0, help="latency run length (8 s)")
    parser.add_argument("--runs", type=int, default=3, help="runs, medians taken (3)")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {platform.python_version()}")
    costs = [cost(args.frames) for _ in range(args.runs)]
    for key in ("track_ms", "merge_ms", "encode_ms", "merge/track", "encode/track"):
        values = [c[key] for c in costs]
        print(f"{key:<14} {statistics.median(values):8.3f}   runs: "
              + " ".join(f"{v:.3f}" for v in values))  # fmt: skip
    for wait in (0.0, 0.1):
        print(f"latency, ?wait={wait:g} ({'newest' if not wait else 'every stage lined up'})")
        lat = [latency(args.seconds, wait) for _ in range(args.runs)]
        for key in ("stage_ms", "merged_ms", "merged/stage"):
            values = [x[key] for x in lat]
            print(f"{key:<14} {statistics.median(values):8.3f}   runs: "
                  + " ".join(f"{v:.3f}" for v in values))  # fmt: skip


if __name__ == "__main__":
    main()
