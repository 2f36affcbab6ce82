"""The MIDI plugin through real JACK ports: what a DAW receives, and no stuck note on any exit."""

from __future__ import annotations

import dataclasses
import itertools
import os
import time
from pathlib import Path

import numpy as np
import posestage_midi
import pytest
from posestage_midi import Midi
from posestage_midi.jack import JackServer, Listener, all_notes_off
from posestage_midi.ports import MidiUnavailable, open_output

from posestage import KEYPOINT_INDEX, Person, PluginError, PoseFrame, validate
from posestage import testing as kit

# the host-level tests at the end drive the plugin host directly (tests/test_public_api.py)

ROOT = Path(__file__).resolve().parents[3]
_names = itertools.count(1)
W, H = 640, 480
RIGHT, LEFT = KEYPOINT_INDEX["right_wrist"], KEYPOINT_INDEX["left_wrist"]


def person(pid: int, slot: int, right_y: float | None = None, left_y: float | None = None,
           x: float = 320.0, missing: int = 0, low: tuple[int, ...] = ()) -> Person:  # fmt: skip
    """A standing figure whose wrists go where we say (posestage.testing.person)."""
    return kit.person(pid, slot, x=x, feet=460.0, tall=400.0, missing=missing, low=low,
                      right_wrist=(None, right_y), left_wrist=(None, left_y))  # fmt: skip


def frame(index: int, *people: Person, t0: float = 1000.0, fps: float = 30.0) -> PoseFrame:
    return kit.frame(index, people, t0=t0, fps=fps, captured=t0 + index / fps)


def up(y: float) -> int:
    """What ``right_wrist.y`` becomes on the wire (7 bit) for a wrist at pixel row ``y``."""
    return int(round((1.0 - y / H) * 127))


OFF60, PANIC1 = [0x80, 60, 0], [0xB0, 123, 0]
SCENE = {
    "cc": [{"value": "right_wrist.y", "cc": 20}],
    "notes": [{"value": "above_head(right_wrist)", "note": 60}],
}


def settings(**values):
    return validate(values, posestage_midi.SETTINGS, "test: plugins.midi")


def stage(scene="one"):
    return kit.context(640, 480, scene=scene)


@pytest.fixture
def port_name(jack):
    return f"ps-test-{next(_names)}"


@pytest.fixture
def midi(port_name):
    """A configured plugin on a fresh virtual port, and a listener connected to it."""
    plugin = Midi()
    plugin.posestage_configure(stage(), settings(api="jack", virtual_name=port_name, **SCENE))
    with Listener(port_name) as listener:
        yield plugin, listener
    plugin.posestage_unconfigure(stage())


def raise_hand(plugin, pid=1, slot=0, start=0):
    """Hand at the hip, then above the head: one CC change and a note on."""
    plugin.posestage_frame(frame(start, person(pid, slot, right_y=264.0)))
    plugin.posestage_frame(frame(start + 1, person(pid, slot, right_y=60.0)))
    return [[0xB0, 20, up(264)], [0xB0, 20, up(60)], [0x90, 60, 100]]


# -- opening ports ------------------------------------------------------------------------------


def test_virtual_port_sends_exactly_the_mapped_movement(midi):
    plugin, listener = midi
    ys = [264.0, 264.0, 200.0, 95.0, 60.0, 60.0, 105.0, 130.0, 300.0]
    for i, y in enumerate(ys):
        plugin.posestage_frame(frame(i, person(1, 0, right_y=y)))
    assert listener.take() == [
        [0xB0, 20, up(264)],
        [0xB0, 20, up(200)],
        [0xB0, 20, up(95)], [0x90, 60, 100],
        [0xB0, 20, up(60)],
        [0xB0, 20, up(105)],
        [0xB0, 20, up(130)], OFF60,
        [0xB0, 20, up(300)],
    ]  # fmt: skip


def test_a_named_existing_port_is_opened_by_part_of_its_name(jack, port_name):
    import rtmidi

    sink = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, port_name)
    sink.open_virtual_port("in")
    try:
        out = open_output(port_name, "jack")
        assert out.name == f"{port_name}:in"
        out.control(0, 7, 100)
        out.note_on(2, 64, 80)
        out.close()
        got = []
        for _ in range(200):
            m = sink.get_message()
            if m is None and len(got) >= 4:
                break
            if m is not None:
                got.append(m[0])
            else:
                import time

                time.sleep(0.01)
        assert got == [
            [0xB0, 7, 100],
            [0x92, 64, 80],
            [0x82, 64, 0],
            [0xB0, 123, 0],
            [0xB2, 123, 0],
        ]
    finally:
        sink.delete()


