"""The plugin API: every hook a posestage plugin can implement, and when it is called.

A plugin is a module (or any object) with functions named after these hooks, marked with
:data:`hookimpl`::

    from posestage import hookimpl

    @hookimpl
    def posestage_frame(frame):
        for person in frame.people:
            print(person.slot, person["right_wrist"])

An implementation may take any subset of the arguments documented for its hook, by name.
Hook names or arguments that are not in this file are refused when the plugin is loaded.

Threads (the stage's contract, see :mod:`posestage.stage`):

- the **pose thread** (inference / replay) calls ``posestage_frame``,
  ``posestage_person_enter`` and ``posestage_person_leave``, once per processed frame, in
  scene order;
- the **main thread** (the pygame loop) calls ``posestage_draw`` and ``posestage_event`` at
  display rate, and ``posestage_configure`` / ``posestage_unconfigure`` when a scene starts,
  changes or ends.

The stage never runs two hooks at once (it holds one lock around every hook call), so a
plugin needs no locks of its own between ``posestage_frame`` and ``posestage_draw``; but the
two threads take turns, so a slow hook delays the other thread too. Keep every hook short — the
frame loop and the display wait for you; do slow I/O on a thread of your own, started in
configure and stopped in unconfigure, and hand it data by replacing a reference.

Coordinates: every ``Person`` position is in source-image pixels, (x, y), x right, y down.
When the stage mirrors (``[stage] mirror = true``), coordinates are *already* mirrored
(``frame.mirrored`` is True): draw and send them as they are. ``Person.xy_norm`` gives 0..1.

Errors: an exception in a hook is logged once with its traceback and shown on screen; after
``max_failures`` (default 3) consecutive failures the plugin is switched off — unconfigured,
best effort — and the show goes on. Raise :class:`~posestage.errors.PluginError` (one line,
what to fix) from ``posestage_configure`` to reject settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover - types only
    import argparse

    from .context import StageContext
    from .frames import Person, PoseFrame
    from .settings import Setting, Values

PROJECT = "posestage"

#: Marks a function as a hook implementation: ``@hookimpl`` above ``def posestage_frame(...)``.
hookimpl = pluggy.HookimplMarker(PROJECT)
#: Marks a hook specification (used only in this file).
hookspec = pluggy.HookspecMarker(PROJECT)


@dataclass(frozen=True)
class ControlMessage:
    """A control request reaching the stage from outside the window (OSC, a web page, MIDI).

    ``action`` is one of:

    - ``"scene"``: switch to scene ``value`` (its number, 1-based, or file name);
    - ``"set"``: set setting ``name`` of plugin ``target`` to ``value`` (validated exactly like
      a scene file; see :meth:`posestage.plugins.PluginHost.update_settings`);
    - ``"enable"`` / ``"disable"``: switch plugin ``target`` on or off in the running scene;
    - anything else: a message for plugins only (e.g. ``"cue"`` with ``value = 3``).

    ``source`` says where it came from (``"osc:127.0.0.1:9000"``). The stage handles the four
    built-in actions, then passes every message on to ``posestage_event``.
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


@hookspec
def posestage_settings() -> list[Setting]:
    """Declare the settings this plugin accepts (a list of :class:`posestage.settings.Setting`).

    Called once, when the plugin is loaded (any thread; no stage yet). Scene files
    (``[plugins.NAME]`` tables) and live control messages are validated against it, so a typo
    in a scene gives a one-line error listing the valid names. A plugin that does not implement
    it accepts no settings.
    """


@hookspec
def posestage_configure(stage: StageContext, settings: Values) -> None:
    """The scene enables this plugin: get ready, with its validated ``settings``.

    Called on the main thread, in scene order, before the first frame of the scene, and
    again (after ``posestage_unconfigure``) when the scene's settings for this plugin change.
    ``settings`` is a dict (keys also read as attributes: ``settings.thickness``) holding every
    declared setting, defaults filled in. Open ports, files and synths here.

    Raise :class:`~posestage.errors.PluginError` with a one-line message to refuse (e.g.
    a port already in use); the plugin then stays off for this scene and the message is shown.
    The return value is ignored.
    """


@hookspec
def posestage_frame(frame: PoseFrame) -> None:
    """A new frame was processed: ``frame`` is a :class:`posestage.frames.PoseFrame`.

    Called on the pose thread for every processed frame, in scene order, after the
    enter/leave hooks of that frame. ``frame.people`` are tracked people (stable ``id``,
    reusable ``slot``); people in a short dropout are included with ``missing > 0``.
    ``frame.image`` is None in privacy mode. Send OSC/MIDI here. The return value is ignored.
    """


