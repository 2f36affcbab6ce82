"""MIDI for tests without a MIDI device: capture what a plugin plays, feed what it listens to.

Two ways, pick the one that fits the plugin:

1. Hand the plugin a port. :class:`MidiCapture` is a real ``mido`` output port
   (``mido.ports.BaseOutput``) that keeps every message sent to it::

       port = MidiCapture()
       synth = MyMidiPlugin(port=port)       # a plugin object that takes its port
       run_plugin(synth, {"channel": 2}, frames=30)
       assert [m.type for m in port.messages][:1] == ["note_on"]
       assert port.sounding() == set()       # every note was released

2. Let the plugin open its port by name, as it does on stage. Inside :func:`capture_midi`
   mido's backend is this module: ``mido.open_output(name)`` (any name, ``virtual=True`` too)
   returns a :class:`MidiCapture`, ``mido.get_output_names()`` lists ``outputs``,
   ``mido.open_input(name)`` a :class:`MidiFeed` the test pushes messages into; the backend that
   was set before comes back on exit::

       with capture_midi(outputs=["posestage test"]) as midi:
           run_plugin("midi", {"port": "posestage test"}, frames=30)
       played = midi.messages                 # every port's messages, in the order sent
       assert midi.port("posestage test").sounding() == set()

   The plugin must call ``mido.open_output`` (the module function, looked up when called —
   ``from mido import open_output`` at import time would keep the real backend) or
   ``mido.backend``. python-rtmidi is not needed; mido is (``pip install mido``).

Messages are ``mido.Message`` copies; :attr:`MidiCapture.events` adds the time
(``time.perf_counter()``) each was sent and the sending thread's name.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

try:
    import mido
    import mido.ports
except ImportError:  # pragma: no cover - mido is a test-time dependency of MIDI plugins
    raise ImportError("posestage.testing's MIDI capture needs mido: pip install mido") from None

#: The port name ``mido.get_output_names()`` shows inside :func:`capture_midi` by default.
DEFAULT_PORT = "posestage test"


@dataclass(frozen=True)
class MidiEvent:
    """One message sent to a capture port: the message, ``time.perf_counter()`` when it was
    sent, the name of the thread that sent it and the port's name."""

    message: mido.Message
    at: float
    thread: str
    port: str


class MidiCapture(mido.ports.BaseOutput):
    """A mido output port that keeps what is sent: :attr:`messages`, :attr:`events`."""

    _device_type = "posestage.testing capture"

    def __init__(self, name: str = DEFAULT_PORT, *, session: MidiSession | None = None, **kwargs):
        self.events: list[MidiEvent] = []
        self._session = session
        kwargs.pop("virtual", None)
        kwargs.pop("api", None)
        kwargs.pop("client_name", None)
        super().__init__(name, **kwargs)

    def _send(self, msg: mido.Message) -> None:
        event = MidiEvent(msg, time.perf_counter(), threading.current_thread().name, self.name)
        self.events.append(event)
        if self._session is not None:
            self._session._record(event)

    @property
    def messages(self) -> list[mido.Message]:
        return [e.message for e in self.events]

    def sounding(self) -> set[tuple[int, int]]:
        """``(channel, note)`` pairs still on after everything sent (a note_on with velocity 0
        is a note off; "all notes off" (CC 123) and "all sound off" (CC 120) end a channel's)."""
        return sounding(self.messages)

    def clear(self) -> None:
        self.events.clear()


def sounding(messages: Iterable[mido.Message]) -> set[tuple[int, int]]:
    """The ``(channel, note)`` pairs left on by ``messages``."""
    on: set[tuple[int, int]] = set()
    for m in messages:
        if m.type == "note_on" and m.velocity > 0:
            on.add((m.channel, m.note))
        elif m.type in ("note_on", "note_off"):
            on.discard((m.channel, m.note))
        elif m.type == "control_change" and m.control in (120, 123):
            on = {(c, n) for c, n in on if c != m.channel}
        elif m.type == "reset":
            on.clear()
    return on


