"""Helpers for the osc plugin's tests: tracked synthetic people, a real UDP receiver.

(A module of its own, not conftest.py: ``tests/conftest.py`` has the same name when both test
folders are collected in one run.)
"""

from __future__ import annotations

import socket
import threading
import time

import numpy as np


def tracked_frames(count: int = 60, people: int = 3, seed: int = 5, width=640, height=480):
    """(frame, entered, left) from the real tracker: ``people`` walkers, the second one
    dropping out for a while (missing > 0, then a leave and a new id in the free slot), random
    keypoint scores (some below any threshold), one walker partly off the image."""
    from posestage.model.frames import PoseFrame
    from posestage.model.synthetic import standing_person
    from posestage.tracking.tracker import Tracker

    rng = np.random.default_rng(seed)
    tracker = Tracker()
    out = []
    for t in range(count):
        poses = []
        for k in range(people):
            if k == 1 and 10 <= t < 45:  # 1.2 s: longer than the 1 s grace
                continue  # missing frames, then the person leaves
            x = -20 + 120 * k + 3 * t if k == 0 else 100 + 120 * k + 2 * t
            pose = standing_person(x, 470, 320, jitter=1.5, rng=rng)
            pose.scores[:] = rng.uniform(0, 1, 17).astype(np.float32)
            poses.append(pose)
        stamp = 1_764_600_000.0 + t / 30
        update = tracker.update(poses, width, height, stamp)
        frame = PoseFrame(
            t, stamp, time.perf_counter(), width, height, people=update.people,
            fps=29.97, inference_ms=11.5 + t % 3, source="test",
        )  # fmt: skip
        out.append((frame, list(update.entered), list(update.left)))
    return out


class Receiver:
    """A real UDP socket on 127.0.0.1 collecting every datagram on a thread."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.datagrams: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.sock.recvfrom(65536)
            except OSError:
                continue
            self.datagrams.append(data)

    def wait_quiet(self, quiet: float = 0.3, limit: float = 10.0) -> list[bytes]:
        """Wait until nothing arrived for ``quiet`` seconds; the datagrams so far."""
        deadline = time.monotonic() + limit
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            if len(self.datagrams) != seen:
                seen, since = len(self.datagrams), time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
            time.sleep(0.02)
        return list(self.datagrams)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
