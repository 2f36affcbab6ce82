"""posestage.testing: the real stage, headless, with what plugins drew, sent and played."""

from __future__ import annotations

import threading

import numpy as np
import pygame
import pytest

from posestage import Setting, hookimpl
from posestage.errors import PluginError, SceneError
from posestage.model.keypoints import KEYPOINT_INDEX
from posestage.model.synthetic import standing_person
from posestage.testing import (
    SAMPLE_POSES,
    SyntheticPeople,
    run_plugin,
    run_plugins,
)

NOSE = KEYPOINT_INDEX["nose"]
RED = (255, 0, 0)


class NoseBox:
    """Draws a red box on every nose; remembers on which threads its hooks ran."""

    def __init__(self, size=6):
        self.size = size
        self.threads: dict[str, set] = {}

    @hookimpl
    def posestage_settings(self):
        return [Setting("size", int, 6, "box size", min=1)]

    @hookimpl
    def posestage_configure(self, settings):
        self.size = settings.size

    @hookimpl
    def posestage_frame(self, frame):
        self.threads.setdefault("frame", set()).add(threading.current_thread().name)

    @hookimpl
    def posestage_draw(self, canvas, frame):
        self.threads.setdefault("draw", set()).add(threading.current_thread().name)
        for p in frame.people:
            x, y = p.xy[NOSE]
            canvas.fill(
                RED,
                pygame.Rect(int(x) - self.size, int(y) - self.size, 2 * self.size, 2 * self.size),
            )


def test_synthetic_people_through_the_real_stage():
    plugin = NoseBox()
    run = run_plugin(plugin, {"size": 5}, name="nosebox", frames=12)
    assert run.errors == [] and run.active == ["nosebox"]
    assert len(run.frames) == 12 and run.people == [2] * 12
    assert [f.index for f in run.frames] == list(range(12))
    assert [(i, s) for i, s, _ in run.entered] == [(1, 0), (2, 1)]
    assert {f for _, _, f in run.left} == {11}  # everyone leaves when the stage stops
    assert run.report.stopped_by == "source ended"
    # the canvas is (H, W, 3) in image rows and columns, after the last frame was drawn
    assert run.canvas.shape == (480, 640, 3) and run.canvas.dtype == np.uint8
    assert run.canvas_frame == 11 and run.draws >= 1
    for person in run.frames[-1].people:
        x, y = (int(v) for v in person.xy[NOSE])
        assert tuple(run.canvas[y, x]) == RED
    assert (run.canvas.reshape(-1, 3) == RED).all(axis=1).sum() == 2 * 10 * 10
    # every hook of the plugin on its own lane: not the main thread, one thread for all
    assert plugin.threads["frame"] == plugin.threads["draw"] == {"posestage-lane-nosebox"}


def test_a_recorded_pose_stream_plays_once_or_loops():
    run = run_plugin(NoseBox(), source=SAMPLE_POSES)
    assert len(run.frames) == 90 and run.report.stopped_by == "source ended"
    seen = [sum(p.missing == 0 for p in f.people) for f in run.frames]
    assert max(seen) == 2 and min(seen) == 1  # one hides the other a while
    assert run.people == [2] * 90  # ...and is held through it (dropout grace)
    assert run.frames[0].width == 640 and run.frames[0].image is None
    looped = run_plugin(NoseBox(), source=SAMPLE_POSES, frames=120)
    assert len(looped.frames) == 120 and looped.report.stopped_by == "frames"


def test_people_coming_and_going():
    def people(i):
        first = [standing_person(200, 400, 300)]
        return first + ([standing_person(450, 400, 300)] if 3 <= i < 6 else [])

    run = run_plugin(
        NoseBox(), source=SyntheticPeople(people, frames=20), tracking={"max_missing_seconds": 0.07}
    )
    assert run.people[:3] == [1, 1, 1] and run.people[3:6] == [2, 2, 2]
    assert [(pid, slot, f) for pid, slot, f in run.entered] == [(1, 0, 0), (2, 1, 3)]
    assert run.people[6:8] == [2, 2]  # held through the dropout grace (2 frames at 30 fps)...
    assert run.left[0] == (2, 1, 8) and run.people[8:] == [1] * 12  # ...then gone


