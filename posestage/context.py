"""What a plugin is handed as ``stage``: a narrow, read-only view of the running show.

``posestage_configure``, ``posestage_unconfigure``, ``posestage_settings_changed`` and
``posestage_scene_changed`` receive a :class:`StageContext`. It holds facts — the source size
and rate, mirror and privacy modes, the scene and the list of scenes, the source, model and
device descriptions, the active plugins, the count of stale frames dropped — and one way to
act: :meth:`StageContext.post`, which hands a :class:`ControlMessage` to the stage and returns
a :class:`concurrent.futures.Future` of its :class:`ControlReply`. Those two live here, beside
the inbox that carries them (:mod:`posestage.hookspecs` re-exports them for plugins).

Nothing on it reaches pixels (but ``room``, when the scene lets plugins have the empty room's),
the source, the engine, the plugin host or the tracker: the stage *pushes* plain values into it
(:class:`StageFacts`) and reads posted messages out of its :class:`ControlInbox`; neither holds
a reference back to the stage.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from posestage.config.room import RoomSettings

__all__ = [
    "INBOX_SIZE",
    "ControlInbox",
    "ControlMessage",
    "ControlReply",
    "Outgoing",
    "StageContext",
    "StageFacts",
    "TargetLoad",
]

#: Messages posted and not yet handled, at most (more are refused at once).
INBOX_SIZE = 1000


@dataclass(frozen=True)
class ControlMessage:
    """A control request reaching the stage from outside the window (OSC, a web page, MIDI).

    ``action`` is one of:

    - ``"scene"``: switch to scene ``value`` (its number, 1-based, or file name);
    - ``"set"``: set setting ``name`` of plugin ``target`` to ``value`` (validated exactly like
      a scene file; see :meth:`posestage.host.PluginHost.update_settings`);
    - ``"enable"`` / ``"disable"``: switch plugin ``target`` on or off in the running scene;
    - anything else: a message for plugins only (e.g. ``"cue"`` with ``value = 3``).

    ``source`` says where it came from (``"osc:127.0.0.1:9000"``). Post it with
    ``stage.post(message)`` (any thread): the stage checks it (every text field must be a
    short ``str``; a bad message of any shape is refused with one line and counted), does the
    built-in actions, then passes it on to ``posestage_event``; the returned future gets a
    :class:`ControlReply`.
    """

    action: str
    target: str = ""
    name: str = ""
    value: Any = None
    source: str = ""
    args: tuple = field(default_factory=tuple)


@dataclass(frozen=True)
class ControlReply:
    """The answer to a posted :class:`ControlMessage` (the result of ``stage.post()``'s future).

    ``ok`` is True when the message was applied (``text`` says what was done, e.g.
    ``"scene 2: touchdesigner"``) or passed on to the plugins; False when it was refused
    (``text`` is the one-line error, also shown on screen).
    """

    ok: bool
    text: str


class StageFacts:
    """Plain values the stage keeps up to date for :class:`StageContext` (no references)."""

    __slots__ = (
        "width",
        "height",
        "fps",
        "mirror",
        "privacy",
        "room",
        "scene",
        "scenes",
        "source",
        "model",
        "device",
        "plugins",
        "dropped",
        "floor",
    )

    def __init__(self) -> None:
        self.width = 0
        self.height = 0
        self.fps = 0.0
        self.mirror = False
        self.privacy = False
        self.room: Any = None
        self.scene = ""
        self.scenes: tuple[str, ...] = ()
        self.source = ""
        self.model = ""
        self.device = ""
        self.plugins: tuple[str, ...] = ()
        self.dropped = 0
        self.floor: Any = RoomSettings()


@dataclass(frozen=True)
class TargetLoad:
    """What went to one target over the last second: datagrams, bytes, the OSC addresses."""

    target: str
    datagrams: int
    bytes: int
    addresses: tuple[str, ...]


class Outgoing:
    """What plugins sent, datagram by datagram (:meth:`StageContext.sent`), kept for the last
    :attr:`SECONDS` — the stage's OSC monitor reads :meth:`last_second`. Safe from any thread;
    a send costs one append (addresses are decoded only when someone looks)."""

    SECONDS = 2.0
    #: At most this many datagrams are kept (a flood keeps the newest).
    KEEP = 50_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: deque[tuple[float, str, bytes]] = deque(maxlen=self.KEEP)
        self._targets: dict[str, None] = {}

    def add(self, target: str, datagram: bytes, now: float | None = None) -> None:
        import time

        stamp = time.monotonic() if now is None else now
        with self._lock:
            self._sent.append((stamp, target, datagram))
            if target not in self._targets:
                self._targets[target] = None

    @property
    def targets(self) -> list[str]:
        """Every target something was sent to, in the order first seen."""
        with self._lock:
            return list(self._targets)

    def last_second(self, now: float | None = None) -> list[TargetLoad]:
        """Per target (every one seen, idle ones with zeros): datagrams, bytes and the OSC
        addresses sent within the last second before ``now``."""
        import time

        from posestage.model.osc_wire import OscError, decode

        now = time.monotonic() if now is None else now
        with self._lock:
            recent = [s for s in reversed(self._sent) if now - s[0] <= 1.0]
            targets = list(self._targets)
        loads = []
        for target in targets:
            mine = [d for _, t, d in recent if t == target]
            addresses: dict[str, None] = {}
            for datagram in mine:
                try:
                    addresses.update(dict.fromkeys(m.address for m in decode(datagram)))
                except OscError:
                    addresses["(not OSC)"] = None
            loads.append(
                TargetLoad(target, len(mine), sum(map(len, mine)), tuple(sorted(addresses)))
            )
        return loads


class ControlInbox:
    """Messages posted from any thread, each with the future its sender waits on."""

    __slots__ = ("_items", "_lock", "_notify", "closed")

    def __init__(self, notify: Callable[[], Any] | None = None) -> None:
        self._items: deque[tuple[Any, Future]] = deque()
        self._lock = threading.Lock()
        self._notify = notify  # told of every message taken in (the stage wakes its loop)
        self.closed = False

    def put(self, message: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self.closed:
                future.set_result(ControlReply(False, "the stage has stopped"))
            elif len(self._items) >= INBOX_SIZE:
                future.set_result(
                    ControlReply(False, f"too many control messages waiting ({INBOX_SIZE})")
                )
            else:
                self._items.append((message, future))
        if self._notify is not None and not future.done():
            self._notify()
        return future

    def take(self) -> list[tuple[Any, Future]]:
        """Every waiting message, oldest first (the inbox is emptied)."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            return items

    def close(self) -> list[tuple[Any, Future]]:
        """Refuse new messages; return the ones still waiting."""
        with self._lock:
            self.closed = True
            items = list(self._items)
            self._items.clear()
            return items


class StageContext:
    """The ``stage`` argument of configure/unconfigure/settings_changed/scene_changed.

    - ``width``, ``height``: source image size in pixels (0 until known);
    - ``fps``: frames dispatched per second (live, smoothed);
    - ``mirror``, ``privacy``: the stage's modes (live: a scene switch may change them);
    - ``room``: the empty room's plate, (H, W, 3) uint8 RGB read-only — camera pixels of the
      room without people — only when the scene that started the stage says ``[stage]
      room_pixels = "plugins"`` and once the stage has taken it; else None;
    - ``scene``: the running scene's name; ``scenes``: every scene's name, in key order;
    - ``source``: a description of the source (``"camera:0"``, ``"replay:show.jsonl"``);
    - ``model``: the model's name ("" when poses come from a replay);
    - ``device``: ``"cpu"``, ``"edgetpu:usb:0"``… ("" for a replay);
    - ``plugins``: names of the active plugins, scene order (live);
    - ``dropped``: stale frames dropped so far (live);
    - ``floor``: the running scene's ``[room]`` (:class:`~posestage.config.room.RoomSettings`):
      its floor ``calibration`` (None when not calibrated) and ``zones`` (name → corners, metres
      on a calibrated floor, else camera pixels) — numbers only, never an image;
    - :meth:`post`: hand a control message to the stage, from any thread;
    - :meth:`sent`: say a datagram went out (the stage's OSC monitor counts it).
    """

    __slots__ = ("_facts", "_inbox", "_outgoing")

    def __init__(
        self,
        facts: StageFacts | None = None,
        inbox: ControlInbox | None = None,
        outgoing: Outgoing | None = None,
    ):
        object.__setattr__(self, "_facts", facts if facts is not None else StageFacts())
        object.__setattr__(self, "_inbox", inbox if inbox is not None else ControlInbox())
        object.__setattr__(self, "_outgoing", outgoing if outgoing is not None else Outgoing())

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"the stage context is read-only ({name!r} cannot be set)")

    width = property(lambda self: self._facts.width)
    height = property(lambda self: self._facts.height)
    fps = property(lambda self: self._facts.fps)
    mirror = property(lambda self: self._facts.mirror)
    privacy = property(lambda self: self._facts.privacy)
    room = property(lambda self: self._facts.room)
    scene = property(lambda self: self._facts.scene)
    scenes = property(lambda self: self._facts.scenes)
    source = property(lambda self: self._facts.source)
    model = property(lambda self: self._facts.model)
    device = property(lambda self: self._facts.device)
    plugins = property(lambda self: self._facts.plugins)
    dropped = property(lambda self: self._facts.dropped)
    floor = property(lambda self: self._facts.floor)

    def post(self, message: Any) -> Future:
        """Hand ``message`` (a :class:`ControlMessage`) to the stage.

        Safe from any thread. Returns a future resolved once the message was handled (on the
        stage's main thread) with a :class:`ControlReply`: ``ok=True`` and what was done
        (``"scene 2: touchdesigner"``), or ``ok=False`` and the one-line error. A message posted after the stage stopped is answered ``ok=False`` at once.
        """
        return self._inbox.put(message)

    def sent(self, target: str, datagram: bytes) -> None:
        """Tell the stage a datagram went to ``target`` (``"host:port"``): the stage's OSC
        monitor (key O) shows, per target, what went out in the last second. Safe from any
        thread, cheap (one append); the bytes are kept as they are, never changed."""
        self._outgoing.add(target, datagram)

    def __repr__(self) -> str:
        f = self._facts
        return (
            f"StageContext(scene={f.scene!r}, {f.width}x{f.height}, source={f.source!r}, "
            f"mirror={f.mirror}, privacy={f.privacy}, plugins={f.plugins!r})"
        )
