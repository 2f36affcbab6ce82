"""posestage plugin ``synth``: up to three people play an instrument each with their hands.

Coral's project-posenet synthesizer, working (it looked the wrists up by a key that never
matched, so it never played): each person gets a voice — a General MIDI program, an octave and
a colour (the person's own, from posestage's one palette, unless the voice sets one) — while they are in frame (by tracked id; the next person takes a free voice). A voice
plays while the **right wrist is above the right elbow**; the right wrist's height picks the
pitch on a scale (major pentatonic on C by default), the left wrist's height sets the volume. A
note changes only when the pitch does; volume changes without retriggering.

Sound comes from FluidSynth with a General MIDI soundfont (``output = "fluidsynth"``, the
default), or goes as the same MIDI to a port for a DAW (``output = "midi"``, through the midi
plugin's port code; a port that disappears is said on screen and reopened when it comes back).
A person leaving releases their note; a scene change, disable, shutdown and an exception in the
plugin silence everything.

Scene (``scenes/synth.toml``)::

    [plugins.synth]
    scale = "major_pentatonic"
    root = "C"
    [[plugins.synth.voices]]
    program = 48          # String Ensemble 1
    octave = 4            # drawn in the person's colour (as the skeleton), or color = "#ff6040"
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import sys
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from typing import Any

import numpy as np
from posestage_midi.ports import API_CHOICES, MidiOut, open_output
from posestage_midi.release import NotePlayer, releasing

from posestage import KEYPOINT_INDEX, OUTLINE, PluginError, Setting, color_for, hookimpl
from posestage_synth import route

log = logging.getLogger("posestage.synth")

#: Scales as semitones above the root, one octave.
SCALES: dict[str, tuple[int, ...]] = {
    "major_pentatonic": (0, 2, 4, 7, 9),
    "minor_pentatonic": (0, 3, 5, 7, 10),
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "whole_tone": (0, 2, 4, 6, 8, 10),
    "chromatic": tuple(range(12)),
}
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}
DRIVERS = (
    "auto", "none", "alsa", "pulseaudio", "pipewire", "jack", "oss", "sdl2", "portaudio",
    "coreaudio", "dsound", "wasapi", "waveout", "opensles", "oboe", "file",
)  # fmt: skip
#: Where General MIDI soundfonts usually are (Debian fluid-soundfont-gm first).
SOUNDFONT_PATHS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/*.sf2",
    "/usr/local/share/soundfonts/*.sf2",
    "/opt/homebrew/share/soundfonts/*.sf2",
    "/opt/homebrew/share/fluid-synth/*.sf2",
    "~/Library/Audio/Sounds/Banks/*.sf2",
    "~/.local/share/soundfonts/*.sf2",
    "~/soundfonts/*.sf2",
    "C:/soundfonts/*.sf2",
    "~/Documents/soundfonts/*.sf2",
)
INSTALL_SOUNDFONT = (
    "install a General MIDI soundfont (Debian/Ubuntu: apt install fluid-soundfont-gm; "
    "macOS/Windows: download FluidR3_GM.sf2 or GeneralUser GS into ~/soundfonts) "
    'or set soundfont = "path/to/gm.sf2"'
)
INSTALL_FLUIDSYNTH = (
    "install FluidSynth (Debian/Ubuntu: apt install libfluidsynth3; macOS: brew install "
    'fluid-synth; Windows: fluidsynth\'s bin folder on PATH) or set output = "midi"'
)
WRIST = {"right": KEYPOINT_INDEX["right_wrist"], "left": KEYPOINT_INDEX["left_wrist"]}
ELBOW = {"right": KEYPOINT_INDEX["right_elbow"], "left": KEYPOINT_INDEX["left_elbow"]}
DRUMS = 9  # GM channel 10: never a melodic voice


def root_semitones(text: Any) -> int:
    """``"C"``, ``"F#"``, ``"Bb"`` → semitones above C."""
    name = str(text).strip()
    name = name[:1].upper() + name[1:]
    name = _FLATS.get(name, name)
    if name not in NOTE_NAMES:
        raise ValueError(
            f"{text!r} is not a note name; use one of {', '.join(NOTE_NAMES)} (or Bb…)"
        )
    return NOTE_NAMES.index(name)


def parse_root(text: Any) -> str:
    """A checked root note name, sharps for flats (``"Bb"`` → ``"A#"``); stays text so the
    value validates again unchanged."""
    return NOTE_NAMES[root_semitones(text)]


def color_rgb(text: Any) -> tuple[int, int, int]:
    """``"#ff6040"`` or a colour name → (r, g, b)."""
    text = str(text).strip()
    if len(text) == 7 and text.startswith("#"):
        try:
            return (int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16))
        except ValueError:
            pass
    import pygame

    try:
        c = pygame.Color(str(text))
    except ValueError:
        raise ValueError(
            f'{text!r} is not a colour; use "#rrggbb" or a name like "orange"'
        ) from None
    return (c.r, c.g, c.b)


def parse_color(text: Any) -> str:
    """A checked colour, as ``"#rrggbb"`` text (validates again unchanged); ``""`` stays:
    the person's colour."""
    if str(text).strip() == "":
        return ""
    return "#{:02x}{:02x}{:02x}".format(*color_rgb(text))


