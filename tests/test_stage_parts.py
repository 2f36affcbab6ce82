"""The stage's parts, each alone with its real neighbours: a real source, Mailbox, Tracker,
PluginHost and Show; no Stage around them."""

from __future__ import annotations

import numpy as np
from fakes import Collector, PosedSource, blank, host_with, scene_of

from posestage.context import ControlInbox, StageContext, StageFacts
from posestage.hookspecs import ControlMessage
from posestage.stage import Capture, Mailbox, PosePipeline, SceneControl, Show, StageOptions
from posestage.stage.jobs import ControlThread
from posestage.tracking.tracker import Tracker, TrackingSettings


def no_engine():
    raise AssertionError("a source that gives poses needs no engine")


def pipeline_for(source, host, show, mailbox, frames=None):
    return PosePipeline(
        mailbox,
        Tracker(TrackingSettings()),
        host,
        show,
        source=source,
        engine=None,
        load_engine=no_engine,
        frames=frames,
    )


def test_capture_reads_every_frame_of_a_file_source_into_the_mailbox():
    source, box, show = PosedSource([blank(640, 480)], count=5), Mailbox(), Show()
    capture = Capture(source, box, show)
    capture.start()
    got = []
    while (frame := box.take(5.0)) is not None:
        got.append(frame.index)
    capture.thread.join(5)
    assert got == [0, 1, 2, 3, 4] and capture.read == 5  # the source's own numbering
    assert show.stopped_by == "source ended" and not show.stopped and box.finished


def test_the_pipeline_tracks_mirrors_and_dispatches_each_frame_once():
    plugin = Collector("collect")
    host = host_with(plugin)
    host.activate(scene_of(host, "collect").plugins, StageContext(StageFacts()))
    source, box, show = PosedSource([blank(640, 480)], count=100), Mailbox(), Show()
    pipeline = pipeline_for(source, host, show, box, frames=3)
    pipeline.apply(mirror=True)
    capture = Capture(source, box, show)
    capture.start()
    pipeline.start()
    pipeline.join(30)
    box.close()  # as the stage's shutdown does: the capture thread ends
    capture.thread.join(30)
    pipeline.finish()
    assert show.stopped_by == "frames" and pipeline.dispatched == 3
    assert [f.index for f in plugin.frames] == [0, 1, 2]
    assert all(f.mirrored for f in plugin.frames)
    # PosedSource's figure stands at x = 101 + frame index; mirrored once: 639 - x
    for f in plugin.frames:
        (person,) = f.people
        assert np.allclose(person.raw_xy[:, 0], 639 - (101 + f.index))
    assert [e[0] for e in plugin.entered] == [1] and [x[0] for x in plugin.left] == [1]
    assert all(f.image is not None for f in plugin.frames)


def test_scene_control_refuses_a_bad_message_and_switches_scenes():
    a, b = Collector("a"), Collector("b")
    host = host_with(a, b)
    scenes = [scene_of(host, "a"), scene_of(host, "b", stage="mirror = true")]
    show, box, facts, inbox = Show(), Mailbox(), StageFacts(), ControlInbox()
    source = PosedSource([blank(640, 480)])
    pipeline = pipeline_for(source, host, show, box)
    jobs = ControlThread()
    control = SceneControl(
        scenes,
        host,
        pipeline,
        show,
        context=StageContext(facts, inbox),
        facts=facts,
        inbox=inbox,
        jobs=jobs,
        options=StageOptions(),
        mirror_default=False,
    )
    control.apply_settings(scenes[0])
    control.start()
    try:
        bad = inbox.put("scene 2, please")
        good = inbox.put(ControlMessage("scene", value=2, source="test"))
        control.tick()
        jobs.stop(10)  # the switch runs on the control thread: wait for it
        control.tick()
        assert not bad.result(5).ok and good.result(5).ok
        assert control.rejected == 1 and any("not a ControlMessage" in e for e in show.errors)
        assert control.scene == facts.scene and host.active == ["b"] and pipeline.mirror
        assert (a.configured, a.unconfigured, b.configured) == (1, 1, 1)
    finally:
        control.close()
        host.deactivate_all(control.context)