def test_no_such_port_is_one_line_listing_the_ports(jack, port_name):
    keep = open_output("", "jack", virtual_name=port_name)  # something to list
    try:
        with pytest.raises(MidiUnavailable) as err:
            open_output("no-such-synth", "jack")
        message = str(err.value)
        assert "\n" not in message
        assert message.startswith("midi: no MIDI output port 'no-such-synth'; available: jack: ")
        with pytest.raises(PluginError):
            Midi().posestage_configure(stage(), settings(api="jack", port="no-such-synth"))
    finally:
        keep.close()


def test_no_jack_server_is_one_line(jack, monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "posestage-nobody-here")
    with pytest.raises(MidiUnavailable) as err:
        open_output("", "jack")
    assert str(err.value) == (
        "midi: cannot create the virtual port 'posestage' (jack: no JACK server running "
        "(start jackd, or PipeWire's JACK)); set api or name an existing port"
    )


def test_the_stage_runs_on_without_a_port(tmp_path, jack):
    write_stream(tmp_path / "s.jsonl", [60.0] * 10)
    text = '[plugins.midi]\napi = "jack"\nport = "no-such-synth"\n'
    report = kit.run_scene(text, {"midi": Midi()}, source=tmp_path / "s.jsonl").report
    assert report.frames == 10
    (line,) = [e for e in report.errors if "midi" in e]
    assert "no MIDI output port 'no-such-synth'; available: jack:" in line


# -- every exit path with a note held ------------------------------------------------------------


def test_person_leave_releases_their_notes(midi):
    plugin, listener = midi
    expected = raise_hand(plugin)
    plugin.posestage_person_leave(person(1, 0), frame(2))
    plugin.posestage_frame(frame(2))
    assert listener.take() == [*expected, OFF60]


def test_scene_change_releases_every_note(midi):
    plugin, listener = midi
    expected = raise_hand(plugin)
    plugin.posestage_scene_changed(plugin._stage, "one", "two")  # the host kept the plugin
    plugin.posestage_frame(frame(2, person(1, 0, right_y=60.0)))
    # the old scene's note stops (and CC 123), then the new scene starts afresh
    assert listener.take() == [*expected, OFF60, PANIC1, [0xB0, 20, up(60)], [0x90, 60, 100]]


def test_scene_changed_hook_releases_every_note(midi):
    plugin, listener = midi
    expected = raise_hand(plugin)
    plugin.posestage_scene_changed(plugin._stage, "one", "two")
    plugin.posestage_frame(frame(2))
    assert listener.take() == [*expected, OFF60, PANIC1]


def test_disable_releases_every_note_and_closes_the_port(midi):
    plugin, listener = midi
    expected = raise_hand(plugin)
    plugin.posestage_unconfigure(stage())
    assert plugin.out is None
    assert listener.take() == [*expected, OFF60, PANIC1]


def test_a_crash_in_the_plugin_releases_every_note_before_the_error(midi):
    plugin, listener = midi
    expected = raise_hand(plugin)
    # a malformed person: the mapping code fails
    broken = dataclasses.replace(person(1, 0), xy=np.zeros((3, 2), np.float32))
    with pytest.raises(IndexError):
        plugin.posestage_frame(frame(2, broken))
    assert listener.take() == [*expected, OFF60, PANIC1]


def test_notes_on_several_channels_all_stop(port_name):
    plugin = Midi()
    scene = {
        "notes": [
            {"value": "above_head(right_wrist)", "note": 60, "channel": 1},
            {"value": "above_head(right_wrist)", "note": 64, "channel": 3, "slot": 1},
        ]
    }
    plugin.posestage_configure(stage(), settings(api="jack", virtual_name=port_name, **scene))
    with Listener(port_name) as listener:
        plugin.posestage_frame(frame(0, person(1, 0, right_y=50.0), person(2, 1, right_y=50.0)))
        plugin.posestage_unconfigure(stage())
        assert listener.take() == [
            [0x90, 60, 100], [0x92, 64, 100], OFF60, [0x82, 64, 0], PANIC1, [0xB2, 123, 0]
        ]  # fmt: skip


# -- on a real stage ----------------------------------------------------------------------------


def write_stream(path: Path, right_ys: list[float], width=640, height=480) -> None:
    figures = []
    for y in right_ys:
        xy = kit.standing_xy(320.0, 460.0, 400.0)
        xy[RIGHT, 1] = y
        figures.append([xy])
    kit.write_stream(path, figures, size=(width, height))


