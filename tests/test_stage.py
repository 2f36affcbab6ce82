"""The stage for real: threads, the real model on shared images, plugins, window, shutdown.

Everything runs headless (SDL dummy video driver) on real images: stills, a window sliding
across a shared photo (people move), sequences where people leave and someone else comes in,
and pose-stream replays. Plugins are plain objects registered with a real PluginHost.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path

import numpy as np
import pygame
import pytest
from PIL import Image

from posestage.errors import PosestageError, SourceError
from posestage.hookspecs import hookimpl
from posestage.plugins import PluginHost
from posestage.poses import Pose
from posestage.posestream import read_posestream
from posestage.scenes import parse_scene
from posestage.sources import ArraySource, SourceOptions, open_source
from posestage.stage import Mailbox, Stage, StageOptions, mirror_poses

ROOT = Path(__file__).resolve().parents[1]
MODEL = "posenet-481x641"
SNOW = (236, 238, 242)


# -- helpers ----------------------------------------------------------------------------------


def load_rgb(path: Path, scale: float = 1.0) -> np.ndarray:
    img = Image.open(path).convert("RGB")
    if scale != 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.BILINEAR)
    return np.asarray(img).copy()


class FrameSource(ArraySource):
    """:class:`ArraySource` counting its ``close`` calls (clean-shutdown tests)."""

    closed_calls = 0

    def _close(self):
        self.closed_calls += 1


def sliding(image: np.ndarray, count: int, size=(400, 400), start=(30, 26), step=(8, 0)):
    """``count`` crops of ``image``, the window moving by ``step`` pixels per frame."""
    w, h = size
    out = []
    for i in range(count):
        x, y = start[0] + i * step[0], start[1] + i * step[1]
        out.append(image[y : y + h, x : x + w])
    return out


def blank(width: int, height: int) -> np.ndarray:
    return np.full((height, width, 3), SNOW, dtype=np.uint8)


def pasted(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` scaled to the height and centred on a snow-coloured canvas."""
    h, w = image.shape[:2]
    scale = height / h
    small = np.asarray(Image.fromarray(image).resize((round(w * scale), height), Image.BILINEAR))
    out = blank(width, height)
    x = (width - small.shape[1]) // 2
    out[:, x : x + small.shape[1]] = small
    return out


class Collector:
    """A test plugin: records what it is given, on which thread, and draws a coloured box."""

    def __init__(self, name: str, log: list | None = None, color=None, box=(0, 0, 40, 40)):
        self.name = name
        self.log = log if log is not None else []
        self.color = color
        self.box = box
        self.frames: list = []
        self.entered: list = []
        self.left: list = []
        self.draws = 0
        self.configured = 0
        self.unconfigured = 0
        self.threads: dict[str, set] = {}
        self.canvas_sizes: set = set()

    def _thread(self, hook: str) -> None:
        self.threads.setdefault(hook, set()).add(threading.current_thread().name)

    @hookimpl
    def posestage_configure(self, stage, settings):
        self.configured += 1
        self.stage = stage

    @hookimpl
    def posestage_unconfigure(self, stage):
        self.unconfigured += 1

    @hookimpl
    def posestage_frame(self, frame):
        self._thread("frame")
        self.frames.append(frame)

    @hookimpl
    def posestage_person_enter(self, person, frame):
        self._thread("enter")
        self.entered.append((person.id, person.slot, frame.index))

    @hookimpl
    def posestage_person_leave(self, person, frame):
        self._thread("leave")
        self.left.append((person.id, person.slot, frame.index))

    @hookimpl
    def posestage_draw(self, canvas, frame):
        self._thread("draw")
        self.draws += 1
        self.canvas_sizes.add(canvas.get_size())
        self.log.append(self.name)
        if self.color is not None:
            canvas.fill(self.color, pygame.Rect(self.box))


class Crasher(Collector):
    """Raises in every frame hook after the ``after``-th frame.

    No draw hook: a successful draw (main thread, at display pace) between two failing frames
    would reset the failure count depending on scheduling; without it the count is exact."""

    posestage_draw = None

    def __init__(self, name: str, after: int = 2):
        super().__init__(name)
        self.after = after

    @hookimpl
    def posestage_frame(self, frame):
        self.frames.append(frame)
        if len(self.frames) > self.after:
            raise RuntimeError("boom on purpose")


def host_with(*plugins: Collector) -> PluginHost:
    host = PluginHost()
    for plugin in plugins:
        host.register(plugin, plugin.name)
    return host


