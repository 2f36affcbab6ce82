"""The mapping vocabulary and engine without any port: scene parsing, values, curves, notes."""

from __future__ import annotations

import math

import posestage_midi
import pytest
from posestage_midi.mappings import (
    AboveHead,
    ControlMapping,
    Coordinate,
    Distance,
    MappingEngine,
    NoteMapping,
    Speed,
    control_mapping,
    measure,
    note_mapping,
    parse_value,
)

from posestage import KEYPOINT_INDEX, Person, PoseFrame, SceneError
from posestage import testing as kit

W, H = 640, 480
RIGHT, LEFT = KEYPOINT_INDEX["right_wrist"], KEYPOINT_INDEX["left_wrist"]
#: The figure's nose is at y = 100 (ankles at 460, 400 px tall).
HEAD_Y = 100.0


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


def cc(value="right_wrist.y", number=20, **kw):
    return control_mapping({"value": value, "cc": number, **kw}, "t")


def note(value="above_head(right_wrist)", number=60, **kw):
    return note_mapping({"value": value, "note": number, **kw}, "t")


def scene(text: str):
    return kit.load_scene(text, {"midi": posestage_midi.Midi()}, path="scenes/x.toml")


# -- vocabulary ---------------------------------------------------------------------------------


def test_values_parse_into_small_typed_values():
    assert parse_value("right_wrist.y") == Coordinate(RIGHT, "y")
    assert parse_value(" Left_Wrist . x ") == Coordinate(LEFT, "x")
    assert parse_value("distance(left_wrist, right_wrist)") == Distance(LEFT, RIGHT)
    assert parse_value("above_head(right_wrist)") == AboveHead(RIGHT)
    assert parse_value("speed(right_wrist)") == Speed(RIGHT)
    assert str(parse_value("distance( left_wrist ,right_wrist )")) == (
        "distance(left_wrist, right_wrist)"
    )


@pytest.mark.parametrize(
    "text, words",
    [
        ("rigth_wrist.y", ["unknown keypoint 'rigth_wrist'", "did you mean 'right_wrist'"]),
        ("right_wrist.z", ["axis is x or y"]),
        ("distanse(a, b)", ["unknown function 'distanse'", "did you mean 'distance'"]),
        ("distance(left_wrist)", ["distance() takes 2 keypoint(s), got 1"]),
        ("hands", ["cannot read 'hands'"]),
    ],
)
def test_bad_values_say_what_is_valid(text, words):
    with pytest.raises(ValueError) as err:
        parse_value(text)
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize(
    "table, key, words",
    [
        ('[[plugins.midi.cc]]\nvalue = "rigth_wrist.y"\ncc = 20', "plugins.midi.cc[0].value",
         "did you mean 'right_wrist'"),
        ('[[plugins.midi.cc]]\nvalue = "right_wrist.y"', "plugins.midi.cc[0].cc", "missing"),
        ('[[plugins.midi.cc]]\nvalue = "right_wrist.y"\ncc = 20\n[[plugins.midi.cc]]\n'
         'value = "left_wrist.y"\ncc = 40\nbits = 14', "plugins.midi.cc[1].cc", "0-31"),
        ('[[plugins.midi.cc]]\nvalue = "right_wrist.y"\ncc = 20\nrange = [0.5, 0.5]',
         "plugins.midi.cc[0].range", "two different numbers"),
        ('[[plugins.midi.cc]]\nvalue = "right_wrist.y"\ncc = 20\ncurve = "cubic"',
         "plugins.midi.cc[0].curve", "valid: 'linear', 'exp', 'log', 's'"),
        ('[[plugins.midi.cc]]\nvalue = "right_wrist.y"\ncc = 20\nchanel = 2',
         "plugins.midi.cc[0].chanel", "did you mean 'channel'"),
        ('[[plugins.midi.notes]]\nvalue = "above_head(right_wrist)"\nnote = 128',
         "plugins.midi.notes[0].note", "out of range"),
        ('[[plugins.midi.notes]]\nvalue = "above_head(right_wrist)"\nnote = 60\non = 0.1\noff = 0.2',
         "plugins.midi.notes[0].off", "off must be <= on"),
        ('[plugins.midi]\napi = "jak"', "plugins.midi.api", "did you mean 'jack'"),
    ],
)  # fmt: skip
def test_scene_errors_are_one_line_naming_the_key(table, key, words):
    with pytest.raises(SceneError) as err:
        scene(table)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"scenes/x.toml: {key}: "), message
    assert words in message


def test_a_valid_scene_gives_typed_mappings_with_wire_channels():
    s = scene(
        '[[plugins.midi.cc]]\nvalue = "distance(left_wrist, right_wrist)"\ncc = 1\nchannel = 16\n'
        'range = [0.8, 0.0]\nbits = 14\ncurve = "s"\n'
        '[[plugins.midi.notes]]\nvalue = "above_head(left_wrist)"\nnote = 64\nslot = 1\n'
    )
    (use,) = s.plugins
    (c,) = use.settings["cc"]
    (n,) = use.settings["notes"]
    assert c == ControlMapping(Distance(LEFT, RIGHT), 1, 15, 0, 0.8, 0.0, "s", 0.0, 14, "")
    assert n == NoteMapping(AboveHead(LEFT), 64, 0.0, -0.03, 100, 0, 1, "")


