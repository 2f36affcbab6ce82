"""posestage's OSC encoder against python-osc's builders, 10 people, every layout, one run.

Run: ``python bench/osc.py [--people 10] [--frames 60] [--repeat 5]`` (needs python-osc, a test
dependency: ``pip install python-osc``). For each layout, per frame (median over
frames × repeats, the two interleaved so both see the same machine load):

- ``posestage``: :class:`posestage_osc.encoder.FrameEncoder` turning a tracked frame into its
  datagrams (coordinate conversion included);
- ``+ send``: the same plus ``sendto`` of every datagram to a local UDP socket — the ``osc``
  plugin's whole cost on the frame loop;
- ``python-osc``: ``OscMessageBuilder`` + ``OscBundleBuilder`` building the same messages from
  values already converted (its builder cost only);
- ``ratio``: posestage / python-osc. Target: ≤ 0.10 in every layout.

The bytes are checked to be identical first.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout
sys.path.insert(0, str(ROOT / "plugins" / "osc"))

from posestage.model.frames import PoseFrame  # noqa: E402
from posestage.model.synthetic import standing_person  # noqa: E402
from posestage.tracking.tracker import Tracker  # noqa: E402

try:
    from posestage_osc import reference  # noqa: E402
except ImportError as err:  # pragma: no cover - python-osc missing
    sys.exit(f"bench/osc.py needs python-osc to compare with: pip install python-osc ({err})")
from posestage_osc.encoder import FrameEncoder, Options  # noqa: E402
from posestage_osc.layouts import LAYOUTS  # noqa: E402

TARGET = 0.10
WIDTH, HEIGHT = 1280, 720


def tracked(people: int, count: int, seed: int = 1) -> list:
    """``count`` frames of ``people`` tracked walkers with random keypoint scores."""
    rng = np.random.default_rng(seed)
    tracker = Tracker()
    out = []
    for t in range(count):
        poses = []
        for k in range(people):
            x = 60 + (WIDTH - 120) * k / max(people - 1, 1) + 2 * np.sin(t / 9 + k)
            pose = standing_person(x, HEIGHT - 20, 300 + 10 * k, jitter=1.0, rng=rng)
            pose.scores[:] = rng.uniform(0.1, 1.0, 17).astype(np.float32)
            poses.append(pose)
        stamp = time.time()
        update = tracker.update(poses, WIDTH, HEIGHT, stamp)
        out.append(PoseFrame(t, stamp, time.perf_counter(), WIDTH, HEIGHT, people=update.people,
                             fps=30.0, inference_ms=12.0))  # fmt: skip
    return out


def bench(layout: str, frames: list, repeat: int, sock: socket.socket, address) -> dict:
    options = Options(layout=layout)
    encoder = FrameEncoder(options)
    prepared = [reference.messages(f, options, latency_ms=1.0) for f in frames]
    for f, msgs in zip(frames, prepared):  # same bytes (fixed latency), and warm caches
        ours = encoder.encode(f, now=f.captured + 0.001)
        assert ours == reference.build(msgs, f.timestamp, options.max_datagram), layout
    t_ours, t_send, t_theirs, sizes, count = [], [], [], [], []
    clock = time.perf_counter
    for _ in range(repeat):
        for f, msgs in zip(frames, prepared):
            t0 = clock()
            data = encoder.encode(f)
            t1 = clock()
            for d in data:
                sock.sendto(d, address)
            t2 = clock()
            reference.build(msgs, f.timestamp, options.max_datagram)
            t3 = clock()
            t_ours.append(t1 - t0)
            t_send.append(t2 - t0)
            t_theirs.append(t3 - t2)
            sizes.append(sum(map(len, data)))
            count.append(len(data))
    ours, theirs = statistics.median(t_ours), statistics.median(t_theirs)
    return {
        "layout": layout, "ours_ms": ours * 1e3, "send_ms": statistics.median(t_send) * 1e3,
        "theirs_ms": theirs * 1e3, "ratio": ours / theirs, "bytes": statistics.median(sizes),
        "datagrams": statistics.median(count),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=10)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    frames = tracked(args.people, args.frames)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    print(f"{args.people} people, {args.frames} frames × {args.repeat}, per frame (median):")
    print(f"{'layout':14s} {'posestage':>10s} {'+ send':>9s} {'python-osc':>11s} {'ratio':>7s}"
          f" {'bytes':>7s} {'dgrams':>6s}")  # fmt: skip
    worst = 0.0
    for layout in LAYOUTS:
        r = bench(layout, frames, args.repeat, sock, sink.getsockname())
        worst = max(worst, r["ratio"])
        print(f"{layout:14s} {r['ours_ms']:8.3f}ms {r['send_ms']:7.3f}ms {r['theirs_ms']:9.3f}ms"
              f" {r['ratio']:7.3f} {r['bytes']:7.0f} {r['datagrams']:6.0f}")  # fmt: skip
        try:  # drain the sink so sends never fail for a full buffer
            while True:
                sink.recv(65536)
        except BlockingIOError:
            pass
    verdict = "within" if worst <= TARGET else "OVER"
    print(f"worst ratio {worst:.3f}: {verdict} the target of {TARGET:.2f} × python-osc")
    return 0


if __name__ == "__main__":
    sys.exit(main())
