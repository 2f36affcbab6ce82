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
from fakes import (
    Collector,
    Crasher,
    FrameSource,
    blank,
    host_with,
    load_rgb,
    pasted,
    run_stage,
    scene_of,
    sliding,
    write_stream,
)

from posestage.config.scenes import parse_scene
from posestage.errors import PosestageError, SourceError
from posestage.hookspecs import hookimpl
from posestage.model.poses import Pose
from posestage.model.posestream import read_posestream
from posestage.sources import ReplaySource, SourceOptions, open_source
from posestage.stage import Mailbox, Stage, StageOptions, mirror_poses

ROOT = Path(__file__).resolve().parents[1]
MODEL = "posenet-481x641"
SNOW = (236, 238, 242)


@pytest.fixture(scope="module")
def engine(shared):
    from posestage.engine.pose_engine import PoseEngine

    return PoseEngine(MODEL)


@pytest.fixture(scope="module")
def couple(images_dir) -> np.ndarray:
    return load_rgb(images_dir / "couple.jpg", scale=1 / 3)  # 640x426, two people


def wait_until(condition, timeout: float = 60.0) -> bool:
    """Poll ``condition`` until true; the timeout only guards against a hang (not a speed)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


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
    assert plugin.threads["frame"] == {"posestage-lane-collect"} == plugin.threads["enter"]
    assert plugin.threads["draw"] == {"posestage-lane-collect"}
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

    def draw(canvas, frame, **kw):  # keep what the stage composited
        original(canvas, frame, **kw)
        canvases.append(canvas.copy())

    host.draw = draw
    st.run()
    assert log.count("red") >= 1 and log.count("blue") >= 1  # each on its own layer and lane
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
def test_privacy_mode_withholds_the_image_from_every_plugin(couple, engine):
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

    def draw(canvas, frame, **kw):
        original(canvas, frame, **kw)
        pixels.append(pygame.surfarray.array3d(canvas).max())

    host.draw = draw
    report = st.run()
    assert report.frames == 4 and len(plugin.frames) == 4
    assert all(f.image is None for f in plugin.frames)
    # the plugin that asked for privacy gets none either (the empty room is the stage's)
    assert anonymizer.frames and all(f.image is None for f in anonymizer.frames)
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
    assert not any(t.is_alive() for t in st.threads)


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
    assert source.closed and not any(t.is_alive() for t in st.threads)
    # people still on stage get their leave before the plugins are unconfigured
    assert sorted(x[0] for x in a.left) == [1, 2] and all(x[2] == 19 for x in a.left)


def test_a_keyboard_interrupt_raised_by_configure_is_that_plugins_failure(tmp_path):
    class Interrupted(Collector):
        """Raises KeyboardInterrupt (or SystemExit) itself: not a real Ctrl-C."""

        def __init__(self, name, error):
            super().__init__(name)
            self.error = error

        @hookimpl
        def posestage_configure(self, stage, settings):
            self.configured += 1
            raise self.error

    write_stream(tmp_path / "s.jsonl", 5)
    a, b, c = Collector("a"), Interrupted("b", KeyboardInterrupt()), Collector("c")
    d = Interrupted("d", SystemExit(3))
    source = open_source(f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="fast"))
    st, report = run_stage(source, a, b, c, d)
    assert (a.configured, b.configured, c.configured, d.configured) == (1, 1, 1, 1)
    assert (a.unconfigured, b.unconfigured, c.unconfigured, d.unconfigured) == (1, 1, 1, 1)
    assert len(a.frames) == len(c.frames) == 5 and not b.frames and not d.frames
    assert any("b refused its settings: KeyboardInterrupt" in e for e in report.errors)
    assert any("d refused its settings: SystemExit" in e for e in report.errors)
    assert report.stopped_by == "source ended" and source.closed


def test_a_scene_switch_never_lands_inside_a_frame(tmp_path):
    """The main thread switches to a mirrored scene while the pose thread is between
    detection and dispatch: that frame must be wholly unmirrored or wholly mirrored.
    Deterministic: the source holds back frame 2 until the switch is done, so later frames
    are mirrored whatever the machine's load."""
    from posestage.hookspecs import ControlMessage
    from posestage.tracking.tracker import Tracker

    write_stream(tmp_path / "s.jsonl", 6)
    plugin = Collector("collect")
    host = host_with(plugin)
    scenes = [scene_of(host, "collect"), scene_of(host, "collect", stage="mirror = true")]

    class HeldBack(ReplaySource):
        """The replay, holding back its third frame until the stage mirrors."""

        reads = 0

        def _read(self):
            self.reads += 1
            if self.reads == 3:
                assert wait_until(lambda: st.mirror)
            return super()._read()

    source = HeldBack(tmp_path / "s.jsonl", SourceOptions(pace="fast"))
    st = Stage(scenes, StageOptions(headless=True), host=host, source=source)

    class SwitchWhileTracking(Tracker):
        switched = False

        def update(self, poses, width, height, timestamp):
            if not self.switched:  # the first frame: ask for the switch while inside it
                self.switched = True
                st.post(ControlMessage("scene", value=2, source="test"))
                # give the switch a chance to be under way (it then waits for the frame)
                wait_until(lambda: st.control.busy, timeout=0.3)
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


