"""``posestage doctor``'s sound lines: FluidSynth, a soundfont, the audio servers running, and a
short note played through the synth plugin's own route, said reached or not."""

from __future__ import annotations

import contextlib
import glob
import importlib
import io
import os
import platform
from pathlib import Path

from posestage.commands.probing import (
    INFO,
    MISSING,
    OK,
    Check,
    has_module,
    native_output_hidden,
    version_of,
)

__all__ = [
    "NOTE_SECONDS",
    "SOUND",
    "audio_servers",
    "jack_answers",
    "probe_audio",
    "probe_sound",
    "probe_soundfont",
    "probe_synth",
]


def probe_synth() -> list[Check]:
    if not has_module("fluidsynth"):
        return [
            Check(
                "fluidsynth",
                MISSING,
                "pyfluidsynth not installed",
                "apt install libfluidsynth3 && pip install pyfluidsynth",
            )
        ]
    try:
        # pyfluidsynth prints where it found the library to stdout when CI is set
        with native_output_hidden(), contextlib.redirect_stdout(io.StringIO()):
            importlib.import_module("fluidsynth")
    except (ImportError, OSError) as err:
        return [
            Check(
                "fluidsynth",
                MISSING,
                f"pyfluidsynth cannot load the library ({str(err).strip()[:60]})",
                "apt install libfluidsynth3",
            )
        ]
    return [Check("fluidsynth", OK, f"pyfluidsynth {version_of('pyfluidsynth') or '?'}")]


SOUNDFONT_GLOBS = (
    "/usr/share/sounds/sf2/*.sf2",
    "/usr/share/soundfonts/*.sf2",
    "/usr/local/share/soundfonts/*.sf2",
    "~/.local/share/soundfonts/*.sf2",
    "/opt/homebrew/share/soundfonts/*.sf2",
)


def probe_soundfont() -> list[Check]:
    found = sorted({p for g in SOUNDFONT_GLOBS for p in glob.glob(os.path.expanduser(g))})
    if found:
        shown = ", ".join(found[:3]) + (f" (+{len(found) - 3})" if len(found) > 3 else "")
        return [Check("soundfont", OK, shown)]
    return [Check("soundfont", MISSING, "no .sf2 found", "apt install fluid-soundfont-gm")]


def jack_answers() -> bool:
    """A JACK server answers (the synth plugin's probe, which never starts one); without the
    plugin, JACK's files in /dev/shm (which a crashed server leaves behind)."""
    if has_module("posestage_synth"):
        with native_output_hidden():
            return importlib.import_module("posestage_synth.route").jack_answers()
    return bool(glob.glob(f"/dev/shm/jack-{os.getuid()}/*") or glob.glob("/dev/shm/jack_sem.*"))


def audio_servers() -> list[str]:
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    found = []
    if jack_answers():
        found.append("JACK")
    if os.path.exists(os.path.join(runtime, "pipewire-0")):
        found.append("PipeWire")
    if os.path.exists(os.path.join(runtime, "pulse", "native")):
        found.append("PulseAudio")
    try:
        cards = Path("/proc/asound/cards").read_text()
        if cards.strip() and "no soundcards" not in cards:
            found.append("ALSA")
    except OSError:
        pass
    if platform.system() == "Darwin":
        found.append("CoreAudio")
    return found


def probe_audio() -> list[Check]:
    if not hasattr(os, "getuid"):  # Windows: its own drivers
        return [Check("audio", INFO, "not probed on this system")]
    found = audio_servers()
    if found:
        return [Check("audio", OK, "drivers: " + ", ".join(found))]
    return [
        Check(
            "audio",
            MISSING,
            "no sound card, JACK, PipeWire or PulseAudio",
            "start one (e.g. jackd -d dummy &, or a desktop session's PipeWire); synth plugins "
            "stay silent meanwhile",
        )
    ]


#: How long ``doctor``'s test note sounds (seconds); ``--no-sound`` skips it.
NOTE_SECONDS = 0.4
SOUND = {"play": True}


def probe_sound() -> list[Check]:
    """A short note through the synth plugin's own route (``driver = "auto"``): which audio
    server it chose, and whether the note reached an output (JACK playback ports, a PulseAudio
    or PipeWire sink); the plugin's code, so doctor and the show cannot disagree."""
    if not SOUND["play"]:
        return [Check("sound", INFO, "not played (--no-sound)")]
    if not has_module("posestage_synth"):
        return [Check("sound", INFO, "the synth plugin is not installed (pip install "
                      "./plugins/synth): no note played")]  # fmt: skip
    import time

    from posestage.errors import PosestageError

    with native_output_hidden(), contextlib.redirect_stdout(io.StringIO()):
        synth = importlib.import_module("posestage_synth")
        try:
            port = synth.FluidPort(synth.find_soundfont(), "auto", gain=0.3)
        except PosestageError as err:
            text = str(err).removeprefix("synth: ")
            what, _, fix = text.partition("; ")
            return [Check("sound", MISSING, what, fix or "see docs/synth.md")]
    route = f"{port.route.server} ({port.route.why})"
    try:
        port.synth.program_select(0, port.sfid, 0, 0)
        port.synth.noteon(0, 69, 90)  # A4 on a piano
        time.sleep(NOTE_SECONDS)
        reached = port.outputs()
        port.synth.noteoff(0, 69)
    finally:
        with native_output_hidden():
            port.close()
    if reached is None:
        return [Check("sound", OK, f"{route}: a note played on driver {port.driver} "
                      "(the device opened; your ears tell the rest)")]  # fmt: skip
    if reached:
        return [Check("sound", OK, f"{route}: a note reached {', '.join(reached)}")]
    return [
        Check(
            "sound",
            MISSING,
            f"{route}: a note played but reached no output",
            "connect posestage-synth's ports to the playback ports (qjackctl, jack_connect)"
            if port.driver == "jack"
            else "choose an output device for FluidSynth in your sound settings (pavucontrol)",
        )
    ]