class MidiFeed(mido.ports.BaseInput):
    """A mido input port the test pushes messages into with :meth:`feed` (a plugin listening
    to a controller): ``receive()``, ``poll()``, iteration and ``callback=`` work as usual."""

    _device_type = "posestage.testing feed"

    def __init__(self, name: str = DEFAULT_PORT, callback=None, **kwargs):
        kwargs.pop("virtual", None)
        kwargs.pop("api", None)
        kwargs.pop("client_name", None)
        super().__init__(name, **kwargs)
        self.callback = callback

    def feed(self, *messages: mido.Message) -> None:
        for msg in messages:
            if self.callback is not None:
                self.callback(msg.copy())
            else:
                with self._lock:
                    self._messages.append(msg.copy())


@dataclass
class MidiSession:
    """What :func:`capture_midi` yields: the ports the plugin opened, and every message."""

    outputs: list[str] = field(default_factory=lambda: [DEFAULT_PORT])
    inputs: list[str] = field(default_factory=list)
    opened: list[MidiCapture] = field(default_factory=list)
    feeds: list[MidiFeed] = field(default_factory=list)
    events: list[MidiEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def _record(self, event: MidiEvent) -> None:
        with self._lock:
            self.events.append(event)

    @property
    def messages(self) -> list[mido.Message]:
        """Every message sent to any capture port, in the order they were sent."""
        with self._lock:
            return [e.message for e in self.events]

    def port(self, name: str) -> MidiCapture:
        """The last output port opened under ``name`` (KeyError if the plugin opened none)."""
        for port in reversed(self.opened):
            if port.name == name:
                return port
        raise KeyError(
            f"no MIDI output {name!r} was opened; opened: {[p.name for p in self.opened]}"
        )

    def input(self, name: str) -> MidiFeed:
        """The last input port opened under ``name``."""
        for port in reversed(self.feeds):
            if port.name == name:
                return port
        raise KeyError(f"no MIDI input {name!r} was opened; opened: {[p.name for p in self.feeds]}")

    def sounding(self) -> set[tuple[int, int]]:
        return sounding(self.messages)


# -- the backend module interface mido calls inside capture_midi ---------------------------

_session: MidiSession | None = None


def _current() -> MidiSession:
    if _session is None:
        raise OSError("posestage.testing.midi: no capture_midi() session is active")
    return _session


def Output(name: str | None = None, **kwargs) -> MidiCapture:  # noqa: N802 - mido's API
    session = _current()
    port = MidiCapture(
        name or (session.outputs[0] if session.outputs else DEFAULT_PORT), session=session, **kwargs
    )
    session.opened.append(port)
    return port


def Input(name: str | None = None, **kwargs) -> MidiFeed:  # noqa: N802 - mido's API
    session = _current()
    port = MidiFeed(name or (session.inputs[0] if session.inputs else DEFAULT_PORT), **kwargs)
    session.feeds.append(port)
    return port


def get_devices(**kwargs) -> list[dict]:
    session = _current()
    names = {n: [False, False] for n in [*session.inputs, *session.outputs]}
    for n in session.inputs:
        names[n][0] = True
    for n in session.outputs:
        names[n][1] = True
    return [{"name": n, "is_input": i, "is_output": o} for n, (i, o) in names.items()]


@contextlib.contextmanager
def capture_midi(
    outputs: Iterable[str] = (DEFAULT_PORT,), inputs: Iterable[str] = ()
) -> Iterator[MidiSession]:
    """Make this module mido's backend for the duration (see the module docstring)."""
    global _session
    if _session is not None:
        raise RuntimeError("capture_midi() sessions do not nest")
    previous = mido.backend
    _session = MidiSession(list(outputs), list(inputs))
    mido.set_backend(mido.Backend(__name__, load=True, use_environ=False))
    try:
        yield _session
    finally:
        mido.set_backend(previous)
        session, _session = _session, None
        for port in [*session.opened, *session.feeds]:
            port.close()
