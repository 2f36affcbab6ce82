"""The stage: the runtime loop from frames to plugins to the window.

Four threads of the stage, each doing one thing at its own pace, each run by one part, and
one lane per plugin::

    capture thread   Capture        source.read() ──► Mailbox (one slot)
    pose thread      PosePipeline   Mailbox ──► engine.detect ──► mirror ──► tracker
                                        ──► PoseFrame ──► hands person_leave / _enter /
                                        frame to every plugin's lane (never waits for one)
    main thread      Window or      the display loop at display rate: events (stage keys,
                     Headless       then handed to the plugins' lanes), asks the lanes for
                                    their layers, composites the backdrop and the finished
                                    layers, overlay; once a round the stage's chores: control
                                    messages and scene reloads (SceneControl), plugin files
                                    (Rehearsal), stuck plugins (host.watch), the context
    control thread   SceneControl   scene switches and reloads, set / enable / disable,
                     (ControlThread) --plugin-dir swaps: asks the lanes for configure,
                                    unconfigure, settings_changed, scene_changed and waits,
                                    with a deadline
    a lane per       host.lanes     every hook of that plugin, one at a time, in order
    plugin           (posestage-lane-NAME)

**The parts.** :class:`Stage` only assembles, starts, runs and shuts down. At :meth:`Stage.run`
it builds what it was not given (host, scenes, source, engine: :mod:`.assembly`), then the
parts, each handed its neighbours in its constructor and nothing else:

- :class:`Capture` (``source, mailbox, show``): reads the source into the :class:`Mailbox`;
  the frame's ``index`` is the source's (one owner), the capture thread counts the reads.
- :class:`PosePipeline` (``mailbox, tracker, host, show, source, engine``): detect → mirror →
  track → :class:`~posestage.model.frames.PoseFrame` → dispatch; keeps the latest frame,
  the rates and what a scene sets (mirror, strict privacy, tracking: :meth:`~PosePipeline.apply`).
- :class:`SceneControl` (``scenes, host, pipeline, show, context, facts, inbox, jobs``): the
  scenes, control messages and the :class:`~posestage.stage.jobs.ControlThread`.
- :class:`Window` / :class:`Headless` (``options, host, pipeline, control, show, chores``):
  the main thread's display; the window owns the :class:`~posestage.stage.overlay.Overlay`.
- :class:`Rehearsal` (``folder, host, control, show``): ``--plugin-dir`` files swapped when saved.
- :class:`Show`, shared by all: whether and why the run stops, its fatal error, the lines
  reported (and pinned on screen). The report (:class:`StageReport`) is filled by each part.

**Rules the parts keep.**

- The :class:`Mailbox` holds one frame. For a *live* source (camera, realtime video/replay) the
  newest frame replaces an unprocessed one (counted in :attr:`StageReport.dropped`): no queue
  grows and no stale frame is processed. For other sources the capture thread waits for the
  pose thread to take the frame, so every frame is processed.
- **Which thread calls which hook** is the plugin contract, documented in
  :mod:`posestage.hookspecs` and kept by :mod:`posestage.host.dispatch`: every hook of a
  plugin runs on its lane (its hooks never overlap; different plugins run at the same time);
  the pose thread and the window never wait for a plugin (a slow one gets the newest frame,
  its missed frames counted; for a source that is not live every plugin gets every frame and
  the pose thread waits for room on the lanes); each plugin draws its own layer and the
  window shows the last finished ones over the backdrop (:mod:`.backdrop`: the live image
  or black); a plugin stuck past its deadline is switched off and left behind. For each
  frame the order is: leave (people gone), enter (people new), then frame. The pipeline's
  own lock is held only from mirroring to tracking and while a scene switch changes mirror /
  privacy / tracking — never around plugin code.
- ``--mirror`` flips the camera image *and* the pose coordinates (``x → width - 1 - x``) right
  after detection, before tracking: the tracker, every plugin, the recorder and the window all
  see the mirrored world. Detection runs on the camera's own image, so keypoint names stay
  anatomical (the performer's left wrist is ``left_wrist``, now drawn on the screen's left).
- Privacy: ``privacy = true`` in the scene (or ``--privacy``) or a plugin asking
  (``posestage_privacy()``) makes the pipeline build frames without an image, for every plugin
  alike; privacy asked by a plugin stays on (fails closed) until a scene without it runs, and
  a control message may end it only when the private scene says ``[stage] privacy_ends =
  "anyone"`` (keys at the window always may). The empty room is the stage's
  (:mod:`~posestage.stage.room`): the pose thread decides it from the tracker's people before
  dispatch and keeps the plate in memory; the window shows it under a transparent canvas the
  plugins draw on, and it reaches plugins only with ``[stage] room_pixels = "plugins"``.
- Plugins never see the :class:`Stage` nor its parts: they get :attr:`Stage.context`, a
  read-only :class:`~posestage.context.StageContext` the main thread keeps up to date.
- Nothing stops the show but the performer: a plugin that raises is isolated by the host and
  its error shown; an engine error on one frame is reported and the loop goes on; a live
  source (camera) whose read fails is reported, reopened every
  :data:`~posestage.stage.capture.SOURCE_RETRY_SECONDS` and read again while the window and
  plugins keep running; a file source that ends (or fails) stops the stage cleanly. On every
  exit path people get ``person_leave``, every plugin is unconfigured (each on its lane, all
  at once, with a deadline: a stuck one is left behind), threads are joined and the source
  closed. The stop signals are caught from the command line's first line
  (:mod:`posestage.signals`) and handed to the stage.
- Scenes: number keys (or a ``scene`` control message, see :meth:`Stage.post`) switch to
  another scene; an edit of the running scene's file reloads it. The host keeps plugins whose
  settings did not change (they get ``posestage_scene_changed``), unconfigures dropped/changed
  ones and configures new ones, on the control thread; people stay (same ids, not
  re-announced). Control messages of any shape are checked on the main thread
  (:mod:`.messages`); a bad one is refused with one line and counted. SIGTERM, SIGHUP and
  Ctrl-C stop the show cleanly. What applies live: plugins, ``[tracking]``, ``mirror``,
  ``privacy``, ``empty_seconds``; ``source``, ``model``, ``device``, ``res``, ``room_pixels`` need
  a restart.
- Latency (``PoseFrame.latency_ms``) is capture → ``posestage_frame``: for a live source it is
  the age of the newest frame when the pose thread is free + detect + tracking. When the
  camera is faster than detection, that age would average half a camera period; the pose
  thread instead waits up to :data:`~posestage.stage.pipeline.FRESH_FRAME_WAIT` for a frame
  that is about to arrive rather than take one nearly a period old. For stills / ``fast``
  sources latency includes the wait for the previous frame.
- ``headless`` opens no window: the newest frame (or, while a plugin animates, the same one
  again) is drawn on an off-screen canvas at most at display rate, and the last frame always.

The package follows the data path, one module per job:

- :mod:`~posestage.stage.lifecycle` — :class:`Stage`: assembly, start, run, shutdown;
- :mod:`~posestage.stage.assembly` — the scenes, source and engine built from the options;
- :mod:`~posestage.stage.show` — :class:`Show`, what the parts share;
- :mod:`~posestage.stage.mailbox` — :class:`Mailbox`, the one-slot hand-over;
- :mod:`~posestage.stage.capture` — :class:`Capture`, the capture thread;
- :mod:`~posestage.stage.pipeline` — :class:`PosePipeline`, the pose thread;
- :mod:`~posestage.stage.window` — :class:`Window` and :class:`Headless` (main thread);
- :mod:`~posestage.stage.overlay` — the on-screen status, help, errors and timings;
- :mod:`~posestage.stage.room` — the empty room and the display's backdrop;
- :mod:`~posestage.stage.control` — :class:`SceneControl`: scenes, reloads, control messages;
- :mod:`~posestage.stage.messages` — control messages checked (pure functions);
- :mod:`~posestage.stage.jobs` — the control thread;
- :mod:`~posestage.stage.control_port` — :class:`ControlPort`, OSC control in, open for the
  whole run (``--control``, ``[stage] control``), obeying only its operator
  (:mod:`~posestage.stage.authority`);
- :mod:`~posestage.stage.rehearsal` — :class:`Rehearsal`, ``--plugin-dir``;
- :mod:`~posestage.stage.options` — :class:`StageOptions`;
- :mod:`~posestage.stage.report` — :class:`StageReport`, ``--profile``, rates and percentiles.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from posestage.stage.capture import Capture  # noqa: E402
from posestage.stage.control import SceneControl  # noqa: E402
from posestage.stage.lifecycle import Stage  # noqa: E402
from posestage.stage.mailbox import Mailbox  # noqa: E402
from posestage.stage.options import StageOptions  # noqa: E402
from posestage.stage.pipeline import PosePipeline, mirror_poses  # noqa: E402
from posestage.stage.rehearsal import Rehearsal  # noqa: E402
from posestage.stage.report import StageReport, format_profile  # noqa: E402
from posestage.stage.show import Show  # noqa: E402
from posestage.stage.window import Display, Headless, Window  # noqa: E402

__all__ = [
    "Capture",
    "Display",
    "Headless",
    "Mailbox",
    "PosePipeline",
    "Rehearsal",
    "SceneControl",
    "Show",
    "Stage",
    "StageOptions",
    "StageReport",
    "Window",
    "format_profile",
    "mirror_poses",
]