def test_shutdown_with_a_hand_up_sends_the_note_off(tmp_path, port_name):
    """The replay ends with the hand above the head: the note stops when the stage stops."""
    write_stream(tmp_path / "s.jsonl", [264.0] * 5 + [60.0] * 20)
    text = (
        f'[plugins.midi]\napi = "jack"\nport = "{port_name}"\n'
        '[[plugins.midi.notes]]\nvalue = "above_head(right_wrist)"\nnote = 60\n'
    )
    with Listener(port_name, virtual=True) as listener:  # an existing port: no race
        plugin = Midi()
        report = kit.run_scene(text, {"midi": plugin}, source=tmp_path / "s.jsonl").report
        assert report.frames == 25 and not report.errors
        assert listener.take() == [[0x90, 60, 100], OFF60, PANIC1]
        assert plugin.out is None


def paired(messages: list[list[int]]) -> bool:
    """Every note on was followed by its note off (by the end)."""
    held: set = set()
    for m in messages:
        kind, key = m[0] & 0xF0, (m[0] & 0x0F, m[1] if len(m) > 1 else None)
        if kind == 0x90 and m[2] > 0:
            held.add(key)
        elif kind in (0x80, 0x90):
            held.discard(key)
    return not held


def test_daw_midi_scene_plays_its_replay_and_leaves_no_note_held(jack, port_name):
    path = ROOT / "scenes" / "daw-midi.toml"
    text = path.read_text().replace('port = ""', f'port = "{port_name}"', 1)
    with Listener(port_name, virtual=True) as listener:
        # at the replay's own pace (4 s): a fast replay could pack more MIDI into one JACK
        # period than its port buffer holds on a loaded machine
        report = kit.run_scene(text, path=path, frames=60, pace="realtime").report
        # the shutdown ends with All Notes Off on both channels: wait for it, not for quiet
        got = listener.take(until=all_notes_off(0, 1))
    assert report.frames == 60 and not report.errors, report.errors
    notes = [m for m in got if m[0] & 0xF0 == 0x90]
    assert {m[1] for m in notes} >= {60, 64} and {m[0] & 15 for m in got} == {0, 1}
    assert len([m for m in got if m[0] & 0xF0 == 0xB0]) > 30
    assert paired(got), (len(got), got[-12:])
    # as it is (a virtual port), and on the demo replay
    for source in (None, f"replay:{ROOT / 'scenes' / 'demo.jsonl'}"):
        plugin = Midi()
        run = kit.run_scene(path, {"midi": plugin}, frames=60, source=source)
        assert run.report.frames == 60 and not run.report.errors, run.report.errors
        assert plugin.sent > 0  # the people moved the controllers


def test_midi_ports_command_lists_the_ports(jack, port_name, capsys):
    with Listener(port_name, virtual=True):  # a synth's input: something to send to
        assert kit.run_cli("midi-ports", "--api", "jack") == 0
    out = capsys.readouterr().out
    assert "jack: " in out and f"\n  {port_name}:in\n" in out
    assert 'port = ""' in out


def test_a_crashing_plugin_is_switched_off_by_the_host_with_no_note_left(jack, port_name):
    plugin = Midi()
    text = (
        f'[plugins.midi]\napi = "jack"\nport = "{port_name}"\n'
        '[[plugins.midi.notes]]\nvalue = "above_head(right_wrist)"\nnote = 60\n'
    )
    with Listener(port_name, virtual=True) as listener, kit.hosted({"midi": plugin}) as host:
        assert host.scene(text) == []
        host.frame(frame(0, person(1, 0, right_y=60.0)))
        broken = dataclasses.replace(person(1, 0), xy=np.zeros((3, 2), np.float32))
        for i in range(1, 4):  # three failures in a row: switched off
            host.frame(frame(i, broken))
        assert host.active == [] and plugin.out is None
        assert any("switched off" in e for e in host.errors)
        # the note stopped at the first crash; the later ones and the close add CC 123 only
        assert listener.take() == [[0x90, 60, 100], OFF60, PANIC1, PANIC1, PANIC1, PANIC1]


def test_a_scene_switch_to_new_mappings_keeps_the_port_the_daw_is_connected_to(port_name):
    plugin = Midi()
    head = f'[plugins.midi]\napi = "jack"\nvirtual_name = "{port_name}"\n'
    first = head + '[[plugins.midi.notes]]\nvalue = "above_head(right_wrist)"\nnote = 60\n'
    second = head + '[[plugins.midi.notes]]\nvalue = "above_head(right_wrist)"\nnote = 64\n'
    with kit.hosted({"midi": plugin}) as host:
        assert host.scene(first, "one") == []
        port = plugin.out
        with Listener(port_name) as listener:
            host.frame(frame(0, person(1, 0, right_y=60.0)))
            assert host.scene(second, "two") == []
            assert plugin.out is port  # the same virtual port: the DAW's connection holds
            host.frame(frame(1, person(1, 0, right_y=60.0)))
            # scene one's note ends (CC 123 from the new settings, again from the scene
            # change), scene two's mapping plays on the same port
            assert listener.take() == [[0x90, 60, 100], OFF60, PANIC1, PANIC1, [0x90, 64, 100]]
            other = f'[plugins.midi]\napi = "jack"\nvirtual_name = "{port_name}-b"\n'
            assert host.scene(other, "three") == []
            assert plugin.out is not port and plugin.out is not None  # another port: reopened
            assert listener.take() == [[0x80, 64, 0], PANIC1]  # nothing left held on the old one