@pytest.mark.slow
def test_an_engine_error_on_one_frame_is_reported_and_the_loop_goes_on(couple, engine):
    from posestage.engine.pose_engine import PoseEngine

    class Flaky(PoseEngine):
        """The real engine, failing on the 3rd image."""

        calls = 0

        def detect(self, image):
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("interpreter hiccup")
            return super().detect(image)

    plugin = Collector("collect")
    _, report = run_stage(FrameSource(sliding(couple, 6)), plugin, engine=Flaky(MODEL))
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

    from posestage.engine.pose_engine import PoseEngine

    class SlowerThanTheCamera(PoseEngine):
        def detect(self, image):
            with source.changed:
                target = min(source.reads + 3, len(images))  # frame reads+1 put, reads+2 read
                source.changed.wait_for(lambda: source.reads >= target, timeout=30)
            return super().detect(image)

    plugin = Collector("collect")
    _, report = run_stage(source, plugin, engine=SlowerThanTheCamera(MODEL))
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
    import posestage.stage.capture as stage_module

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
        try:  # each key once the window loop is live and has handled the one before
            assert wait_until(lambda: st.display_ticks > 0 and plugin.draws > 0)
            for key in (pygame.K_h, pygame.K_f, pygame.K_t, pygame.K_f, pygame.K_x):
                ticks = st.display_ticks
                pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=""))
                assert wait_until(lambda t=ticks: st.display_ticks > t + 1)
        finally:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q, mod=0, unicode=""))

    presser = threading.Thread(target=press)
    presser.start()
    report = st.run()
    presser.join()
    assert report.stopped_by == "quit" and report.error is None
    assert report.display_fps > 0 and report.redraws > 0  # the rate itself: see bench/
    assert plugin.draws > 0 and plugin.unconfigured == 1
    assert st.overlay.show_help and st.overlay.show_timings
    assert not pygame.display.get_init()


# -- the scene file reloads while running ------------------------------------------------------


