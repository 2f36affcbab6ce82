"""Footfall in metres: a calibrated floor, people standing at known places; the cells they
stand in count exactly, the CSV's edges are metres, the PNG is the floor from above (over a
floor plan when one is given), and no camera pixel reaches it."""

from __future__ import annotations

import csv

import numpy as np
from PIL import Image

from posestage.testing import PosedImages, RoomCamera, run_plugins

CAM = RoomCamera()
CAMERA = (13, 201, 77)  # the camera's images are painted with it: never in the PNG


def standing(frames: int):
    rng = np.random.default_rng(1)
    return [[CAM.pose(1.1, 0.6, noise=0.5, rng=rng), CAM.pose(3.3, 2.9, noise=0.5, rng=rng)]
            for _ in range(frames)]  # fmt: skip


def run(tmp_path, frames=40, **settings):
    image = np.zeros((480, 640, 3), np.uint8)
    image[:] = CAMERA
    source = PosedImages([image], standing(frames))
    settings = {"folder": str(tmp_path), "every": 0.0, "half_life": 0.0, **settings}
    got = run_plugins([("footfall", settings)], source=source, room=CAM.room(), mirror=False)
    assert got.errors == []
    (table,) = tmp_path.glob("footfall-*.csv")
    (picture,) = tmp_path.glob("footfall-*.png")
    return list(csv.DictReader(table.open())), np.asarray(Image.open(picture).convert("RGB"))


def test_cells_in_metres_count_where_people_stand(tmp_path):
    rows, picture = run(tmp_path)
    assert float(rows[0]["x0"]) == -0.5 and float(rows[0]["y0"]) == -0.5  # area: floor ± 0.5 m
    assert float(rows[0]["x1"]) - float(rows[0]["x0"]) == 0.25  # cell
    hot = [r for r in rows if int(r["total"])]
    assert sum(int(r["total"]) for r in rows) == 80  # 2 people x 40 frames, all counted
    assert len(hot) == 2
    for r, (x, y) in zip(sorted(hot, key=lambda r: float(r["x0"])), ((1.1, 0.6), (3.3, 2.9))):
        assert float(r["x0"]) <= x < float(r["x1"]) and float(r["y0"]) <= y < float(r["y1"])
        assert int(r["total"]) == 40
    # 5 x 5 m at 100 px a metre, and a legend strip below
    assert picture.shape[1] == 500 and picture.shape[0] == 560
    assert not (picture == CAMERA).all(axis=2).any()
    # the heat where the first person stands (x 1.1 m, y 0.6 m from -0.5)
    assert picture[int(1.1 * 100) + 2, int(1.6 * 100) + 2].sum() > 3 * 28


def test_over_a_floor_plan(tmp_path):
    plan = np.zeros((100, 100, 3), np.uint8)
    plan[:, :] = (200, 190, 180)  # a light floor plan covering 0..4 m
    Image.fromarray(plan).save(tmp_path / "plan.png")
    out = tmp_path / "out"
    rows, picture = run(out, plan=str(tmp_path / "plan.png"), plan_area=[0.0, 0.0, 4.0, 4.0])
    assert tuple(picture[300, 250]) == (200, 190, 180)  # inside the plan, no heat there
    assert tuple(picture[20, 20]) != (200, 190, 180)  # outside it (x, y < 0)


def test_a_floor_space_without_calibration_is_one_line(tmp_path):
    got = run_plugins([("footfall", {"folder": str(tmp_path), "space": "floor"})], frames=2)
    assert any("footfall.space = floor" in e and "[room]" in e for e in got.errors), got.errors
