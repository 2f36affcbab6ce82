"""One stage process of the several-cameras test (run as a script, not collected by pytest).

``python mqtt_stage.py BROKER_URL CAMERA SKEW START SECONDS``: the real stage, headless, with
camera ``CAMERA`` of :mod:`mqtt_world` calibrated in its ``[room]`` and the mqtt plugin
publishing. The camera films the walkers at 30 fps (what a pose engine would find: their
keypoints projected, with a pixel of noise) from world time START (a ``time.time()``) for
SECONDS; the stage's clock is SKEW seconds off. Floor positions are the stage's own (its
calibration, its tracker). At the end it prints its publisher's counts as one JSON line.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mqtt_world as world  # noqa: E402
from posestage_mqtt import plugin  # noqa: E402

from posestage import Source, SourceFrame  # noqa: E402
from posestage.testing import run_plugin  # noqa: E402

FPS = 30.0


class WorldCamera(Source):
    """A live source: the walkers this camera sees now, as detected poses (no image)."""

    live = True
    gives_poses = True

    def __init__(self, name: str, skew: float, start: float, seconds: float) -> None:
        super().__init__()
        self.name = f"camera:{name}"
        self.width, self.height = world.SIZE
        self.camera = world.camera(name)
        self.skew, self.start, self.seconds = skew, start, seconds
        self.rng = np.random.default_rng(ord(name))
        self._i = 0

    def _read(self) -> SourceFrame | None:
        due = self.start + self._i / FPS
        if not self._sleep(due - time.time()):
            return None
        now = time.time()
        t = now - self.start
        if t > self.seconds:
            return None
        self._i = int(t * FPS) + 1  # a slow step skips frames, as a camera would
        poses = []
        for walk in world.WALKERS.values():
            x, y = walk(t)
            x2, y2 = walk(t + 0.1)
            heading = math.atan2(y2 - y, x2 - x) if (x2, y2) != (x, y) else 0.0
            pose = self.camera.pose(x, y, heading, noise=1.0, rng=self.rng)
            if world.inside(pose.xy):
                poses.append(pose)
        stamp = now + self.skew  # the capture time on this stage's clock
        return SourceFrame(None, stamp, time.perf_counter(), *world.SIZE, poses=poses)


def main() -> None:
    url, name, skew, start, seconds = sys.argv[1:6]
    skew, start, seconds = float(skew), float(start), float(seconds)
    plugin.clock = lambda: time.time() + skew  # this stage's wall clock
    settings = {"broker": url, "room": "hall", "stage": name, "health_seconds": 0.5}
    source = WorldCamera(name, skew, start, seconds)
    run = run_plugin(plugin, settings, source=source, room=world.calibration(name))
    publisher = plugin.finished
    print(json.dumps({"seq": publisher.seq, "sent": publisher.sent, "unsent": publisher.unsent,
                      "connects": publisher.connects, "errors": run.errors,
                      "floor": sum(p.floor is not None for f in run.frames for p in f.people)}),
          flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
