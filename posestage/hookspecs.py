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

The hooks below are grouped by when they fire, in firing order: load (``settings``,
``sources``, ``commands``), the lifecycle (``configure``, ``privacy``, ``settings_changed``,
``scene_changed``, ``unconfigure``), each frame (``person_leave``, ``person_enter``,
``frame``), the display (``draw``, ``event``). Every hook but the load hooks runs on the
plugin's own **lane**.

Why not pluggy's hook caller (``pm.hook.posestage_frame(frame=...)``)? pluggy registers and
checks the plugins here, but it calls every implementation of a hook in one loop on the
caller's thread, in its own order, and a raise stops the loop. A show needs more, per plugin:
a thread of its own, so that one slow or stuck plugin holds up nobody else; a time budget per
call, naming a slow plugin and switching off one that stalls; failures counted per plugin and
hook, a plugin switched off (then unconfigured) after a few; the scene's order (the order of
its ``[plugins.NAME]`` tables), not registration order; and privacy decided per plugin (who
gets ``frame.image``). So the host calls each implementation itself, through
:mod:`posestage.host.dispatch` (every hook call, on lanes) and :mod:`posestage.host.activation`
(when the lifecycle hooks are called).

The contract — what every plugin may rely on (kept by :mod:`posestage.host.dispatch`):

Threads
    Every plugin has a **lane**: a thread of its own (named ``posestage-lane-NAME``) that runs
    all its hooks — lifecycle, per-frame, draw and event — one at a time, in the order they
    were asked for. The stage's own threads only hand calls to the lanes: the **pose thread**
    (``person_leave``, ``person_enter``, then ``frame`` for each processed frame), the **main
    thread** (the window: ``draw``, ``event``) and the **control thread** (``configure``,
    ``privacy``, ``settings_changed``, ``scene_changed``, ``unconfigure`` as scenes switch,
    control messages change a plugin, or a plugin is switched off; at start and shutdown the
    main thread). They never wait for a plugin's per-frame or display hooks: each plugin runs
    at its own pace, and a slow one slows nobody else. Lifecycle hooks are waited for, with a
    deadline (below). A thread you start from a hook is a daemon unless you say otherwise;
    one that is not and outlives the show does not keep ``posestage run`` alive (the process
    ends a few seconds after the show).

Frames, in order
    For a live source (a camera, a video or replay at its own pace) a plugin still busy when
    newer frames come gets the **newest** one when it is ready: a frame that waited on its
    lane longer than 0.1 s while a newer one waits behind it is skipped, never handed over as
    new (how many each plugin missed is in the timings, ``T`` on screen, and
    :attr:`~posestage.stage.StageReport.missed`). Its enters and leaves are never skipped:
    they come in order, each with the frame it belongs to, before that frame. For a source
    that is not live (stills, a file with ``pace = "fast"``) every plugin gets every frame:
    the stage goes as fast as its slowest plugin. Frames of a scene before a switch come
    before the switch's lifecycle hooks; later ones after.

Locks
    **A plugin's hooks never run at the same time as each other** (its lane runs them one at
    a time), so a plugin needs no locks between its ``frame`` and its ``draw``. Different
    plugins run at the same time. A plugin joins dispatch when its configure returned; a
    plugin dropped by a scene gets the calls already handed to it, then its unconfigure;
    one switched off (failures, a stall) gets none after that. No hook of it runs after its
    unconfigure started. Waiting inside a hook on the future of your own ``stage.post()``
    holds up only you (your lane), but the message may need your lane (a ``set`` for you
    calls your ``settings_changed``): use ``future.add_done_callback``.

