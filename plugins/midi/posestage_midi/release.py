"""No note left sounding: the one release code of the midi and synth plugins.

A plugin that plays notes on a :class:`~posestage_midi.ports.MidiOut` subclasses
:class:`NotePlayer` and decorates its hooks with :func:`releasing`. Then every way a show can
end a note ends it, the same way for both plugins:

- a hook that raises: :func:`releasing` releases every note before the error propagates (the
  host then switches the plugin off);
- a scene change (``posestage_scene_changed``) and new settings: :meth:`NotePlayer.release_all`;
- unconfigure (disable, shutdown, a crash): :meth:`NotePlayer.close` — note offs, CC 123 on
  every channel used, then the port closes; it never raises;
- the port disappearing (JACK stopped, an interface unplugged; :mod:`posestage_midi.watch`):
  the plugin's next frame forgets what was sounding, the old port is closed (note offs tried)
  and the hook raises one line, :class:`~posestage_midi.ports.MidiUnavailable` — how a plugin
  puts a line on screen (one failure: the next hooks succeed, so it is not switched off). When
  the port comes back it is reopened with the same settings and the first thing sent on it
  is a note off for every note that was sounding when it went, then CC 123 on every channel
  used: a synth that kept a note through the outage stops it, nothing is left held.

The plugin's own books (which person holds which note) are released first, through
:meth:`NotePlayer.pending_offs` and :meth:`NotePlayer.forget_notes`; the output's record of held
notes is the backstop (:meth:`MidiOut.all_notes_off`).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from posestage import hookimpl

from .ports import MidiOut, MidiUnavailable
from .watch import PortWatch

__all__ = ["NotePlayer", "releasing"]

log = logging.getLogger("posestage.midi")


def releasing(method):
    """Decorate a plugin hook: if it raises (anything), ``self.release_all(why)`` runs before
    the error propagates, so a crashing plugin leaves no note sounding."""

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.release_all("a failure")
            raise

    return guarded


class NotePlayer:
    """A plugin playing notes on :attr:`out`: releases them on failure, scene change, new
    settings and unconfigure. ``NAME`` names it in the log."""

    NAME = "midi"

    def __init__(self) -> None:
        self.out: MidiOut | None = None
        self.scene = ""
        self._stage: Any = None
        self._watch: PortWatch | None = None
        #: what the port had sounding when it went: held notes, channels used
        self._sounding: tuple[dict[tuple[int, int], int], set[int]] | None = None

    # -- what a plugin fills in ----------------------------------------------------------------

    def pending_offs(self) -> list[list[int]]:
        """The note offs the plugin's own books hold (sent before the output's backstop)."""
        return []

    def forget_notes(self) -> None:
        """Forget what the plugin's books say is sounding (every note was just released)."""

    def emit(self, out: MidiOut, message: list[int]) -> None:
        """Send one message the release makes (a plugin counting what it sends overrides)."""
        out.send(message)

    def port_reopened(self) -> None:
        """The port is back (after the release was sent on it): send state afresh."""

    # -- a port that goes and comes back ---------------------------------------------------

    def watch_port(self, reopen: Callable[[], MidiOut], *, port: str, virtual_name: str) -> None:
        """Watch :attr:`out` (a MIDI port ``reopen`` opens again): see :meth:`port_ready`."""
        if self.out is not None:
            watch = PortWatch(
                self.out, reopen, port=port, virtual_name=virtual_name, what=self.NAME
            )
            self._watch = watch.start()

    def port_ready(self) -> bool:
        """First thing in a hook that sends: takes a port reopened since, or — the port gone —
        forgets what was sounding and raises the one line that says so. True when there is a
        port to send on."""
        watch = self._watch
        if watch is None:
            return self.out is not None
        fresh = watch.take()
        if fresh is not None:
            if self.out is not None:  # went and came back between two hooks
                self._lose()
            self._back(fresh)
        elif watch.gone() and self.out is not None:
            name = self._lose()
            raise MidiUnavailable(
                f"{self.NAME}: MIDI port {name} is gone (JACK stopped, or the interface was "
                "unplugged?); notes released, it is reopened when it comes back"
            )
        return self.out is not None

    def _lose(self) -> str:
        out, self.out = self.out, None
        self._sounding = (dict(out.held), set(out.channels))
        try:
            self.pending_offs()  # the books: nothing sounds any more
        except Exception:  # noqa: BLE001
            log.exception("%s: releasing notes (port gone) failed", self.NAME)
        self.forget_notes()
        if out.api == "jack":
            out.abandon()  # a dead server's client is never touched again
        else:  # note offs tried, then closed — off this thread: a dead port may take a while
            threading.Thread(target=out.close, name="posestage-midi-close", daemon=True).start()
        return out.name

    def _back(self, out: MidiOut) -> None:
        self.out = out
        held, channels = self._sounding or ({}, set())
        self._sounding = None
        for channel, note in sorted(held):
            self.emit(out, [0x80 | channel, note, 0])
        for channel in sorted(channels):
            self.emit(out, [0xB0 | channel, 123, 0])
        self.port_reopened()
        log.warning("%s: MIDI port %s reopened; values are sent afresh", self.NAME, out.name)

    # -- the release -------------------------------------------------------------------------

    def release_all(self, why: str, panic: bool = True) -> None:
        """Note offs for everything held, then (``panic``) CC 123 on every channel used; the
        port stays open. Never raises."""
        out = self.out
        if out is None:
            return
        try:
            for message in self.pending_offs():
                self.emit(out, message)
        except Exception:  # noqa: BLE001 - the backstop below still runs
            log.exception("%s: releasing notes (%s) failed", self.NAME, why)
        self.forget_notes()
        out.all_notes_off(panic=panic)
        log.info("%s: all notes off (%s)", self.NAME, why)

    def close(self) -> None:
        """Every note off, then the port (or synthesizer) closes."""
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.stop()  # a port it reopened and nobody took is closed too
        self._sounding = None
        out, self.out = self.out, None
        if out is None:
            return
        try:
            for message in self.pending_offs():
                self.emit(out, message)
        finally:
            self.forget_notes()
            out.close()  # all notes off (CC 123 per channel), then the port closes
            log.info("%s: %s closed after %d messages", self.NAME, out.name, out.sent)

    def scene_changed(self, old: str, new: str) -> None:
        """Notes belonging to the old scene stop."""
        self.scene = new
        self.release_all(f"scene {new!r}")

    # -- the hooks every note player has ---------------------------------------------------

    @hookimpl
    @releasing
    def posestage_scene_changed(self, stage: Any, old: str, new: str) -> None:
        self.scene_changed(old, new)

    @hookimpl
    def posestage_unconfigure(self, stage: Any) -> None:
        try:
            self.close()
        except Exception:  # unconfigure must never raise
            log.exception("%s: closing failed", self.NAME)
