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

The hooks below are grouped by when and on which thread they fire, in firing order: load
(``settings``, ``sources``, ``commands``), the lifecycle on the control thread (``configure``,
``privacy``, ``settings_changed``, ``scene_changed``, ``unconfigure``), the pose thread
(``person_leave``, ``person_enter``, ``frame``), the main thread (``draw``, ``event``).

Why not pluggy's hook caller (``pm.hook.posestage_frame(frame=...)``)? pluggy registers and
checks the plugins here, but it calls every implementation of a hook in one loop on the
caller's thread, in its own order, and a raise stops the loop. A show needs more, per plugin:
a lock so that one plugin's hooks never overlap while different plugins run on different
threads; a time budget per call, naming a slow plugin and switching off one that stalls;
failures counted per plugin and hook, a plugin switched off (then unconfigured) after a few;
the scene's order (the order of its ``[plugins.NAME]`` tables), not registration order; and
privacy decided per plugin and per call (who gets ``frame.image``). So the host calls each
implementation itself, through :mod:`posestage.host.dispatch` (frames, drawing, events) and
:mod:`posestage.host.activation` (the lifecycle hooks).

The contract — what every plugin may rely on (kept by :mod:`posestage.host.dispatch`):

Threads
    The **pose thread** calls ``posestage_person_leave``, ``posestage_person_enter``, then
    ``posestage_frame``, in that order for each processed frame, each in scene order. The
    **main thread** (the window loop) calls ``posestage_draw`` and ``posestage_event``. The
    **control thread** calls ``posestage_configure``, ``posestage_unconfigure``,
    ``posestage_settings_changed`` and ``posestage_scene_changed`` when a scene switches, a
    control message changes a plugin, or a plugin is switched off; the first scene's
    configure and the last unconfigure run on the main thread, before the first frame and
    after the last one.

Locks
    One lock per plugin: **a plugin's hooks never run at the same time as each other**, so a
    plugin needs no locks between its ``frame`` and its ``draw``. Different plugins may run
    at the same time on different threads. Nothing waits for a busy plugin but the pose
    thread: ``posestage_draw`` of a plugin busy elsewhere is skipped for that display tick,
    an event for it waits (in order) until it is free, and a plugin busy in
    ``settings_changed`` or ``scene_changed`` misses ``posestage_frame`` calls meanwhile (not
    its enters and leaves). A plugin joins dispatch when its configure returned and leaves it
    before its unconfigure is called: no hook of it runs after its unconfigure started.
    Waiting inside a hook on the future of your own ``stage.post()`` can deadlock (the
    message may need your lock); use ``future.add_done_callback``.

Time budgets (:data:`posestage.host.timings.HOOK_BUDGET_MS`)
    ``frame``, ``person_enter``, ``person_leave``: 50 ms; ``draw``, ``event``: 20 ms (the
    display's 60 Hz tick). A call over its budget is named on screen with its duration (also
    while it still runs); a plugin taking more than 4x the budget in 5 of the last 10 calls of
    a hook is switched off (a slow machine is warned, a stalling plugin stopped). Lifecycle hooks have no budget (they run off the frame and display paths). Keep
    per-frame hooks well under a millisecond; do slow I/O on a thread of your own, started in
    configure and stopped in unconfigure, and hand it data by replacing a reference.

Failures
    Anything raised by a hook — any ``BaseException``, ``SystemExit``, ``KeyboardInterrupt``
    and ``GeneratorExit`` included (a real Ctrl-C still stops the show) — is that plugin's
    failure: logged once with its traceback per distinct error (then counted), shown on
    screen. Failures are counted per plugin and hook: after 3 failures in a row of one hook
    (a success of another hook does not reset it) the plugin is switched off — out of
    dispatch, then unconfigured — until a scene activates it again. Every configured plugin
    is unconfigured on every exit path (Esc, end of source, Ctrl-C, SIGTERM, SIGHUP), after
    the people still on stage got ``posestage_person_leave``. Raise
    :class:`~posestage.errors.PluginError` (one line, what to fix) from
    ``posestage_configure`` to refuse settings.

