"""Counts over time with known truth: walkers on a known floor through known zones; the CSV's
sums equal the frames observed, every visit is counted, the chart is drawn, and no pixel of
the camera reaches either file."""

from __future__ import annotations

import csv

import numpy as np
import pygame
import pytest
from posestage_counts import ALL, CSV_COLUMNS

from posestage import hookimpl
from posestage.testing import PosedImages, RoomCamera, run_plugins

CAM = RoomCamera()
ZONES = {
    "door": [[0.0, 0.0], [1.2, 0.0], [1.2, 1.5], [0.0, 1.5]],
    "middle": [[1.6, 1.6], [2.6, 1.6], [2.6, 2.6], [1.6, 2.6]],
}
#: A colour the chart never uses: the camera's images are painted with it.
CAMERA = (13, 201, 77)
T0 = 1_700_000_000.0  # a whole second: intervals start at the frames' own start


class Collect:
    def __init__(self):
        self.frames = []

    @hookimpl
    def posestage_frame(self, frame):
        self.frames.append(frame)


def walkers(frames: int):
    rng = np.random.default_rng(11)
    out = []
    for i in range(frames):
        t = i / 30
        a = (0.4 + 0.8 * min(t, 4.0), 0.6 + 0.5 * min(t, 4.0))
        b = (2.1 + np.sin(1.6 * t), 3.0 - 0.3 * t)
        people = [CAM.pose(*a, noise=1.0, rng=rng)]
        if i >= 20:  # B comes in later
            people.append(CAM.pose(*b, heading=1.5, noise=1.0, rng=rng))
        out.append(people)
    return out


def test_the_csv_sums_equal_the_frames_observed_and_no_pixel_is_kept(tmp_path):
    frames = 180
    image = np.zeros((480, 640, 3), np.uint8)
    image[:] = CAMERA
    source = PosedImages([image], walkers(frames), start_time=T0)
    got = Collect()
    run = run_plugins(
        [("counts", {"folder": str(tmp_path), "interval": 1.0}), got],
        source=source, room=CAM.room(zones=ZONES), mirror=False,
    )  # fmt: skip
    assert run.errors == []
    assert len(got.frames) == frames
    (table,) = tmp_path.glob("counts-*.csv")
    (chart,) = tmp_path.glob("counts-*.png")
    rows = list(csv.DictReader(table.open()))
    assert list(rows[0]) == [name for name, _ in CSV_COLUMNS]
    zones = [ALL, *ZONES]
    assert {r["zone"] for r in rows} == set(zones)
    assert len(rows) == 6 * len(zones)  # 6 seconds, one row per zone each
    for zone in zones:
        mine = [r for r in rows if r["zone"] == zone]
        assert sum(int(r["frames"]) for r in mine) == frames
        if zone == ALL:
            truth = sum(len(f.people) for f in got.frames)
            visitors = {p.id for f in got.frames for p in f.people}
        else:
            truth = sum(f.zone(zone).count for f in got.frames)
            visitors = {i for f in got.frames for i in f.zone(zone).people}
            entries = sum(e.kind == "enter" and e.zone == zone for f in got.frames
                          for e in f.zone_events)  # fmt: skip
            assert sum(int(r["entries"]) for r in mine) == entries > 0
        assert sum(int(r["person_frames"]) for r in mine) == truth > 0
        per_interval = [
            {p.id for f in got.frames if int(f.timestamp - T0) == k for p in f.people}
            if zone == ALL
            else {i for f in got.frames if int(f.timestamp - T0) == k for i in f.zone(zone).people}
            for k in range(6)
        ]
        assert [int(r["visitors"]) for r in mine] == [len(v) for v in per_interval]
        assert len(set().union(*per_interval)) == len(visitors)
        dwell = sum(float(r["dwell_seconds"]) for r in mine)
        assert dwell == pytest.approx(truth / 30, abs=2 / 30)
    # the whole stage: two people, A from the first frame, B from frame 20
    assert [int(r["max_occupancy"]) for r in rows if r["zone"] == ALL] == [2] * 6
    # numbers only: every CSV value a number but the time and zone columns
    for r in rows:
        for name, value in r.items():
            if name not in ("time", "zone"):
                float(value)
    picture = pygame.surfarray.array3d(pygame.image.load(str(chart)))
    assert picture.shape[:2] == (1200, 700)
    assert len(np.unique(picture.reshape(-1, 3), axis=0)) > 10  # axes, lines, text
    assert not (picture == CAMERA).all(axis=2).any()  # no camera pixel


def test_a_replay_at_any_pace_counts_its_own_time(tmp_path):
    """Frame time is the replay's: played as fast as it goes, the dwell and the intervals are
    the recorded seconds, not the few wall-clock milliseconds the replay took."""
    from posestage.testing import write_stream

    stream = write_stream(tmp_path / "s.jsonl", [[CAM.pose(0.6, 0.7)]] * 150, t0=T0, fps=15)
    out = tmp_path / "out"
    run = run_plugins([("counts", {"folder": str(out), "interval": 5.0})], source=stream,
                      room=CAM.room(zones=ZONES), mirror=False)  # fmt: skip
    assert run.errors == [] and len(run.frames) == 150
    (table,) = out.glob("counts-*.csv")
    door = [r for r in csv.DictReader(table.open()) if r["zone"] == "door"]
    assert sum(int(r["frames"]) for r in door) == 150
    assert len(door) in (2, 3)  # 10 s of replay in 5 s intervals (aligned to the clock)
    assert sum(float(r["dwell_seconds"]) for r in door) == pytest.approx(149 / 15, abs=1e-3)


def test_bad_folder_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    run = run_plugins([("counts", {"folder": str(blocker / "sub")})], frames=2)
    assert any("counts.folder" in e and "\n" not in e for e in run.errors), run.errors