@hookspec
def posestage_draw(canvas: Any, frame: PoseFrame) -> None:
    """Draw on the stage window: ``canvas`` is a ``pygame.Surface``, ``frame`` the latest frame.

    Called on the main thread at display rate (often more or less often than frames
    arrive), in scene order — later plugins draw over earlier ones. Never called before the
    first frame. The canvas maps source-image pixels: its size is ``(frame.width,
    frame.height)`` and the stage scales it to the window, so draw at ``person.xy`` directly.
    Plugins that scale by ``canvas.get_size()`` / the frame size work on any canvas. Do not
    keep the canvas between calls. The return value is ignored.
    """


@hookspec
def posestage_person_enter(person: Person, frame: PoseFrame) -> None:
    """A new person was found: ``person`` (a :class:`posestage.frames.Person`) in ``frame``.

    Called on the pose thread, in scene order, before ``posestage_frame`` of that frame.
    ``person.slot`` is the lowest free slot (reused after someone leaves); ``person.id`` is new.
    People already on stage when a plugin is configured are not announced again: read
    ``frame.people``. The return value is ignored.
    """


@hookspec
def posestage_person_leave(person: Person, frame: PoseFrame) -> None:
    """A person left: they were not seen for longer than the tracker's dropout grace.

    Called on the pose thread, in scene order, before ``posestage_frame`` of the frame in
    which they are gone (``person`` holds their last state; it is not in ``frame.people``).
    Release what belongs to them (e.g. note off). The return value is ignored.
    """


@hookspec
def posestage_event(event: Any) -> bool | None:
    """Input for plugins: a ``pygame.event.Event`` (keys, mouse) or a :class:`ControlMessage`.

    Called on the main thread, in scene order. pygame events are passed as pygame delivers
    them (``event.type == pygame.KEYDOWN``, ``event.key``, ``event.pos`` — mouse positions in
    window pixels); the stage keeps its own keys (Esc, Q, F, H, T, 1–9). Return True when you
    handled the event: plugins after you in the scene do not receive it.
    """


@hookspec
def posestage_unconfigure(stage: StageContext) -> None:
    """Stop: release ports and files, silence every note and sound.

    Called on every exit path of a configured plugin — scene change that drops it or
    changes its settings, disable, shutdown (Esc, end of source, Ctrl-C), and after the host
    switched it off for failing. Usually on the main thread; after a crash-disable, on the
    thread where the last failure happened. Must not raise; it may be called when configure
    failed half-way, so check what you opened.
    """


@hookspec
def posestage_settings_changed(
    stage: StageContext, settings: Values, changed: list[str]
) -> bool | None:
    """Some settings changed live (a control message): ``settings`` holds all the new values.

    Called on the main thread with the names in ``changed``. Return True if you applied
    them; otherwise (or if not implemented) the host unconfigures and configures the plugin
    again with the new settings.
    """


@hookspec
def posestage_scene_changed(stage: StageContext, old: str, new: str) -> None:
    """The running scene changed from ``old`` to ``new`` (names) and this plugin stays on.

    Called for each plugin that stays configured (same settings) across a scene switch —
    number key, scene-file reload (then ``old == new``), ``scene`` control message — after the
    switch took effect. Plugins dropped or reconfigured by the switch get unconfigure /
    configure instead. A MIDI or synth plugin silences the notes of the old scene here.
    Called on the stage's control thread (see the module docstring); the return value is
    ignored.
    """


@hookspec
def posestage_privacy() -> bool | None:
    """Return True to switch the stage into privacy mode while this plugin is active.

    Asked right after ``posestage_configure`` (so the answer may depend on settings). In
    privacy mode no camera pixels reach any *other* plugin (their ``frame.image`` is None),
    disk or network, and the window never shows a live frame; the plugins that asked still get
    ``frame.image`` (the anonymizer builds its background plate from it) and are trusted to
    show only what is safe. ``[stage] privacy = true`` withholds pixels from every plugin.
    """


@hookspec
def posestage_sources() -> dict[str, Any] | None:
    """Register input sources: return ``{scheme: opener}``.

    Called once at start for every loaded plugin (active in the scene or not). ``--source
    SCHEME:REST`` then calls ``opener(spec, options)`` with the whole spec and a
    :class:`posestage.sources.SourceOptions`; it returns a :class:`posestage.sources.Source`
    or raises :class:`~posestage.errors.SourceError`. Built-in schemes cannot be replaced.
    """


@hookspec
def posestage_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add sub-commands to the ``posestage`` command line.

    Called once while the command line is built, for every installed plugin (``--safe``
    does not apply here). Add a parser with ``subparsers.add_parser("name", help=...)`` and
    set ``func=handler`` with ``parser.set_defaults(func=handler)``; ``handler(args) -> int``
    is the exit status. A name already taken is refused with a warning.
    """
