"""The room scene a newcomer runs (``scenes/room.toml``), with known truth: its replay is the
one ``tools/make_room_stream.py`` makes (the same bytes), its calibration and zones are that
tool's camera and gallery, and a headless run of the scene as written counts every zone visit
the walkers made — in the CSV — writes the chart and the footfall map in metres, and sends
the floor and the zones over OSC."""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from posestage.config.room import fit_calibration
from posestage.config.scenes import tomllib
from posestage.testing import OscReceiver
from posestage.tracking.zones import inside

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "scenes" / "room.toml"
STREAM = ROOT / "scenes" / "room.jsonl"


def tool():
    spec = importlib.util.spec_from_file_location("make_room_stream", ROOT / "tools" / "make_room_stream.py")  # fmt: skip
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gallery():
    return tool()


def scene() -> dict:
    with SCENE.open("rb") as f:
        return tomllib.load(f)


def test_the_replay_is_the_tools_and_small(gallery, tmp_path):
    assert STREAM.stat().st_size < 400_000
    out = tmp_path / "room.jsonl"
    assert gallery.main(["--out", str(out)]) == 0
    assert out.read_bytes() == STREAM.read_bytes()  # reproducible: regenerated, not edited
    assert b'"floor"' not in out.read_bytes()  # keypoints only: the scene's [room] places people


def test_the_scene_is_calibrated_for_the_tools_camera(gallery):
    room = scene()["room"]
    assert room["view"] is True
    assert {k: [list(map(float, p)) for p in v] for k, v in room["zones"].items()} == {
        k: [list(map(float, p)) for p in v] for k, v in gallery.ZONES.items()
    }
    assert np.allclose(room["image"], gallery.room()["image"])
    assert np.allclose(room["floor"], gallery.room()["floor"])
    fit = fit_calibration(room["image"], room["floor"])
    assert 0 < fit.error < 1.0  # marks measured by hand: half a pixel
    truth = np.array([(x, y) for x in (-1.0, 1.0, 3.0, 4.5) for y in (0.5, 2.0, 3.5)])
    image = gallery.CAMERA.to_image([gallery.camera_xy(x, y) for x, y in truth])
    assert np.allclose(fit.to_floor(image), truth, atol=0.05)  # within 5 cm across the room


def test_a_headless_run_counts_every_visit_the_walkers_made(gallery, tmp_path):
    frames = gallery.frame_count()
    truth = gallery.truth()
    assert truth == {"entrance": 5, "exhibit": 4, "exit": 5}  # one visitor skips the exhibit
    seconds = dict.fromkeys(truth, 0.0)  # true seconds inside, while seen
    for _, _, people in gallery.frames():
        for _, _, point in people:
            for zone, corners in gallery.ZONES.items():
                seconds[zone] += inside(np.array([point]), np.array(corners))[0] / gallery.FPS
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    with OscReceiver() as rx:
        command = [sys.executable, "-m", "posestage", "run", str(SCENE), "--headless",
                   "--frames", str(frames), "--pace", "fast", "--osc", f"127.0.0.1:{rx.port}"]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=180)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "stopped by frames" in done.stderr, done.stderr
        rx.wait_quiet()
        addresses = {m.address for m in rx.messages}
        floors = [m for m in rx.messages if m.address.endswith("/floor")]
    # the files appear where posestage ran, in the folder the scene names
    folder = tmp_path / "room-counts"
    (table,) = folder.glob("counts-*.csv")
    assert len(list(folder.glob("counts-*.png"))) == 1
    assert list(folder.glob("footfall-*.csv")) and list(folder.glob("footfall-*.png"))
    rows = list(csv.DictReader(table.open()))
    for zone, visits in truth.items():
        mine = [r for r in rows if r["zone"] == zone]
        assert sum(int(r["frames"]) for r in mine) == frames
        assert sum(int(r["entries"]) for r in mine) == visits, zone
        assert sum(int(r["person_frames"]) for r in mine) > 0
        # dwell in the replay's own seconds (a fast run, the recorded time), as walked
        dwell = sum(float(r["dwell_seconds"]) for r in mine)
        assert dwell == pytest.approx(seconds[zone], rel=0.1, abs=1.0), zone
    stage = [r for r in rows if r["zone"] == "(stage)"]
    assert sum(int(r["entries"]) for r in stage) == len(gallery.VISITORS)
    # the footfall map is on the floor: its cell edges are metres, around the gallery
    with next(folder.glob("footfall-*.csv")).open() as f:
        cells = list(csv.DictReader(f))
    assert min(float(c["x0"]) for c in cells) < -1.0 and max(float(c["x1"]) for c in cells) < 7
    assert sum(int(c["total"]) for c in cells) > 0
    # OSC: where people stand, and every zone
    assert {f"/zone/{z}/count" for z in truth} <= addresses
    assert {f"/zone/{z}/enter" for z in truth} <= addresses
    assert floors and all(-2.0 < m.args[0] < 6.0 and -0.5 < m.args[1] < 4.5 for m in floors)
