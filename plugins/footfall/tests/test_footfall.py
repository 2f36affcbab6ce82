"""The footfall map: where people stand, counted per cell, fading, written as CSV and PNG.

Through the plugin author's kit only (``posestage`` and ``posestage.testing``): real pose-stream
replays through the real stage, the plugin in a real host hook by hook, real pygame surfaces,
real files; time is frame time throughout, so nothing here waits on the clock.
"""

from __future__ import annotations

import csv
import dataclasses
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pygame
import pytest
from PIL import Image
from posestage_footfall import PNG_OPACITY, Footfall, compose, grid_image

from posestage import (
    KEYPOINT_INDEX,
    Person,
    PoseFrame,
    PoseStreamWriter,
    StreamFrame,
    StreamHeader,
    StreamPerson,
    hookimpl,
)
from posestage.testing import PosedImages, hosted, installed_plugin, run_scene

ROOT = Path(__file__).resolve().parents[3]
W, H = 640, 480
T0 = 1_700_000_000.0
ANKLES = [KEYPOINT_INDEX["left_ankle"], KEYPOINT_INDEX["right_ankle"]]
HIPS = [KEYPOINT_INDEX["left_hip"], KEYPOINT_INDEX["right_hip"]]


def figure(x: float, foot_y: float = 450.0) -> np.ndarray:
    """A standing figure 380 px tall centred on ``x``, ankles at ``foot_y``."""
    ys = np.linspace(foot_y - 380, foot_y, 17, dtype=np.float32)
    xy = np.stack([np.full(17, x, np.float32), ys], 1)
    xy[KEYPOINT_INDEX["left_ankle"]] = (x + 12, foot_y)
    xy[KEYPOINT_INDEX["right_ankle"]] = (x - 12, foot_y)
    xy[KEYPOINT_INDEX["left_hip"]] = (x + 15, foot_y - 175)
    xy[KEYPOINT_INDEX["right_hip"]] = (x - 15, foot_y - 175)
    return xy


def person(x=210.0, pid=1, slot=0, feet=True, missing=0, foot_y=450.0) -> Person:
    xy = figure(x, foot_y)
    scores = np.full(17, 0.9, np.float32)
    if not feet:
        scores[ANKLES] = 0.05
    return Person(pid, slot, 0.9, xy, scores, xy.copy(), missing=missing, width=W, height=H)


def unseen(p: Person, keypoints) -> Person:
    """``p`` with ``keypoints`` scored 0.05 (a changed copy: people are frozen)."""
    scores = p.scores.copy()
    scores[keypoints] = 0.05
    return dataclasses.replace(p, scores=scores)


def frame(i: int, people=(), image=None, fps=30.0, size=(W, H)) -> PoseFrame:
    return PoseFrame(i, T0 + i / fps, time.perf_counter(), *size, list(people), image=image)


class Counter:
    """Another plugin: counts the person-frames the stage showed (people seen in the frame)."""

    name = "count"

    def __init__(self):
        self.seen = 0
        self.frames = 0
        self.images: list = []

    @hookimpl
    def posestage_frame(self, frame):
        self.frames += 1
        self.seen += sum(p.missing == 0 for p in frame.people)
        self.images.append(frame.image)


@pytest.fixture(scope="module", autouse=True)
def _pygame():
    pygame.init()
    yield


@pytest.fixture()
def host():
    """The footfall plugin (a fresh object) in a real plugin host, driven hook by hook."""
    plugin = Footfall()
    with hosted({"footfall": plugin}) as h:
        h.plugin = plugin
        yield h


def table(settings: dict) -> str:
    """``[plugins.footfall]`` with ``settings``, as a scene file has it."""
    lines = ["[plugins.footfall]"]
    for key, value in settings.items():
        shown = f'"{value}"' if isinstance(value, str) else str(value).lower()
        lines.append(f"{key} = {shown}")
    return "\n".join(lines) + "\n"


def activate(host, folder, room=None, **settings):
    """Make footfall with ``settings`` the running scene (``room``: the stage's empty room,
    as the context hands it when the scene lets plugins have it)."""
    settings.setdefault("background", "grid")
    settings["folder"] = str(folder)
    assert host.scene(table(settings), room=room) == []
    return host.plugin


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def totals(rows: list[dict], column="total", shape=(24, 32)) -> np.ndarray:
    grid = np.zeros(shape)
    for row in rows:
        grid[int(row["row"]), int(row["col"])] = row[column]
    return grid