def scene_of(host: PluginHost, *names: str, stage: str = "", tracking: str = ""):
    text = f"[stage]\n{stage}\n[tracking]\n{tracking}\n" + "".join(
        f"[plugins.{n}]\n" for n in names
    )
    return parse_scene(text, None, host)


def run_stage(source, *plugins, engine=None, stage="", tracking="", **options):
    host = host_with(*plugins)
    scene = scene_of(host, *[p.name for p in plugins], stage=stage, tracking=tracking)
    options.setdefault("headless", True)
    st = Stage([scene], StageOptions(**options), host=host, source=source, engine=engine)
    report = st.run()
    return st, report


@pytest.fixture(scope="module")
def engine(shared):
    from posestage.engine import PoseEngine

    return PoseEngine(MODEL)


@pytest.fixture(scope="module")
def couple(images_dir) -> np.ndarray:
    return load_rgb(images_dir / "couple.jpg", scale=1 / 3)  # 640x426, two people


def write_stream(path: Path, frames: int, people: int = 1, width=640, height=480):
    """A synthetic pose stream: ``people`` standing figures walking right."""
    from posestage.posestream import PoseStreamWriter, StreamFrame, StreamHeader, StreamPerson

    ys = np.linspace(60, 420, 17, dtype=np.float32)
    with PoseStreamWriter(path, StreamHeader(width=width, height=height)) as w:
        for i in range(frames):
            ps = []
            for k in range(people):
                x = 60 + 200 * k + (i % 100) + np.linspace(-30, 30, 17, dtype=np.float32)
                xy = np.stack([x, ys], 1).astype(np.float32)
                ps.append(StreamPerson(k + 1, k, 0.9, xy, np.full(17, 0.9, np.float32)))
            w.write(StreamFrame(i, 1_700_000_000.0 + i / 30, width, height, ps))


# -- the mailbox and mirroring (fast) ---------------------------------------------------------


def test_mailbox_newest_wins_for_live_sources():
    box = Mailbox()
    assert box.put(1) and box.put(2) and box.put(3)
    assert box.take(0) == 3 and box.dropped == 2
    assert box.take(0.01) is None
    box.put(4)
    box.close()
    assert not box.put(5)
    assert box.take(0) == 4 and box.finished and box.take(0) is None


def test_mailbox_waits_for_the_consumer_when_every_frame_counts():
    box = Mailbox()
    got = []

    def consumer():
        while (item := box.take(1.0)) is not None:
            got.append(item)
            time.sleep(0.002)

    t = threading.Thread(target=consumer)
    t.start()
    for i in range(50):
        assert box.put(i, wait=True)
    box.close()
    t.join(5)
    assert got == list(range(50)) and box.dropped == 0


def test_mailbox_skips_a_frame_about_to_be_replaced():
    """A camera puts a frame every 20 (clock) seconds; taking one 17 s after its put, with a
    5 s fresh window, waits for the next frame (3 s away) instead of taking the old one.
    The clock is injected and the next put is made once the consumer waits: deterministic on a
    busy machine (the only real wait is bounded by the due time, and ends at the put)."""
    now = [100.0]
    consumer_asked = threading.Event()

    def clock():
        if threading.current_thread().name == "consumer":
            consumer_asked.set()
        return now[0]

    box = Mailbox(clock=clock)

    def put_at(t, item):
        now[0] = t
        box.put(item)

    for i in range(3):  # the mailbox learns the period
        put_at(100.0 + 20.0 * i, i)
    assert box.period == pytest.approx(20.0)
    now[0] = 157.0  # 17 s after the last put, the next is due in 3 s
    assert box.take(0) == 2  # plain take: the frame in the slot, however old
    put_at(160.0, 3)
    now[0] = 177.0
    assert box.take(0, fresh_within=1.0) == 3  # next put not due within 1 s: no wait
    put_at(180.0, 4)
    now[0] = 197.0  # again 3 s before the next put is due
    got = []
    consumer = threading.Thread(
        target=lambda: got.append(box.take(0, fresh_within=5.0)), name="consumer"
    )
    consumer.start()
    assert consumer_asked.wait(10)
    put_at(200.0, 5)  # the lock is the consumer's until it waits: this put lands during the wait
    consumer.join(10)
    assert got == [5] and box.dropped == 3  # waited for the new frame: 4 was replaced (0, 1 too)