def test_mirror_option_reaches_the_plugin():
    plain = run_plugin(NoseBox(), frames=1)
    mirrored = run_plugin(NoseBox(), frames=1, mirror=True)
    x = plain.frames[0].people[0].xy[NOSE, 0]
    assert mirrored.frames[0].mirrored
    xs = sorted(p.xy[NOSE, 0] for p in mirrored.frames[0].people)
    assert any(abs(v - (639 - x)) < 0.01 for v in xs)


def test_a_failing_plugin_is_reported_and_switched_off_while_the_run_goes_on():
    class Broken:
        calls = 0

        @hookimpl
        def posestage_frame(self, frame):
            Broken.calls += 1
            raise ValueError("no such keypoint")

    run = run_plugins([NoseBox(), (Broken(), {}, "broken")], frames=10)
    assert len(run.frames) == 10
    assert Broken.calls == 3
    assert any(
        "broken: posestage_frame failed: ValueError: no such keypoint" in e for e in run.errors
    )
    assert any("switched off" in e for e in run.errors_of("broken"))
    assert run.errors_of("nosebox") == []


def test_bad_settings_fail_at_start_with_the_stage_message():
    with pytest.raises(
        SceneError, match=r"plugins\.nosebox\.sise: unknown setting \(did you mean 'size'\?\)"
    ):
        run_plugin(NoseBox(), {"sise": 3}, name="nosebox")


def test_installed_plugins_by_name_and_modules_by_spec():
    run = run_plugin("skeleton", {"thickness": 3}, frames=2)
    assert run.errors == [] and run.active == ["skeleton"]
    assert run.canvas.any()
    with pytest.raises(PluginError, match="no module named 'no_such_plugin'"):
        run_plugin("no_such_plugin")


def test_the_canvas_is_copied_after_every_plugin_drew():
    class Fill:
        @hookimpl
        def posestage_draw(self, canvas):
            canvas.fill((0, 0, 255))

    run = run_plugins([Fill(), NoseBox()], frames=1)
    assert (run.canvas.reshape(-1, 3) == RED).all(axis=1).sum() == 2 * 12 * 12
    assert (run.canvas.reshape(-1, 3) == (0, 0, 255)).all(axis=1).sum() == 640 * 480 - 2 * 144


# -- OSC -----------------------------------------------------------------------------------


class OscSender:
    """Sends each person's nose as a bundle time-tagged with the frame's capture time."""

    @hookimpl
    def posestage_settings(self):
        return [Setting("port", int, 9000, "UDP port", min=1, max=65535)]

    @hookimpl
    def posestage_configure(self, settings):
        from pythonosc.udp_client import SimpleUDPClient

        self.client = SimpleUDPClient("127.0.0.1", settings.port)

    @hookimpl
    def posestage_frame(self, frame):
        from pythonosc.osc_bundle_builder import OscBundleBuilder
        from pythonosc.osc_message_builder import OscMessageBuilder

        bundle = OscBundleBuilder(frame.timestamp)
        for p in frame.people:
            msg = OscMessageBuilder(f"/pose/{p.slot}/nose")
            for v in p.xy_norm[NOSE]:
                msg.add_arg(float(v), "f")
            bundle.add_content(msg.build())
        self.client.send(bundle.build())
        self.client.send_message("/frame", frame.index)


