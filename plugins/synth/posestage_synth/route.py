"""Where the synthesizer's sound goes: the audio server running here, and whether it got there.

``driver = "auto"`` asks :func:`choose`: a JACK server that answers first (a performer who
started JACK wants it used), then PipeWire, PulseAudio, CoreAudio, WASAPI (DirectSound), and
ALSA only where a sound card is there. FluidSynth's own default would be ALSA whatever runs.
On JACK, FluidSynth's ports are connected to the playback ports (``audio.jack.autoconnect``);
PipeWire and PulseAudio route a new stream to their default output themselves.

:func:`outputs` tells where the sound reached once FluidSynth plays: the JACK playback ports its
ports are connected to, the PulseAudio/PipeWire sink its stream plays on (through ``pactl``),
or the device the driver opened. ``posestage doctor`` plays a note through the same route.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["JACK_CLIENT", "Route", "choose", "compiled_drivers", "jack_answers", "outputs"]

#: FluidSynth's client name on JACK (``audio.jack.id``); JACK appends ``-01``… when taken.
JACK_CLIENT = "posestage-synth"
_JACK_NO_START_SERVER = 0x01
_PORT_IS_INPUT, _PORT_IS_OUTPUT, _PORT_IS_PHYSICAL = 0x1, 0x2, 0x4


@dataclass(frozen=True)
class Route:
    """A FluidSynth audio driver and the server behind it, with why it was chosen."""

    driver: str  # FluidSynth's audio.driver
    server: str  # what a person calls it: JACK, PipeWire, PulseAudio, ALSA…
    why: str  # "a JACK server answers", "PipeWire's socket is there"…


def compiled_drivers(fluidsynth_lib: ctypes.CDLL) -> tuple[str, ...]:
    """The audio drivers this libfluidsynth was built with (``audio.driver``'s options)."""
    lib = fluidsynth_lib
    callback_type = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p)
    found: list[str] = []
    callback = callback_type(lambda _data, _name, option: found.append(option.decode()))
    lib.new_fluid_settings.restype = ctypes.c_void_p
    settings = lib.new_fluid_settings()
    try:
        lib.fluid_settings_foreach_option.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, callback_type,
        ]  # fmt: skip
        lib.fluid_settings_foreach_option(settings, b"audio.driver", None, callback)
    finally:
        lib.delete_fluid_settings.argtypes = [ctypes.c_void_p]
        lib.delete_fluid_settings(settings)
    return tuple(found)


def _runtime_dir() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{uid}")


def pipewire_running() -> bool:
    """PipeWire's socket is there (``$XDG_RUNTIME_DIR/pipewire-0`` or ``PIPEWIRE_REMOTE``)."""
    remote = os.environ.get("PIPEWIRE_REMOTE", "pipewire-0")
    return (_runtime_dir() / remote).exists()


def pulse_running() -> bool:
    """A PulseAudio server (or PipeWire's) to talk to: ``PULSE_SERVER``, or its socket."""
    server = os.environ.get("PULSE_SERVER", "")
    if server:
        path = server.removeprefix("unix:")
        return not server.startswith(("unix:", "/")) or Path(path).exists()
    return (_runtime_dir() / "pulse" / "native").exists()


def sound_cards() -> bool:
    """ALSA has a sound card (``/proc/asound/cards``)."""
    try:
        cards = Path("/proc/asound/cards").read_text()
    except OSError:
        return False
    return bool(cards.strip()) and "no soundcards" not in cards