def test_mirror_poses_flips_x_only_and_copies():
    xy = np.array([[10.0, 5.0]] * 17, dtype=np.float32)
    pose = Pose(0.8, xy, np.ones(17, np.float32))
    (m,) = mirror_poses([pose], 640)
    assert np.allclose(m.xy[:, 0], 629) and np.allclose(m.xy[:, 1], 5)
    assert pose.xy[0, 0] == 10 and m.score == 0.8


# -- the real model on shared images -----------------------------------------------------------


@pytest.mark.slow
def test_stills_through_the_real_model(images_dir, engine):
    source = open_source(str(images_dir), SourceOptions())
    plugin = Collector("collect")
    st, report = run_stage(source, plugin, engine=engine)
    frames = plugin.frames
    assert [f.index for f in frames] == [0, 1, 2]  # couple.jpg, squat.bmp, two_people.bmp
    assert report.frames == 3 and report.stopped_by == "source ended" and not report.errors
    assert [(f.width, f.height) for f in frames] == [(1920, 1278), (500, 610), (640, 480)]
    assert all(f.latency_ms > 0 and f.inference_ms > 0 for f in frames)
    assert all(f.latency_ms >= f.inference_ms for f in frames)
    assert [sum(p.missing == 0 for p in f.people) for f in frames] == [2, 1, 2]
    assert all(f.image is not None and f.image.shape == (f.height, f.width, 3) for f in frames)
    # the people are where the photo has them: couple.jpg's two walkers in its middle third
    xs = sorted(float(np.median(p.xy[:, 0])) for p in frames[0].people)
    assert 550 < xs[0] < 1000 < xs[1] < 1400
    # hooks on the documented threads; the canvas maps source pixels
    assert plugin.threads["frame"] == {"posestage-pose"} == plugin.threads["enter"]
    assert plugin.threads["draw"] == {threading.main_thread().name}
    assert plugin.canvas_sizes <= {(1920, 1278), (500, 610), (640, 480)}
    assert plugin.configured == 1 and plugin.unconfigured == 1


@pytest.mark.slow
def test_people_moving_keep_their_ids(couple, engine):
    source = FrameSource(sliding(couple, 20))
    plugin = Collector("collect")
    _, report = run_stage(source, plugin, engine=engine)
    frames = plugin.frames
    assert [f.index for f in frames] == list(range(20))
    assert all(len(f.people) == 2 and all(p.missing == 0 for p in f.people) for f in frames)
    ids = {tuple(sorted(p.id for p in f.people)) for f in frames}
    assert ids == {(1, 2)}
    assert sorted(e[0] for e in plugin.entered) == [1, 2]
    # they really moved: the window slides right, so people move left by ~8 px a frame
    first = {p.id: float(np.median(p.raw_xy[:, 0])) for p in frames[0].people}
    last = {p.id: float(np.median(p.raw_xy[:, 0])) for p in frames[-1].people}
    for pid in first:
        assert 120 < first[pid] - last[pid] < 180
    # the stage's leave for people still there comes at shutdown, after the last frame
    assert sorted(x[0] for x in plugin.left) == [1, 2]


@pytest.mark.slow
def test_enter_and_leave_as_people_go_and_come(images_dir, engine):
    pair = load_rgb(images_dir / "two_people.bmp")  # 640x480
    squat = pasted(load_rgb(images_dir / "squat.bmp"), 640, 480)
    images = [pair] * 4 + [blank(640, 480)] * 5 + [squat] * 3
    plugin = Collector("collect")
    run_stage(FrameSource(images), plugin, engine=engine, tracking="max_missing = 2")
    assert sorted(plugin.entered) == [(1, 0, 0), (2, 1, 0), (3, 0, 9)]
    # both leave when the grace of 2 missing frames is over (frame 4 is the first blank one)
    assert sorted(x for x in plugin.left if x[2] == 6) == [(1, 0, 6), (2, 1, 6)]
    counts = [len(f.people) for f in plugin.frames]
    assert counts == [2, 2, 2, 2, 2, 2, 0, 0, 0, 1, 1, 1]
    assert [p.missing for p in plugin.frames[5].people] == [2, 2]


# -- plugins: order, isolation, privacy ------------------------------------------------------