def _volume_range(values: Any) -> tuple[int, int]:
    values = list(values)
    if len(values) != 2 or not all(0 <= v <= 127 for v in values):
        raise ValueError(f"expected [low, high] within 0-127, got {values}")
    return values[0], values[1]


VOICE_SCHEMA = [
    Setting("program", int, 0, "General MIDI program 0-127 (0 piano, 48 strings, 73 flute)", min=0, max=127),
    Setting("octave", int, 4, "octave of the lowest note (4: the root is middle C's octave)", min=0, max=8),
    Setting("color", str, "", "colour on screen (\"#rrggbb\" or a name); \"\" = the person's colour", parse=parse_color),
]  # fmt: skip
DEFAULT_VOICES = [
    {"program": 48, "octave": 4},  # String Ensemble 1
    {"program": 73, "octave": 5},  # Flute
    {"program": 11, "octave": 3},  # Vibraphone
]
SETTINGS = [
    Setting("output", str, "fluidsynth", "fluidsynth (sound here) or midi (notes to a port)", choices=("fluidsynth", "midi")),
    Setting("soundfont", str, "", "General MIDI .sf2; \"\" = look in the usual places", live=False, max_length=1024),
    Setting("driver", str, "auto", "FluidSynth audio driver; auto = the audio server running here, none = render only (tests)", choices=DRIVERS),
    Setting("gain", float, 0.5, "FluidSynth output gain", min=0.0, max=5.0),
    Setting("port", str, "", "output = midi: port name; \"\" = a virtual port", live=False),
    Setting("virtual_name", str, "posestage-synth", "output = midi: virtual port name", live=False),
    Setting("api", str, "auto", "output = midi: MIDI api", choices=API_CHOICES),
    Setting("scale", str, "major_pentatonic", "scale the right hand plays", choices=tuple(SCALES)),
    Setting("root", str, "C", "root note of the scale", parse=parse_root),
    Setting("octaves", int, 2, "octaves from the bottom to the top of the image", min=1, max=5),
    Setting("volume", list, [40, 127], "left hand low … high → channel volume (CC 7)", item=int, parse=_volume_range),
    Setting("velocity", int, 100, "note-on velocity", min=1, max=127),
    Setting("threshold", float, 0.3, "keypoints scored under this are unknown", min=0.0, max=1.0),
    Setting("voices", list, DEFAULT_VOICES, "one table per voice (person)", schema=VOICE_SCHEMA),
    Setting("color_by", str, "id", "a voice without a colour: its person's, by id or slot (as the skeleton's)", choices=("id", "slot")),
]  # fmt: skip