Privacy
    A scene is private when it says ``[stage] privacy = true`` (or ``--privacy``) or a plugin's
    ``posestage_privacy()`` asks (True, or ``"room"``). In privacy mode no plugin receives a
    camera pixel — the one that asked neither: ``frame.image`` is None for everyone — and the
    window never shows a live frame. It fails closed: when the plugin that asked fails, is
    disabled or reconfigured, privacy stays on until a scene without it runs. A switch to a
    scene without privacy is refused from outside — every control message: the control port,
    a plugin's ``stage.post``, ``Stage.post`` — unless the private scene says ``[stage]
    privacy_ends = "anyone"``; keys at the window (local) always may. The ``stage`` context
    (:class:`~posestage.context.StageContext`) holds no route to pixels.

    **The empty room is the stage's.** A plugin answering ``"room"`` (the anonymizer) asks the
    stage to show the room without people under the drawings. The stage decides that the room
    is empty from its own detections before any plugin runs (nobody tracked, people in a
    dropout grace included, for ``[stage] empty_seconds`` of frame time), keeps that frame in
    memory only, and shows it in the window; until then a waiting message over black. R at
    the window and the ``recapture`` control message take it again. The canvas plugins draw
    on never holds it. Its camera pixels reach plugins (``stage.room``) only when the scene
    that started the stage says ``[stage] room_pixels = "plugins"``, which nothing live can
    change. Strict privacy (``[stage] privacy = true``) keeps no room at all. Without privacy,
    every plugin gets ``frame.image``, a read-only array.

Redrawing
    The window is redrawn when there is something new: a frame, an event, an overlay change.
    A plugin that animates on its own (a fade, a particle system) returns True from
    ``posestage_draw`` to be drawn again on the next display tick.

Frames nobody can change
    What a hook is handed is immutable: a ``PoseFrame`` and each ``Person`` are frozen
    (assigning a field raises), ``frame.people`` is a tuple, and ``xy``, ``raw_xy``,
    ``scores`` and ``frame.image`` are read-only arrays of their own (``flags.writeable``
    cannot be set True again; no array the stage keeps writing shares their memory). Every
    plugin gets exactly what the stage made, whatever a plugin before it tried. To work on
    changed values make a copy (``np.array(person.xy)``, ``dataclasses.replace(frame, ...)``).

Coordinates: every ``Person`` position is in source-image pixels, (x, y), x right, y down.
When the stage mirrors (``[stage] mirror = true``), coordinates are *already* mirrored
(``frame.mirrored`` is True): draw and send them as they are. ``Person.xy_norm`` gives 0..1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from posestage.context import ControlMessage, ControlReply

if TYPE_CHECKING:  # pragma: no cover - types only
    import argparse

    from posestage.config.schema import Setting, Values
    from posestage.context import StageContext
    from posestage.model.frames import PoseFrame
    from posestage.model.people import Person

__all__ = [
    "PROJECT",
    "ControlMessage",
    "ControlReply",
    "hookimpl",
    "hookspec",
    "posestage_settings",
    "posestage_sources",
    "posestage_commands",
    "posestage_configure",
    "posestage_privacy",
    "posestage_settings_changed",
    "posestage_scene_changed",
    "posestage_unconfigure",
    "posestage_person_leave",
    "posestage_person_enter",
    "posestage_frame",
    "posestage_draw",
    "posestage_event",
]

PROJECT = "posestage"

#: Marks a function as a hook implementation: ``@hookimpl`` above ``def posestage_frame(...)``.
hookimpl = pluggy.HookimplMarker(PROJECT)
#: Marks a hook specification (used only in this file).
hookspec = pluggy.HookspecMarker(PROJECT)


# ----------------------------------------------------------------------------------------------
# Load: asked once per plugin when plugins are loaded, before any scene uses it; no stage yet
# (the main thread at start; settings also when a rehearsal plugin file is saved). What they
# return is checked at once: a bad answer is refused with one line naming the plugin.
# ----------------------------------------------------------------------------------------------


@hookspec
def posestage_settings() -> list[Setting]:
    """Declare the settings this plugin accepts (a list of :class:`posestage.config.schema.Setting`).

    Called once, when the plugin is loaded (any thread; no stage yet). Scene files
    (``[plugins.NAME]`` tables) and live control messages are validated against it, so a typo
    in a scene gives a one-line error listing the valid names. A plugin that does not implement
    it accepts no settings; one answering anything but a list of ``Setting`` is not loaded
    (one line names it) and the scenes that do not use it still run.
    """