def test_two_plugins_draw_in_scene_order(tmp_path):
    write_stream(tmp_path / "s.jsonl", 10)
    log: list = []
    red = Collector("red", log, color=(255, 0, 0), box=(0, 0, 100, 100))
    blue = Collector("blue", log, color=(0, 0, 255), box=(50, 50, 100, 100))
    source = open_source(f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="fast"))
    host = host_with(red, blue)
    scene = scene_of(host, "red", "blue")
    st = Stage([scene], StageOptions(headless=True), host=host, source=source)
    canvases = []
    original = host.draw

    def draw(canvas, frame):  # keep what the plugins drew on the stage's canvas
        original(canvas, frame)
        canvases.append(canvas.copy())

    host.draw = draw
    st.run()
    assert log and len(log) % 2 == 0
    assert all(log[i : i + 2] == ["red", "blue"] for i in range(0, len(log), 2))
    canvas = canvases[-1]
    assert canvas.get_size() == (640, 480)
    assert tuple(canvas.get_at((20, 20)))[:3] == (255, 0, 0)
    assert tuple(canvas.get_at((75, 75)))[:3] == (0, 0, 255)  # blue drew over red
    assert tuple(canvas.get_at((300, 300)))[:3] == (0, 0, 0)  # no image on replay


def test_a_plugin_that_raises_is_switched_off_and_the_show_goes_on(tmp_path):
    write_stream(tmp_path / "s.jsonl", 40)
    crasher = Crasher("crasher", after=2)
    good = Collector("good")
    source = open_source(f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="fast"))
    st, report = run_stage(source, crasher, good)
    assert len(good.frames) == 40 and report.frames == 40
    assert len(crasher.frames) == 5  # 2 fine + 3 failures, then switched off
    assert any("boom on purpose" in e for e in report.errors)
    assert any("switched off" in e for e in report.errors)
    assert crasher.unconfigured == 1 and good.unconfigured == 1  # unconfigured exactly once
    assert report.stopped_by == "source ended" and report.error is None


@pytest.mark.slow
def test_privacy_mode_withholds_the_image_from_all_but_the_plugin_that_asked(couple, engine):
    class Anonymizer(Collector):
        @hookimpl
        def posestage_privacy(self):
            return True

    plugin = Collector("collect")
    anonymizer = Anonymizer("anonymizer")
    pixels = []
    host = host_with(anonymizer, plugin)
    scene = scene_of(host, "anonymizer", "collect")
    source = FrameSource(sliding(couple, 4))
    st = Stage([scene], StageOptions(headless=True), host=host, source=source, engine=engine)
    original = host.draw

    def draw(canvas, frame):
        original(canvas, frame)
        pixels.append(pygame.surfarray.array3d(canvas).max())

    host.draw = draw
    report = st.run()
    assert report.frames == 4 and len(plugin.frames) == 4
    assert all(f.image is None for f in plugin.frames)
    # the plugin that asked for privacy keeps the pixels (the anonymizer's empty background)
    assert all(f.image is not None for f in anonymizer.frames)
    assert all(len(f.people) == 2 for f in plugin.frames)  # poses still flow
    assert pixels and max(pixels) == 0  # the canvas never got a camera pixel
    # the same with [stage] privacy = true and no plugin asking
    plugin2 = Collector("collect")
    _, report = run_stage(
        FrameSource(sliding(couple, 2)), plugin2, engine=engine, stage="privacy = true"
    )
    assert [f.image for f in plugin2.frames] == [None, None]


# -- mirror ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_mirror_flips_image_and_coordinates_consistently(couple, engine):
    images = sliding(couple, 3)
    plain, mirrored = Collector("plain"), Collector("mirrored")
    run_stage(FrameSource(images), plain, engine=engine)
    run_stage(FrameSource(images), mirrored, engine=engine, mirror=True)
    for a, b in zip(plain.frames, mirrored.frames, strict=True):
        assert b.mirrored and not a.mirrored
        assert np.array_equal(b.image, a.image[:, ::-1])
        pa = sorted(a.people, key=lambda p: -p.xy[0, 0])  # rightmost first
        pb = sorted(b.people, key=lambda p: p.xy[0, 0])  # leftmost first
        for p, q in zip(pa, pb, strict=True):
            assert np.allclose(q.raw_xy[:, 0], a.width - 1 - p.raw_xy[:, 0], atol=1e-3)
            assert np.allclose(q.raw_xy[:, 1], p.raw_xy[:, 1])
    # tracking ran on the mirrored world: ids still start at the left of the (mirrored) image
    assert {p.slot for p in mirrored.frames[0].people} == {0, 1}


# -- replay round trip -------------------------------------------------------------------------