def test_defaults_apply_only_when_the_scene_lists_no_mapping():
    controls, notes = posestage_midi.mappings_of({"cc": [], "notes": []})
    assert [m.cc for m in controls] == [20, 21, 22, 23] and [m.note for m in notes] == [60, 62]
    controls, notes = posestage_midi.mappings_of({"cc": (cc(),), "notes": ()})
    assert len(controls) == 1 and notes == ()


# -- values and curves --------------------------------------------------------------------------


def test_measures_in_image_units():
    p = person(1, 0, right_y=60.0, left_y=300.0)
    kw = dict(width=640, height=H, threshold=0.3)
    assert measure(Coordinate(RIGHT, "y"), p.xy, p.scores, **kw) == pytest.approx(1 - 60 / H)
    assert measure(Coordinate(RIGHT, "x"), p.xy, p.scores, **kw) == pytest.approx(
        p.xy[RIGHT, 0] / 640
    )
    assert measure(AboveHead(RIGHT), p.xy, p.scores, **kw) == pytest.approx((HEAD_Y - 60) / H)
    d = math.hypot(*(p.xy[LEFT] - p.xy[RIGHT])) / H
    assert measure(Distance(LEFT, RIGHT), p.xy, p.scores, **kw) == pytest.approx(d)
    before = p.xy.copy()
    before[RIGHT] += (30.0, 40.0)  # 50 px in 0.1 s
    got = measure(Speed(RIGHT), p.xy, p.scores, **kw, previous=before, dt=0.1)
    assert got == pytest.approx(50 / H / 0.1)
    assert measure(Speed(RIGHT), p.xy, p.scores, **kw) is None  # no earlier position
    hidden = person(1, 0, low=(RIGHT,))
    assert measure(Coordinate(RIGHT, "y"), hidden.xy, hidden.scores, **kw) is None
    headless = person(1, 0, low=(0, 1, 2, 3, 4))
    assert measure(AboveHead(RIGHT), headless.xy, headless.scores, **kw) is None


def test_range_curves_and_bits():
    m = cc(range=[0.2, 0.6])
    assert [m.scale(x) for x in (0.0, 0.2, 0.4, 0.6, 1.0)] == [0, 0, 64, 127, 127]
    assert cc(range=[1.0, 0.0]).scale(0.25) == 95  # reversed range inverts
    assert cc(bits=14, number=1).scale(0.5) == 8192
    assert cc(curve="exp").scale(0.5) == round((2**2 - 1) / (2**4 - 1) * 127)
    assert cc(curve="log").scale((2**2 - 1) / (2**4 - 1)) == 64
    assert cc(curve="s").scale(0.25) == round(0.15625 * 127)


# -- the engine ---------------------------------------------------------------------------------


def test_only_changed_values_are_sent():
    engine = MappingEngine([cc(), cc("left_wrist.y", 21, channel=2)])
    ys = [300.0, 300.0, 200.0, 200.5, 100.0]
    got = [engine.frame(frame(i, person(1, 0, right_y=y, left_y=300.0))) for i, y in enumerate(ys)]
    assert got[0] == [[0xB0, 20, up(300)], [0xB1, 21, up(300)]]
    assert got[1] == []
    assert got[2] == [[0xB0, 20, up(200)]]
    assert got[3] == ([] if up(200.5) == up(200) else [[0xB0, 20, up(200.5)]])
    assert got[4] == [[0xB0, 20, up(100)]]


def test_fourteen_bit_sends_coarse_then_fine_and_fine_alone_when_only_it_changes():
    engine = MappingEngine([cc(number=1, bits=14)])
    a = engine.frame(frame(0, person(1, 0, right_y=240.0)))
    assert a == [[0xB0, 1, 64], [0xB0, 33, 0]]  # 0.5 → 8192 = 64 << 7
    b = engine.frame(frame(1, person(1, 0, right_y=239.9)))
    value = round((1 - 239.9 / H) * 16383)
    assert value >> 7 == 64 and b == [[0xB0, 33, value & 127]]
    c = engine.frame(frame(2, person(1, 0, right_y=100.0)))
    value = round((1 - 100 / H) * 16383)
    assert c == [[0xB0, 1, value >> 7], [0xB0, 33, value & 127]]


def test_smoothing_eases_towards_the_value_and_restarts_for_a_new_person():
    engine = MappingEngine([cc(smoothing=0.5)])
    engine.frame(frame(0, person(1, 0, right_y=480.0)))  # 0.0
    out = engine.frame(frame(1, person(1, 0, right_y=0.0)))  # 1.0, halfway: 0.5
    assert out == [[0xB0, 20, 64]]
    out = engine.frame(frame(2, person(2, 0, right_y=0.0)))  # someone new: no history
    assert out == [[0xB0, 20, 127]]