@dataclass(frozen=True)
class Play:
    """How hands become notes: the scale (semitones), root, octaves over the image height,
    the volume range the left hand sweeps, note velocity and the keypoint score threshold."""

    scale: tuple[int, ...] = SCALES["major_pentatonic"]
    root: int = 0
    octaves: int = 2
    volume: tuple[int, int] = (40, 127)
    velocity: int = 100
    threshold: float = 0.3
    color_by: str = "id"  # a voice without a colour of its own: its person's palette colour


@dataclass
class Voice:
    """One instrument on one channel, played by one person at a time."""

    channel: int
    program: int
    octave: int
    color: tuple[int, int, int] | None  # None: the person's colour (posestage's palette)
    person: int | None = None  # tracked id playing it
    note: int | None = None  # sounding note
    degree: int | None = None  # its scale degree (hysteresis)
    volume: int | None = None  # last CC 7 sent
    playing: bool = False


def voice_channels(count: int) -> list[int]:
    """MIDI channels for ``count`` voices: 0, 1, 2, … skipping 9 (GM drums)."""
    return [c for c in range(16) if c != DRUMS][:count]


def find_soundfont(configured: str = "") -> Path:
    """The configured soundfont, else the first General MIDI soundfont at the usual paths."""
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise PluginError(f"synth.soundfont: {configured!r} is not a file; {INSTALL_SOUNDFONT}")
        return path
    env = os.environ.get("POSESTAGE_SOUNDFONT")
    candidates = [env] if env else []
    candidates += list(SOUNDFONT_PATHS)
    if sys.platform == "win32":
        candidates.append(os.path.expandvars("%USERPROFILE%/soundfonts/*.sf2"))
    for pattern in candidates:
        for hit in sorted(glob(os.path.expanduser(pattern))):
            if Path(hit).is_file():
                return Path(hit)
    raise PluginError(f"synth: no General MIDI soundfont found; {INSTALL_SOUNDFONT}")


