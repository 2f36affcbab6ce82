"""The floor view: the room from above, drawn from numbers (people's floor positions, the
scene's zones), and its key in the window."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pygame
from fakes import Collector, host_with, write_stream

from posestage import FloorPosition
from posestage.config.room import RoomSettings, fit_calibration
from posestage.draw.floor import FloorView
from posestage.draw.palette import color_for
from posestage.model.zones import ZoneCount
from posestage.testing import RoomCamera, frame, person

CAM = RoomCamera()
ZONES = {"door": ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))}


def wait_until(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def room(view=False) -> RoomSettings:
    return RoomSettings(fit_calibration(**CAM.room()), ZONES, view)


def someone(pid, slot, x, y, missing=0):
    return replace(person(id=pid, slot=slot, missing=missing), floor=FloorPosition(x, y))


def test_people_zones_and_trails_drawn_where_they_stand():
    view = FloorView()
    surface = pygame.Surface((800, 600))
    rect = pygame.Rect(0, 0, 800, 600)
    for i in range(10):  # slot 1 walks along x; slot 0 stands in the door zone
        people = [someone(1, 0, 0.5, 0.5), someone(2, 1, 1.5 + 0.2 * i, 3.0)]
        f = frame(i, people, zones=(ZoneCount("door", (1,), (1.0,), 1),))
        surface.fill((0, 0, 0))
        view.draw(surface, f, room(), rect)
    to_px = view._fit(room(), f, rect.size)
    for pid, slot, x, y in ((1, 0, 0.5, 0.5), (2, 1, 3.3, 3.0)):
        px, py = (int(v) for v in to_px(x, y))
        assert tuple(surface.get_at((px, py)))[:3] == color_for(slot), (pid, px, py)
    # the trail: behind the walker, in their colour (blended on the panel)
    tx, ty = (int(v) for v in to_px(2.4, 3.0))
    r, g, b = tuple(surface.get_at((tx, ty)))[:3]
    assert b > r  # slot 1 is sky blue
    # the zone: filled, between the walls of the panel
    zx, zy = (int(v) for v in to_px(0.9, 0.1))
    assert tuple(surface.get_at((zx, zy)))[:3] != (0, 0, 0)


def test_without_calibration_it_says_how():
    view = FloorView()
    surface = pygame.Surface((640, 480))
    view.draw(surface, frame(0, [person()]), RoomSettings())
    array = pygame.surfarray.array3d(surface)
    assert array[384:, :60].any()  # the text, in the right 40 %
    assert not array[:380].any()


def test_visible_follows_the_scene_until_the_key():
    view = FloorView()
    assert not view.visible(room()) and view.visible(room(view=True))
    view.toggle(room(view=True))
    assert not view.visible(room(view=True))
    view.toggle(room())
    assert view.visible(room())


def test_the_v_key_shows_the_floor_in_the_window(tmp_path):
    from posestage.config.scenes import parse_scene
    from posestage.sources import SourceOptions, open_source
    from posestage.stage import Stage, StageOptions

    write_stream(tmp_path / "s.jsonl", 300)
    plugin = Collector("collect")
    source = open_source(f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="realtime"))
    host = host_with(plugin)
    cal = CAM.room()
    text = f"[room]\nimage = {cal['image']}\nfloor = {cal['floor']}\n[plugins.collect]\n"
    scene = parse_scene(text, None, host)
    st = Stage([scene], StageOptions(), host=host, source=source)
    seen = {}

    def press():
        try:
            assert wait_until(lambda: st.display_ticks > 0 and plugin.draws > 0)
            window = st.display.floor_view
            seen["before"] = window.visible(st.pipeline.room_settings)
            ticks = st.display_ticks
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_v, mod=0, unicode=""))
            assert wait_until(lambda: st.display_ticks > ticks + 2)
            seen["after"] = window.visible(st.pipeline.room_settings)
            seen["drawn"] = wait_until(lambda: window.draws > 2)
        finally:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q, mod=0, unicode=""))

    presser = threading.Thread(target=press)
    presser.start()
    report = st.run()
    presser.join()
    assert report.error is None and report.stopped_by == "quit"
    assert seen["before"] is False and seen["after"] is True and seen["drawn"]


def test_in_a_narrow_tall_panel_the_scale_bar_and_legend_sit_under_the_floor():
    """The window's side column (200 px at 640 wide, as tall as the picture): the title on two
    lines, the one-metre bar and the legend just under the floor drawn, not at the panel's
    foot far below it."""
    from posestage.draw.palette import TEXT

    view = FloorView()
    surface = pygame.Surface((200, 480))
    f = frame(0, [someone(1, 0, 0.5, 0.5)], zones=(ZoneCount("door", (1,), (1.0,), 1),))
    view.draw(surface, f, room(), pygame.Rect(0, 0, 200, 480))
    x0, x1, y0, y1, scale = view._view
    floor_bottom = int(view._fit(room(), f, (200, 480))(x0, y1)[1])
    bar = floor_bottom + 14
    assert tuple(surface.get_at((10 + int(scale) // 2, bar)))[:3] == TEXT
    assert floor_bottom < 300  # the floor fits the width: the bar follows it, not the foot
    pixels = pygame.surfarray.array3d(surface)
    panel = pixels[-1, -1]  # the panel's own colour, at its foot
    assert (pixels[:, bar + 6 : bar + 50] != panel).any()  # the legend
    assert (pixels[:, bar + 60 :] == panel).all()  # nothing further down