def _recorder():
    spec = importlib.util.spec_from_file_location(
        "posestage_recorder", ROOT / "plugins" / "recorder" / "posestage_recorder.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Recorder()


@pytest.mark.slow
def test_record_then_replay_gives_the_same_people(tmp_path, couple, engine):
    path = tmp_path / "show.jsonl"
    live = Collector("collect")
    recorder = _recorder()
    host = host_with(live)
    host.register(recorder, "recorder")
    text = f'[plugins.collect]\n[plugins.recorder]\npath = "{path.as_posix()}"\n'
    scene = parse_scene(text, None, host)
    st = Stage(
        [scene],
        StageOptions(headless=True),
        host=host,
        source=FrameSource(sliding(couple, 12)),
        engine=engine,
    )
    st.run()
    header, recorded = read_posestream(path)
    assert len(recorded) == 12 and (header.width, header.height) == (400, 400)

    replayed = Collector("collect")
    source = open_source(f"replay:{path}", SourceOptions(pace="fast"))
    _, report = run_stage(source, replayed)  # no engine given, none needed
    assert report.frames == 12 and report.inference_ms == (0.0, 0.0)
    assert len(replayed.frames) == len(live.frames) == 12
    for a, b in zip(live.frames, replayed.frames, strict=True):
        assert (a.index, a.timestamp, a.width, a.height) == (
            b.index,
            b.recorded,  # the replayed frame's timestamp is this run's; recorded is the take's
            b.width,
            b.height,
        )
        assert b.image is None
        assert [(p.id, p.slot) for p in a.people] == [(p.id, p.slot) for p in b.people]
        for p, q in zip(a.people, b.people, strict=True):
            assert np.array_equal(p.raw_xy, q.raw_xy)
            assert np.allclose(p.xy, q.xy, atol=1e-3)  # smoothing reproduces too


# -- stopping: frames, duration, source end, shutdown ----------------------------------------


def test_frames_limit_stops_exactly(tmp_path):
    write_stream(tmp_path / "s.jsonl", 100)
    plugin = Collector("collect")
    source = open_source(f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="fast", loop=True))
    st, report = run_stage(source, plugin, frames=25)
    assert report.frames == 25 == len(plugin.frames) and report.stopped_by == "frames"
    assert [f.index for f in plugin.frames] == list(range(25))
    assert plugin.unconfigured == 1 and source.closed
    assert not any(t.is_alive() for t in st._threads)


def test_duration_limit_stops_a_live_replay(tmp_path):
    write_stream(tmp_path / "s.jsonl", 30)
    plugin = Collector("collect")
    source = open_source(
        f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="realtime", loop=True)
    )
    t0 = time.perf_counter()
    _, report = run_stage(source, plugin, duration=0.6)
    took = time.perf_counter() - t0
    assert report.stopped_by == "duration" and took >= 0.55
    # paced at the recorded ~30 fps: never more frames than the time allowed (load: fewer)
    assert 1 <= report.frames <= 30 * took + 2
    assert all(f.latency_ms >= 0 for f in plugin.frames)  # speed: bench/stage.py


def test_clean_shutdown_unconfigures_every_plugin_and_closes_the_source(tmp_path):
    write_stream(tmp_path / "s.jsonl", 20, people=2)
    a, b, c = Collector("a"), Crasher("b", after=0), Collector("c")
    source = open_source(f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="fast"))
    st, report = run_stage(source, a, b, c)
    assert (a.configured, b.configured, c.configured) == (1, 1, 1)
    assert (a.unconfigured, b.unconfigured, c.unconfigured) == (1, 1, 1)  # b: after its crash
    assert source.closed and not any(t.is_alive() for t in st._threads)
    # people still on stage get their leave before the plugins are unconfigured
    assert sorted(x[0] for x in a.left) == [1, 2] and all(x[2] == 19 for x in a.left)


def test_ctrl_c_during_start_up_still_unconfigures_the_plugins_already_configured(tmp_path):
    class Interrupted(Collector):
        """Ctrl-C arrives while this plugin's configure is busy (opening a port, say)."""

        @hookimpl
        def posestage_configure(self, stage, settings):
            self.configured += 1
            raise KeyboardInterrupt

    write_stream(tmp_path / "s.jsonl", 5)
    a, b, c = Collector("a"), Interrupted("b"), Collector("c")
    source = open_source(f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="fast"))
    with pytest.raises(KeyboardInterrupt):
        run_stage(source, a, b, c)
    assert (a.configured, b.configured, c.configured) == (1, 1, 0)
    assert (a.unconfigured, b.unconfigured, c.unconfigured) == (1, 1, 0)
    assert source.closed


