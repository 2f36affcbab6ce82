"""The recorder plugin for real: the stage records and replays (posestage.testing), pluggy
registration, files on disk, a blocked pipe, a full disk."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from posestage import PluginError, Pose, read_posestream, validate
from posestage.testing import (
    SAMPLE_POSES,
    check_plugin,
    context,
    run_plugin,
    run_plugins,
    track,
)

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PLUGIN_DIR = Path(__file__).resolve().parents[1]
import posestage_recorder  # noqa: E402
from posestage_recorder import Recorder, expand_path  # noqa: E402

RNG = np.random.default_rng(3)
BODY = np.stack([np.linspace(-20, 20, 17), np.linspace(-80, 80, 17)], axis=1)


def stage(tmp_path=None, width=640, height=480):
    """The real, read-only context a stage hands the configure hook."""
    return context(
        width,
        height,
        source="video:walk.mp4",
        model="posenet_mobilenet_v1_075_481_641_quant_decoder",
    )


def settings(**values):
    return validate(values, posestage_recorder.SETTINGS, "scene.toml: plugins.recorder")


def tracked_frames(n: int, mirrored: bool = False, people: int = 2):
    """PoseFrames from the real tracker: people walking across, one dropping out a while."""

    def detections(t):
        poses = []
        for k in range(people):
            if k == 1 and 10 <= t < 13:
                continue
            xy = BODY + [80 + 50 * k + 6 * t * (-1) ** k, 240] + RNG.normal(0, 1.5, (17, 2))
            poses.append(Pose(0.9 - 0.1 * k, xy.astype(np.float32), np.full(17, 0.8, np.float32)))
        return poses

    tracked = track(
        (detections(t) for t in range(n)), t0=2000.0, fps=25, mirrored=mirrored,
        image=np.zeros((480, 640, 3), np.uint8), source="video:walk.mp4",
    )  # fmt: skip
    for item in tracked:
        yield item.frame


def test_entry_point_and_hooks_match_the_specs():
    project = tomllib.loads((PLUGIN_DIR / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["posestage"] == {
        "recorder": "posestage_recorder:plugin"
    }
    info = check_plugin(posestage_recorder.plugin, "recorder")  # real hooks, real arguments
    assert [s.name for s in info.settings] == ["path", "flush_seconds"]
    assert settings() == {"path": "recordings/poses-{time}.jsonl", "flush_seconds": 1.0}


def test_the_stage_records_what_it_replays(tmp_path):
    """A recorded stream through the stage with the recorder on, then the recording through
    the stage again: the same people, ids, slots and raw positions, frame by frame."""
    first = run_plugin(
        "recorder", {"path": str(tmp_path / "take-{time}.jsonl")}, source=SAMPLE_POSES
    )
    assert first.errors == [] and len(first.frames) == 90
    (recording,) = tmp_path.glob("take-*.jsonl")
    header, records = read_posestream(recording)
    assert (header.width, header.height) == (640, 480) and len(records) == 90
    assert header.source == "replay:sample-poses.jsonl"

    again = run_plugin("recorder", {"path": str(tmp_path / "again.jsonl")}, source=recording)
    assert again.people == first.people and again.entered == first.entered
    assert again.left == first.left
    for a, b in zip(first.frames, again.frames, strict=True):
        assert b.recorded == a.media  # the replay knows when, in the first run's media, it was
        for p, q in zip(a.people, b.people, strict=True):
            assert (p.id, p.slot, p.missing) == (q.id, q.slot, q.missing)
            assert np.array_equal(p.raw_xy, q.raw_xy)


def test_records_what_replay_needs(tmp_path):
    rec = Recorder()
    before = time.time()
    rec.posestage_configure(stage(), settings(path=str(tmp_path / "show-{time}.jsonl")))
    assert rec.path.parent == tmp_path and rec.path.name.startswith("show-20")
    frames = list(tracked_frames(40))
    for frame in frames:
        rec.posestage_frame(frame)
    rec.posestage_unconfigure(stage())
    assert (rec.frames, rec.dropped) == (40, 0)

    header, got = read_posestream(rec.path)
    assert (header.source, header.width, header.height) == ("video:walk.mp4", 640, 480)
    assert header.model == "posenet_mobilenet_v1_075_481_641_quant_decoder"
    assert before <= header.start_time <= time.time()  # when this recording started
    assert [f.index for f in got] == list(range(40))
    for frame, record in zip(frames, got, strict=True):
        assert record.timestamp == frame.timestamp
        assert [(p.id, p.slot, p.missing) for p in record.people] == [
            (p.id, p.slot, p.missing) for p in frame.people
        ]
        for person, kept in zip(frame.people, record.people, strict=True):
            assert np.array_equal(kept.xy, person.raw_xy)  # raw, not smoothed
            assert np.array_equal(kept.scores, person.scores)
    assert rec.path.stat().st_size < 100_000  # no pixels


def test_replay_of_a_recording_reproduces_the_people(tmp_path):
    """Recorder → replay source (fast) → a fresh tracker: the same ids, slots and positions."""
    rec = Recorder()
    rec.posestage_configure(stage(), settings(path=str(tmp_path / "take.jsonl")))
    frames = list(tracked_frames(60, people=3))
    for frame in frames:
        rec.posestage_frame(frame)
    rec.posestage_unconfigure(stage())

    header, recorded = read_posestream(rec.path)
    # the recorded time reproduces the smoothing bit for bit; this run's media time (the
    # replayed frames' clock; their timestamp is when each was read) advances by the same steps
    replayed = [
        t.frame.people
        for t in track(
            ([p.to_pose() for p in f.people if not p.missing] for f in recorded),
            size=(header.width, header.height), times=[f.timestamp for f in recorded],
        )
    ]  # fmt: skip
    replay = run_plugins([], source=rec.path)
    steps = np.diff([f.clock for f in replay.frames])
    assert replay.errors == [] and len(replay.frames) == len(frames)
    assert steps == pytest.approx(np.diff([f.timestamp for f in frames]), abs=1e-6)
    assert len(replayed) == len(frames)
    for want, got in zip(frames, replayed, strict=True):
        assert [(p.id, p.slot, p.missing) for p in got] == [
            (p.id, p.slot, p.missing) for p in want.people
        ]
        for p, q in zip(got, want.people, strict=True):
            assert np.array_equal(p.xy, q.xy)


def test_mirrored_frames_are_recorded_in_camera_coordinates(tmp_path):
    rec = Recorder()
    rec.posestage_configure(stage(), settings(path=str(tmp_path / "m.jsonl")))
    frame = next(tracked_frames(1, mirrored=True))
    rec.posestage_frame(frame)
    rec.posestage_unconfigure(stage())
    _, (record,) = read_posestream(rec.path)
    for person, kept in zip(frame.people, record.people, strict=True):
        assert np.allclose(kept.xy[:, 0], 639 - person.raw_xy[:, 0])
        assert np.array_equal(kept.xy[:, 1], person.raw_xy[:, 1])


def test_paths_never_overwrite_and_bad_ones_are_refused(tmp_path):
    first = expand_path(str(tmp_path / "take.jsonl"))
    assert first == tmp_path / "take.jsonl"
    first.write_text("an earlier show\n")
    assert expand_path(str(tmp_path / "take.jsonl")) == tmp_path / "take-2.jsonl"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(1e9))
    assert expand_path(str(tmp_path / "{time}.jsonl"), 1e9).name == f"{stamp}.jsonl"
    assert expand_path("~/x.jsonl").parts[0] != "~"

    rec = Recorder()
    with pytest.raises(PluginError, match=r"recorder.path .*\{camera\}.*the only one is \{time\}"):
        rec.posestage_configure(stage(), settings(path=str(tmp_path / "{camera}.jsonl")))
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PluginError) as err:
        rec.posestage_configure(stage(), settings(path=str(blocker / "x.jsonl")))
    assert str(err.value).startswith("recorder.path: cannot write pose stream") and "\n" not in str(
        err.value
    )
    rec.posestage_unconfigure(stage())  # after a failed configure: fine
    rec.posestage_frame(next(tracked_frames(1)))  # not recording: ignored


def test_configure_again_finishes_the_first_file(tmp_path):
    rec = Recorder()
    rec.posestage_configure(stage(), settings(path=str(tmp_path / "a.jsonl")))
    rec.posestage_frame(next(tracked_frames(1)))
    rec.posestage_configure(stage(), settings(path=str(tmp_path / "b.jsonl")))
    rec.posestage_unconfigure(stage())
    rec.posestage_unconfigure(stage())  # twice: fine
    assert len(read_posestream(tmp_path / "a.jsonl")[1]) == 1
    assert read_posestream(tmp_path / "b.jsonl")[1] == []


def test_ten_people_for_two_hundred_frames_are_all_recorded(tmp_path):
    rec = Recorder()
    rec.posestage_configure(stage(), settings(path=str(tmp_path / "busy.jsonl")))
    for frame in tracked_frames(200, people=10):
        rec.posestage_frame(frame)
    rec.posestage_unconfigure(stage())
    assert (rec.frames, rec.dropped) == (200, 0)
    assert len(read_posestream(rec.path)[1]) == 200


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_stalled_disk_never_blocks_the_frame_loop(tmp_path, monkeypatch):
    """A pipe nobody reads stands in for a stalled disk: frames are dropped, the hook stays fast."""
    monkeypatch.setattr(posestage_recorder, "QUEUE_FRAMES", 20)
    monkeypatch.setattr(posestage_recorder, "CLOSE_SECONDS", 0.3)
    fifo = tmp_path / "stalled.jsonl"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    drained = threading.Event()
    try:
        rec = Recorder()
        rec.posestage_configure(stage(), settings(path=str(fifo), flush_seconds=0.0))
        assert rec.path == fifo  # a pipe is written as it is
        # far more than the pipe buffer holds: a hook that waited for the disk would block
        # here for good; instead the queue fills and frames are dropped, counted
        for frame in tracked_frames(400, people=10):
            rec.posestage_frame(frame)
        assert rec.dropped > 0 and rec.queued >= 20
        rec.posestage_unconfigure(stage())  # returns: gives up on the stalled pipe
        assert rec._thread is None

        def drain():
            while True:
                try:
                    if not os.read(reader, 1 << 16):  # b"": the writer closed the pipe
                        break
                except BlockingIOError:
                    time.sleep(0.01)
            drained.set()

        # the writer thread is still stuck in the pipe; reading unblocks it: it writes the
        # queued frames, then closes

        threading.Thread(target=drain, daemon=True).start()
        assert drained.wait(5)
    finally:
        if drained.wait(5):
            os.close(reader)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_is_reported_as_a_plugin_error(caplog):
    rec = Recorder()
    # flushed only when the buffer is full: frames are queued before the disk refuses them
    rec.posestage_configure(stage(), settings(path="/dev/full", flush_seconds=60.0))
    frames = list(tracked_frames(400))
    deadline = time.monotonic() + 10
    with pytest.raises(PluginError, match="recorder: cannot write pose stream /dev/full.*disk"):
        for frame in frames:
            rec.posestage_frame(frame)
            time.sleep(0.002)
            assert time.monotonic() < deadline
    with caplog.at_level("INFO", logger="posestage.recorder"):
        rec.posestage_unconfigure(stage())
    # nothing reached the device: nothing is counted, and the last line says so
    assert rec.frames == 0 and rec.queued > 0
    (line,) = [r.getMessage() for r in caplog.records if "frames written" in r.getMessage()]
    assert line.startswith(f"recorder: 0 frames written to /dev/full; {rec.queued} not written ")
    assert "(the disk refused them: cannot write pose stream /dev/full: No space left" in line


FULL_DISK_RUN = r"""
import json, logging, sys
import posestage_recorder
from posestage.testing import SAMPLE_POSES, run_plugin