def write_stream(path: Path, people_per_frame, jitter=0.0, seed=0):
    """A replayable pose stream: ``people_per_frame[i]`` people stand at x = 210, 450."""
    rng = np.random.default_rng(seed)
    with PoseStreamWriter(path, StreamHeader(width=W, height=H, start_time=T0)) as w:
        for i, n in enumerate(people_per_frame):
            ps = []
            for k in range(n):
                xy = figure(210.0 + 240 * k) + rng.normal(0, jitter, (17, 2)).astype(np.float32)
                ps.append(StreamPerson(k + 1, k, 0.9, xy, np.full(17, 0.9, np.float32)))
            w.write(StreamFrame(i, T0 + i / 30, W, H, ps))


# -- counting ----------------------------------------------------------------------------------


def test_discovered_as_a_builtin(host, tmp_path):
    info = installed_plugin("footfall")
    assert info.loaded and info.origin == "entry point" and info.builtin
    assert info.distribution == "posestage-footfall"
    assert installed_plugin("footfall", safe=True).loaded
    plugin = activate(host, tmp_path, background="grid")
    assert plugin.posestage_privacy() is None  # the plain grid needs no pixels, no privacy
    activate(host, tmp_path, background="empty")
    assert plugin.posestage_privacy() == "room"  # privacy, with the stage's empty room


def test_a_person_standing_still_concentrates_the_map(tmp_path):
    """A replayed stream, through the real stage: one person standing (with jitter) at x=210,
    ankles at y=450 → the cell (row 22, col 10) holds nearly everything."""
    stream = tmp_path / "still.jsonl"
    write_stream(stream, [1] * 300, jitter=2.0)
    counter = Counter()
    scene = (
        f'[plugins.footfall]\nfolder = "{tmp_path / "out"}"\nbackground = "grid"\nevery = 0.0\n'
        "[plugins.count]\n"
    )
    run = run_scene(scene, {"count": counter}, source=f"replay:{stream}")
    assert len(run.frames) == 300 and run.errors == []
    (csv_path,) = sorted((tmp_path / "out").glob("footfall-*.csv"))
    grid = totals(read_csv(csv_path))
    assert grid.sum() == counter.seen == 300  # every person-frame counted exactly once
    assert np.unravel_index(grid.argmax(), grid.shape) == (22, 10)
    assert grid[22, 10] / grid.sum() > 0.9
    assert grid[:, 12:].sum() == 0 and grid[:18].sum() == 0  # nowhere near elsewhere
    (png_path,) = sorted((tmp_path / "out").glob("footfall-*.png"))
    png = np.asarray(Image.open(png_path).convert("RGB"))
    assert png.shape == (H, W, 3)
    hot = png[22 * 20 + 10, 10 * 20 + 10]  # the middle of cell (22, 10)
    cold = png[5 * 20 + 10, 25 * 20 + 10]
    assert tuple(cold) == (28, 28, 28)  # the plain grid
    assert hot[0] > 200 and tuple(hot) != tuple(cold)


def test_hips_when_the_feet_are_hidden(host, tmp_path):
    plugin = activate(host, tmp_path, every=0.0)
    for i in range(10):
        host.frame(frame(i, [person(feet=False)]))
    # the hips are at y = 275 → row 13; x = 210 → col 10
    assert plugin.total[13, 10] == 10 and plugin.total.sum() == 10
    low = unseen(person(feet=False), HIPS)  # nothing to stand on: not counted
    host.frame(frame(10, [low]))
    one_ankle = unseen(person(), ANKLES[0])  # one ankle seen: that one (x = 198, col 9)
    host.frame(frame(11, [one_ankle]))
    assert plugin.total.sum() == 11 and plugin.total[22, 9] == 1


def test_people_in_a_dropout_are_not_counted(host, tmp_path):
    plugin = activate(host, tmp_path, every=0.0)
    host.frame(frame(0, [person(), person(x=440, pid=2, slot=1, missing=3)]))
    assert plugin.total.sum() == 1