def test_a_scene_switch_never_lands_inside_a_frame(tmp_path):
    """The main thread switches to a mirrored scene while the pose thread is between
    detection and dispatch: that frame must be wholly unmirrored or wholly mirrored."""
    from posestage.hookspecs import ControlMessage
    from posestage.tracking import Tracker

    write_stream(tmp_path / "s.jsonl", 6)
    plugin = Collector("collect")
    host = host_with(plugin)
    scenes = [scene_of(host, "collect"), scene_of(host, "collect", stage="mirror = true")]
    source = open_source(f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="fast"))
    st = Stage(scenes, StageOptions(headless=True), host=host, source=source)

    class SwitchWhileTracking(Tracker):
        switched = False

        def update(self, poses, width, height, timestamp):
            if not self.switched:  # the first frame: ask for the switch and give it time
                self.switched = True
                st.post(ControlMessage("scene", value=2, source="test"))
                deadline = time.perf_counter() + 0.3
                while not st.mirror and time.perf_counter() < deadline:
                    time.sleep(0.005)
            return super().update(poses, width, height, timestamp)

    st.tracker = SwitchWhileTracking(st.tracker.settings)
    report = st.run()
    assert report.error is None and len(plugin.frames) == 6
    assert any(f.mirrored for f in plugin.frames)  # the switch did happen
    for f in plugin.frames:
        x = 30.0 + f.index  # the nose of write_stream's walker, recorded (unmirrored)
        expected = (f.width - 1) - x if f.mirrored else x
        (seen,) = [p for p in f.people if p.missing == 0]
        assert seen.raw_xy[0, 0] == pytest.approx(expected), f.index


def test_malformed_control_messages_never_stop_the_show(tmp_path):
    from types import SimpleNamespace

    from posestage.hookspecs import ControlMessage

    write_stream(tmp_path / "s.jsonl", 30)
    plugin = Collector("collect")
    source = open_source(
        f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="realtime", loop=True)
    )
    host = host_with(plugin)
    st = Stage([scene_of(host, "collect")], StageOptions(headless=True), host=host, source=source)

    def control():
        time.sleep(0.2)
        st.post(ControlMessage("scene", value=float("nan"), source="osc"))
        st.post(ControlMessage("scene", value=float("inf"), source="osc"))
        st.post(SimpleNamespace(action="set", target="collect", value=3, source="osc"))
        time.sleep(0.3)
        st.stop("quit")

    controller = threading.Thread(target=control)
    controller.start()
    report = st.run()
    controller.join()
    assert report.error is None and report.stopped_by == "quit"
    assert any("no scene nan" in e for e in report.errors)
    assert any("no scene inf" in e for e in report.errors)
    assert any("collect" in e and "unknown setting" in e for e in report.errors)


@pytest.mark.slow
def test_an_engine_error_on_one_frame_is_reported_and_the_loop_goes_on(couple, engine):
    class Flaky:
        """The real engine, failing on the 3rd image."""

        def __init__(self):
            self.calls = 0

        def detect(self, image):
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("interpreter hiccup")
            return engine.detect(image)

    plugin = Collector("collect")
    _, report = run_stage(FrameSource(sliding(couple, 6)), plugin, engine=Flaky())
    assert [f.index for f in plugin.frames] == [0, 1, 3, 4, 5]
    assert report.engine_errors == 1 and any("interpreter hiccup" in e for e in report.errors)
    assert report.stopped_by == "source ended" and report.error is None


class CountedCamera(FrameSource):
    """A live source (100 fps) that lets others wait until it has read a number of frames."""

    def __init__(self, images):
        super().__init__(images, fps=100)
        self.reads = 0
        self.changed = threading.Condition()

    def _read(self):
        frame = super()._read()
        with self.changed:
            self.reads += 1
            self.changed.notify_all()
        return frame


@pytest.mark.slow
def test_live_source_drops_stale_frames_and_latency_stays_low(couple, engine):
    """Deterministic: every detection lasts until the camera has delivered two newer frames
    (the real engine, slower than the camera whatever the machine's load), so the newest frame
    must win: each processed frame skips the stale ones, none is processed late."""
    images = sliding(couple, 20, step=(4, 0)) * 3
    source = CountedCamera(images)

    class SlowerThanTheCamera:
        def detect(self, image):
            with source.changed:
                target = min(source.reads + 3, len(images))  # frame reads+1 put, reads+2 read
                source.changed.wait_for(lambda: source.reads >= target, timeout=30)
            return engine.detect(image)

    plugin = Collector("collect")
    _, report = run_stage(source, plugin, engine=SlowerThanTheCamera())
    indices = [f.index for f in plugin.frames]
    assert indices == sorted(set(indices)) and report.dropped > 0
    assert len(indices) + report.dropped == report.read == 60
    # newest frame wins: after each detection the frame taken is a fresh one, >= 2 ahead
    assert all(b - a >= 2 for a, b in zip(indices[:-2], indices[1:-1]))
    assert all(f.people for f in plugin.frames)  # and the real model saw the people