def test_nobody_or_a_dropout_sends_nothing_and_keeps_the_last_value():
    engine = MappingEngine([cc()], [note()])
    engine.frame(frame(0, person(1, 0, right_y=60.0)))
    assert engine.frame(frame(1)) == []
    assert engine.frame(frame(2, person(1, 0, right_y=300.0, missing=2))) == []
    assert engine.frame(frame(3, person(1, 0, right_y=300.0, low=(RIGHT,)))) == []
    assert engine.held == {0: (1, 0, 60)}  # a hidden wrist keeps the note until it is seen


def test_wrist_above_head_plays_a_note_with_hysteresis():
    engine = MappingEngine([], [note(velocity=90), note("above_head(left_wrist)", 62, channel=2)])
    ys = [264.0, 120.0, 95.0, 60.0, 100.0, 105.0, 120.0, 60.0]
    # above_head: (100 - y) / 480 → on at >= 0, off under -0.03 (y > 114.4)
    got = [engine.frame(frame(i, person(1, 0, right_y=y))) for i, y in enumerate(ys)]
    assert got == [[], [], [[0x90, 60, 90]], [], [], [], [[0x80, 60, 0]], [[0x90, 60, 90]]]


def test_leave_releases_that_persons_notes_only():
    engine = MappingEngine([], [note(), note(number=64, slot=1)])
    a, b = person(1, 0, right_y=50.0), person(2, 1, right_y=50.0)
    assert engine.frame(frame(0, a, b)) == [[0x90, 60, 100], [0x90, 64, 100]]
    assert engine.leave(b) == [[0x80, 64, 0]]
    assert engine.frame(frame(1, a)) == []
    assert engine.release() == [[0x80, 60, 0]] and engine.release() == []


def test_a_new_person_in_the_slot_takes_over_after_the_old_note_stops():
    engine = MappingEngine([], [note()])
    engine.frame(frame(0, person(1, 0, right_y=50.0)))
    out = engine.frame(frame(1, person(7, 0, right_y=50.0)))  # leave hook was missed
    assert out == [[0x80, 60, 0], [0x90, 60, 100]] and engine.held == {0: (7, 0, 60)}


def test_speed_needs_two_frames_of_the_same_person():
    engine = MappingEngine([cc("speed(right_wrist)", 23, range=[0.0, 2.0])])
    assert engine.frame(frame(0, person(1, 0, right_y=300.0))) == []
    out = engine.frame(frame(3, person(1, 0, right_y=228.0)))  # 72 px in 0.1 s: 1.5 heights/s
    assert out == [[0xB0, 23, 95]]


def test_learn_mode_sends_only_the_chosen_mapping_as_a_sweep_or_a_pulse():
    controls, notes = [cc(), cc("left_wrist.y", 21)], [note()]
    engine = MappingEngine(controls, notes, learn=2)
    seen = []
    for i in range(121):  # 4 s at 30 fps: one sweep 0 → 127 → 0
        seen += engine.frame(frame(i, person(1, 0, right_y=50.0), t0=0.0))
    assert {tuple(m[:2]) for m in seen} == {(0xB0, 21)}
    values = [m[2] for m in seen]
    assert values[0] == 0 and max(values) == 127 and values[-1] == 0
    engine.learn = 3
    pulses = []
    for i in range(121):
        pulses += engine.frame(frame(i, t0=0.0))  # nobody needed
    assert pulses == [[0x90, 60, 100], [0x80, 60, 0], [0x90, 60, 100]]
    assert engine.release() == [[0x80, 60, 0]]


def test_learn_mode_names_the_mapping_on_screen():
    import pygame

    pygame.font.init()
    plugin = posestage_midi.Midi()
    plugin.engine = MappingEngine([cc(name="right hand height")], [note()], learn=1)
    plugin.out = object()  # drawing needs no port; nothing is sent
    canvas = pygame.Surface((640, 480))
    plugin.posestage_draw(canvas, frame(0))
    assert plugin.engine.learn_target().label == "right hand height → ch 1 CC 20 (slot 0)"
    bottom = pygame.surfarray.array3d(canvas)[:, 400:, :]
    assert bottom.max() == 255  # the white caption is there
    plugin.out = None


def test_windows_has_no_virtual_port_and_the_line_names_loopmidi(monkeypatch):
    import sys

    from posestage_midi.ports import MidiUnavailable, open_output

    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(MidiUnavailable) as err:
        open_output("", "auto")
    message = str(err.value)
    assert "\n" not in message and message.startswith("midi: Windows has no virtual MIDI ports")
    assert "loopMIDI" in message and 'port = "loopMIDI Port"' in message


def test_port_names_match_exactly_or_by_a_unique_part():
    from posestage_midi.ports import match_port

    names = ["IAC Driver Bus 1", "IAC Driver Bus 2", "loopMIDI Port 1"]
    assert match_port("IAC Driver Bus 2", names) == "IAC Driver Bus 2"
    assert match_port("loopmidi", names) == "loopMIDI Port 1"
    assert match_port("Synth", names) is None
    with pytest.raises(ValueError, match="matches several"):
        match_port("IAC", names)