@pytest.mark.slow
def test_scene_reload_applies_valid_edits_and_keeps_the_scene_on_bad_ones(tmp_path):
    from posestage.config.scenes import load_scene

    write_stream(tmp_path / "s.jsonl", 30)
    plugin = Collector("collect")
    host = host_with(plugin)
    path = tmp_path / "scene.toml"
    path.write_text("[plugins.collect]\n[tracking]\nmax_missing = 8\n")
    scene = load_scene(path, host)
    source = open_source(
        f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="realtime", loop=True)
    )
    # duration: only a guard against a hang; the editor stops the stage
    st = Stage([scene], StageOptions(headless=True, duration=300.0), host=host, source=source)
    seen = {}

    def edit():
        try:  # each step waits for the stage to have noticed the edit before it
            assert wait_until(lambda: plugin.frames)
            path.write_text("[plugins.collect]\n[tracking]\nmax_missing = 'lots'\n")
            assert wait_until(lambda: any("still running" in e for e in st.errors))
            seen["after_bad"] = st.tracker.settings.max_missing
            path.write_text("[plugins.collect]\n[tracking]\nmax_missing = 3\n")
            wait_until(lambda: st.tracker.settings.max_missing == 3)
            seen["after_good"] = st.tracker.settings.max_missing
        finally:
            st.stop()

    editor = threading.Thread(target=edit)
    editor.start()
    report = st.run()
    editor.join()
    assert seen == {"after_bad": 8, "after_good": 3}
    assert any("max_missing" in e and "still running" in e for e in report.errors)
    assert plugin.configured == 1 and plugin.unconfigured == 1  # same settings: kept running


def test_control_messages_switch_scenes_and_plugins(tmp_path):
    """Each step waits for the reply to its message (resolved once the message was handled)
    and for frames where it needs them, never for a fixed time: the same on a busy machine."""
    from posestage.hookspecs import ControlMessage

    write_stream(tmp_path / "s.jsonl", 30)
    a, b = Collector("a"), Collector("b")
    host = host_with(a, b)
    scenes = [scene_of(host, "a"), scene_of(host, "b", stage="mirror = true")]
    source = open_source(
        f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="realtime", loop=True)
    )
    # duration: only a guard against a hang; the controller stops the stage
    st = Stage(scenes, StageOptions(headless=True, duration=300.0), host=host, source=source)
    steps, replies = {}, []

    def send(**fields):
        reply = st.post(ControlMessage(source="test", **fields)).result(timeout=60)
        replies.append((reply.ok, reply.text))

    def control():
        try:
            assert wait_until(lambda: a.frames)
            send(action="scene", value=2)
            assert wait_until(lambda: b.frames)
            steps["switched"] = (host.active, st.mirror, len(b.frames) > 0)
            send(action="scene", value="nowhere")
            send(action="disable", target="b")
            steps["disabled"] = host.active
            send(action="enable", target="a")  # not in scene 2: its defaults
            steps["enabled a"] = host.active
            send(action="enable", target="b")
            send(action="enable", target="nobody")
            steps["enabled b"] = host.active
            count = len(b.frames)
            assert wait_until(lambda: len(b.frames) > count)  # b runs again, mirrored
        finally:
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
    assert [ok for ok, _ in replies] == [True, False, True, True, True, False]
    assert replies[0][1].startswith("scene 2")
    assert (a.configured, a.unconfigured, b.configured, b.unconfigured) == (2, 2, 2, 2)
    assert "nobody" in replies[5][1]  # refusals after the first are counted, not each reported
    assert report.rejected == 2
    assert b.frames[-1].mirrored and not a.frames[0].mirrored
    assert any("no scene 'nowhere'" in e for e in report.errors)
    assert report.stopped_by == "quit"


def test_overlay_text_and_drawing():
    from posestage.stage.overlay import Overlay, StageStatus, status_text, timing_lines

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
    parts = overlay.draw(surface, status, {}, now=200.0)
    drawn = pygame.surfarray.array3d(surface)
    assert drawn[:30, :200].max() > 200  # the status line is there, top-left
    assert parts.side is not None  # the help in a column of its own
    c = parts.canvas  # nothing over the picture's part of the window
    assert drawn[c.x : c.right, c.y : c.bottom].max() == 0


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