class UnpluggedCamera(FrameSource):
    """A live source whose device drops out for a few reads, as a USB camera pulled out and
    plugged back in: reads 5..7 fail until ``recover`` has been called twice."""

    def __init__(self, images):
        super().__init__(images, fps=100)
        self.reads = self.recovers = 0

    def _read(self):
        self.reads += 1
        if self.reads >= 5 and self.recovers < 2:
            raise SourceError("--source camera:0: the camera stopped (device unplugged)")
        return super()._read()

    def recover(self):
        self.recovers += 1


def test_a_live_source_that_fails_is_reopened_and_the_show_goes_on(couple, engine, monkeypatch):
    import posestage.stage as stage_module

    monkeypatch.setattr(stage_module, "SOURCE_RETRY_SECONDS", 0.05)
    source = UnpluggedCamera(sliding(couple, 12))
    plugin = Collector("collect")
    _, report = run_stage(source, plugin, engine=engine)
    assert source.recovers == 2 and report.stopped_by == "source ended"
    assert report.read == 12 and len(plugin.frames) > 0 and plugin.unconfigured == 1
    assert any("device unplugged" in e and "retrying" in e for e in report.errors)
    assert any("back after 2 failed read(s)" in e for e in report.errors)


# -- the window (SDL dummy) --------------------------------------------------------------------


def test_window_loop_keys_and_display_rate(tmp_path):
    write_stream(tmp_path / "s.jsonl", 300)
    plugin = Collector("collect", color=(0, 255, 0))
    source = open_source(f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="realtime"))
    host = host_with(plugin)
    st = Stage([scene_of(host, "collect")], StageOptions(), host=host, source=source)

    def press():
        time.sleep(0.6)
        for key in (pygame.K_h, pygame.K_f, pygame.K_t, pygame.K_f, pygame.K_x):
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=""))
            time.sleep(0.05)
        time.sleep(0.5)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q, mod=0, unicode=""))

    presser = threading.Thread(target=press)
    presser.start()
    report = st.run()
    presser.join()
    assert report.stopped_by == "quit" and report.error is None
    # never faster than the 60 Hz display clock; how close to 60 it gets is speed: the bench
    # checks >= 55 unloaded (a loaded 2-core machine gave 19)
    assert 0 < report.display_fps < 70
    assert plugin.draws > 5 and plugin.unconfigured == 1, report
    assert st.overlay.show_help and st.overlay.show_timings
    assert not pygame.display.get_init()


# -- the scene file reloads while running ------------------------------------------------------


@pytest.mark.slow
def test_scene_reload_applies_valid_edits_and_keeps_the_scene_on_bad_ones(tmp_path):
    from posestage.scenes import load_scene

    write_stream(tmp_path / "s.jsonl", 30)
    plugin = Collector("collect")
    host = host_with(plugin)
    path = tmp_path / "scene.toml"
    path.write_text("[plugins.collect]\n[tracking]\nmax_missing = 8\n")
    scene = load_scene(path, host)
    source = open_source(
        f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="realtime", loop=True)
    )
    st = Stage([scene], StageOptions(headless=True, duration=3.0), host=host, source=source)
    seen = {}

    def edit():
        time.sleep(0.5)
        path.write_text("[plugins.collect]\n[tracking]\nmax_missing = 'lots'\n")
        time.sleep(1.0)
        seen["after_bad"] = st.tracker.settings.max_missing
        path.write_text("[plugins.collect]\n[tracking]\nmax_missing = 3\n")
        time.sleep(1.0)
        seen["after_good"] = st.tracker.settings.max_missing
        st.stop()

    editor = threading.Thread(target=edit)
    editor.start()
    report = st.run()
    editor.join()
    assert seen == {"after_bad": 8, "after_good": 3}
    assert any("max_missing" in e and "still running" in e for e in report.errors)
    assert plugin.configured == 1 and plugin.unconfigured == 1  # same settings: kept running