def test_osc_receiver_decodes_bundles_with_their_time_tags():
    pytest.importorskip("pythonosc")
    from posestage.testing import OscReceiver

    with OscReceiver() as rx:
        assert rx.host == "127.0.0.1" and rx.port > 0
        run = run_plugin(OscSender(), {"port": rx.port}, name="sender", frames=40)
        frames = rx.wait(40, address="/frame")
        got = rx.messages
    assert run.errors == []
    assert [m.args for m in frames] == [(i,) for i in range(40)]
    assert all(m.timetag is None for m in frames)
    noses = [m for m in got if m.address == "/pose/0/nose"]
    assert len(noses) == 40 and len(got) == 40 * 3
    stamps = {f.index: f.timestamp for f in run.frames}
    for i, m in enumerate(noses):
        assert m.timetag == pytest.approx(stamps[i], abs=1e-5)
        assert m.args == pytest.approx(tuple(run.frames[i].person(0).xy_norm[NOSE]), abs=1e-6)
    assert rx.bad == []


def test_osc_receiver_keeps_up_with_a_burst():
    pytest.importorskip("pythonosc")
    from pythonosc.udp_client import SimpleUDPClient

    from posestage.testing import OscReceiver

    with OscReceiver() as rx:
        client = SimpleUDPClient(*rx.address)
        for i in range(3000):
            client.send_message("/n", i)
        got = rx.wait(3000)
    assert [m.args[0] for m in got] == list(range(3000))


# -- MIDI ----------------------------------------------------------------------------------


class NotePlayer:
    """A note per person while they are on stage, on the port named in its settings."""

    def __init__(self, port=None):
        self.port = port

    @hookimpl
    def posestage_settings(self):
        return [Setting("port", str, "posestage test", "MIDI output")]

    @hookimpl
    def posestage_configure(self, settings):
        import mido

        if self.port is None:
            self.port = mido.open_output(settings.port)
            self.opened = True

    @hookimpl
    def posestage_person_enter(self, person):
        import mido

        self.port.send(mido.Message("note_on", note=60 + person.slot, velocity=100))

    @hookimpl
    def posestage_person_leave(self, person):
        import mido

        self.port.send(mido.Message("note_off", note=60 + person.slot))

    @hookimpl
    def posestage_unconfigure(self):
        if getattr(self, "opened", False):
            self.port.close()


def test_midi_ports_opened_by_name_are_captured():
    mido = pytest.importorskip("mido")
    from posestage.testing import capture_midi

    before = mido.backend
    with capture_midi(outputs=["posestage test"]) as midi:
        assert mido.get_output_names() == ["posestage test"]
        run = run_plugin(NotePlayer(), name="notes", frames=5)
    assert mido.backend is before
    assert run.errors == []
    played = [(m.type, m.note) for m in midi.messages]
    assert played[:2] == [("note_on", 60), ("note_on", 61)]
    assert sorted(played[2:]) == [("note_off", 60), ("note_off", 61)]
    assert midi.sounding() == set() and midi.port("posestage test").closed
    assert {e.thread for e in midi.events} != {threading.current_thread().name}  # pose thread


def test_a_capture_port_can_be_handed_to_a_plugin():
    pytest.importorskip("mido")
    from posestage.testing import MidiCapture

    port = MidiCapture("synth")
    run_plugin(NotePlayer(port), name="notes", frames=3)
    assert [m.type for m in port.messages] == ["note_on", "note_on", "note_off", "note_off"]
    assert port.sounding() == set()


def test_midi_feed_delivers_to_a_listening_plugin():
    mido = pytest.importorskip("mido")
    from posestage.testing import capture_midi

    with capture_midi(outputs=[], inputs=["pads"]) as midi:
        pads = mido.open_input("pads")
        midi.input("pads").feed(mido.Message("control_change", control=1, value=64))
        assert pads.poll().value == 64 and pads.poll() is None


# -- a still image, with the real model ------------------------------------------------------