class FluidPort:
    """FluidSynth behind a mido-port interface (``send(message)``, ``close()``), so the midi
    plugin's :class:`~posestage_midi.ports.MidiOut` keeps the books of held notes for both."""

    def __init__(self, soundfont: Path, driver: str = "auto", gain: float = 0.5,
                 samplerate: float = 44100.0):  # fmt: skip
        try:
            # pyfluidsynth prints where it found the library to stdout when CI is set;
            # stdout may be carrying JSON or a pipe, so that line goes nowhere
            with contextlib.redirect_stdout(io.StringIO()):
                import fluidsynth
        except ImportError as err:
            if "fluidsynth" in str(getattr(err, "name", "")) and "library" not in str(err):
                raise PluginError(
                    "synth: pyfluidsynth is not installed: pip install pyfluidsynth"
                ) from None
            raise PluginError(f"synth: libfluidsynth not found; {INSTALL_FLUIDSYNTH}") from None
        except OSError as err:  # a broken library
            raise PluginError(
                f"synth: libfluidsynth failed to load ({err}); {INSTALL_FLUIDSYNTH}"
            ) from None
        self.samplerate = float(samplerate)
        self.synth = fluidsynth.Synth(gain=float(gain), samplerate=self.samplerate)
        self.sfid = -1
        try:
            self.sfid = self.synth.sfload(str(soundfont))
            if self.sfid < 0:
                raise PluginError(f"synth: {soundfont} is not a soundfont FluidSynth can read")
            self.route = route.Route(driver, driver, "the scene's driver")
            if driver == "auto":
                self.route = auto_route(fluidsynth._fl)
                driver = self.route.driver
            if driver != "none":
                self._open_driver(fluidsynth, driver)
            self.driver = driver
        except BaseException:
            self.synth.delete()
            raise

    def _open_driver(self, fluidsynth: Any, driver: str) -> None:
        self.synth.setting("audio.driver", driver)
        if driver == "jack":  # connected to the playback ports, under a name people know
            os.environ.setdefault("JACK_NO_START_SERVER", "1")
            self.synth.setting("audio.jack.autoconnect", 1)
            self.synth.setting("audio.jack.id", route.JACK_CLIENT)
        self.synth.audio_driver = fluidsynth.new_fluid_audio_driver(
            self.synth.settings, self.synth.synth
        )
        if not self.synth.audio_driver:
            raise PluginError(
                f"synth: FluidSynth cannot open the {driver!r} audio device; connect a "
                f"sound device, choose another driver (alsa, pulseaudio, jack, "
                f'coreaudio, wasapi…) or set output = "midi"'
            )

    def describe(self) -> str:
        """``"driver jack"``, or for ``auto`` what it chose and why."""
        if self.route.why == "the scene's driver":
            return f"driver {self.driver}"
        return f"{self.route.server}: {self.route.why}, driver {self.driver}"

    def outputs(self) -> list[str] | None:
        """Where the sound reaches (:func:`posestage_synth.route.outputs`)."""
        return route.outputs(self.driver) if self.driver != "none" else None

    def send(self, message: Any) -> None:
        s, kind = self.synth, message.type
        if kind == "note_on":
            if message.velocity:
                s.noteon(message.channel, message.note, message.velocity)
            else:
                s.noteoff(message.channel, message.note)
        elif kind == "note_off":
            s.noteoff(message.channel, message.note)
        elif kind == "control_change":
            s.cc(message.channel, message.control, message.value)
        elif kind == "program_change":
            s.program_select(message.channel, self.sfid, 0, message.program)

    #: Frames rendered (and dropped) per stage frame with ``driver = "none"``: FluidSynth
    #: queues events until it renders, so something must render or the queue overflows.
    PUMP_FRAMES = 64

    def pump(self) -> None:
        """With no audio driver, render a sliver so queued events are applied (and dropped)."""
        if self.driver == "none":
            self.synth.get_samples(self.PUMP_FRAMES)

    def render(self, seconds: float) -> np.ndarray:
        """``seconds`` of stereo audio (frames, 2) int16 — only with ``driver = "none"``."""
        frames = int(round(seconds * self.samplerate))
        return np.asarray(self.synth.get_samples(frames), np.int16).reshape(-1, 2)

    def close(self) -> None:
        try:
            for channel in range(16):
                self.synth.cc(channel, 120, 0)  # all sounds off: no tail either
        finally:
            self.synth.delete()