def test_control_messages_switch_scenes_and_plugins(tmp_path):
    from posestage.hookspecs import ControlMessage

    write_stream(tmp_path / "s.jsonl", 30)
    a, b = Collector("a"), Collector("b")
    host = host_with(a, b)
    scenes = [scene_of(host, "a"), scene_of(host, "b", stage="mirror = true")]
    source = open_source(
        f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="realtime", loop=True)
    )
    st = Stage(scenes, StageOptions(headless=True, duration=5.0), host=host, source=source)
    steps = {}

    def control():
        time.sleep(0.3)
        st.post(ControlMessage("scene", value=2, source="test"))
        time.sleep(0.3)
        steps["switched"] = (host.active, st.mirror, len(b.frames) > 0)
        st.post(ControlMessage("scene", value="nowhere", source="test"))
        st.post(ControlMessage("disable", target="b", source="test"))
        time.sleep(0.3)
        steps["disabled"] = host.active
        st.post(ControlMessage("enable", target="a", source="test"))  # not in scene 2: defaults
        time.sleep(0.3)
        steps["enabled a"] = host.active
        st.post(ControlMessage("enable", target="b", source="test"))
        st.post(ControlMessage("enable", target="nobody", source="test"))
        time.sleep(0.3)
        steps["enabled b"] = host.active
        st.stop()

    controller = threading.Thread(target=control)
    controller.start()
    report = st.run()
    controller.join()
    assert steps == {
        "switched": (["b"], True, True),
        "disabled": [],
        "enabled a": ["a"],
        "enabled b": ["b", "a"],  # scene order first, then plugins enabled by hand
    }
    assert (a.configured, a.unconfigured, b.configured, b.unconfigured) == (2, 2, 2, 2)
    assert any("nobody" in e for e in report.errors)
    assert b.frames[-1].mirrored and not a.frames[0].mirrored
    assert any("no scene 'nowhere'" in e for e in report.errors)


def test_overlay_text_and_drawing():
    from posestage.overlay import Overlay, StageStatus, status_text, timing_lines

    status = StageStatus(fps=29.84, inference_ms=31.2, latency_ms=45.04, people=2)
    assert status_text(status) == "FPS 29.8 | inference 31.2 ms | latency 45.0 ms | people 2"
    rows = timing_lines({"a": {"mean_ms": 0.5, "max_ms": 2.0, "calls": 10}, "b": {"mean_ms": 3.0}})
    assert rows[0].startswith("b") and "max" in rows[1] and "10 calls" in rows[1]
    overlay = Overlay()
    overlay.set_error("scene", "scene.toml: bad")
    overlay.add_error("plugin x failed", now=100.0)
    assert overlay.errors(now=101.0) == ["scene.toml: bad", "plugin x failed"]
    assert overlay.errors(now=200.0) == ["scene.toml: bad"]
    overlay.set_error("scene", None)
    overlay.show_help = True
    surface = pygame.Surface((640, 480))
    overlay.draw(surface, status, {}, now=200.0)
    drawn = pygame.surfarray.array3d(surface)
    assert drawn[:30, :200].max() > 200  # the status line is there, top-left
    assert drawn[300:, 400:].max() == 0  # nothing elsewhere


# -- the command line --------------------------------------------------------------------------


def test_run_without_a_camera_fails_with_one_line(capsys):
    import argparse

    from posestage.commands import run as run_cmd

    parser = argparse.ArgumentParser()
    run_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["run", "--source", "camera", "--headless", "--safe"])
    with pytest.raises(PosestageError) as err:
        args.func(args)
    message = str(err.value)
    assert "\n" not in message and "camera" in message


def test_cli_run_on_a_replay_headless(tmp_path, capsys):
    from posestage.cli import main

    write_stream(tmp_path / "s.jsonl", 15)
    status = main(
        [
            "run",
            "--source",
            f"replay:{tmp_path / 's.jsonl'}",
            "--pace",
            "fast",
            "--headless",
            "--safe",
            "--profile",
            "--frames",
            "10",
        ]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "10 frames" in err and "plugin timings" in out


def test_cli_camera_error_exit_status(capsys):
    from posestage.cli import main

    status = main(["run", "--source", "camera", "--headless", "--safe"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("posestage: error: --source camera") and err.count("\n") == 1


def test_bad_options_are_one_line_errors():
    with pytest.raises(PosestageError, match="--frames"):
        StageOptions(frames=0)
    with pytest.raises(PosestageError, match="--duration"):
        StageOptions(duration=-1)
