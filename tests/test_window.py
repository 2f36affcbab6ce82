"""The screen a performer watches, under SDL's dummy driver: the picture scaled into any window
with the panels around it, never over it; keypoints where they belong; help, timings and the
OSC monitor in a side column; messages in a log strip that fades; fullscreen at the display's
resolution; a number with no scene says so; ghosts counted apart and gone when a replay loops.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pygame
import pytest

from posestage import SkeletonStyle, color_for, draw_people, hookimpl
from posestage import testing as kit
from posestage.stage import Stage, StageOptions
from posestage.stage.layout import initial_window, layout
from posestage.stage.overlay import Overlay, StageStatus, status_text
from posestage.stage.window import compose, shown_layout

ROOT = Path(__file__).resolve().parents[1]
SIZES = [(320, 240), (1024, 768), (1920, 1080)]


def wait_until(condition, timeout: float = 60.0) -> bool:
    """Poll ``condition`` until true; the timeout only guards against a hang (not a speed)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def two_people():
    return kit.frame(0, (kit.person(1, 0, x=160.0), kit.person(2, 1, x=480.0)))


def canvas_of(frame) -> pygame.Surface:
    canvas = pygame.Surface((frame.width, frame.height))
    canvas.fill((0, 0, 0))
    draw_people(canvas, frame, SkeletonStyle())
    return canvas


def pixels(surface: pygame.Surface) -> np.ndarray:
    return pygame.surfarray.array3d(surface).transpose(1, 0, 2)  # (H, W, 3)


def open_overlay(size) -> Overlay:
    overlay = Overlay()
    overlay.resize(size[1])
    overlay.show_help = overlay.show_timings = True
    overlay.set_error("scene", "scene.toml: plugins.osc.port: 99999 is over 65535")
    overlay.add_error("synth: no audio server or sound card here; start one")
    return overlay


@pytest.mark.parametrize("size", SIZES)
def test_the_panels_never_cover_the_picture_at_any_size(size):
    """Status bar, log strip, help and timings all open with messages on: the picture's part of
    the window is exactly the canvas scaled, and no panel overlaps it."""
    pygame.font.init()
    frame = two_people()
    canvas = canvas_of(frame)
    window = pygame.Surface(size)
    parts = compose(window, canvas, open_overlay(size), StageStatus(people=2), {"osc": 0.2})
    assert parts.window == size and parts.side is not None
    for panel in (parts.status, parts.log, parts.side):
        assert not panel.overlaps(parts.canvas), (panel, parts.canvas)
    box = parts.canvas
    assert box.x >= 0 and box.y >= 0 and box.right <= size[0] and box.bottom <= size[1]
    # the picture as large as the stage's part allows, its aspect ratio kept
    assert box.w == parts.stage.w or box.h == parts.stage.h
    assert abs(box.w / box.h - 640 / 480) < 0.02
    scaled = pixels(pygame.transform.scale(canvas, (box.w, box.h)))
    shown = pixels(window)[box.y : box.bottom, box.x : box.right]
    assert np.array_equal(shown, scaled)  # nothing drawn over the performers
    assert scaled.any()  # and there were skeletons to cover
    # the text reads at every size: it grows with the window
    assert parts.status.h >= 18


@pytest.mark.parametrize("size", SIZES)
def test_keypoints_stay_where_they_belong_in_the_scaled_picture(size):
    pygame.font.init()
    frame = two_people()
    window = pygame.Surface(size)
    parts = compose(window, canvas_of(frame), open_overlay(size), StageStatus(people=2))
    drawn = pixels(window)
    for person in frame.people:
        for x, y in person.xy[[0, 5, 6, 11, 12, 15, 16]]:  # nose, shoulders, hips, ankles
            wx, wy = parts.to_window(x, y)
            around = drawn[max(wy - 2, 0) : wy + 3, max(wx - 2, 0) : wx + 3].reshape(-1, 3)
            assert any(tuple(p) == color_for(person.id) for p in around), (person.id, x, y)


def test_the_first_window_shows_the_picture_at_its_own_size_with_room_for_the_bars():
    def line(height):
        return round(Overlay().line)

    w, h = initial_window((640, 480), (1280, 800), line)
    parts = layout((w, h), (640, 480), line(h))
    assert (parts.canvas.w, parts.canvas.h) == (640, 480) and parts.scale == 1.0
    big = initial_window((3840, 2160), (1280, 800))
    assert big[0] <= 1280 and big[1] <= 800