def test_csv_sums_equal_the_frames_observed(tmp_path):
    """Two people, one of them for a while, snapshots every 0.1 min of frame time (180
    frames): the counts of all snapshots add up to the person-frames the stage saw, and each
    snapshot's total is the running sum."""
    stream = tmp_path / "two.jsonl"
    pattern = [1] * 100 + [2] * 300 + [1] * 150 + [0] * 50
    write_stream(stream, pattern)
    counter = Counter()
    scene = (
        f'[plugins.footfall]\nfolder = "{tmp_path / "out"}"\nbackground = "grid"\n'
        "every = 0.1\n[plugins.count]\n"
    )
    run = run_scene(scene, {"count": counter}, source=f"replay:{stream}")
    assert len(run.frames) == 600 and run.errors == []
    files = sorted((tmp_path / "out").glob("footfall-*.csv"))
    # at frame time 6 s, 12 s and 18 s, and the rest when the plugin stopped
    assert len(files) == 4
    snapshots = [read_csv(f) for f in files]
    counts = [totals(rows, "count").sum() for rows in snapshots]
    running = [totals(rows, "total").sum() for rows in snapshots]
    assert sum(counts) == counter.seen == running[-1]
    assert running == list(np.cumsum(counts))
    assert counter.seen == 100 + 2 * 300 + 150
    assert len(snapshots[0]) == 24 * 32  # one row per cell


def test_the_heat_fades_with_the_half_life_in_frame_time(host, tmp_path):
    plugin = activate(host, tmp_path, every=0.0, half_life=0.1)  # 6 s
    for i in range(30):
        host.frame(frame(i, [person()]))
    before = plugin.heat[22, 10]
    assert 28.0 < before < 30.0  # a little faded already, within one second
    for i in range(30, 30 + 180):  # 6 s of nobody
        host.frame(frame(i, []))
    assert plugin.heat[22, 10] == pytest.approx(before / 2, rel=1e-6)
    assert plugin.total[22, 10] == 30  # the counts never fade
    # a looping replay jumps back in time: that is not time passing
    host.frame(frame(0, []))
    assert plugin.heat[22, 10] == pytest.approx(before / 2, rel=1e-6)
    # a scene switch to another half-life keeps the maps (applied live, nothing starts over)
    activate(host, tmp_path, every=0.0, half_life=0.0)
    assert plugin.heat[22, 10] == pytest.approx(before / 2, rel=1e-6)
    assert plugin.total[22, 10] == 30
    host.close()
    plugin = activate(host, tmp_path, every=0.0, half_life=0.0)  # afresh: never fades
    for i in range(3000):
        host.frame(frame(i, [person()] if i < 10 else []))
    assert plugin.heat[22, 10] == 10


def test_snapshots_follow_frame_time_not_the_clock(host, tmp_path):
    activate(host, tmp_path, every=0.05)  # every 3 s of frame time
    for i in range(900):  # 30 s of frame time (frames stamped from T0, long past), fed at once
        host.frame(frame(i, [person()]))
    host.close()
    files = sorted(tmp_path.glob("footfall-*.csv"))
    assert len(files) == 10  # 3 s … 27 s and the last stretch at the end
    stamps = [time.strftime("%Y%m%d-%H%M%S", time.localtime(T0 + s)) for s in range(3, 30, 3)]
    assert [f.stem for f in files[:9]] == [f"footfall-{s}" for s in stamps]
    assert not list(tmp_path.glob(".*part"))  # only complete files


# -- pixels: the empty room or a plain grid, never a person -----------------------------------


