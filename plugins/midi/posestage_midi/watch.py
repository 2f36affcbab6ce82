"""A MIDI port that disappears, said and reopened: :class:`PortWatch`.

A JACK server that dies takes every port of its clients with it, and python-rtmidi keeps
accepting messages for them without a word; an unplugged USB interface leaves a port that sends
nowhere. So a thread of the plugin's own looks every :data:`WATCH_SECONDS`:

- while the port is open: is it still there? A virtual port must still be listed by the MIDI
  system (a dead JACK server lists nothing), a named port's destination too. If not, the port is
  *gone*: :meth:`PortWatch.gone` says so once to the plugin's next hook, which releases its notes
  and says it on screen;
- while it is gone: has it come back (the JACK server answers again for a virtual port, the
  named destination is listed again)? Then the same settings open it again, on the watch thread,
  and :meth:`PortWatch.take` hands the new port to the plugin's next hook.

The thread never sends a message: every note goes out from the plugin's hooks, under its lock.
Each look is a short-lived listing client (a patchbay shows ``<virtual_name>-watch`` come and
go): a client of a JACK server that died lists nothing for ever and must never be touched again
(:meth:`~posestage_midi.ports.MidiOut.abandon`), so none is kept. While JACK is down libjack's
own stderr messages are silenced (the plugin says what happened, in one line).
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Callable

from .ports import APIS, MidiOut, MidiUnavailable, match_port

__all__ = ["WATCH_SECONDS", "PortWatch"]

log = logging.getLogger("posestage.midi")

#: How often the watch thread looks at the port (seconds).
WATCH_SECONDS = 1.0


class PortWatch:
    """Watches ``out`` (opened from ``port``/``virtual_name``) and reopens it with ``reopen``
    (which opens it as configure did) when it comes back. ``what`` names the plugin."""

    def __init__(
        self,
        out: MidiOut,
        reopen: Callable[[], MidiOut],
        *,
        port: str,
        virtual_name: str,
        what: str = "midi",
        every: float | None = None,
    ) -> None:
        self.name = out.name
        self.api = out.api
        self.port = port
        self.virtual_name = virtual_name
        self.what = what
        self.every = WATCH_SECONDS if every is None else float(every)
        self._reopen = reopen
        self._gone = threading.Event()  # set by the watch thread: the port disappeared
        self._told = False  # the plugin was told (one line per disappearance)
        self._fresh: MidiOut | None = None  # reopened, not yet taken by the plugin
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"posestage-{what}-port-watch", daemon=True
        )

    # -- the plugin's side (its hooks) ---------------------------------------------------------

    def start(self) -> PortWatch:
        self._thread.start()
        return self

    def gone(self) -> bool:
        """True once per disappearance: the port went away since the last call."""
        if self._gone.is_set() and not self._told:
            self._told = True
            return True
        return False

    def take(self) -> MidiOut | None:
        """The port reopened since it went, once; None otherwise."""
        with self._lock:
            fresh, self._fresh = self._fresh, None
        if fresh is not None:
            self._told = False
        return fresh

    def stop(self) -> None:
        """End the watch; a port it reopened and nobody took is closed."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(self.every + 5.0)
        with self._lock:
            fresh, self._fresh = self._fresh, None
        if fresh is not None:
            fresh.close()

    # -- the watch thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if not self._gone.is_set():
                if not self._there(reopening=False):
                    log.warning("%s: MIDI port %s is gone", self.what, self.name)
                    self._gone.set()
            elif self._told and self._there(reopening=True):
                self._try_reopen()  # once the plugin let go of the old one

    def _try_reopen(self) -> None:
        try:
            out = self._reopen()
        except MidiUnavailable as err:
            log.debug("%s: not yet: %s", self.what, err)
            return
        except Exception:  # noqa: BLE001 - keep watching; the next look tries again
            log.exception("%s: reopening the MIDI port failed", self.what)
            return
        if self._stop.is_set():
            out.close()
            return
        with self._lock:
            self._fresh = out
        self._gone.clear()
        log.warning("%s: MIDI port %s is back", self.what, out.name)

    def _there(self, *, reopening: bool) -> bool:
        """Is the port (while open) still there, or (while gone) back?"""
        names = self._names()
        if names is None:
            return False  # the MIDI system does not answer (JACK stopped)
        if self.port:
            try:
                return match_port(self.port, names) is not None
            except ValueError:  # several match: it is there; open_output says the rest
                return True
        if reopening:
            return True  # the system answers again: a virtual port can be made
        return any(self.virtual_name in name for name in names)

    def _names(self) -> list[str] | None:
        """The ports a fresh listing client sees (a named port: destinations; a virtual one:
        sources, ours among them); None when the MIDI system does not answer."""
        try:
            import rtmidi

            api = getattr(rtmidi, "API_" + APIS.get(self.api, "UNSPECIFIED"))
            kind = rtmidi.MidiOut if self.port else rtmidi.MidiIn
            if self.api == "jack":
                quiet_jack()
            lister = kind(api, f"{self.virtual_name}-watch")
        except Exception:  # noqa: BLE001 - no MIDI system now: look again later
            return None
        try:
            return list(lister.get_ports())
        except Exception:  # noqa: BLE001
            return None
        finally:
            lister.delete()


_quiet = False


def _ignore(message: bytes) -> None:
    return None


_IGNORE = ctypes.CFUNCTYPE(None, ctypes.c_char_p)(_ignore)


def quiet_jack() -> None:
    """Silence libjack's own stderr messages ("Cannot connect to server socket…", several
    lines each time a client cannot reach a stopped server) in the libjack python-rtmidi
    loaded: the watch would print them every second while JACK is down. Best effort, once,
    process-wide; posestage says what matters in one line."""
    global _quiet
    if _quiet:
        return
    _quiet = True
    try:
        import rtmidi  # noqa: F401 - loads its libjack

        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = sorted({line.split()[-1] for line in maps if "libjack" in line})
        for path in paths:
            lib = ctypes.CDLL(path)
            lib.jack_set_error_function(_IGNORE)
            lib.jack_set_info_function(_IGNORE)
    except Exception:  # noqa: BLE001 - not Linux, no libjack: the messages stay
        pass