class Synth(NotePlayer):
    """The synthesizer plugin: voices assigned to people, sound through FluidSynth or MIDI;
    notes released as :class:`~posestage_midi.release.NotePlayer` says."""

    NAME = "synth"

    def __init__(self) -> None:
        super().__init__()
        self.voices: list[Voice] = []
        self.play = Play()

    # -- hooks -------------------------------------------------------------------------------

    @hookimpl
    def posestage_settings(self) -> list[Setting]:
        return list(SETTINGS)

    @hookimpl
    @releasing
    def posestage_configure(self, stage: Any, settings: Any) -> None:
        self.close()
        voices, play = _voices_and_play(settings)
        midi = settings["output"] == "midi"
        if midi:
            port, api, virtual_name = settings["port"], settings["api"], settings["virtual_name"]

            def reopen() -> MidiOut:
                return open_output(port, api, virtual_name=virtual_name, what="synth")

            out = reopen()
        else:
            font = find_soundfont(settings["soundfont"])
            port = FluidPort(font, settings["driver"], settings["gain"])
            out = MidiOut(port, f"FluidSynth ({font.name}, {port.describe()})", "fluidsynth")
            say_where_it_goes(port)
        self.out, self.voices, self.play = out, voices, play
        if midi:  # a port that goes is said and reopened (posestage_midi.watch)
            self.watch_port(reopen, port=port, virtual_name=virtual_name)
        self._stage = stage
        self.scene = str(getattr(stage, "scene", "") or "")
        log.info("synth: %d voices on %s", len(voices), out.name)

    @hookimpl
    @releasing
    def posestage_person_enter(self, person: Any, frame: Any) -> None:
        if self.out is not None:
            self._assign(person.id)

    @hookimpl
    @releasing
    def posestage_person_leave(self, person: Any, frame: Any) -> None:
        if self.out is None:
            return
        for v in self.voices:
            if v.person == person.id:
                self._free(v)

    @hookimpl
    @releasing
    def posestage_frame(self, frame: Any) -> None:
        if not self.port_ready():  # a MIDI port gone is said here once, and taken back here
            return
        present = {p.id: p for p in frame.people}
        for v in self.voices:
            if v.person is not None and v.person not in present:
                self._free(v)  # gone without a leave (configured mid-show, say)
        for p in sorted(frame.people, key=lambda p: p.id):
            if p.missing == 0:
                self._assign(p.id)
        for v in self.voices:
            if v.person is not None:
                person = present[v.person]
                if person.missing == 0:
                    self._play(v, person, frame.height)
        pump = getattr(self.out.raw, "pump", None)
        if pump is not None:
            pump()

    @hookimpl
    @releasing
    def posestage_draw(self, canvas: Any, frame: Any) -> None:
        if self.out is None:
            return
        import pygame

        people = {p.id: p for p in frame.people}
        radius = max(6, canvas.get_height() // 40)
        font = None
        for v in self.voices:
            p = people.get(v.person) if v.person is not None else None
            if p is None:
                continue
            x, y = (int(c) for c in p.xy[WRIST["right"]])
            width = 0 if v.note is not None else 3
            color = v.color or color_for(p.slot if self.play.color_by == "slot" else p.id)
            pygame.draw.circle(canvas, color, (x, y), radius, width)
            if v.note is not None:
                if not pygame.font.get_init():  # a headless stage starts no fonts
                    pygame.font.init()
                font = font or pygame.font.Font(None, max(18, canvas.get_height() // 20))
                label = font.render(note_name(v.note), True, color, OUTLINE)
                canvas.blit(label, (x + radius + 4, y - label.get_height() // 2))

    @hookimpl
    @releasing
    def posestage_settings_changed(self, stage: Any, settings: Any, changed: list[str]) -> bool:
        """Voices, scale, volume and the rest apply live: FluidSynth (its soundfont loaded) or
        the MIDI port stays, so a scene switch has no gap. Only the output settings start
        over (unconfigure, configure)."""
        if self.out is None or set(changed) & OUTPUT_SETTINGS:
            return False
        voices, play = _voices_and_play(settings)  # a bad table raises: nothing changed
        self.release_all("new settings")
        self.voices, self.play = voices, play
        return True

    # -- internals ---------------------------------------------------------------------------

    def _assign(self, person_id: int) -> Voice | None:
        for v in self.voices:
            if v.person == person_id:
                return v
        for v in self.voices:
            if v.person is None:
                v.person, v.note, v.degree, v.playing = person_id, None, None, False
                # the program again for every newcomer: a DAW that connected late gets it too
                self.out.program(v.channel, v.program)
                return v
        return None

    def _free(self, v: Voice) -> None:
        if v.note is not None:
            self.out.note_off(v.channel, v.note)
        v.person, v.note, v.degree, v.playing = None, None, None, False

    def _play(self, v: Voice, person: Any, height: float) -> None:
        play, out = self.play, self.out
        xy, scores, threshold = person.xy, person.scores, play.threshold
        h = float(height) or 1.0
        left = WRIST["left"]
        if scores[left] >= threshold:
            low, high = play.volume
            t = min(1.0, max(0.0, 1.0 - float(xy[left, 1]) / h))
            volume = int(round(low + (high - low) * t))
            if volume != v.volume:
                v.volume = volume
                out.control(v.channel, 7, volume)
        wrist, elbow = WRIST["right"], ELBOW["right"]
        if scores[wrist] < threshold or scores[elbow] < threshold:
            return  # unknown: the note (or silence) stays as it is
        rise = (float(xy[elbow, 1]) - float(xy[wrist, 1])) / h  # > 0: wrist above the elbow
        v.playing = rise > -0.01 if v.playing else rise > 0.01
        if not v.playing:
            if v.note is not None:
                out.note_off(v.channel, v.note)
                v.note, v.degree = None, None
            return
        scale = play.scale
        steps = len(scale) * play.octaves
        position = min(1.0, max(0.0, 1.0 - float(xy[wrist, 1]) / h)) * steps
        degree = v.degree
        if degree is None or not (degree - 0.25 <= position < degree + 1.25):
            degree = min(steps, int(math.floor(position)))
        note = 12 * (v.octave + 1) + play.root + scale[degree % len(scale)]
        note += 12 * (degree // len(scale))
        note = max(0, min(127, note))
        v.degree = degree
        if note != v.note:
            if v.note is not None:
                out.note_off(v.channel, v.note)
            out.note_on(v.channel, note, play.velocity)
            v.note = note

    def port_reopened(self) -> None:
        for v in self.voices:  # each voice's program again; volumes when next measured
            v.volume = None
            if v.person is not None:
                self.out.program(v.channel, v.program)

    def forget_notes(self) -> None:
        for v in self.voices:
            v.note, v.degree, v.playing = None, None, False  # voices keep their people

    def close(self) -> None:
        super().close()
        for v in self.voices:
            v.person, v.note, v.degree, v.playing = None, None, None, False


#: Settings that choose where the sound goes: changing one opens another output.
OUTPUT_SETTINGS = frozenset(
    {"output", "soundfont", "driver", "gain", "port", "virtual_name", "api"}
)


def _voices_and_play(settings: Any) -> tuple[list[Voice], Play]:
    """The voices (one channel each) and the playing rules a configure's settings ask for."""
    low, high = _volume_range(settings["volume"])
    tables = settings["voices"]
    if not tables:
        raise PluginError("synth.voices: empty; give at least one [[plugins.synth.voices]]")
    if len(tables) > 15:
        raise PluginError(f"synth.voices: {len(tables)} voices; at most 15 (one channel each)")
    voices = []
    for channel, table in zip(voice_channels(len(tables)), tables):
        color = color_rgb(table["color"]) if table.get("color") else None
        voices.append(Voice(channel, table["program"], table["octave"], color))
    play = Play(
        SCALES[settings["scale"]], root_semitones(settings["root"]),
        settings["octaves"], (low, high), settings["velocity"], settings["threshold"],
        settings["color_by"],
    )  # fmt: skip
    return voices, play


def auto_route(fluidsynth_lib: Any) -> route.Route:
    """``driver = "auto"``: the audio server running here (:func:`posestage_synth.route.choose`),
    or one line saying there is none."""
    chosen = route.choose(route.compiled_drivers(fluidsynth_lib))
    if chosen is None:
        raise PluginError(
            "synth: no audio server or sound card here (JACK, PipeWire, PulseAudio, ALSA); "
            "start one (jackd -d dummy &, or your desktop's sound server), plug in a sound "
            'card, or set output = "midi"'
        )
    return chosen


def say_where_it_goes(port: FluidPort) -> None:
    """One line: where FluidSynth's sound reaches; a warning when it reaches no output."""
    reached = port.outputs()
    if reached is None:
        log.info("synth: sound through %s", port.describe())
    elif reached:
        log.info("synth: sound to %s", ", ".join(reached))
    elif port.driver == "jack":
        log.warning(
            "synth: FluidSynth's JACK ports (%s:left, :right) reach no playback port: "
            "nothing is heard; connect them (qjackctl, jack_connect)",
            route.JACK_CLIENT,
        )


def note_name(note: int) -> str:
    """60 → ``C4``."""
    return f"{NOTE_NAMES[note % 12]}{note // 12 - 1}"


#: The object the ``posestage`` entry point names.
plugin = Synth()