def test_status_counts_ghosts_apart_and_a_still_shows_no_rate():
    assert status_text(StageStatus(fps=30.0, inference_ms=None, people=1, ghosts=1)) == (
        "FPS 30.0 | replay | latency 0.0 ms | people 1 (+1 ghost)"
    )
    still = status_text(StageStatus(still=True, inference_ms=31.0, people=2))
    assert still.startswith("still | inference 31.0 ms") and "FPS" not in still


def test_messages_fade_out_of_the_log_strip():
    pygame.font.init()
    overlay = Overlay()
    overlay.resize(480)
    overlay.add_message("a line", now=100.0)
    window = pygame.Surface((640, 480))

    def brightness(now):
        parts = overlay.draw(window, StageStatus(), now=now)
        log = parts.log
        return int(pixels(window)[log.y : log.bottom, log.x : log.right].max())

    fresh, fading = brightness(101.0), brightness(107.0)
    assert overlay.fading(107.0) and not overlay.fading(101.0)
    gone = brightness(109.0)
    assert fresh > fading > gone
    assert overlay.errors(now=109.0) == []


# -- the real stage in a window (SDL dummy) ----------------------------------------------------


def scene_file(tmp_path: Path, body: str = "") -> Path:
    stream = ROOT / "scenes" / "demo.jsonl"
    path = tmp_path / "show.toml"
    path.write_text(
        f'[scene]\nname = "show"\n[stage]\nsource = "replay:{stream}"\nloop = true\n'
        f"[plugins.skeleton]\n{body}"
    )
    return path


def press(key: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=""))


def drive(st: Stage, steps) -> dict:
    """Run ``st`` in a window; ``steps`` (a function of the stage, in another thread) presses
    keys and records what it saw; Q at the end."""
    seen: dict = {}

    def run():
        try:
            assert wait_until(lambda: st.display_ticks > 2 and shown_layout() is not None)
            steps(st, seen)
        except BaseException as err:  # noqa: BLE001 - reported by the test
            seen["error"] = err
        finally:
            press(pygame.K_q)

    thread = threading.Thread(target=run)
    thread.start()
    report = st.run()
    thread.join()
    if "error" in seen:
        raise seen["error"]
    seen["report"] = report
    return seen


def after_ticks(st: Stage, n: int = 3) -> None:
    ticks = st.display_ticks
    assert wait_until(lambda: st.display_ticks > ticks + n)


def test_fullscreen_takes_the_displays_resolution_and_keeps_drawing(tmp_path):
    def steps(st, seen):
        press(pygame.K_f)
        after_ticks(st)
        seen["desktop"] = pygame.display.get_desktop_sizes()[0]
        seen["full"] = pygame.display.get_surface().get_size()
        seen["layout"] = shown_layout()
        frames = st.pipeline.dispatched
        assert wait_until(lambda: st.pipeline.dispatched > frames + 5)  # the show goes on
        after_ticks(st)
        seen["picture"] = kit.window_picture()
        press(pygame.K_f)
        after_ticks(st)
        seen["back"] = pygame.display.get_surface().get_size()

    st = Stage([str(scene_file(tmp_path))], StageOptions())
    seen = drive(st, steps)
    assert seen["full"] == seen["desktop"] and seen["layout"].window == seen["desktop"]
    assert seen["picture"] is not None and seen["picture"].shape == (480, 640, 3)
    assert seen["picture"].any()  # the skeletons, not a black screen
    assert seen["back"] != seen["desktop"] or seen["desktop"] == seen["back"]
    assert seen["report"].error is None


def test_help_lists_scenes_and_where_osc_goes_and_the_monitor_counts_it(tmp_path):
    with kit.OscReceiver() as rx:
        path = scene_file(tmp_path, f'[plugins.osc]\ntarget = "127.0.0.1:{rx.port}"\n')

        def steps(st, seen):
            assert wait_until(lambda: len(rx.messages) > 10)
            press(pygame.K_h)
            press(pygame.K_o)
            press(pygame.K_7)  # one scene only: says so
            after_ticks(st)
            overlay = st.overlay
            seen["help"] = [r if isinstance(r, str) else "  ".join(r) for r in overlay.help_rows()]
            seen["monitor"] = [list(r) for r in overlay.panel("monitor").rows()]
            seen["errors"] = overlay.errors()
            seen["layout"] = shown_layout()

        st = Stage([str(path)], StageOptions())
        seen = drive(st, steps)
    assert any(row.startswith("1  show") for row in seen["help"]), seen["help"]
    assert any(f"OSC out  127.0.0.1:{rx.port}" in row for row in seen["help"]), seen["help"]
    target, datagrams, size = seen["monitor"][0]
    assert target.startswith(f"127.0.0.1:{rx.port}") and int(datagrams.split()[0]) > 0
    assert int(size.split()[0]) > 0 and "/pose" in " ".join(seen["monitor"][1])
    assert any(e.startswith("no scene 7: the scenes are 1 show") for e in seen["errors"])
    assert seen["layout"].side is not None