said = []
class Keep(logging.Handler):
    def emit(self, record):
        said.append(record.getMessage())
logger = logging.getLogger("posestage.recorder")
logger.addHandler(Keep())
logger.setLevel(logging.INFO)
path = sys.argv[1]
rec = posestage_recorder.Recorder()
run = run_plugin(rec, {"path": path}, name="recorder", source=SAMPLE_POSES, frames=400)
data = open(path, "rb").read()
print(json.dumps({
    "frames": rec.frames, "queued": rec.queued, "dispatched": run.report.frames,
    "whole_lines": data.count(b"\n"), "said": said, "errors": run.errors,
}))
"""


def test_a_disk_that_fills_keeps_an_honest_count(tmp_path):
    """A real file system that fills up: a 64 KiB tmpfs, mounted in a mount namespace of the
    test's own (``unshare -m``: nothing outside sees it, it goes with the process). The stage
    records 400 frames onto it; the recorder's count is the frames the file holds whole."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = 'mount -t tmpfs -o size=64k posestage-test "$1"'
    unshare = shutil.which("unshare")
    probe = subprocess.run(
        [unshare or "unshare", "-m", "sh", "-c", mount, "sh", str(disk)],
        capture_output=True,
        text=True,
    ) if unshare else None  # fmt: skip
    if probe is None or probe.returncode != 0:
        why = "no unshare" if probe is None else " ".join(probe.stderr.split())
        pytest.skip(f"cannot mount a small tmpfs in a mount namespace here ({why})")
    path = disk / "show.jsonl"
    got = subprocess.run(
        [unshare, "-m", "sh", "-c", f'{mount} && exec "$2" -c "$3" "$1/show.jsonl"', "sh",
         str(disk), sys.executable, FULL_DISK_RUN],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert got.returncode == 0, got.stderr[-2000:]
    out = json.loads(got.stdout.strip().splitlines()[-1])
    on_disk = out["whole_lines"] - 1  # the header's line, then one line per frame
    # some frames fit, most did not, and the count is exactly those that fit
    assert 0 < on_disk < out["dispatched"]
    assert out["frames"] == on_disk
    refused = out["queued"] - on_disk
    assert refused > 0
    (last,) = [line for line in out["said"] if "frames written" in line]
    assert last.startswith(
        f"recorder: {on_disk} frames written to {path}; {refused} not written "
        f"(the disk refused them: cannot write pose stream {path}: No space left on device"
    )
    # and the show was told while it ran, in one line through the stage
    assert any("recorder" in e and "No space left on device" in e for e in out["errors"])


def test_the_plugin_host_accepts_it(tmp_path):
    info = check_plugin(Recorder(), "recorder")
    assert [s.name for s in info.settings] == ["path", "flush_seconds"]
