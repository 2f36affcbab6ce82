"""Frame sources for real: stills, PyAV-encoded videos, the missing camera, pose replays."""

from __future__ import annotations

import shutil
import threading
import time

import av
import numpy as np
import pytest
from PIL import Image

from posestage.config.vocabulary import SIZE, VocabularyError
from posestage.errors import SourceError
from posestage.model.posestream import PoseStreamWriter, StreamFrame, StreamHeader, StreamPerson
from posestage.sources import (
    ReplaySource,
    Source,
    SourceFrame,
    SourceOptions,
    StillsSource,
    VideoSource,
    list_cameras,
    open_source,
)

# -- stills ---------------------------------------------------------------------------------


def record_waits(src) -> list[float]:
    """Every wait ``src`` makes for a frame's time (sources wait only through ``_sleep``)."""
    waits: list[float] = []
    sleep = src._sleep

    def recorded(seconds: float) -> bool:
        waits.append(seconds)
        return sleep(seconds)

    src._sleep = recorded
    return waits


def test_single_still(images_dir):
    before = time.time()
    src = open_source(str(images_dir / "couple.jpg"), SourceOptions())
    assert isinstance(src, StillsSource) and not src.live
    assert (src.width, src.height) == (1920, 1278)
    frame = src.read()
    assert frame.image.shape == (1278, 1920, 3) and frame.image.dtype == np.uint8
    assert (frame.width, frame.height, frame.index, frame.poses) == (1920, 1278, 0, None)
    expected = np.asarray(Image.open(images_dir / "couple.jpg").convert("RGB"))
    assert np.array_equal(frame.image, expected)
    assert before <= frame.timestamp <= time.time()  # wall-clock capture time of this run
    assert src.read() is None
    src.close()


def test_folder_of_stills_in_natural_order(tmp_path, images_dir):
    for name in ("two_people.bmp", "squat.bmp"):
        shutil.copy(images_dir / name, tmp_path / name)
    for i, colour in ((2, 10), (10, 200)):
        Image.new("RGB", (32, 24), (colour, 0, 0)).save(tmp_path / f"shot{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    with open_source(str(tmp_path), SourceOptions()) as src:
        frames = list(src)
    names = ["shot2", "shot10", "squat", "two_people"]
    assert len(frames) == len(names)
    assert [f.image.shape for f in frames] == [
        (24, 32, 3),
        (24, 32, 3),
        (610, 500, 3),
        (480, 640, 3),
    ]
    assert [int(f.image[0, 0, 0]) for f in frames[:2]] == [10, 200]
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert [(f.width, f.height) for f in frames[2:]] == [(500, 610), (640, 480)]


def test_glob_resize_and_loop(images_dir):
    opts = SourceOptions(res=(320, 240), loop=True)
    src = open_source(str(images_dir / "*.bmp"), opts)
    assert (src.width, src.height) == (320, 240)
    frames = [src.read() for _ in range(5)]
    assert all(f.image.shape == (240, 320, 3) for f in frames)
    # squat.bmp, two_people.bmp, squat.bmp…: the loop repeats the same pixels
    assert np.array_equal(frames[0].image, frames[2].image)
    assert not np.array_equal(frames[0].image, frames[1].image)
    frames[2].image[:] = 0  # a consumer scribbling on a frame does not change the next loop
    assert np.array_equal(frames[0].image, frames[4].image)
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert all(b.timestamp >= a.timestamp for a, b in zip(frames, frames[1:]))
    src.close()
    assert src.read() is None


def test_stills_errors(tmp_path):
    with pytest.raises(SourceError, match="no images in this folder"):
        open_source(str(tmp_path))
    with pytest.raises(SourceError, match="matches no image files"):
        open_source(str(tmp_path / "*.png"))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"definitely not a jpeg")
    with pytest.raises(SourceError) as err:
        open_source(str(broken))
    assert "broken.jpg" in str(err.value) and "cannot read the image" in str(err.value)


# -- video ----------------------------------------------------------------------------------