@hookspec
def posestage_sources() -> dict[str, Any] | None:
    """Register input sources: return ``{scheme: opener}``.

    Called once at start, on the main thread before the source opens, for every loaded
    plugin (active in the scene or not). ``--source
    SCHEME:REST`` then calls ``opener(spec, options)`` with the whole spec and a
    :class:`posestage.sources.SourceOptions`; it returns a :class:`posestage.sources.Source`
    or raises :class:`~posestage.errors.SourceError`. Built-in schemes cannot be replaced.
    An answer that is not such a dict (or a scheme that is not a plain name, an opener that
    is not callable) is refused with one line naming the plugin; the rest still works. None:
    no sources.
    """


@hookspec
def posestage_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add sub-commands to the ``posestage`` command line.

    Called once on the main thread while the command line is built (before any stage),
    for every installed plugin (``--safe``
    does not apply here). Add a parser with ``subparsers.add_parser("name", help=...)`` and
    set ``func=handler`` with ``parser.set_defaults(func=handler)``; ``handler(args) -> int``
    is the exit status. A name already taken, an error raised here or a return value other
    than None is refused with a one-line warning; the command line keeps working.
    """


# ----------------------------------------------------------------------------------------------
# Lifecycle: the control thread, in this order, as scenes switch and settings change
# (the first scene's configure and the last unconfigure: the main thread, before the first
# frame and after the last). Called through activation (posestage.host.activation).
# ----------------------------------------------------------------------------------------------


@hookspec
def posestage_configure(stage: StageContext, settings: Values) -> None:
    """The scene enables this plugin: get ready, with its validated ``settings``.

    Called in scene order: for the first scene on the main thread before the first frame;
    later (a scene switch, ``enable``, a live settings change that was not applied by
    ``posestage_settings_changed``) on the control thread while the show goes on — the plugin
    joins dispatch (gets frames, draws) once this returns, so a slow configure (loading a
    soundfont, opening a port) holds up nobody else. ``stage`` is the read-only
    :class:`~posestage.context.StageContext`; ``settings`` a dict (keys also read as
    attributes: ``settings.thickness``) holding every declared setting, defaults filled in.

    Raise :class:`~posestage.errors.PluginError` with a one-line message to refuse (e.g.
    a port already in use); the plugin then stays off for this scene and the message is shown.
    Anything else raised is refused the same way, with its traceback logged. The return value
    is ignored.
    """


@hookspec
def posestage_privacy() -> bool | str | None:
    """Return True to make the scene private while this plugin is active; ``"room"`` to make
    it private with the empty room shown under the drawings.

    Asked right after ``posestage_configure`` returned and after an applied
    ``posestage_settings_changed``, on the same thread (so the answer may depend on settings).
    None or False: this plugin does not ask (privacy it asked for earlier stays on). Privacy
    grants nothing: no plugin gets ``frame.image`` — this one neither — no camera pixel goes to
    disk or network, and the window never shows a live frame. ``"room"``: the stage takes the
    empty room from its own detections and shows it under the plugins' drawings (the window
    only, unless the scene says ``[stage] room_pixels = "plugins"``: then ``stage.room``). It
    fails closed: once asked, privacy stays on for everyone — even when the plugin fails, is
    disabled or reconfigured, or its configure or this hook raises or answers anything else —
    until a scene that does not ask for it runs.
    """


@hookspec
def posestage_settings_changed(
    stage: StageContext, settings: Values, changed: list[str]
) -> bool | None:
    """Some settings changed live: ``settings`` holds all the new values.

    Called on the control thread with the names in ``changed``; ``stage`` is the
    :class:`~posestage.context.StageContext`. Two causes: a control message changed them, or
    a scene switch keeps this plugin with other settings (then ``posestage_scene_changed``
    follows if you applied them). Return True if you applied them — a MIDI plugin keeps its
    port open, so the DAW stays connected; otherwise (or if not implemented) the plugin
    leaves dispatch, is unconfigured and configured again with the new settings. Privacy this
    plugin asked for stays on (fails closed) whatever it answers afterwards.
    """


@hookspec
def posestage_scene_changed(stage: StageContext, old: str, new: str) -> None:
    """The running scene changed from ``old`` to ``new`` (names) and this plugin stays on.

    ``stage`` is the :class:`~posestage.context.StageContext`, already showing the new scene.

    Called for each plugin that stays configured across a scene switch (same settings, or
    new ones it applied in ``posestage_settings_changed``) — number key, scene-file reload
    (then ``old == new``), ``scene`` control message — after the switch took effect. Plugins
    dropped or reconfigured by the switch get unconfigure / configure instead. A MIDI or
    synth plugin silences the notes of the old scene here.
    Called on the stage's control thread (see the module docstring); the return value is
    ignored.
    """


@hookspec
def posestage_unconfigure(stage: StageContext) -> None:
    """Stop: release ports and files, silence every note and sound.

    Called on every exit path of a configured plugin — scene change that drops it or
    changes its settings, disable, shutdown (Esc, end of source, Ctrl-C, SIGTERM, SIGHUP), and
    after the host switched it off for failing — once the plugin is out of dispatch: no other
    hook of it runs during or after it. On the control thread during the show, on the main
    thread at shutdown (after every person's leave). Should not raise (a failure is logged);
    it may be called when configure failed half-way, so check what you opened. ``stage`` is
    the same :class:`~posestage.context.StageContext` as in configure. The return value is
    ignored.
    """


# ----------------------------------------------------------------------------------------------
# The pose thread: for every processed frame, in this order, each in scene order
# (budget 50 ms a call; locks and waiting: "Locks" in the docstring above).
# ----------------------------------------------------------------------------------------------


@hookspec
def posestage_person_leave(person: Person, frame: PoseFrame) -> None:
    """A person left: they were not seen for longer than the tracker's dropout grace.

    Called on the pose thread, in scene order, first for the frame in which they are gone
    (``person`` holds their last state; it is not in ``frame.people``); budget 50 ms. At
    shutdown everyone still on stage leaves before any plugin is unconfigured. Release what
    belongs to them (e.g. note off). The return value is ignored.
    """


@hookspec
def posestage_person_enter(person: Person, frame: PoseFrame) -> None:
    """A new person was found: ``person`` (a :class:`posestage.model.people.Person`) in ``frame``.

    Called on the pose thread, in scene order, after the leaves and before
    ``posestage_frame`` of that frame; budget 50 ms. ``person.slot`` is the lowest free slot (reused after someone leaves); ``person.id`` is new.
    People already on stage when a plugin is configured are not announced again: read
    ``frame.people``. The return value is ignored.
    """


@hookspec
def posestage_frame(frame: PoseFrame) -> None:
    """A new frame was processed: ``frame`` is a :class:`posestage.model.frames.PoseFrame`.

    Called on the pose thread for every processed frame, in scene order, after the
    leave/enter hooks of that frame; budget 50 ms. ``frame.people`` are tracked people
    (stable ``id``, reusable ``slot``); people in a short dropout are included with
    ``missing > 0``. ``frame.image`` is a read-only RGB array, or None in privacy mode (see
    the module docstring). Send OSC/MIDI here. The return value is ignored.
    """


# ----------------------------------------------------------------------------------------------
# The main thread: the window's display tick (budget 20 ms a call). It never waits for a
# plugin busy elsewhere: a draw is skipped, an event waits in order.
# ----------------------------------------------------------------------------------------------


@hookspec
def posestage_draw(canvas: Any, frame: PoseFrame) -> bool | None:
    """Draw on the stage window: ``canvas`` is a ``pygame.Surface``, ``frame`` the latest frame.

    Called on the main thread, in scene order — later plugins draw over earlier ones — when
    the window is redrawn: for a new frame, an event, an overlay change, at least four times
    a second, and on every display tick while a plugin animates; budget 20 ms. Skipped for a
    tick while this plugin is busy in another hook. Never called before the first frame. The
    canvas maps source-image pixels: its size is ``(frame.width, frame.height)`` and the stage
    scales it to the window, so draw at ``person.xy`` directly. Plugins that scale by
    ``canvas.get_size()`` / the frame size work on any canvas. Do not keep the canvas between
    calls. Return True to be drawn again on the next display tick (an animation running on its
    own); None or False: redrawn when something new comes.
    """


@hookspec
def posestage_event(event: Any) -> bool | None:
    """Input for plugins: a ``pygame.event.Event`` (keys, mouse) or a :class:`ControlMessage`.

    Called on the main thread, in scene order; budget 20 ms. While this plugin is busy in
    another hook the event waits (with the ones after it) and comes in order once it is free.
    pygame events are passed as pygame delivers them (``event.type == pygame.KEYDOWN``,
    ``event.key``, ``event.pos`` — mouse positions in window pixels); the stage keeps its own
    keys (Esc, Q, F, H, T, 1–9). A control message comes after the stage handled its built-in
    actions (a refused message does not come). Return True when you handled the event:
    plugins after you in the scene do not receive it.
    """