# -- JACK dies mid-show and comes back ----------------------------------------------------------


def play_until(host, listener, wanted, *, start, right_y, timeout=20.0):
    """Frames (a hand at ``right_y``) every 20 ms until the listener got ``wanted`` (a test of
    the messages so far); returns them. The plugin's watch looks once a second."""
    got: list[list[int]] = []
    deadline = time.monotonic() + timeout
    i = start
    while time.monotonic() < deadline:
        host.frame(frame(i, person(1, 0, right_y=right_y)))
        i += 1
        got += listener.take(quiet=0.0, timeout=0.02)
        if wanted(got):
            return got
    raise AssertionError(f"not received in {timeout:g} s: {got}")


@pytest.fixture
def own_jack():
    """A JACK server of this test's own (killing it disturbs no other test)."""
    if JackServer.available() is None:
        pytest.skip("jackd is not installed (apt install jackd2)")
    server = JackServer(f"posestage-dies-{os.getpid()}-{next(_names)}")
    server.start()
    try:
        yield server
    finally:
        if server.process is None or server.process.poll() is not None:
            # killed and not back: a server that did not stop cleanly keeps its entry in
            # JACK's registry (eight at most, machine-wide) until one of its name starts
            # and stops again — so that is done here
            try:
                server.start()
            except RuntimeError:
                pass
        server.stop()


@pytest.mark.parametrize("virtual", [False, True], ids=["named port", "virtual port"])
def test_jack_dies_the_port_is_said_and_reopened_when_it_comes_back(own_jack, virtual):
    name = f"ps-dies-{next(_names)}"
    where = f'virtual_name = "{name}"' if virtual else f'port = "{name}"'
    text = (
        f'[plugins.midi]\napi = "jack"\n{where}\n'
        '[[plugins.midi.notes]]\nvalue = "above_head(right_wrist)"\nnote = 60\n'
    )
    plugin = Midi()

    def listen():  # what a synth hears: its own input port, or connected to ours
        return Listener(name, virtual=not virtual)

    listener = listen() if not virtual else None
    with kit.hosted({"midi": plugin}) as host:
        assert host.scene(text) == []
        listener = listener or listen()
        host.frame(frame(0, person(1, 0, right_y=60.0)))  # a hand up: the note sounds
        assert listener.take(until=lambda got: [0x90, 60, 100] in got) == [[0x90, 60, 100]]
        own_jack.kill()  # JACK dies mid-show, the note still held
        listener.abandon()  # its client died with the server: never touched again
        deadline = time.monotonic() + 20
        i = 1
        while not host.errors and time.monotonic() < deadline:
            host.frame(frame(i, person(1, 0, right_y=60.0)))
            i += 1
            time.sleep(0.02)
        # said once, in one line, through the stage; the plugin stays on
        (line,) = host.errors
        assert "midi: MIDI port" in line and "is gone" in line and "\n" not in line
        assert host.active == ["midi"] and plugin.out is None
        for k in range(5):  # frames while it is gone: nothing raised, nothing said again
            host.frame(frame(i + k, person(1, 0, right_y=60.0)))
        assert len(host.errors) == 1
        own_jack.start()  # JACK is back (the same server)
        listener = listen() if not virtual else None
        if virtual:  # our port must be back before anyone can connect to it
            deadline = time.monotonic() + 20
            while plugin.out is None and time.monotonic() < deadline:
                host.frame(frame(i, person(1, 0, right_y=60.0)))
                i += 1
                time.sleep(0.05)
            listener = listen()
            # the release went out before anyone listened: a hand going down then up again
            got = play_until(host, listener, lambda g: OFF60 in g, start=i, right_y=264.0)
            got += play_until(host, listener, lambda g: [0x90, 60, 100] in g, start=i, right_y=60.0)
            assert got == [OFF60, [0x90, 60, 100]]
        else:
            got = play_until(host, listener, lambda g: [0x90, 60, 100] in g, start=i, right_y=60.0)
            # first on the new port: the note that sounded when it went ends (and CC 123);
            # then the hand, still up, plays it afresh
            assert got == [OFF60, PANIC1, [0x90, 60, 100]]
        assert len(host.errors) == 1
        host.close()  # unconfigure: nothing left held
        assert listener.take(until=all_notes_off(0)) == [OFF60, PANIC1]
        listener.close()