class _Jack:
    """The few libjack calls the route needs, on a client that never starts a server."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("jack") or "libjack.so.0"
        lib = ctypes.CDLL(name)
        lib.jack_client_open.restype = ctypes.c_void_p
        lib.jack_client_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p]
        lib.jack_client_close.argtypes = [ctypes.c_void_p]
        lib.jack_get_ports.restype = ctypes.POINTER(ctypes.c_char_p)
        lib.jack_get_ports.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
        ]  # fmt: skip
        lib.jack_port_by_name.restype = ctypes.c_void_p
        lib.jack_port_by_name.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.jack_port_get_all_connections.restype = ctypes.POINTER(ctypes.c_char_p)
        lib.jack_port_get_all_connections.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.jack_free.argtypes = [ctypes.c_void_p]
        self.lib = lib
        status = ctypes.c_int(0)
        self.client = lib.jack_client_open(
            b"posestage-probe", _JACK_NO_START_SERVER, ctypes.byref(status)
        )

    def _names(self, array) -> list[str]:
        if not array:
            return []
        names = []
        i = 0
        while array[i]:
            names.append(array[i].decode(errors="replace"))
            i += 1
        self.lib.jack_free(ctypes.cast(array, ctypes.c_void_p))
        return names

    def ports(self, pattern: str, flags: int) -> list[str]:
        return self._names(self.lib.jack_get_ports(self.client, pattern.encode(), None, flags))

    def connections(self, port: str) -> list[str]:
        handle = self.lib.jack_port_by_name(self.client, port.encode())
        if not handle:
            return []
        return self._names(self.lib.jack_port_get_all_connections(self.client, handle))

    def close(self) -> None:
        if self.client:
            self.lib.jack_client_close(self.client)
            self.client = None


def _jack() -> _Jack | None:
    """A libjack client on the running server (``JACK_DEFAULT_SERVER``'s), or None."""
    try:
        jack = _Jack()
    except (OSError, AttributeError):  # no libjack here
        return None
    if not jack.client:
        return None
    return jack


def jack_answers() -> bool:
    """True when a JACK server answers under the current ``JACK_DEFAULT_SERVER``; never starts
    one."""
    jack = _jack()
    if jack is None:
        return False
    jack.close()
    return True


def choose(drivers: tuple[str, ...]) -> Route | None:
    """The route for ``driver = "auto"`` among the compiled ``drivers``; None: no server, no
    sound card."""
    system = platform.system()
    if "jack" in drivers and jack_answers():
        return Route("jack", "JACK", "a JACK server answers")
    if system == "Linux" or system.endswith("BSD"):
        if pipewire_running():
            for driver in ("pipewire", "pulseaudio", "jack"):
                if driver in drivers and (driver != "pulseaudio" or pulse_running()):
                    how = "" if driver == "pipewire" else f" (through its {driver} server)"
                    return Route(driver, f"PipeWire{how}", "PipeWire's socket is there")
        if "pulseaudio" in drivers and pulse_running():
            return Route("pulseaudio", "PulseAudio", "a PulseAudio server's socket is there")
        if "alsa" in drivers and sound_cards():
            return Route("alsa", "ALSA", "a sound card, and no sound server running")
        return None
    if system == "Darwin" and "coreaudio" in drivers:
        return Route("coreaudio", "CoreAudio", "macOS")
    if system == "Windows":
        for driver in ("wasapi", "dsound", "waveout"):
            if driver in drivers:
                return Route(driver, driver.upper() if driver == "wasapi" else driver, "Windows")
    return None


def jack_outputs() -> list[str]:
    """``"posestage-synth:left → system:playback_1"`` for every connection of FluidSynth's
    JACK ports to a playback (physical input) port; [] when none."""
    jack = _jack()
    if jack is None:
        return []
    try:
        physical = set(jack.ports("", _PORT_IS_INPUT | _PORT_IS_PHYSICAL))
        found = []
        for port in jack.ports(f"^{JACK_CLIENT}[^:]*:", _PORT_IS_OUTPUT):
            found += [f"{port} → {to}" for to in jack.connections(port) if to in physical]
        return found
    finally:
        jack.close()


def pulse_outputs() -> list[str] | None:
    """The sinks FluidSynth's streams play on, by ``pactl`` (PulseAudio's or PipeWire's);
    None when ``pactl`` is not installed."""
    pactl = shutil.which("pactl")
    if pactl is None:
        return None

    def pactl_run(*args: str) -> str:
        done = subprocess.run(
            [pactl, *args], capture_output=True, text=True, timeout=5, check=False
        )
        return done.stdout

    sinks = {}
    for line in pactl_run("list", "short", "sinks").splitlines():
        fields = line.split("\t")
        if len(fields) >= 2:
            sinks[fields[0]] = fields[1]
    found = []
    for block in pactl_run("list", "sink-inputs").split("\n\n"):
        if "FluidSynth" not in block:
            continue
        fields = dict(line.strip().split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields.get("Mute", "no") == "yes":
            continue
        sink = fields.get("Sink", "")
        found.append(f"FluidSynth → {sinks.get(sink, 'sink ' + sink)}")
    return found


def outputs(driver: str) -> list[str] | None:
    """Where FluidSynth's sound reaches, now that it plays on ``driver``: [] when it reaches no
    output, None when that cannot be told here (the device the driver opened is all)."""
    if driver == "jack":
        return jack_outputs()
    if driver in ("pulseaudio", "pipewire"):
        return pulse_outputs()
    return None