def test_the_window_keeps_drawing_while_a_plugin_is_stuck_and_names_it(tmp_path, monkeypatch):
    """A plugin blocks in ``frame`` (on its lane): the window loop goes on ticking; with
    nothing new to show nobody is redrawn; once a plugin animates (its draw returns True,
    started here by an event) it is redrawn on every tick; the blocked plugin's draw waits
    on its own lane, never for anyone else; the overlay names it with its duration."""
    import posestage.stage.window as window_module
    from posestage.host import PluginHost

    monkeypatch.setattr(window_module, "IDLE_REDRAW", 1e9)  # only redraws for a reason
    now = [1000.0]
    inside, release = threading.Event(), threading.Event()

    class Stuck(Collector):
        @hookimpl
        def posestage_frame(self, frame):
            self.frames.append(frame)
            if frame.index == 3:
                now[0] += 2.0  # the fake clock: this call has taken 2 s so far
                inside.set()
                assert release.wait(30)

    class Animated(Collector):
        animate = False

        @hookimpl
        def posestage_draw(self, canvas, frame):
            self.draws += 1
            return self.animate  # True: draw me again on the next tick

    stuck, animated = Stuck("stuck"), Animated("animated")
    host = PluginHost(clock=lambda: now[0])
    host.dispatcher.stuck_after = 600.0  # slow, not stuck (tests/test_faults.py: stuck)
    for p in (stuck, animated):
        host.register(p, p.name)
    write_stream(tmp_path / "s.jsonl", 300)
    source = open_source(f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="fast"))
    scene = scene_of(host, "stuck", "animated")
    st = Stage([scene], StageOptions(), host=host, source=source)
    seen = {}
    deadline = time.monotonic() + 60

    def ticks(n):
        """Wait for n more display ticks; how many draws the animated plugin got meanwhile."""
        start, draws = st.display_ticks, animated.draws
        while st.display_ticks < start + n and time.monotonic() < deadline:
            time.sleep(0.01)
        return st.display_ticks - start, animated.draws - draws

    def watch():
        try:
            assert inside.wait(30)
            seen["stuck_at"] = stuck.draws
            ticks(5)  # the overlay shows the late plugin: one redraw for that
            seen["idle"] = ticks(30)
            animated.animate = True
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_x, mod=0))
            ticks(2)
            seen["animating"] = ticks(30)
            seen["overlay"] = list(st.overlay.errors())
            seen["stuck_draws"] = stuck.draws
        finally:
            release.set()
            while len(animated.frames) < 10 and time.monotonic() < deadline:
                time.sleep(0.01)
            st.stop("quit")

    watcher = threading.Thread(target=watch)
    watcher.start()
    report = st.run()
    watcher.join()
    idle_ticks, idle_draws = seen["idle"]
    assert idle_ticks >= 30 and idle_draws == 0  # nothing new: no redraw
    busy_ticks, busy_draws = seen["animating"]
    assert busy_ticks >= 30 and busy_draws >= busy_ticks - 1  # one redraw per tick
    assert seen["stuck_draws"] == seen["stuck_at"]  # its draw waits on its lane, nobody else
    assert "stuck: posestage_frame running for 2.0 s (budget 50 ms)" in seen["overlay"]
    assert "stuck: posestage_frame took 2000 ms (budget 50 ms)" in report.slow
    assert report.error is None and report.stopped_by == "quit"


def test_system_exit_and_keyboard_interrupt_from_plugin_code_do_not_end_the_show(tmp_path):
    class Exits(Collector):
        @hookimpl
        def posestage_frame(self, frame):
            self.frames.append(frame)
            raise SystemExit(1)

    class Interrupts(Collector):
        @hookimpl
        def posestage_draw(self, canvas, frame):
            self.draws += 1
            raise KeyboardInterrupt  # on the main thread, where a real Ctrl-C lands too

    write_stream(tmp_path / "s.jsonl", 20)
    exits, interrupts, good = Exits("exits"), Interrupts("interrupts"), Collector("good")
    source = open_source(f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="fast"))
    st, report = run_stage(source, exits, interrupts, good)
    assert report.error is None and report.stopped_by == "source ended"
    assert len(good.frames) == 20 and report.frames == 20
    assert len(exits.frames) == 3 and exits.unconfigured == 1  # switched off after 3
    assert 1 <= interrupts.draws <= 3 and interrupts.unconfigured == 1
    assert any("exits: posestage_frame failed: SystemExit: 1" in e for e in report.errors)
    assert any("interrupts: posestage_draw failed: KeyboardInterrupt" in e for e in report.errors)