class Quiet:
    """A plugin that only listens: the run keeps the frames it was handed."""

    @hookimpl
    def posestage_frame(self, frame):
        return None


def test_a_looping_replay_leaves_no_ghost_behind(tmp_path):
    """The take ends with its one person on the right and starts with them on the left: at the
    loop everyone leaves, so the first frames again hold one person and no ghost."""
    left = kit.person(1, 0, x=150.0).xy
    right = kit.person(1, 0, x=500.0).xy
    stream = kit.write_stream(tmp_path / "take.jsonl", [[left]] * 10 + [[right]] * 10)
    run = kit.run_plugin(Quiet(), name="quiet", source=stream, frames=45)
    after_loop = [f for f in run.frames if f.index in (20, 21, 22, 40, 41)]
    assert after_loop and all(len(f.people) == 1 for f in after_loop)
    assert all(p.missing == 0 for f in after_loop for p in f.people)
    within = [f for f in run.frames if f.index in (10, 11)]  # inside the take: a real dropout
    assert any(p.missing > 0 for f in within for p in f.people)


def test_the_window_is_resizable_and_the_text_follows(tmp_path):
    def steps(st, seen):
        seen["flags"] = pygame.display.get_surface().get_flags()
        seen["before"] = shown_layout().status.h

    if os.environ.get("SDL_VIDEODRIVER") != "dummy":
        pytest.skip("the window's flags are the dummy driver's here")
    st = Stage([str(scene_file(tmp_path))], StageOptions())
    seen = drive(st, steps)
    assert seen["flags"] & pygame.RESIZABLE
    small, big = Overlay(), Overlay()
    small.resize(240)
    big.resize(1080)
    assert big.line > small.line


def test_screenshot_saves_the_window_as_last_shown(tmp_path):
    shot = tmp_path / "stage.png"

    def steps(st, seen):
        seen["size"] = pygame.display.get_surface().get_size()
        frames = st.pipeline.dispatched
        assert wait_until(lambda: st.pipeline.dispatched > frames + 3)

    st = Stage([str(scene_file(tmp_path))], StageOptions(screenshot=str(shot)))
    seen = drive(st, steps)
    assert seen["report"].error is None
    image = pygame.image.load(str(shot))
    assert image.get_size() == seen["size"]
    assert pixels(image).any()


def test_fullscreen_under_a_real_x_server_shows_the_picture_at_the_screens_size(tmp_path):
    """Under Xvfb (a real X server, as a projector's desktop would be): ``--fullscreen`` takes
    the screen's 1600x900 and the picture is there, not a black screen."""
    import shutil
    import subprocess
    import sys

    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        if os.environ.get("CI"):
            pytest.fail("Xvfb is not installed (apt install xvfb)")
        pytest.skip("Xvfb is not installed (apt install xvfb)")
    display = None
    for number in range(140, 200):  # a display number nobody uses
        if (
            not Path(f"/tmp/.X11-unix/X{number}").exists()
            and not Path(f"/tmp/.X{number}-lock").exists()
        ):
            display = f":{number}"
            break
    assert display is not None
    server = subprocess.Popen(
        [xvfb, display, "-screen", "0", "1600x900x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        socket = Path(f"/tmp/.X11-unix/X{display[1:]}")
        assert wait_until(lambda: socket.exists() or server.poll() is not None)
        assert server.poll() is None, "Xvfb exited"
        shot = tmp_path / "full.png"
        env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
        env["DISPLAY"] = display
        done = subprocess.run(
            [sys.executable, "-m", "posestage", "run", str(ROOT / "scenes" / "demo.toml"),
             "--fullscreen", "--duration", "3", "--screenshot", str(shot)],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    finally:
        server.terminate()
        server.wait(10)
    image = pygame.image.load(str(shot))
    assert image.get_size() == (1600, 900)
    drawn = pixels(image)
    assert drawn[60:-80].any(axis=-1).mean() > 0.001  # skeletons in the picture, not black
