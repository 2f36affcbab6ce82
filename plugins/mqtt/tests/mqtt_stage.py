"""One stage process of the several-cameras test (run as a script, not collected by pytest).

``python mqtt_stage.py BROKER_URL CAMERA SKEW START SECONDS``: camera ``CAMERA`` of
:mod:`mqtt_world` films the walkers at 30 fps from world time START (a ``time.time()``) for
SECONDS; its clock is SKEW seconds off. The stage's own tracker (posestage's real
:class:`Tracker`) follows the projected figures, each person's floor position is the view's
inverse homography at the point between their ankles, and the real mqtt plugin publishes each
frame. At the end (or on SIGTERM) it prints its publisher's counts as one JSON line.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mqtt_world as world  # noqa: E402
from posestage_mqtt import SETTINGS, plugin  # noqa: E402

from posestage import FloorPosition, Pose, validate  # noqa: E402
from posestage.config.tracking import TrackingSettings  # noqa: E402
from posestage.testing import context, frame, standing_xy  # noqa: E402
from posestage.tracking.tracker import Tracker  # noqa: E402

FPS = 30.0


def main() -> None:
    url, name, skew, start, seconds = sys.argv[1:6]
    skew, start, seconds = float(skew), float(start), float(seconds)
    h = world.camera(name)
    inverse = np.linalg.inv(h)
    tracker = Tracker(TrackingSettings.from_mapping({}, "stage"))
    values = {"broker": url, "room": "hall", "stage": name, "health_seconds": 0.5}
    plugin.posestage_configure(stage=context(), settings=validate(values, SETTINGS, "stage"))
    plugin.publisher.clock = lambda: time.time() + skew
    stopping = []
    signal.signal(signal.SIGTERM, lambda *a: stopping.append(1))
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    i = 0
    while not stopping:
        due = start + i / FPS
        wait = due - time.time()
        if wait > 0:
            time.sleep(wait)
        now = time.time()
        t = now - start
        if t > seconds:
            break
        poses = []
        for x, y in world.truth(t).values():
            if not world.sees(name, x, y):
                continue
            u, v = world.project(h, x, y)
            tall = 0.25 * v + 40
            xy = standing_xy(u, v, tall) + rng.normal(0, 1.0, (17, 2))
            poses.append(Pose(0.9, xy.astype(np.float32), np.full(17, 0.9, np.float32)))
        update = tracker.update(poses, *world.SIZE, now + skew)
        people = []
        for p in update.people:
            ankles = (p.xy[15] + p.xy[16]) / 2
            g = inverse @ np.array([ankles[0], ankles[1], 1.0])
            people.append(replace(p, floor=FloorPosition(g[0] / g[2], g[1] / g[2], 0.9, "feet")))
        plugin.posestage_frame(frame=frame(i, people, timestamp=now + skew, size=world.SIZE))
        i = int((time.time() - start) * FPS) + 1  # a slow step skips frames, as a camera would
    publisher = plugin.publisher
    plugin.posestage_unconfigure(stage=None)
    print(json.dumps({"seq": publisher.seq, "sent": publisher.sent, "unsent": publisher.unsent,
                      "connects": publisher.connects}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