def write_video(path, n: int, fps: int, size=(160, 120), codec="libx264") -> None:
    """Synthetic video: a white bar moving right by 8 px per frame on black."""
    w, h = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i in range(n):
            rgb = np.zeros((h, w, 3), np.uint8)
            rgb[:, i * 8 : i * 8 + 8] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def bar_position(image: np.ndarray) -> int:
    return int(np.argmax(image[:, :, 0].mean(axis=0)))


@pytest.mark.parametrize("name, codec", [("clip.mp4", "libx264"), ("clip.webm", "libvpx-vp9")])
def test_video_every_frame_fast(tmp_path, name, codec):
    path = tmp_path / name
    write_video(path, 16, 1, codec=codec)  # 15 s long at its own pace
    src = open_source(str(path), SourceOptions(pace="fast"))
    assert isinstance(src, VideoSource) and not src.live
    assert (src.width, src.height) == (160, 120) and src.fps == pytest.approx(1)
    waits = record_waits(src)
    frames = list(src)
    assert waits == []  # not paced: never waits for a frame's time
    assert len(frames) == 16
    assert all(f.image.shape == (120, 160, 3) and f.image.dtype == np.uint8 for f in frames)
    assert [abs(bar_position(f.image) - i * 8) <= 4 for i, f in enumerate(frames)] == [True] * 16
    # media times follow the video's own clock, 1 s apart (timestamps: when each was read)
    steps = np.diff([f.media for f in frames])
    assert np.allclose(steps, 1.0, atol=1e-3)


def assert_paced(frames, start: float) -> None:
    """Every frame handed over no earlier than its media time (media - first media)
    after ``start`` (``perf_counter`` before the first read; the source's clock starts at its
    first frame, after that): realtime pace. Late is allowed (a busy machine), early never.
    Measured from ``start``, not from the first frame's ``captured``: that is taken after the
    first frame's decoding, which a loaded machine may stretch more than a later frame's."""
    t0 = frames[0].media
    for f in frames:
        assert f.captured - start >= (f.media - t0) - 0.005, f.index


def test_video_realtime_honours_frame_rate(tmp_path):
    path = tmp_path / "clip.mp4"
    write_video(path, 13, 20)  # 12 intervals of 50 ms = 0.6 s
    src = open_source(str(path), SourceOptions(pace="realtime"))
    assert src.live
    start = time.perf_counter()
    frames = list(src)
    took = time.perf_counter() - start
    # a frame already late (a loaded machine) is skipped, never one handed over early
    assert 1 <= len(frames) <= 13 and took >= 0.55  # the last frame is due at 0.6 s
    assert_paced(frames, start)


def test_video_resize_and_loop(tmp_path):
    path = tmp_path / "clip.mp4"
    write_video(path, 10, 25)
    src = open_source(str(path), SourceOptions(pace="fast", loop=True, res=(80, 60)))
    assert (src.width, src.height) == (80, 60)
    frames = [src.read() for _ in range(25)]
    assert all(f.image.shape == (60, 80, 3) for f in frames)
    assert [f.index for f in frames] == list(range(25))
    stamps = np.array([f.media for f in frames])
    assert np.allclose(np.diff(stamps), 0.04, atol=1e-3)  # no jump back at the loop
    assert bar_position(frames[10].image) == bar_position(frames[0].image)
    src.close()