@pytest.mark.slow
def test_a_still_image_runs_the_real_model(images_dir, models_dir):
    from posestage.sources import load_image

    image = load_image(images_dir / "two_people.bmp")
    run = run_plugin(NoseBox(), source=image, frames=2, model="posenet-481x641")
    assert run.errors == [] and len(run.frames) == 2
    assert run.people[0] >= 2 and run.frames[0].image is not None
    assert run.canvas.shape == image.shape
    by_path = run_plugin(NoseBox(), source=images_dir / "two_people.bmp", frames=3, privacy=True)
    assert len(by_path.frames) == 3 and by_path.frames[0].image is None


def test_the_built_in_osc_plugin_through_the_receiver():
    """posestage.testing against a real plugin: the osc plugin's bundles, frame by frame."""
    pytest.importorskip("pythonosc")
    from posestage.host import PluginHost
    from posestage.testing import OscReceiver

    if "osc" not in PluginHost.load().plugins:
        pytest.skip("the osc plugin is not installed (pip install ./plugins/osc)")
    with OscReceiver() as rx:
        run = run_plugin("osc", {"target": f"127.0.0.1:{rx.port}"}, source=SAMPLE_POSES, frames=10)
        frames = rx.wait(10, address="/pose/frame")
    assert run.errors == []
    frames = frames[:10]  # (the plugin may send one more as everyone leaves at the end)
    assert [m.args[0] for m in frames] == list(range(10))
    assert [m.timetag for m in frames] == pytest.approx([f.timestamp for f in run.frames], abs=1e-5)
    addresses = {m.address for m in rx.messages}
    assert {"/pose/0/nose/x", "/pose/1/nose/x", "/pose/0/enter"} <= addresses


def test_every_hook_call_is_in_the_run_with_its_thread():
    class Order:
        @hookimpl
        def posestage_configure(self):
            pass

        @hookimpl
        def posestage_person_enter(self, person):
            pass

        @hookimpl
        def posestage_frame(self, frame):
            pass

        @hookimpl
        def posestage_draw(self, canvas):
            pass

    run = run_plugin(Order(), frames=3)
    hooks = [c.hook for c in run.calls]
    assert hooks[0] == "posestage_configure" and hooks[-1] != "posestage_configure"
    first_frame = hooks.index("posestage_frame")
    assert hooks[1:first_frame] == ["posestage_person_enter"] * 2  # enters, then the frame
    assert hooks.count("posestage_frame") == 3 and "posestage_draw" in hooks
    threads = {c.hook: c.thread for c in run.calls}
    assert threads["posestage_frame"] == threads["posestage_person_enter"] == "posestage-lane-order"
    assert threads["posestage_draw"] == threads["posestage_configure"] == "posestage-lane-order"
    assert {c.plugin for c in run.calls} == {"order"} and not any(c.failed for c in run.calls)


def test_hosted_plugins_run_hook_by_hook_through_the_real_host():
    from posestage.testing import frame, hosted, person

    class Counter:
        def __init__(self):
            self.seen, self.scenes, self.fail = [], [], False

        @hookimpl
        def posestage_settings(self):
            return [Setting("step", int, 1, "how much each frame counts")]

        @hookimpl
        def posestage_frame(self, frame):
            if self.fail:
                raise RuntimeError("boom")
            self.seen.append(frame.index)

        @hookimpl
        def posestage_scene_changed(self, old, new):
            self.scenes.append((old, new))

    counter = Counter()
    with hosted({"counter": counter}) as host:
        assert host.scene("[plugins.counter]\n", "one") == []
        host.frame(frame(0, [person(1, 0)]))
        assert host.scene("[plugins.counter]\n", "two") == []  # kept: told of the change
        host.frame(frame(1, [person(1, 0)]))
        assert counter.seen == [0, 1] and counter.scenes == [("one", "two")]
        with pytest.raises(SceneError, match="plugins.counter.step: expected a whole number"):
            host.scene('[plugins.counter]\nstep = "many"\n')
        counter.fail = True
        for i in range(2, 5):
            host.frame(frame(i, [person(1, 0)]))
        assert host.active == [] and any("switched off" in e for e in host.errors)
