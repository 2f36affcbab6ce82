"""No note left sounding: the one release code of the midi and synth plugins.

A plugin that plays notes on a :class:`~posestage_midi.ports.MidiOut` subclasses
:class:`NotePlayer` and decorates its hooks with :func:`releasing`. Then every way a show can
end a note ends it, the same way for both plugins:

- a hook that raises: :func:`releasing` releases every note before the error propagates (the
  host then switches the plugin off);
- a scene change (``posestage_scene_changed``) and new settings: :meth:`NotePlayer.release_all`;
- unconfigure (disable, shutdown, a crash): :meth:`NotePlayer.close` — note offs, CC 123 on
  every channel used, then the port closes; it never raises.

The plugin's own books (which person holds which note) are released first, through
:meth:`NotePlayer.pending_offs` and :meth:`NotePlayer.forget_notes`; the output's record of held
notes is the backstop (:meth:`MidiOut.all_notes_off`).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from posestage import hookimpl

from .ports import MidiOut

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

    # -- what a plugin fills in ----------------------------------------------------------------

    def pending_offs(self) -> list[list[int]]:
        """The note offs the plugin's own books hold (sent before the output's backstop)."""
        return []

    def forget_notes(self) -> None:
        """Forget what the plugin's books say is sounding (every note was just released)."""

    def emit(self, out: MidiOut, message: list[int]) -> None:
        """Send one message the release makes (a plugin counting what it sends overrides)."""
        out.send(message)

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
