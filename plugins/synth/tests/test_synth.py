"""The synthesizer for real: FluidSynth rendering (get_samples), MIDI through JACK, a stage."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import posestage_synth
import pytest
from posestage_midi.jack import Listener, all_notes_off
from posestage_synth import (
    SCALES,
    Synth,
    find_soundfont,
    note_name,
    parse_color,
    parse_root,
    root_semitones,
)

from posestage import (
    KEYPOINT_INDEX,
    Person,
    PluginError,
    PoseFrame,
    SceneError,
    color_for,
    validate,
)
from posestage import testing as kit

# the scene-switch test at the end drives the plugin host directly (tests/test_public_api.py)

ROOT = Path(__file__).resolve().parents[3]

# Hand-made people: a standing figure (400 px tall, ankles at y = 460) whose wrists go where
# we say. Its right elbow is at y = 208: a right wrist above that plays. With the default scale
# (major pentatonic, 2 octaves over the image height) a wrist at row y sits on scale step
# floor((1 - y / 480) * 10).
W, H = 640, 480
RIGHT, LEFT = KEYPOINT_INDEX["right_wrist"], KEYPOINT_INDEX["left_wrist"]
DOWN = 264.0  # where the wrists hang: below the elbows (y = 208)


def person(pid: int, slot: int, right_y: float = DOWN, left_y: float = DOWN,
           x: float = 320.0, missing: int = 0) -> Person:  # fmt: skip
    return kit.person(pid, slot, x=x, feet=460.0, tall=400.0, missing=missing,
                      right_wrist=(None, right_y), left_wrist=(None, left_y))  # fmt: skip


def frame(index: int, *people: Person) -> PoseFrame:
    stamp = 1000.0 + index / 30
    return kit.frame(index, people, timestamp=stamp, captured=stamp)


def volume(y: float, low: int = 40, high: int = 127) -> int:
    return int(round(low + (high - low) * (1.0 - y / H)))


_names = itertools.count(1)
TWO_VOICES = [{"program": 48, "octave": 4}, {"program": 73, "octave": 5}]


def settings(**values):
    return validate(values, posestage_synth.SETTINGS, "test: plugins.synth")


def stage(scene="one"):
    return kit.context(640, 480, scene=scene)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


AUDIBLE, SILENT = 300.0, 20.0  # int16 RMS


@pytest.fixture
def fluid():
    """The plugin with FluidSynth rendering only (no audio device): ``render(s)`` → samples."""
    synth = Synth()
    synth.posestage_configure(stage(), settings(driver="none"))
    yield synth, synth.out.raw.render
    synth.posestage_unconfigure(stage())


def wait_until_connected(synth, listener, attempts: int = 100) -> None:
    """Until the plugin's port really delivers to the listener: JACK applies a new connection
    on a later cycle (later still on a busy machine), and a message sent before is lost. A
    sysex nobody acts on is sent until one arrives; then the port is drained."""
    import mido

    probe = mido.Message("sysex", data=[0x7D, 0x00])  # 0x7D: non-commercial, for tests
    for _ in range(attempts):
        synth.out.raw.send(probe)
        if listener.take(quiet=0.05, timeout=0.2):
            listener.take(quiet=0.3, timeout=0.3)  # a probe that came late, if any
            return
    pytest.fail(f"the synth's port never delivered to the listener ({attempts} probes)")


@pytest.fixture
def midi_synth(jack):
    """The plugin sending MIDI to a fresh virtual JACK port, and a listener on it."""
    name = f"ps-synth-{next(_names)}"
    with Listener(name, virtual=True) as listener:  # an existing port: it gets every message
        synth = Synth()
        synth.posestage_configure(
            stage(), settings(output="midi", api="jack", port=name, voices=TWO_VOICES)
        )
        assert synth.out.name == f"{name}:in"
        wait_until_connected(synth, listener)
        yield synth, listener
        synth.posestage_unconfigure(stage())


# -- the music ----------------------------------------------------------------------------------


def test_scales_roots_and_names():
    assert SCALES["major_pentatonic"] == (0, 2, 4, 7, 9)
    assert root_semitones("c") == 0 and root_semitones("F#") == 6 and root_semitones("Bb") == 10
    assert parse_root("Bb") == "A#" and parse_color("orange") == "#ffa500"
    with pytest.raises(ValueError, match="not a note name"):
        parse_root("H")
    assert note_name(60) == "C4" and note_name(74) == "D5"


def test_scene_errors_name_the_key():
    for table, key in [
        ('scale = "majr"', "plugins.synth.scale"),
        ('root = "X"', "plugins.synth.root"),
        ("volume = [10]", "plugins.synth.volume"),
        ("[[plugins.synth.voices]]\nprogram = 200", "plugins.synth.voices[0].program"),
        ('[[plugins.synth.voices]]\ncolor = "nocolour"', "plugins.synth.voices[0].color"),
    ]:
        text = f"[plugins.synth]\n{table}\n" if not table.startswith("[[") else table
        with pytest.raises(SceneError) as err:
            kit.load_scene(text, {"synth": Synth()}, path="scenes/s.toml")
        assert str(err.value).startswith(f"scenes/s.toml: {key}: "), str(err.value)


def test_a_soundfont_is_found_at_the_usual_places_or_one_line_says_what_to_install(tmp_path):
    assert find_soundfont().suffix == ".sf2"
    with pytest.raises(PluginError) as err:
        find_soundfont(str(tmp_path / "missing.sf2"))
    assert "\n" not in str(err.value) and "apt install fluid-soundfont-gm" in str(err.value)


def test_no_audio_device_is_one_line():
    synth = Synth()
    try:
        synth.posestage_configure(stage(), settings(driver="oss"))  # no /dev/dsp here
    except PluginError as err:
        message = str(err)
        assert "\n" not in message and "cannot open the 'oss' audio device" in message
        assert synth.out is None
    else:  # pragma: no cover - a machine with OSS sound
        synth.posestage_unconfigure(stage())
        pytest.skip("this machine has an OSS audio device")


# -- FluidSynth renders what the hands play -----------------------------------------------------


def test_audible_while_a_hand_is_up_and_silent_after_the_person_leaves(fluid):
    synth, render = fluid
    synth.posestage_person_enter(person(1, 0), frame(0))
    synth.posestage_frame(frame(0, person(1, 0)))  # hands down: nothing plays
    assert rms(render(0.3)) < SILENT
    synth.posestage_frame(frame(1, person(1, 0, right_y=150.0)))  # right hand up
    assert synth.voices[0].note == 74
    assert rms(render(0.5)) > AUDIBLE
    synth.posestage_person_leave(person(1, 0, right_y=150.0), frame(2))
    synth.posestage_frame(frame(2))
    tail = render(3.0)
    assert rms(tail[-int(0.5 * 44100) :]) < SILENT  # the release has died away


def test_hand_down_stops_the_note_and_volume_follows_the_left_hand(fluid):
    synth, render = fluid
    synth.posestage_frame(frame(0, person(1, 0, right_y=150.0, left_y=60.0)))
    loud = rms(render(0.5))
    synth.posestage_frame(frame(1, person(1, 0, right_y=150.0, left_y=460.0)))  # left hand low
    render(0.2)
    quiet = rms(render(0.3))
    assert quiet < loud * 0.7
    synth.posestage_frame(frame(2, person(1, 0, right_y=DOWN)))
    assert rms(render(3.0)[-22050:]) < SILENT


def test_scene_change_silences_fluidsynth(fluid):
    synth, render = fluid
    synth.posestage_frame(frame(0, person(1, 0, right_y=150.0), person(2, 1, right_y=100.0)))
    assert rms(render(0.3)) > AUDIBLE
    synth.posestage_scene_changed(synth._stage, "one", "two")
    synth.posestage_frame(frame(1, person(1, 0, right_y=DOWN), person(2, 1, right_y=DOWN)))
    assert rms(render(3.0)[-22050:]) < SILENT


def test_a_crash_silences_fluidsynth(fluid):
    synth, render = fluid
    synth.posestage_frame(frame(0, person(1, 0, right_y=150.0)))
    broken = dataclasses.replace(person(1, 0), xy=np.zeros((3, 2), np.float32))
    with pytest.raises(IndexError):
        synth.posestage_frame(frame(1, broken))
    assert rms(render(3.0)[-22050:]) < SILENT


# -- the same notes as MIDI, exactly ------------------------------------------------------------


def test_exact_note_events_per_person_and_the_next_person_takes_a_free_voice(midi_synth):
    synth, listener = midi_synth
    a, b, c = 1, 2, 3
    synth.posestage_person_enter(person(a, 0), frame(0))
    synth.posestage_frame(frame(0, person(a, 0)))
    synth.posestage_person_enter(person(b, 1), frame(1))
    synth.posestage_frame(frame(1, person(a, 0, right_y=150.0), person(b, 1)))
    synth.posestage_person_enter(person(c, 2), frame(2))  # no voice left: waits
    synth.posestage_frame(
        frame(2, person(a, 0, right_y=140.0), person(b, 1, right_y=100.0), person(c, 2, right_y=150.0))
    )  # fmt: skip
    synth.posestage_frame(
        frame(3, person(a, 0, right_y=60.0), person(b, 1, right_y=100.0), person(c, 2, right_y=150.0))
    )  # fmt: skip
    synth.posestage_person_leave(person(a, 0), frame(4))  # a leaves: c takes the free voice
    synth.posestage_frame(frame(4, person(b, 1, right_y=100.0), person(c, 2, right_y=150.0)))
    v = volume(DOWN)
    assert listener.take() == [
        [0xC0, 48],                                   # a takes voice 1: its program
        [0xB0, 7, v],                                 # a: volume, hands down
        [0xC1, 73],                                   # b takes voice 2
        [0x90, 74, 100],                              # a: hand up → D5 (step 6, octave 4)
        [0xB1, 7, v],                                 # b: volume
        # frame 2: a moves within the step (hysteresis: no new note); b plays step 7 → E6
        [0x91, 88, 100],
        [0x80, 74, 0], [0x90, 79, 100],               # a higher: step 8 → G5
        [0x80, 79, 0],                                # a leaves
        [0xC0, 48], [0x90, 74, 100],                  # c takes the free voice (same volume)
    ]  # fmt: skip
    assert [vo.person for vo in synth.voices] == [c, b]


def test_disable_and_shutdown_release_every_note(midi_synth):
    synth, listener = midi_synth
    synth.posestage_frame(frame(0, person(1, 0, right_y=150.0), person(2, 1, right_y=100.0)))
    synth.posestage_unconfigure(stage())
    v = volume(DOWN)
    assert listener.take() == [
        [0xC0, 48], [0xC1, 73],
        [0xB0, 7, v], [0x90, 74, 100], [0xB1, 7, v], [0x91, 88, 100],
        [0x80, 74, 0], [0x81, 88, 0], [0xB0, 123, 0], [0xB1, 123, 0],
    ]  # fmt: skip


def test_scene_change_and_a_crash_release_every_note(midi_synth):
    synth, listener = midi_synth
    synth.posestage_frame(frame(0, person(1, 0, right_y=150.0)))
    synth.posestage_scene_changed(synth._stage, "one", "two")
    synth.posestage_frame(frame(1, person(1, 0, right_y=150.0)))  # new scene: plays again
    broken = dataclasses.replace(person(1, 0), xy=np.zeros((3, 2), np.float32))
    with pytest.raises(IndexError):
        synth.posestage_frame(frame(2, broken))
    v = volume(DOWN)
    assert listener.take() == [
        [0xC0, 48],
        [0xB0, 7, v], [0x90, 74, 100],
        [0x80, 74, 0], [0xB0, 123, 0],                   # scene change
        [0x90, 74, 100],
        [0x80, 74, 0], [0xB0, 123, 0],                   # the crash
    ]  # fmt: skip


# -- scenes/synth.toml on a real stage ----------------------------------------------------------


def _run(text: str, frames: int = 60, source: str | None = None, pace: str = "fast"):
    path = ROOT / "scenes" / "synth.toml"
    return kit.run_scene(text, path=path, frames=frames, pace=pace, source=source).report


DEMO = f"replay:{ROOT / 'scenes' / 'demo.jsonl'}"


def test_synth_scene_runs_headless_on_its_replay_and_the_demo_replay():
    text = (ROOT / "scenes" / "synth.toml").read_text()
    for source in (None, DEMO):
        report = _run(text, source=source)
        assert report.frames == 60
        problems = [e for e in report.errors if "synth" in e]
        # no sound card here: at most one line saying what to do, and the show went on
        assert all("\n" not in e for e in problems) and len(problems) <= 1, problems
        assert 'driver = "auto"' in text
        report = _run(text.replace('driver = "auto"', 'driver = "none"'), source=source)
        assert report.frames == 60 and not report.errors, report.errors


def test_synth_scene_plays_three_voices_and_leaves_no_note_held(jack):
    name = f"ps-synth-{next(_names)}"
    text = (ROOT / "scenes" / "synth.toml").read_text()
    text = text.replace('output = "fluidsynth"', f'output = "midi"\nport = "{name}"\napi = "jack"')
    with Listener(name, virtual=True) as listener:
        # at the replay's own pace (4 s): a fast replay could pack more MIDI into one JACK
        # period than its port buffer holds on a loaded machine
        report = _run(text, frames=60, pace="realtime")
        # the shutdown ends with All Notes Off on the three voices: wait for it, not for quiet
        got = listener.take(until=all_notes_off(0, 1, 2))
    assert report.frames == 60 and not report.errors, report.errors
    ons = [m for m in got if m[0] & 0xF0 == 0x90]
    assert {m[0] & 15 for m in ons} == {0, 1, 2} and len(ons) >= 10
    held: set = set()
    for m in got:
        if m[0] & 0xF0 == 0x90:
            assert (m[0] & 15) not in {k[0] for k in held}  # one note per voice at a time
            held.add((m[0] & 15, m[1]))
        elif m[0] & 0xF0 == 0x80:
            held.discard((m[0] & 15, m[1]))
    assert not held


def _draw_two(synth):
    import pygame

    canvas = pygame.Surface((640, 480))
    f = frame(0, person(1, 0, right_y=150.0), person(2, 1, x=120.0))
    synth.posestage_frame(f)
    synth.posestage_draw(canvas, f)
    return canvas, f


def test_draws_each_voice_in_its_colour_at_the_right_wrist():
    synth = Synth()
    voices = [{"program": 48, "color": "#ff6040"}, {"program": 73, "color": "#40c0ff"}]
    synth.posestage_configure(stage(), settings(driver="none", voices=voices))
    try:
        canvas, f = _draw_two(synth)
    finally:
        synth.posestage_unconfigure(stage())
    x, y = (int(c) for c in f.people[0].xy[RIGHT])
    assert tuple(canvas.get_at((x, y)))[:3] == (0xFF, 0x60, 0x40)  # voice 1 plays: filled
    x, y = (int(c) for c in f.people[1].xy[RIGHT])
    assert tuple(canvas.get_at((x, y)))[:3] == (0, 0, 0)  # voice 2 silent: a ring only
    ring = [tuple(canvas.get_at((x + dx, y)))[:3] for dx in range(-20, 21)]
    assert (0x40, 0xC0, 0xFF) in ring


@pytest.mark.parametrize("color_by", ["id", "slot"])
def test_a_voice_without_a_colour_is_drawn_in_its_persons_skeleton_colour(color_by):
    """One palette: the dot at the wrist has the colour the skeleton draws that person in."""
    synth = Synth()
    synth.posestage_configure(stage(), settings(driver="none", color_by=color_by))
    try:
        canvas, f = _draw_two(synth)
    finally:
        synth.posestage_unconfigure(stage())
    first, second = f.people
    key = (lambda p: p.slot) if color_by == "slot" else (lambda p: p.id)
    x, y = (int(c) for c in first.xy[RIGHT])
    assert tuple(canvas.get_at((x, y)))[:3] == color_for(key(first))  # plays: filled
    x, y = (int(c) for c in second.xy[RIGHT])
    ring = [tuple(canvas.get_at((x + dx, y)))[:3] for dx in range(-20, 21)]
    assert color_for(key(second)) in ring and color_for(key(first)) not in ring


def test_a_real_audio_driver_fluidsynth_plays_into_jack(jack):
    """The JACK server of the MIDI tests is an audio server too: FluidSynth's jack driver."""
    synth = Synth()
    synth.posestage_configure(stage(), settings(driver="jack"))
    try:
        assert synth.out.name.endswith("driver jack)")
        synth.posestage_frame(frame(0, person(1, 0, right_y=150.0)))
        assert synth.voices[0].note == 74 and synth.out.held == {(0, 74): 100}
    finally:
        synth.posestage_unconfigure(stage())
    assert synth.out is None and synth.voices[0].note is None