def room(seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(30, 226, size=(H, W, 3), dtype=np.uint8)


def with_person(image: np.ndarray) -> np.ndarray:
    out = image.copy()
    out[60:460, 170:230] = (255, 0, 255)
    return out


def png_of(folder: Path) -> np.ndarray:
    (path,) = sorted(folder.glob("footfall-*.png"))
    return np.asarray(Image.open(path).convert("RGB"))


def test_png_over_the_room_only_when_the_stage_hands_it(host, tmp_path):
    """The PNG is drawn over the empty room only when footfall asked for it and the stage
    hands it (``stage.room``: the scene said ``room_pixels = "plugins"``); otherwise over the
    plain grid. Frames never carry pixels footfall could use."""
    empty = room()
    for name, settings, given in (
        ("room", {"background": "empty"}, empty),
        ("not handed", {"background": "empty"}, None),
        ("grid", {"background": "grid"}, empty),
    ):
        out = tmp_path / name
        plugin = activate(host, out, room=given, every=0.0, **settings)
        for i in range(30):
            host.frame(frame(i, [person()]))
        heat = plugin.heat.copy()
        host.close()
        base = empty if name == "room" else grid_image(W, H, 32, 24)
        assert np.array_equal(png_of(out), compose(base, heat, PNG_OPACITY)), name


def stage_run(tmp_path, stage: str):
    """Footfall on the stage, on camera-like frames: people (a magenta "person" in the image)
    for 10 frames, nobody for 40 (the stage takes the room), people again for 30."""
    empty = room()
    counts = [1] * 10 + [0] * 40 + [1] * 30
    source = PosedImages([with_person(empty) if n else empty for n in counts], counts)
    counter = Counter()
    scene = (
        f"[stage]\nempty_seconds = 0.5\n{stage}\n[tracking]\nmax_missing_seconds = 0.1\n"
        f'[plugins.footfall]\nfolder = "{tmp_path}"\nevery = 0.0\n[plugins.count]\n'
    )
    run = run_scene(scene, {"count": counter}, source=source)
    assert run.errors == [] and len(run.frames) == 80
    assert counter.images and all(image is None for image in counter.images)
    return empty, png_of(tmp_path)


def test_on_the_stage_the_png_never_holds_the_room_unless_the_scene_says(tmp_path):
    empty, png = stage_run(tmp_path / "default", "")
    assert not np.all(png == (255, 0, 255), axis=-1).any()
    assert not np.all(png == empty, axis=-1).any()  # not a pixel of the room
    cold = png[: 10 * 20]  # the upper rows: nobody stood there
    assert np.array_equal(cold, grid_image(W, H, 32, 24)[: 10 * 20])


def test_on_the_stage_room_pixels_plugins_puts_the_room_under_the_heat(tmp_path):
    empty, png = stage_run(tmp_path / "plugins", 'room_pixels = "plugins"')
    assert not np.all(png == (255, 0, 255), axis=-1).any()  # never a person
    assert np.array_equal(png[: 10 * 20], empty[: 10 * 20])  # the room, where nobody stood


def test_the_overlay_draws_heat_where_people_stand(host, tmp_path):
    activate(host, tmp_path, every=0.0, opacity=0.8)
    f = frame(0, [person()])
    canvas = pygame.Surface((W, H))
    canvas.fill((0, 0, 0))
    host.draw(canvas, f)
    assert not pygame.surfarray.array3d(canvas).any()  # nothing counted yet: nothing drawn
    host.frame(f)
    host.draw(canvas, f)
    pixels = pygame.surfarray.array3d(canvas).swapaxes(0, 1)
    assert pixels[22 * 20 + 10, 10 * 20 + 10, 0] > 150  # the hot cell is red-hot
    assert not pixels[: 18 * 20].any()  # nowhere above
    big = pygame.Surface((1280, 960))
    host.draw(big, f)  # the overlay scales with the canvas
    assert pygame.surfarray.array3d(big).swapaxes(0, 1)[44 * 20 + 20, 20 * 20 + 20, 0] > 150


def test_live_settings_keep_the_counts(host, tmp_path):
    plugin = activate(host, tmp_path, every=0.0)
    for i in range(20):
        host.frame(frame(i, [person()]))
    # a scene switch offers the new settings live (settings_changed)
    activate(host, tmp_path, every=0.0, opacity=0.3, half_life=5.0)
    assert plugin.total.sum() == 20 and plugin.opacity == 0.3 and plugin.half_life == 300
    activate(host, tmp_path, every=0.0, grid="16x12")  # a new grid starts over
    assert plugin.total.shape == (12, 16) and plugin.total.sum() == 0
    (written,) = sorted(tmp_path.glob("footfall-*.csv"))  # … after writing out the old one
    assert totals(read_csv(written)).sum() == 20


def test_faded_cells_vanish_from_the_overlay(host, tmp_path):
    from posestage_footfall import heat_colors

    heat = np.zeros((24, 32))
    heat[22, 10], heat[5, 5], heat[6, 6] = 1000.0, 250.0, 1e-6
    rgba = heat_colors(heat, 0.6)
    assert rgba[22, 10, 3] == 153 and rgba[5, 5, 3] == 76  # sqrt: a quarter shows half
    assert rgba[6, 6, 3] == 0 and rgba[0, 0, 3] == 0  # long faded and never visited: gone
    assert tuple(rgba[22, 10, :3]) == (255, 255, 255) and rgba[5, 5, 0] > rgba[5, 5, 1]


def test_bad_folder_is_one_clear_line(host, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    problems = host.scene(table({"folder": str(blocker / "sub")}))
    assert len(problems) == 1 and "footfall.folder" in problems[0] and "\n" not in problems[0]


# -- all day -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_memory_stays_flat_over_a_long_replay(host, tmp_path):
    """Hours of frames (frame time) with people coming and going and snapshots being written:
    the memory the plugin holds does not grow (fixed-size maps, a bounded writer queue)."""
    plugin = activate(host, tmp_path, every=0.5, half_life=5.0)  # a snapshot every 900 frames
    walkers = [person(x=50 + 5 * k, foot_y=300 + k) for k in range(100)]

    def feed(start, count):
        for i in range(start, start + count):
            people = [walkers[i % 100]] + ([walkers[(i * 7) % 100]] if i % 3 else [])
            host.frame(frame(i, people, size=(W, H)))

    def settled():
        deadline = time.monotonic() + 30
        while plugin.written < plugin.snapshots and time.monotonic() < deadline:
            time.sleep(0.01)
        return tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        feed(0, 3000)
        base = settled()
        feed(3000, 20000)
        grown = settled() - base
    finally:
        tracemalloc.stop()
    assert plugin.frames == 23000 and plugin.snapshots >= 25 and plugin.dropped == 0
    # every frame one person, two frames in three a second one
    assert plugin.total.sum() == plugin.observed == 23000 + 15333
    assert grown < 64 * 1024, f"{grown} bytes more after 20000 frames"


# -- the scene ---------------------------------------------------------------------------------


def test_scene_on_the_demo_replay(tmp_path, monkeypatch):
    """scenes/footfall.toml on the recorded demo stream, headless: the anonymizer draws the
    skeletons, footfall counts them; no pixels anywhere, a snapshot over the grid at the end."""
    monkeypatch.chdir(tmp_path)
    counter = Counter()
    scene = (ROOT / "scenes" / "footfall.toml").read_text(encoding="utf-8") + "[plugins.count]\n"
    run = run_scene(scene, {"count": counter}, source=f"replay:{ROOT / 'scenes' / 'demo.jsonl'}")
    assert run.active == ["anonymizer", "footfall", "count"]
    assert len(run.frames) == 150 and run.errors == []
    assert all(image is None for image in counter.images)
    (csv_path,) = sorted((tmp_path / "footfall").glob("footfall-*.csv"))
    rows = read_csv(csv_path)
    # both people walked the floor; each person-frame counted at most once (some have
    # neither ankles nor hips scoring 0.3)
    assert 0.5 * counter.seen < totals(rows).sum() <= counter.seen
    png = png_of(tmp_path / "footfall")
    assert png.shape == (H, W, 3)


def doc_row(setting) -> str:
    d = setting.default
    shown = (
        "true"
        if d is True
        else "false"
        if d is False
        else f'"{d}"'
        if isinstance(d, str)
        else repr(d)
    )
    return f"| `{setting.name}` | `{shown}` | {setting.help} |"


def test_docs_describe_the_settings_and_the_csv_as_the_code_does():
    from posestage_footfall import CSV_COLUMNS, SETTINGS

    doc = (ROOT / "docs" / "demos.md").read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert doc_row(setting) in doc, setting.name
    for name, meaning in CSV_COLUMNS:
        assert f"| `{name}` | {meaning} |" in doc, name
    header = (ROOT / "docs" / "demos.md").read_text().split("| column | meaning |")[1]
    listed = [line.split("`")[1] for line in header.splitlines() if line.startswith("| `")]
    assert listed == [name for name, _ in CSV_COLUMNS]  # in the order of the file
