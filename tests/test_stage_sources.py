"""Sources on the stage (issue 7): stills that stay in the window, mirroring by default only
for cameras, replayed frames with both their recorded time and this run's, early ends said.

Headless or with SDL's dummy video driver, real sources (pose-stream replays, a real photo
through the real model) and real plugins on a real PluginHost.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from posestage.config.scenes import parse_scene
from posestage.hookspecs import hookimpl
from posestage.host import PluginHost
from posestage.model.posestream import PoseStreamWriter, StreamFrame, StreamHeader, StreamPerson
from posestage.sources import ReplaySource, Source, SourceFrame, SourceOptions, open_source
from posestage.stage import Stage, StageOptions

T0 = 1_700_000_000.0


class Frames:
    """A plugin keeping every frame it is given and counting its draws."""

    def __init__(self):
        self.frames = []
        self.draws = 0

    @hookimpl
    def posestage_frame(self, frame):
        self.frames.append(frame)

    @hookimpl
    def posestage_draw(self, canvas, frame):
        self.draws += 1


def write_stream(path, frames: int, step: float = 1 / 30):
    ys = np.linspace(60, 420, 17, dtype=np.float32)
    with PoseStreamWriter(path, StreamHeader(width=640, height=480)) as writer:
        for i in range(frames):
            xy = np.stack([np.linspace(30, 90, 17, dtype=np.float32) + i, ys], 1)
            person = StreamPerson(1, 0, 0.9, xy.astype(np.float32), np.full(17, 0.9, np.float32))
            writer.write(StreamFrame(i, T0 + i * step, 640, 480, [person]))


def show(source, stage: str = "", **options):
    plugin = Frames()
    host = PluginHost()
    host.register(plugin, "frames")
    scene = parse_scene(f"[stage]\n{stage}\n[plugins.frames]\n", None, host)
    options.setdefault("headless", True)
    st = Stage([scene], StageOptions(**options), host=host, source=source)
    return st.run(), plugin


class Camera(ReplaySource):
    """A plugin's live camera-like source (here: a replay that says it is a camera)."""

    def __init__(self, path, options):
        super().__init__(path, options)
        self.mirror_by_default = True


def test_cameras_are_mirrored_by_default_files_are_not(tmp_path):
    path = tmp_path / "s.jsonl"
    write_stream(path, 3)

    def mirrored(source_class, **kw):
        _, plugin = show(source_class(path, SourceOptions(pace="fast")), **kw)
        return {f.mirrored for f in plugin.frames}

    assert mirrored(ReplaySource) == {False}  # a file: as it was recorded
    assert mirrored(Camera) == {True}  # a camera: a looking glass
    assert mirrored(Camera, stage="mirror = false") == {False}  # the scene wins
    assert mirrored(ReplaySource, stage="mirror = true") == {True}
    assert mirrored(ReplaySource, stage="mirror = false", mirror=True) == {True}  # CLI wins


def test_a_replayed_frame_carries_its_recorded_time_and_this_runs_time(tmp_path):
    path = tmp_path / "s.jsonl"
    write_stream(path, 5, step=0.1)
    started = time.time()
    _, plugin = show(open_source(f"replay:{path}", SourceOptions(pace="fast")))
    frames = plugin.frames
    ended = time.time()
    assert [f.recorded for f in frames] == [T0 + i * 0.1 for i in range(5)]
    # this run's wall clock, when each frame was read (the OSC time tag), at fast pace too: never
    # ahead of the wall clock, however fast the frames are taken
    stamps = [f.timestamp for f in frames]
    assert started <= stamps[0] and stamps == sorted(stamps) and stamps[-1] <= ended
    # the tracker steps as recorded: the same people, smoothed alike, in a second run
    _, again = show(open_source(f"replay:{path}", SourceOptions(pace="fast")))
    assert len(again.frames) == len(frames) == 5

    def people(run):
        return [[(p.id, p.slot, p.xy.tolist()) for p in f.people] for f in run]

    assert people(again.frames) == people(frames)


class EndsEarly(Source):
    """A plugin source whose device gives up after two frames and says why."""

    gives_poses = True
    name = "flaky"
    width, height = 64, 48

    def __init__(self):
        super().__init__()
        self.n = 0

    def _read(self):
        self.n += 1
        if self.n > 2:
            self.end_note = "--source flaky: the stream stopped early (link lost)"
            return None
        return SourceFrame(None, T0 + self.n, time.perf_counter(), 64, 48, poses=[])


def test_a_source_that_ends_early_says_so(tmp_path):
    report, plugin = show(EndsEarly())
    assert len(plugin.frames) == 2 and report.stopped_by == "source ended"
    assert "--source flaky: the stream stopped early (link lost)" in report.errors
    assert report.error is None


@pytest.mark.slow
def test_a_photo_stays_in_the_window_until_the_performer_quits(images_dir):
    photo = str(images_dir / "two_people.bmp")
    report, plugin = show(None, f'source = "{photo}"')
    assert report.stopped_by == "source ended" and len(plugin.frames) == 1  # headless: once
    # a window keeps showing the still (and the plugins keep drawing) until quit / duration
    report, plugin = show(None, f'source = "{photo}"', headless=False, duration=1.5)
    assert report.stopped_by == "duration" and len(plugin.frames) == 1
    # redrawn after its one frame (the window redraws an unchanged frame a few times a second)
    assert plugin.draws >= 2 and len(plugin.frames[0].people) == 2
    assert not plugin.frames[0].mirrored  # a photo is not mirrored by default


@pytest.mark.slow
def test_cli_run_on_a_photo_headless_ends_by_itself(images_dir, capsys):
    from posestage.cli import main

    assert main(["run", "--source", str(images_dir / "squat.bmp"), "--headless", "--safe"]) == 0
    assert "1 frames" in capsys.readouterr().err
    # the photo as the argument, as a performer types it: the same
    assert main(["run", str(images_dir / "squat.bmp"), "--headless", "--safe"]) == 0
    err = capsys.readouterr().err
    assert "1 frames" in err and "stopped by source ended" in err


def test_cli_run_takes_one_source_argument(capsys, tmp_path):
    from posestage.cli import main

    assert main(["run", "a.jpg", "b.jpg", "--headless"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "posestage: error: run: more than one source given (a.jpg, b.jpg); give one source, "
        "and scenes as .toml\n"
    )
