"""Calibrating by clicking: the window's C key asks for a click on each floor mark the scene
lists, fits the floor, writes the image points into the scene file; the scene reloads
calibrated."""

from __future__ import annotations

import threading
import time

import numpy as np
import pygame
import pytest
from fakes import Collector, host_with, write_stream

from posestage.config.room import fit_calibration
from posestage.config.scenes import load_scene, parse_scene
from posestage.stage.calibrate import Calibrating, write_image_points
from posestage.testing import RoomCamera

CAM = RoomCamera()
MARKS = [[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0]]


def wait_until(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_the_image_line_goes_into_the_room_table(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[stage]\nmirror = false\n\n[room]\nfloor = [[0,0],[1,0],[1,1],[0,1]]\n"
                    "[plugins.skeleton]\n")  # fmt: skip
    write_image_points(path, [(1, 2), (3, 4), (5, 6), (7, 8.25)])
    text = path.read_text()
    assert "[room]\nimage = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.2]]\nfloor" in text
    write_image_points(path, [(9, 9), (3, 4), (5, 6), (7, 8)], (640, 480))  # replaced
    text = path.read_text()
    assert text.count("image =") == 1 and "image = [[9.0, 9.0]" in text
    write_image_points(path, [(9, 9), (3, 4), (5, 6), (7, 9)], (1280, 720))
    text = path.read_text()
    assert text.count("size =") == 1 and '[room]\nsize = "1280x720"\nimage = [[9.0, 9.0]' in text
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    assert tomllib.loads(text)["room"]["size"] == "1280x720"
    bare = tmp_path / "b.toml"
    bare.write_text("[plugins.skeleton]\n")
    write_image_points(bare, [(1, 2)])
    assert bare.read_text().endswith("[room]\nimage = [[1.0, 2.0]]\n")


@pytest.mark.parametrize("mirrored", [False, True])
def test_clicks_through_a_letterboxed_window_give_camera_pixels(tmp_path, mirrored):
    path = tmp_path / "s.toml"
    path.write_text(f"[room]\nfloor = {MARKS}\n")
    cal = Calibrating()
    scene = load_scene(path)
    cal.toggle(scene.room_settings().to_click, path)
    assert cal.active and "mark 1 of 4 at (0, 0) m" in cal.message
    truth = CAM.to_image(MARKS)
    for x, y in truth:  # a 640x480 picture shown 2x in a 1400x960 window (letterboxed in x)
        shown = (639 - x) if mirrored else x
        cal.click((60 + 2 * shown, 2 * y), (1400, 960), (640, 480), mirrored)
    assert not cal.active and cal.result.error < 0.2
    assert "written to s.toml" in cal.message
    got = load_scene(path).room_settings().calibration
    assert np.allclose(got.image, truth, atol=0.1)
    assert np.allclose(got.to_floor(CAM.to_image([(1.0, 2.0)])), [(1.0, 2.0)], atol=0.01)


def test_without_floor_marks_it_says_what_to_write(tmp_path):
    cal = Calibrating()
    cal.toggle((), tmp_path / "s.toml")
    assert not cal.active and "[room] floor" in cal.message


def test_the_c_key_and_clicks_calibrate_the_running_stage(tmp_path):
    from posestage.sources import SourceOptions, open_source
    from posestage.stage import Stage, StageOptions

    write_stream(tmp_path / "s.jsonl", 300)
    plugin = Collector("collect")
    host = host_with(plugin)
    path = tmp_path / "scene.toml"
    path.write_text(f"[room]\nfloor = {MARKS}\n[plugins.collect]\n")
    scene = load_scene(path, host)
    assert scene.room_settings().calibration is None
    source = open_source(
        f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="realtime", loop=True)
    )
    st = Stage([scene], StageOptions(), host=host, source=source)
    seen = {}

    def post(event_type, **fields):
        ticks = st.display_ticks
        pygame.event.post(pygame.event.Event(event_type, **fields))
        assert wait_until(lambda: st.display_ticks > ticks + 1)

    def act():
        try:
            assert wait_until(lambda: st.display_ticks > 0 and plugin.draws > 0)
            post(pygame.KEYDOWN, key=pygame.K_c, mod=0, unicode="")
            for x, y in CAM.to_image(MARKS):  # the window is the picture's size here
                post(pygame.MOUSEBUTTONDOWN, pos=(int(round(x)), int(round(y))), button=1)
            seen["calibrated"] = wait_until(
                lambda: st.pipeline.room_settings.calibration is not None, 20
            )
        finally:
            post(pygame.KEYDOWN, key=pygame.K_q, mod=0, unicode="")

    helper = threading.Thread(target=act)
    helper.start()
    report = st.run()
    helper.join()
    assert report.error is None and seen["calibrated"]
    assert "image = [[" in path.read_text() and 'size = "640x480"' in path.read_text()
    assert parse_scene(path.read_text()).room_settings().calibration.error < 1.0


def test_a_fitted_calibration_of_clicked_points_matches_the_camera():
    cal = fit_calibration(CAM.to_image(MARKS).round(), MARKS)
    assert cal.error < 1.0
