"""Opening a MIDI output (mido + python-rtmidi), and the notes held on it.

Shared by the ``midi`` plugin and the ``synth`` plugin's ``output = "midi"``: one place that
knows the backends, virtual ports, port-name matching and the one-line messages a performer
gets when there is no MIDI here.

- ``open_output(port="", api="auto")``: ``port = ""`` creates a virtual output port named
  ``virtual_name`` (``posestage``) that a DAW lists as an input; any other text opens the
  existing output whose name equals it or contains it (case-insensitive, must be unique).
- ``api``: ``auto`` tries every API python-rtmidi was built with, in its order (on Linux ALSA,
  then JACK), and takes the first that works; ``alsa``, ``jack``, ``coremidi``, ``windows``
  force one. JACK never starts a server of its own (``JACK_NO_START_SERVER``): start jackd
  (or PipeWire's JACK) yourself.
- Windows has no virtual ports: the error says so and names loopMIDI.

:class:`MidiOut` wraps the opened port: it sends raw messages, remembers which notes are
held and releases them all in :meth:`MidiOut.all_notes_off` — every exit path calls that.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from posestage import PluginError

VIRTUAL_NAME = "posestage"

#: ``api`` setting → mido's rtmidi backend API name.
APIS = {
    "alsa": "LINUX_ALSA",
    "jack": "UNIX_JACK",
    "coremidi": "MACOSX_CORE",
    "windows": "WINDOWS_MM",
}
API_CHOICES = ("auto", *APIS)

LOOPMIDI = (
    "Windows has no virtual MIDI ports: install loopMIDI (tobias-erichsen.de/software/loopmidi),"
    ' add a port there and set port = "loopMIDI Port"'
)


class MidiUnavailable(PluginError):
    """No MIDI backend, no such port, or the port cannot be opened: one line, with the fix."""


def _backend(api: str) -> Any:
    """A mido rtmidi backend for one ``api`` name (``LINUX_ALSA``…), imported on first use."""
    try:
        import mido
        import rtmidi  # noqa: F401 - mido imports it lazily; fail here with a clear line
    except ImportError as err:
        raise MidiUnavailable(
            f"MIDI needs mido and python-rtmidi ({err.name} is missing): pip install mido python-rtmidi"
        ) from None
    return mido.Backend(f"mido.backends.rtmidi/{api}", load=True)


def compiled_apis() -> list[str]:
    """The rtmidi APIs (``LINUX_ALSA``, ``UNIX_JACK``…) this python-rtmidi was built with."""
    try:
        import mido.backends.rtmidi as rt
    except ImportError as err:
        raise MidiUnavailable(
            f"MIDI needs mido and python-rtmidi ({err.name} is missing): pip install mido python-rtmidi"
        ) from None
    return [name for name in rt.get_api_names() if name != "RTMIDI_DUMMY"]


def _apis_for(api: str) -> list[str]:
    if api not in API_CHOICES:
        raise MidiUnavailable(f"unknown MIDI api {api!r}; valid: {', '.join(API_CHOICES)}")
    os.environ.setdefault("JACK_NO_START_SERVER", "1")  # never spawn a JACK server by surprise
    compiled = compiled_apis()
    if api == "auto":
        return compiled
    wanted = APIS[api]
    if wanted not in compiled:
        built = ", ".join(k for k, v in APIS.items() if v in compiled) or "none"
        raise MidiUnavailable(f"this python-rtmidi has no {api} MIDI support; built with: {built}")
    return [wanted]


def _short(api: str) -> str:
    return next((k for k, v in APIS.items() if v == api), api)


def list_outputs(api: str = "auto") -> dict[str, list[str] | str]:
    """``{api: [output port names]}``, or ``{api: "why it is unavailable"}``, for messages."""
    out: dict[str, list[str] | str] = {}
    for name in _apis_for(api):
        try:
            out[_short(name)] = list(_backend(name).get_output_names())
        except OSError as err:
            out[_short(name)] = _reason(err)
    return out


def _reason(err: BaseException) -> str:
    text = " ".join(str(err).split())
    if "JACK server not running" in text:
        return "no JACK server running (start jackd, or PipeWire's JACK)"
    if "ALSA" in text:
        return "no ALSA sequencer (/dev/snd/seq; modprobe snd-seq)"
    return text or type(err).__name__


def describe_outputs(found: dict[str, list[str] | str]) -> str:
    """``jack: 'a', 'b'; alsa: no ALSA sequencer`` — the one-line list errors end with."""
    parts = []
    for api, ports in found.items():
        if isinstance(ports, str):
            parts.append(f"{api}: {ports}")
        else:
            parts.append(f"{api}: " + (", ".join(repr(p) for p in ports) or "no output ports"))
    return "; ".join(parts) or "no MIDI API"


def open_output(
    port: str = "", api: str = "auto", *, virtual_name: str = VIRTUAL_NAME, what: str = "midi"
) -> MidiOut:
    """Open ``port`` (``""`` = a new virtual port ``virtual_name``) on ``api``.

    Raises :class:`MidiUnavailable` with one line: what failed and the ports there are.
    ``what`` prefixes the message (the plugin name).
    """
    apis = _apis_for(api)
    if not apis:
        raise MidiUnavailable(f"{what}: python-rtmidi was built without any MIDI API")
    found: dict[str, list[str] | str] = {}
    for name in apis:
        try:
            backend = _backend(name)
            if not port:
                if name == "WINDOWS_MM" or sys.platform == "win32":
                    raise MidiUnavailable(f"{what}: {LOOPMIDI}")
                raw = backend.open_output(virtual_name, virtual=True, client_name=virtual_name)
                return MidiOut(raw, f"{virtual_name} (virtual, {_short(name)})", _short(name))
            names = list(backend.get_output_names())
            found[_short(name)] = names
            match = match_port(port, names)
            if match is None:
                continue
            raw = backend.open_output(match)
            return MidiOut(raw, match, _short(name))
        except MidiUnavailable:
            raise
        except OSError as err:
            found[_short(name)] = _reason(err)
        except ValueError as err:  # ambiguous port name
            raise MidiUnavailable(f"{what}: {err}") from None
    listing = describe_outputs(found)
    if not port:
        raise MidiUnavailable(
            f"{what}: cannot create the virtual port {virtual_name!r} ({listing}); "
            "set api or name an existing port"
        )
    raise MidiUnavailable(f"{what}: no MIDI output port {port!r}; available: {listing}")


def match_port(wanted: str, names: Iterable[str]) -> str | None:
    """The port named exactly ``wanted``, else the only one containing it (case-insensitive).

    None when nothing matches; ``ValueError`` when several do.
    """
    names = list(names)
    if wanted in names:
        return wanted
    low = wanted.lower()
    hits = [n for n in names if low in n.lower()]
    if len(hits) > 1:
        raise ValueError(
            f"port {wanted!r} matches several: {', '.join(repr(h) for h in hits)}; give more of the name"
        )
    return hits[0] if hits else None


@dataclass
class MidiOut:
    """An open MIDI output that knows its held notes (so none is ever left stuck)."""

    raw: Any  # a mido output port
    name: str
    api: str
    #: (channel 0-15, note) → velocity of every note on sent and not yet released.
    held: dict[tuple[int, int], int] = field(default_factory=dict)
    #: Channels anything was sent on (all-notes-off goes to each).
    channels: set[int] = field(default_factory=set)
    sent: int = 0

    def send(self, data: list[int] | tuple[int, ...]) -> None:
        """Send one raw message (status byte first); note ons and offs are tracked."""
        import mido

        self.raw.send(mido.Message.from_bytes(list(data)))
        self.sent += 1
        kind, channel = data[0] & 0xF0, data[0] & 0x0F
        if kind == 0x90 and data[2] > 0:
            self.held[(channel, data[1])] = data[2]
        elif kind in (0x80, 0x90):
            self.held.pop((channel, data[1]), None)
        if kind < 0xF0:
            self.channels.add(channel)

    def note_on(self, channel: int, note: int, velocity: int = 100) -> None:
        if (channel, note) in self.held:  # retrigger: release first, so offs and ons pair up
            self.send((0x80 | channel, note, 0))
        self.send((0x90 | channel, note, max(1, min(127, velocity))))

    def note_off(self, channel: int, note: int) -> None:
        if (channel, note) in self.held:
            self.send((0x80 | channel, note, 0))

    def control(self, channel: int, cc: int, value: int) -> None:
        self.send((0xB0 | channel, cc, max(0, min(127, value))))

    def program(self, channel: int, program: int) -> None:
        self.send((0xC0 | channel, max(0, min(127, program))))

    def all_notes_off(self, panic: bool = True) -> None:
        """A note off for every held note; with ``panic`` also CC 123 (all notes off) on every
        channel used, for receivers that missed one. Never raises."""
        for channel, note in sorted(self.held):
            try:
                self.send((0x80 | channel, note, 0))
            except Exception:  # noqa: BLE001 - keep releasing the rest
                pass
        self.held.clear()
        if panic:
            for channel in sorted(self.channels):
                try:
                    self.send((0xB0 | channel, 123, 0))
                except Exception:  # noqa: BLE001
                    pass

    def abandon(self) -> None:
        """Give up a port whose JACK server died, without touching it again: libjack frees a
        dead server's clients when this process next meets a server, and closing one after
        that crashes the process. So it is never closed, and kept from being collected (whose
        destructor would close it): one small client leaked per outage, on purpose."""
        self.held.clear()
        keep_forever(self.raw)

    def close(self) -> None:
        """All notes off, then close the port. Never raises."""
        try:
            self.all_notes_off()
        finally:
            try:
                self.raw.close()
            except Exception:  # noqa: BLE001
                pass


def keep_forever(thing: object) -> None:
    """Never let ``thing`` be collected, not even when the interpreter exits (a JACK client
    whose server died must not be closed: :meth:`MidiOut.abandon`)."""
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(thing))