def test_unreadable_video_names_the_spec(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(SourceError) as err:
        open_source(str(path))
    msg = str(err.value)
    assert str(path) in msg and "valid forms" in msg and "\n" not in msg


# -- camera ---------------------------------------------------------------------------------


def test_missing_camera_is_one_clear_line():
    cameras = list_cameras()
    if cameras:
        pytest.skip(f"this machine has cameras: {cameras}")
    for spec in ("camera", "camera:0", "camera:3"):
        with pytest.raises(SourceError) as err:
            open_source(spec, SourceOptions(res=(640, 480)))
        msg = str(err.value)
        assert msg.startswith(f"--source {spec}: no camera found; cameras found: none")
        assert "replay:FILE" in msg and "\n" not in msg
    with pytest.raises(SourceError, match="no such camera"):
        open_source("camera:/dev/video77")


# -- replay ---------------------------------------------------------------------------------


def write_stream(path, n: int, step: float, t0: float = 5000.0) -> list[StreamFrame]:
    rng = np.random.default_rng(1)
    frames = []
    with PoseStreamWriter(path, StreamHeader("test", 640, 480, "posenet", t0)) as writer:
        for i in range(n):
            people = [
                StreamPerson(
                    id=1,
                    slot=0,
                    score=0.9,
                    xy=(rng.random((17, 2)) * [640, 480]).astype(np.float32),
                    scores=rng.random(17).astype(np.float32),
                ),
                StreamPerson(
                    2, 1, 0.5, np.zeros((17, 2), np.float32), np.zeros(17, np.float32), missing=1
                ),
            ]
            frame = StreamFrame(
                index=i * 2, timestamp=t0 + i * step, width=640, height=480, people=people
            )
            writer.write(frame)
            frames.append(frame)
    return frames


def test_replay_fast_gives_recorded_poses(tmp_path):
    path = tmp_path / "take.jsonl"
    recorded = write_stream(path, 30, 0.5)  # 14.5 s of recording
    src = open_source(f"replay:{path}", SourceOptions(pace="fast"))
    assert isinstance(src, ReplaySource) and not src.live
    assert (src.width, src.height) == (640, 480) and src.header.model == "posenet"
    waits = record_waits(src)
    frames = list(src)
    assert waits == []  # not paced: never waits for a recorded time
    assert len(frames) == 30
    for got, want in zip(frames, recorded, strict=True):
        assert got.image is None and (got.width, got.height) == (640, 480)
        assert got.recorded.timestamp == want.timestamp  # when it was recorded
        # its media time in this run: advancing as the recording did (the tracker's clock)
        assert got.media - frames[0].media == pytest.approx(want.timestamp - 5000.0)
        assert len(got.poses) == 1  # the held (missing) person is not a detection
        assert np.array_equal(got.poses[0].xy, want.people[0].xy)
        assert np.array_equal(got.poses[0].scores, want.people[0].scores)
        assert got.recorded.index == want.index and got.recorded.people[1].id == 2
    assert [f.index for f in frames] == list(range(30))
    assert frames[0].timestamp <= time.time()  # this run's clock, not the recording's 5000.0
    assert frames[0].timestamp > 1e9 and frames[0].media == frames[0].timestamp
    stamps = [f.timestamp for f in frames]  # read now: never ahead of the wall clock
    assert stamps == sorted(stamps) and stamps[-1] <= time.time()


def test_replay_realtime_keeps_recorded_pace(tmp_path):
    path = tmp_path / "take.jsonl"
    write_stream(path, 11, 0.05)  # 0.5 s
    src = open_source(f"replay:{path}", SourceOptions(pace="realtime"))
    assert src.live
    start = time.perf_counter()
    frames = list(src)
    took = time.perf_counter() - start
    assert len(frames) == 11 and took >= 0.45  # every recorded frame, at the recorded pace
    assert_paced(frames, start)


def test_replay_loop_keeps_time_moving_and_res_scales(tmp_path):
    path = tmp_path / "take.jsonl"
    recorded = write_stream(path, 5, 0.1)
    src = open_source(f"replay:{path}", SourceOptions(pace="fast", loop=True, res=(320, 240)))
    frames = [src.read() for _ in range(12)]
    assert np.allclose(np.diff([f.media for f in frames]), 0.1)
    assert (frames[7].width, frames[7].height) == (320, 240)
    assert np.allclose(frames[7].poses[0].xy, recorded[2].people[0].xy / 2)
    src.close()


def test_close_wakes_a_waiting_read(tmp_path, monkeypatch):
    import posestage.sources.base as base

    monkeypatch.setattr(base, "MAX_WAIT_SECONDS", 60.0)  # let the replay really wait
    path = tmp_path / "slow.jsonl"
    write_stream(path, 3, 30.0)  # 30 s between frames
    src = open_source(str(path), SourceOptions())  # .jsonl is a replay without the prefix
    assert isinstance(src, ReplaySource)
    assert src.read() is not None
    got = []
    reader = threading.Thread(target=lambda: got.append(src.read()))
    reader.start()
    time.sleep(0.1)
    src.close()
    reader.join(2)  # a read not woken by close would sleep its 30 s
    assert not reader.is_alive() and got == [None]


def test_replay_errors(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        open_source(f"replay:{tmp_path / 'nope.jsonl'}")
    with pytest.raises(SourceError, match="needs a file"):
        open_source("replay:")
    bad = tmp_path / "bad.jsonl"
    head = '{"format": "posestage.posestream", "version": 1, "width": 64, "height": 48}'
    bad.write_text(head + "\n{oops\n")
    with pytest.raises(SourceError, match=r"bad.jsonl:2: not valid JSON"):
        open_source(f"replay:{bad}", SourceOptions(pace="fast"))  # the first frame is read
    bad.write_text(head.replace(', "width": 64, "height": 48', "") + "\n")
    with pytest.raises(SourceError, match="has no frames"):
        open_source(f"replay:{bad}")


# -- specs and options -----------------------------------------------------------------------


def test_bad_specs_list_the_valid_forms(tmp_path):
    for spec, words in (
        ("rtsp:stage-cam", "unknown source type 'rtsp'"),
        (str(tmp_path / "missing.mp4"), "no such file or folder"),
        ("", "--source is empty"),
    ):
        with pytest.raises(SourceError) as err:
            open_source(spec)
        msg = str(err.value)
        assert words in msg and "replay:FILE" in msg and "\n" not in msg


class Noise(Source):
    """A plugin's source: random frames of a given size."""

    live = False

    def __init__(self, spec: str, options: SourceOptions):
        super().__init__()
        self.width, self.height = (int(v) for v in spec.removeprefix("noise:").split("x"))
        self.name = spec

    def _read(self) -> SourceFrame | None:
        image = np.random.default_rng().integers(0, 255, (self.height, self.width, 3), np.uint8)
        return SourceFrame(image, time.time(), time.perf_counter(), self.width, self.height)


def test_plugin_schemes(tmp_path):
    src = open_source("noise:32x16", SourceOptions(), extra={"noise": Noise})
    assert [f.image.shape for f in (src.read(), src.read())] == [(16, 32, 3)] * 2
    assert src.read().index == 2

    def broken(spec, options):
        raise RuntimeError("device on fire")

    with pytest.raises(
        SourceError, match="plugin source 'fire' failed: RuntimeError: device on fire"
    ):
        open_source("fire:1", extra={"fire": broken})
    with pytest.raises(SourceError, match=r"known: camera, replay, ndi, noise"):
        open_source("nois:1", extra={"noise": Noise})


def test_options_and_res():
    assert SIZE("640x480") == (640, 480) and SIZE(" 1280 X 720 ") == (1280, 720)
    for bad in ("640", "0x480", "axb", "", "99999x99999", "7681x100"):
        with pytest.raises(VocabularyError, match="expected a size WxH"):
            SIZE(bad)
    assert SIZE("7680x4320") == (7680, 4320)
    with pytest.raises(SourceError, match="--pace: expected realtime or fast, got 'slow'"):
        SourceOptions(pace="slow")
    with pytest.raises(SourceError, match="--res: expected a size WxH"):
        SourceOptions(res=(0, 10))
    with pytest.raises(SourceError, match="at most|height 1 to 4320"):
        SourceOptions(res=(99999, 99999))
    assert not hasattr(SourceOptions(), "mirror")  # the stage mirrors; sources never did


def test_plugins_cannot_replace_built_in_schemes(tmp_path):
    path = tmp_path / "take.jsonl"
    write_stream(path, 2, 0.1)
    src = open_source(f"replay:{path}", SourceOptions(pace="fast"), extra={"replay": Noise})
    assert isinstance(src, ReplaySource)
    src.close()


def test_close_never_hangs_on_a_stuck_device(monkeypatch):
    import posestage.sources.base as base

    monkeypatch.setattr(base, "CLOSE_WAIT", 0.2)
    unplugged = threading.Event()

    class Stuck(Source):
        """A device whose read never returns (an unplugged camera)."""

        name = "stuck"

        def _read(self):
            unplugged.wait(10)
            return None

    src = Stuck()
    reader = threading.Thread(target=src.read, daemon=True)
    reader.start()
    time.sleep(0.05)
    closer = threading.Thread(target=src.close, daemon=True)
    closer.start()
    closer.join(1.0)  # close gives up on a read that never returns; it does not hang
    assert not closer.is_alive()
    assert src.closed and src.read() is None
    unplugged.set()
    reader.join(2)


def test_the_demo_stream_replays():
    """scenes/demo.jsonl (made by tools/make_demo_stream.py) is small and replays two people."""
    from pathlib import Path

    from posestage.tracking.tracker import Tracker

    demo = Path(__file__).resolve().parents[1] / "scenes" / "demo.jsonl"
    assert demo.stat().st_size < 300_000
    tracker = Tracker()
    with open_source(f"replay:{demo}", SourceOptions(pace="fast")) as src:
        assert (src.width, src.height) == (640, 480)
        counts = [len(tracker.update(f.poses, f.width, f.height, f.media).people) for f in src]
    assert len(counts) == 150 and counts[0] == 2 and counts[-1] == 2


def test_array_source_cycles_paces_and_stamps():
    from posestage.sources import ArraySource

    a = np.zeros((4, 6, 3), np.uint8)
    b = np.full((4, 6, 3), 255, np.uint8)
    src = ArraySource([a, b], count=5)
    frames = list(iter(src.read, None))
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 255, 0, 255, 0]
    assert not src.live and (src.width, src.height) == (6, 4)
    assert [f.timestamp - frames[0].timestamp for f in frames] == pytest.approx(
        [i / 30 for i in range(5)]
    )
    paced = ArraySource([a], count=4, fps=50)
    start = time.perf_counter()
    assert len(list(iter(paced.read, None))) == 4 and paced.live
    assert time.perf_counter() - start >= 3 / 50 * 0.9  # three periods between four frames


# -- behaviour: stills that stay, mirroring, gaps, early ends (issue 7) ------------------------


def test_a_held_still_stays_until_closed_and_an_unheld_one_ends(images_dir):
    photo = str(images_dir / "couple.jpg")
    with open_source(photo, SourceOptions()) as plain:  # headless: once, then the end
        assert plain.read() is not None and plain.read() is None
    held = open_source(photo, SourceOptions(hold=True))  # a window: stays on screen
    assert held.read() is not None
    got, waiting = [], threading.Event()

    def reader():
        waiting.set()
        got.append(held.read())

    thread = threading.Thread(target=reader)
    thread.start()
    waiting.wait(5)
    thread.join(0.3)
    assert thread.is_alive() and got == []  # still holding the last still
    held.close()
    thread.join(5)
    assert not thread.is_alive() and got == [None]


def test_only_cameras_are_mirrored_by_default(tmp_path, images_dir):
    from posestage.sources import ArraySource, CameraSource

    assert CameraSource.mirror_by_default is True
    path = tmp_path / "clip.mkv"
    write_video(path, 3, 25)
    stream = tmp_path / "take.jsonl"
    write_stream(stream, 2, 0.1)
    for spec in (str(images_dir / "couple.jpg"), str(path), f"replay:{stream}"):
        with open_source(spec, SourceOptions(pace="fast")) as src:
            assert src.mirror_by_default is False, spec
    assert ArraySource([np.zeros((2, 2, 3), np.uint8)]).mirror_by_default is False
    take = tmp_path / "camera-take.jsonl"  # recorded from a camera: replayed like the show
    with PoseStreamWriter(take, StreamHeader("camera:/dev/video0", 64, 48)) as writer:
        writer.write(StreamFrame(0, 1.0, 64, 48, []))
    with open_source(f"replay:{take}", SourceOptions(pace="fast")) as src:
        assert src.mirror_by_default is True


def write_gappy_stream(path, gap: float) -> list[float]:
    """Four frames 0.1 s apart, with ``gap`` seconds between the 2nd and 3rd (a break)."""
    stamps = [5000.0, 5000.1, 5000.1 + gap, 5000.2 + gap]
    person = StreamPerson(1, 0, 0.9, np.ones((17, 2), np.float32), np.ones(17, np.float32))
    with PoseStreamWriter(path, StreamHeader("test", 64, 48)) as writer:
        for i, t in enumerate(stamps):
            writer.write(StreamFrame(index=i, timestamp=t, width=64, height=48, people=[person]))
    return stamps


def test_a_replay_gap_of_days_is_a_short_pause(tmp_path):
    from posestage.sources import MAX_WAIT_SECONDS

    path = tmp_path / "break.jsonl"
    stamps = write_gappy_stream(path, gap=3 * 24 * 3600.0)  # recorded across a long weekend
    with open_source(f"replay:{path}", SourceOptions(pace="fast")) as src:
        frames = list(src)
    assert [f.recorded.timestamp for f in frames] == stamps
    steps = np.diff([f.media for f in frames])
    assert steps == pytest.approx([0.1, MAX_WAIT_SECONDS, 0.1], abs=1e-6)
    with open_source(f"replay:{path}", SourceOptions(pace="realtime")) as src:
        start = time.perf_counter()
        assert len(list(src)) == 4
        took = time.perf_counter() - start
    assert took < 30  # paced to a pause of MAX_WAIT_SECONDS, not three days


def test_media_clock_caps_waits_and_resyncs_with_an_injected_clock():
    from posestage.sources import MAX_WAIT_SECONDS, RESYNC_SECONDS, MediaClock

    now = [100.0]
    clock = MediaClock(clock=lambda: now[0])
    assert clock.delay(0.0) == 0.0  # starts the clock
    assert clock.delay(0.04) == pytest.approx(0.04)
    assert clock.delay(1e6) == MAX_WAIT_SECONDS  # a gap: a short pause, then on from there
    now[0] += MAX_WAIT_SECONDS
    assert clock.delay(1e6 + 0.04) == pytest.approx(0.04)
    now[0] += 10.0  # the consumer stalled: no burst to catch up
    assert clock.delay(1e6 + 0.08) == 0.0
    assert clock.delay(1e6 + 0.12) == pytest.approx(0.04)
    assert RESYNC_SECONDS < MAX_WAIT_SECONDS


def test_an_empty_replay_says_so_in_one_line(tmp_path):
    path = tmp_path / "empty.jsonl"
    with PoseStreamWriter(path, StreamHeader("test", 640, 480)):
        pass  # a header and no frame: the recorder stopped at once
    with pytest.raises(SourceError) as err:
        open_source(f"replay:{path}")
    message = str(err.value)
    assert "empty.jsonl" in message and "has no frames" in message and "\n" not in message


def test_a_truncated_video_says_it_stopped_early(tmp_path):
    path = tmp_path / "cut.mkv"
    write_video(path, 100, 25)  # 4 s
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a download cut off half-way
    with open_source(str(path), SourceOptions(pace="fast")) as src:
        frames = list(src)
        note = src.end_note
    assert 10 < len(frames) < 100
    assert "stopped early" in note and "of 4.0 s" in note and "truncated or corrupt" in note
    assert str(path) in note and "\n" not in note
    whole = tmp_path / "whole.mkv"
    write_video(whole, 10, 25)
    with open_source(str(whole), SourceOptions(pace="fast")) as src:
        assert len(list(src)) == 10 and src.end_note == ""


def test_video_timestamps_are_this_runs_time_from_the_first_frame(tmp_path):
    path = tmp_path / "clip.mkv"
    write_video(path, 3, 25)
    src = open_source(str(path), SourceOptions(pace="fast"))
    time.sleep(0.3)  # the stage loads its model between opening the source and reading it
    before = time.time()
    first = src.read()
    assert before <= first.timestamp <= time.time()  # captured now, not at open
    assert src.read().media - first.media == pytest.approx(0.04, abs=1e-3)
    src.close()


def test_a_looping_replay_skips_a_bad_middle_line_every_time_and_goes_on(tmp_path):
    path = tmp_path / "take.jsonl"
    write_stream(path, 5, 0.1)
    lines = path.read_text().splitlines()
    lines.insert(3, '{"index": 9, "timestamp": "soon"')  # a line cut and joined mid-show
    path.write_text("\n".join(lines) + "\n")
    src = open_source(f"replay:{path}", SourceOptions(pace="fast", loop=True))
    frames = [src.read() for _ in range(12)]  # two and a half passes of 5 good frames
    src.close()
    assert all(f is not None and f.poses for f in frames)
    assert [f.recorded.index for f in frames] == [0, 2, 4, 6, 8] * 2 + [0, 2]
