"""Fixtures for the osc plugin's tests: tracked synthetic people, real UDP receivers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from posestage.testing import OscReceiver, standing_person, track


def tracked_frames(count: int = 60, people: int = 3, seed: int = 5, width=640, height=480):
    """(frame, entered, left) from the real tracker: ``people`` walkers, the second one
    dropping out for a while (missing > 0, then a leave and a new id in the free slot), random
    keypoint scores (some below any threshold), one walker partly off the image."""
    rng = np.random.default_rng(seed)

    def detections(t):
        poses = []
        for k in range(people):
            if k == 1 and 10 <= t < 45:  # 1.2 s: longer than the 1 s grace
                continue  # missing frames, then the person leaves
            x = -20 + 120 * k + 3 * t if k == 0 else 100 + 120 * k + 2 * t
            pose = standing_person(x, 470, 320, jitter=1.5, rng=rng)
            pose.scores[:] = rng.uniform(0, 1, 17).astype(np.float32)
            poses.append(pose)
        return poses

    tracked = track(
        (detections(t) for t in range(count)), size=(width, height), t0=1_764_600_000.0,
        source="test",
    )  # fmt: skip
    # the stage's measurements: a steady rate, an engine time that varies
    return [
        (replace(f, fps=29.97, inference_ms=11.5 + f.index % 3), entered, left)
        for f, entered, left in tracked
    ]


@pytest.fixture
def frames():
    return tracked_frames()


@pytest.fixture
def receiver():
    r = OscReceiver()
    yield r
    r.close()


@pytest.fixture
def make_receiver():
    """A factory of :class:`~posestage.testing.OscReceiver` objects, all closed after the test."""
    made: list[OscReceiver] = []

    def make() -> OscReceiver:
        made.append(OscReceiver())
        return made[-1]

    yield make
    for r in made:
        r.close()
