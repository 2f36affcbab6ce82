"""posestage plugin ``midi``: bodies → MIDI control changes and notes, for a DAW or a synth.

Enable it in a scene (``scenes/daw-midi.toml``, ``docs/midi.md``)::

    [plugins.midi]
    port = ""                 # "" = a virtual port "posestage" the DAW sees; or a port name
    api = "auto"              # auto, alsa, jack, coremidi, windows

    [[plugins.midi.cc]]
    value = "right_wrist.y"
    cc = 20

    [[plugins.midi.notes]]
    value = "above_head(right_wrist)"
    note = 60

The mapping vocabulary is :mod:`posestage_midi.mappings`; the port code, shared with the
``synth`` plugin, is :mod:`posestage_midi.ports`.

No stuck note, ever: a person leaving releases their notes; a scene change, disable, shutdown
and any exception in this plugin's own hooks release every note (note offs, then CC 123 on each
channel used) before anything else happens. Only changed values are sent.

A port that disappears (the JACK server stopped, the USB interface unplugged) is said on screen
in one line and reopened when it comes back, its notes released on both sides
(:mod:`posestage_midi.release`, :mod:`posestage_midi.watch`).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from posestage import Setting, hookimpl

from .mappings import (
    CC_SCHEMA,
    DEFAULT_CC,
    DEFAULT_NOTES,
    NOTE_SCHEMA,
    ControlMapping,
    MappingEngine,
    MappingList,
    NoteMapping,
    control_mapping,
    note_mapping,
)
from .ports import (
    API_CHOICES,
    VIRTUAL_NAME,
    MidiOut,
    MidiUnavailable,
    list_outputs,
    open_output,
)
from .release import NotePlayer, releasing

__all__ = ["Midi", "plugin", "SETTINGS"]

log = logging.getLogger("posestage.midi")

SETTINGS = [
    Setting("port", str, "", 'output port name (or part of it); "" creates a virtual port', live=False),
    Setting("virtual_name", str, VIRTUAL_NAME, "name of the virtual port", live=False),
    Setting("api", str, "auto", "MIDI API", choices=API_CHOICES),
    Setting("threshold", float, 0.3, "keypoints scored under this are unknown", min=0.0, max=1.0),
    Setting("learn", int, 0, "learn mode: send only mapping N (1-based; 0 = off; N key: next)", min=0),
    MappingList("cc", list, [], "control changes ([[plugins.midi.cc]] tables; none listed here and in notes: the defaults)", schema=CC_SCHEMA, build=control_mapping),
    MappingList("notes", list, [], "notes ([[plugins.midi.notes]] tables)", schema=NOTE_SCHEMA, build=note_mapping),
]  # fmt: skip

#: Settings that choose the port: changing one opens another port (configure again).
PORT_SETTINGS = frozenset({"port", "virtual_name", "api"})

#: Control-message action for learn mode: value = mapping number, 0 = off, "next".
LEARN_ACTION = "midi-learn"


class Midi(NotePlayer):
    """The MIDI plugin: one output port and one :class:`MappingEngine` per configure; notes
    released as :class:`~posestage_midi.release.NotePlayer` says."""

    NAME = "midi"

    def __init__(self) -> None:
        super().__init__()
        self.engine = MappingEngine()
        self.sent = 0  # messages sent since the last configure (kept after unconfigure)

    # -- hooks -------------------------------------------------------------------------------

    @hookimpl
    def posestage_settings(self) -> list[Setting]:
        return list(SETTINGS)

    @hookimpl
    @releasing
    def posestage_configure(self, stage: Any, settings: Any) -> None:
        self.close()  # configured twice without unconfigure: release the previous port
        controls, notes = mappings_of(settings)
        engine = MappingEngine(
            controls, notes, float(settings["threshold"]), int(settings["learn"])
        )
        port, api, virtual_name = settings["port"], settings["api"], settings["virtual_name"]
        self.out = open_output(port, api, virtual_name=virtual_name)
        self.watch_port(
            lambda: open_output(port, api, virtual_name=virtual_name),
            port=port,
            virtual_name=virtual_name,
        )
        self.engine = engine
        self.sent = 0
        self._stage = stage
        self.scene = str(getattr(stage, "scene", "") or "")
        log.info(
            "midi: sending %d control changes and %d notes to %s",
            len(controls), len(notes), self.out.name,
        )  # fmt: skip

    @hookimpl
    @releasing
    def posestage_frame(self, frame: Any) -> None:
        if not self.port_ready():  # a port gone is said here once, and taken back here
            return
        self._send(self.engine.frame(frame))

    @hookimpl
    @releasing
    def posestage_person_leave(self, person: Any, frame: Any) -> None:
        if self.out is not None:
            self._send(self.engine.leave(person))

    @hookimpl
    @releasing
    def posestage_event(self, event: Any) -> bool | None:
        if self.out is None:
            return None
        if getattr(event, "action", None) == LEARN_ACTION:
            value = event.value
            if value == "next":
                self._learn(self.engine.learn + 1)
            else:
                try:
                    self._learn(int(value))
                except (TypeError, ValueError):
                    log.warning("midi: %s wants a mapping number, 0 or 'next'", LEARN_ACTION)
            return True
        if self.engine.learn and _is_key(event, "n"):
            self._learn(self.engine.learn + 1)
            return True
        return None

    @hookimpl
    @releasing
    def posestage_draw(self, canvas: Any, frame: Any) -> None:
        target = self.engine.learn_target() if self.out is not None else None
        if target is None:
            return
        import pygame

        total = len(self.engine.mappings)
        number = (self.engine.learn - 1) % total + 1
        text = f"MIDI learn {number}/{total}: {target.label}   N: next"
        if not pygame.font.get_init():  # a headless stage starts no fonts
            pygame.font.init()
        font = pygame.font.Font(None, max(18, canvas.get_height() // 24))
        image = font.render(text, True, (255, 255, 255), (20, 20, 20))
        canvas.blit(image, (8, canvas.get_height() - image.get_height() - 8))

    @hookimpl
    @releasing
    def posestage_settings_changed(self, stage: Any, settings: Any, changed: list[str]) -> bool:
        if self.out is None or set(changed) & PORT_SETTINGS:
            return False  # another port: unconfigure, configure again
        if set(changed) & {"cc", "notes"}:
            # new mappings on the same port (a scene switch, usually): the old mappings'
            # notes end first, the DAW stays connected
            self.release_all("new mappings")
            controls, notes = mappings_of(settings)
            self.engine = MappingEngine(controls, notes, float(settings["threshold"]), 0)
        self.engine.threshold = float(settings["threshold"])
        self._learn(int(settings["learn"]))
        return True

    def scene_changed(self, old: str, new: str) -> None:
        """Notes belonging to the old scene stop; values are sent afresh in the new one."""
        super().scene_changed(old, new)
        self.engine.reset()

    @hookimpl
    def posestage_commands(self, subparsers: Any) -> None:
        p = subparsers.add_parser(
            "midi-ports", help="list the MIDI output ports posestage can open"
        )
        p.add_argument("--api", default="auto", choices=API_CHOICES, help="MIDI api (default auto)")
        p.set_defaults(func=_list_ports)

    # -- internals ---------------------------------------------------------------------------

    def _send(self, messages: list[list[int]]) -> None:
        out = self.out
        for message in messages:
            out.send(message)
            self.sent += 1

    def _learn(self, number: int) -> None:
        count = len(self.engine.mappings)
        number = max(0, number)
        if number > count:
            number = 1 if count else 0
        if number != self.engine.learn:
            # note offs only: no CC 123 a DAW in MIDI learn could bind by mistake
            self.release_all("learn mode", panic=False)
            self.engine.learn = number
            target = self.engine.learn_target()
            log.info("midi: learn %s", f"{number}: {target.label}" if target else "off")

    def pending_offs(self) -> list[list[int]]:
        return self.engine.release()  # the mappings' notes: person by person

    def port_reopened(self) -> None:
        self.engine.reset()  # every value sent afresh on the new port

    def emit(self, out: MidiOut, message: list[int]) -> None:
        out.send(message)
        if out is self.out:
            self.sent += 1


def mappings_of(settings: Any) -> tuple[tuple[ControlMapping, ...], tuple[NoteMapping, ...]]:
    """The scene's mappings; the defaults (docs/midi.md) when it lists none at all."""
    cc, notes = tuple(settings.get("cc") or ()), tuple(settings.get("notes") or ())
    if not cc and not notes:
        where = "plugins.midi (defaults)"
        cc = tuple(control_mapping(m, f"{where}.cc[{i}]") for i, m in enumerate(DEFAULT_CC))
        notes = tuple(note_mapping(m, f"{where}.notes[{i}]") for i, m in enumerate(DEFAULT_NOTES))
    return cc, notes


def _list_ports(args: Any) -> int:
    """``posestage midi-ports``: every output port, per MIDI api; 2 when there is no MIDI."""
    try:
        found = list_outputs(args.api)
    except MidiUnavailable as err:
        print(f"posestage: {err}", file=sys.stderr)
        return 2
    for api, ports in found.items():
        if isinstance(ports, str):
            print(f"{api}: {ports}")
        else:
            print(f"{api}: {len(ports)} output port{'s' if len(ports) != 1 else ''}")
            for name in ports:
                print(f"  {name}")
    print('set [plugins.midi] port = "<name or part of it>", or port = "" for a virtual port')
    return 0


def _is_key(event: Any, letter: str) -> bool:
    try:
        import pygame
    except ImportError:  # pragma: no cover - pygame comes with posestage
        return False
    return getattr(event, "type", None) == pygame.KEYDOWN and getattr(event, "unicode", "") in (
        letter,
        letter.upper(),
    )


#: The object the ``posestage`` entry point names.
plugin = Midi()