Time budgets (:data:`posestage.host.timings.HOOK_BUDGET_MS`)
    ``frame``, ``person_enter``, ``person_leave``: 50 ms; ``draw``, ``event``: 20 ms (the
    display's 60 Hz tick), measured on the lane. A call over its budget is named on screen
    with its duration (also while it still runs); a plugin taking more than 4x the budget in
    5 of the last 10 calls of a hook is switched off (a slow machine is warned, a stalling
    plugin stopped). **Stuck:** a per-frame or display hook still running after
    :data:`~posestage.host.timings.STUCK_SECONDS` (2 s), or a lifecycle hook not done by its
    deadline (:data:`~posestage.host.timings.LIFECYCLE_SECONDS`: configure 20 s, the others
    5 to 10 s), gets its plugin switched off and **left behind**: named on screen, its lane
    abandoned (whatever the stuck call returns later is ignored), not unconfigured while that
    call runs (its hooks never overlap), configured again by a later scene only once it
    returned. The other plugins never notice. Keep per-frame hooks well under a millisecond;
    do slow I/O on a thread of your own, started in configure and stopped in unconfigure.

Failures
    Anything raised by a hook — any ``BaseException``, ``SystemExit``, ``KeyboardInterrupt``
    and ``GeneratorExit`` included (plugin code never runs on the main thread, where a real
    Ctrl-C lands) — is that plugin's failure: logged once with its traceback per distinct
    error (then counted), shown on screen. Failures are counted per plugin and hook: after 3
    failures in a row of one hook (a success of another hook does not reset it) the plugin is
    switched off — out of dispatch, then unconfigured — until a scene activates it again.
    Every configured plugin is unconfigured on every exit path (Esc, end of source, Ctrl-C,
    SIGTERM, SIGHUP), after the people still on stage got ``posestage_person_leave`` from
    it: every plugin on its own lane, all at once, with one deadline (5 s), so a stuck
    neighbour cannot keep your notes sounding. Raise :class:`~posestage.errors.PluginError`
    (one line, what to fix) from ``posestage_configure`` to refuse settings.

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

Redrawing and layers
    Each plugin draws on a **layer of its own**: ``posestage_draw`` gets a transparent
    surface the size of the picture (never the stage's canvas), on its lane, and what it
    drew is shown once the call returned. The window composites the latest finished layer of
    every plugin in scene order (later plugins over earlier ones) over the stage's backdrop
    (the camera image when privacy allows, else black or the empty-room plate). So a slow
    ``draw`` shows its last finished layer while the others move on, and a plugin never sees
    another plugin's pixels, nor the camera image, on its canvas (read ``frame.image`` when
    you may have it). The window asks for a redraw when there is something new — a frame, an
    event, an overlay change — and gives the layers up to one display tick before it shows
    what is finished. A plugin that animates on its own (a fade, a particle system) returns
    True from ``posestage_draw`` to be drawn again on the next display tick.

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
    "posestage_osc_addresses",
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


@hookspec
def posestage_osc_addresses(settings: Values) -> list[dict] | None:
    """Publish the OSC addresses this plugin sends with ``settings`` (the stage's OSCQuery tree).

    Called by the stage's web server (its own thread, any time) for each active plugin with its
    current validated settings: compute the answer from ``settings`` alone, touch no state of
    the plugin. Return one dict per address: ``address`` (``"/pose/0/nose/x"``), ``types`` (OSC
    type tags, ``"f"``), and optionally ``ranges`` (one ``[low, high]`` per value, None for
    open), ``units`` (one text per value, ``""`` for none), ``description``. A fixed set: the
    same settings give the same addresses, whoever is in view. None: nothing to publish. An
    answer of another shape is ignored, with one line naming the plugin.
    """


# ----------------------------------------------------------------------------------------------
# Lifecycle: in this order, as scenes switch and settings change. Each runs on the plugin's
# lane; the control thread (at start and shutdown the main thread) waits for it, with a
# deadline. Called through activation (posestage.host.activation).
# ----------------------------------------------------------------------------------------------


@hookspec
def posestage_configure(stage: StageContext, settings: Values) -> None:
    """The scene enables this plugin: get ready, with its validated ``settings``.

    Called on the plugin's lane, in scene order: for the first scene before the first frame
    (the main thread waits); later (a scene switch, ``enable``, a live settings change that
    was not applied by ``posestage_settings_changed``) while the show goes on (the control
    thread waits) — the plugin joins dispatch (gets frames, draws) once this returns, so a
    slow configure (loading a soundfont, opening a port) holds up nobody else. Not done
    within 20 s: stuck (switched off, left behind; see the module docstring). ``stage`` is the read-only
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
    ``posestage_settings_changed``, on the plugin's lane (so the answer may depend on settings).
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

    Called on the plugin's lane (the control thread waits, up to 10 s: then it is stuck)
    with the names in ``changed``; ``stage`` is the
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
    Called on the plugin's lane (the control thread waits, up to 10 s: then it is stuck);
    frames handed to it before the switch come first. The return value is ignored.
    """


@hookspec
def posestage_unconfigure(stage: StageContext) -> None:
    """Stop: release ports and files, silence every note and sound.

    Called on every exit path of a configured plugin — scene change that drops it or
    changes its settings, disable, shutdown (Esc, end of source, Ctrl-C, SIGTERM, SIGHUP), and
    after the host switched it off for failing — once the plugin is out of dispatch: no other
    hook of it runs during or after it. On the plugin's lane (after the calls handed to it
    before); at shutdown after every person's leave, every plugin at once, waited for up to
    5 s (a stuck neighbour holds up nobody's unconfigure). Should not raise (a failure is logged);
    it may be called when configure failed half-way, so check what you opened. ``stage`` is
    the same :class:`~posestage.context.StageContext` as in configure. The return value is
    ignored.
    """


# ----------------------------------------------------------------------------------------------
# Each frame: handed over by the pose thread, in this order, run on each plugin's lane
# (budget 50 ms a call; "Frames, in order" and "Locks" in the docstring above).
# ----------------------------------------------------------------------------------------------


@hookspec
def posestage_person_leave(person: Person, frame: PoseFrame) -> None:
    """A person left: they were not seen for longer than the tracker's dropout grace.

    Called on the plugin's lane (handed over by the pose thread), first for the frame in
    which they are gone
    (``person`` holds their last state; it is not in ``frame.people``); budget 50 ms. At
    shutdown everyone still on stage leaves before any plugin is unconfigured. Release what
    belongs to them (e.g. note off). The return value is ignored.
    """


@hookspec
def posestage_person_enter(person: Person, frame: PoseFrame) -> None:
    """A new person was found: ``person`` (a :class:`posestage.model.people.Person`) in ``frame``.

    Called on the plugin's lane (handed over by the pose thread), after the leaves and before
    ``posestage_frame`` of that frame; budget 50 ms. ``person.slot`` is the lowest free slot (reused after someone leaves); ``person.id`` is new.
    People already on stage when a plugin is configured are not announced again: read
    ``frame.people``. The return value is ignored.
    """


@hookspec
def posestage_frame(frame: PoseFrame) -> None:
    """A new frame was processed: ``frame`` is a :class:`posestage.model.frames.PoseFrame`.

    Called on the plugin's lane for processed frames (handed over by the pose thread), after
    the leave/enter hooks of that frame; budget 50 ms. Never waited for: a plugin busy with an
    older frame gets the newest one when it is ready, never a stale one (from a live source;
    from a file played fast it gets every frame). Check ``frame.index`` to see a gap. ``frame.people`` are tracked people
    (stable ``id``, reusable ``slot``); people in a short dropout are included with
    ``missing > 0``. ``frame.image`` is a read-only RGB array, or None in privacy mode (see
    the module docstring). Send OSC/MIDI here. The return value is ignored.
    """


# ----------------------------------------------------------------------------------------------
# The display: asked for by the window's tick (budget 20 ms a call), run on the plugin's
# lane. The window never waits for them beyond a tick: it shows each plugin's last finished
# layer; an event goes from lane to lane in scene order.
# ----------------------------------------------------------------------------------------------


@hookspec
def posestage_draw(canvas: Any, frame: PoseFrame) -> bool | None:
    """Draw your layer of the stage window: ``canvas`` is a ``pygame.Surface`` of your own,
    transparent, ``frame`` the latest frame.

    Called on the plugin's lane when the window asks for a redraw: for a new frame, an
    event, an overlay change, at least four times a second, and on every display tick while
    a plugin animates; budget 20 ms. A request not started yet is replaced by a newer one
    (a slow draw gets the newest frame). Never called before the first frame. The window
    shows your last finished layer over the layers of the plugins before you in the scene
    and under those after you (see "Redrawing and layers" in the module docstring): the
    canvas holds only what you draw, never the camera image nor another plugin's pixels.
    It maps source-image pixels: its size is ``(frame.width, frame.height)`` and the stage
    scales it to the window, so draw at ``person.xy`` directly. Plugins that scale by
    ``canvas.get_size()`` / the frame size work on any canvas. Do not keep the canvas between
    calls. Return True to be drawn again on the next display tick (an animation running on
    its own); None or False: redrawn when something new comes.
    """


@hookspec
def posestage_event(event: Any) -> bool | None:
    """Input for plugins: a ``pygame.event.Event`` (keys, mouse) or a :class:`ControlMessage`.

    Called on the plugin's lane, in order; budget 20 ms. An event goes from lane to lane in
    scene order: the window hands it to the first plugin and goes on; each plugin's lane hands
    it to the next unless that plugin consumed it. While a plugin is busy the events for it
    wait on its lane (and so do the plugins after it, for those events); a plugin stuck past
    its deadline is switched off and its events go on to the next.
    pygame events are passed as pygame delivers them (``event.type == pygame.KEYDOWN``,
    ``event.key``, ``event.pos`` — mouse positions in window pixels); the stage keeps its own
    keys (Esc, Q, F, H, T, 1–9). A control message comes after the stage handled its built-in
    actions (a refused message does not come). Return True when you handled the event
    (consumed): plugins after you in the scene do not receive it.
    """