def test_scene_changed_hook_releases_every_note(midi_synth):
    synth, listener = midi_synth
    synth.posestage_frame(frame(0, person(1, 0, right_y=150.0)))
    synth.posestage_scene_changed(synth._stage, "one", "two")
    synth.posestage_frame(frame(1, person(1, 0)))
    v = volume(DOWN)
    assert listener.take() == [
        [0xC0, 48],
        [0xB0, 7, v],
        [0x90, 74, 100],
        [0x80, 74, 0],
        [0xB0, 123, 0],
    ]


def test_a_scene_switch_to_other_voices_keeps_fluidsynth_and_its_soundfont_loaded():
    synth = Synth()
    first = '[plugins.synth]\ndriver = "none"\n'
    second = (
        '[plugins.synth]\ndriver = "none"\nscale = "minor"\nroot = "A"\n'
        "[[plugins.synth.voices]]\nprogram = 48\noctave = 3\n"
    )
    with kit.hosted({"synth": synth}) as host:
        assert host.scene(first, "one") == []
        fluidsynth, render = synth.out.raw, synth.out.raw.render
        host.frame(frame(0, person(1, 0, right_y=150.0)))
        note = synth.voices[0].note
        assert rms(render(0.3)) > AUDIBLE
        assert host.scene(second, "two") == []
        assert synth.out.raw is fluidsynth  # no soundfont reload, no gap in the audio stream
        assert [v.program for v in synth.voices] == [48] and synth.voices[0].note is None
        assert rms(render(3.0)[-22050:]) < SILENT  # the old scene's note has died away
        host.frame(frame(1, person(1, 0, right_y=150.0)))
        assert synth.voices[0].note not in (None, note)  # the new scale, root and octave
        assert rms(render(0.3)) > AUDIBLE
        louder = '[plugins.synth]\ndriver = "none"\ngain = 1.0\n'
        assert host.scene(louder, "three") == []
        assert synth.out.raw is not fluidsynth  # another output setting: FluidSynth anew
