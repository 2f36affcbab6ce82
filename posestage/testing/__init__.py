"""What a plugin's tests need: run the real stage headless on poses, capture what came out.

No camera, no window, no network beyond 127.0.0.1, no audio or MIDI device::

    from posestage.testing import SAMPLE_POSES, run_plugin

    def test_draws_something():
        run = run_plugin("myplugin", {"colour": "red"}, source=SAMPLE_POSES, frames=30)
        assert run.errors == []
        assert run.frames == 30 and max(run.people) == 2
        assert run.canvas.any()              # (H, W, 3) uint8: what the plugins drew

One module per job:

- :mod:`~posestage.testing.runner` — :func:`run_plugin` / :func:`run_plugins`: the real
  :class:`~posestage.stage.Stage` headless with your plugins, a :class:`PluginRun` of what it did;
  :class:`SyntheticPeople`, a source of stick figures; :data:`SAMPLE_POSES`, a recorded stream;
- :mod:`~posestage.testing.scenes` — :func:`run_scene`: whole scenes (text or files), several
  to switch between, ``during`` a :class:`Show` to post control messages to; :func:`load_scene`
  (a scene's one-line errors), :func:`check_plugin`, :func:`installed_plugin`, :func:`run_cli`;
- :mod:`~posestage.testing.posed` — :class:`PosedImages`: camera-like frames whose people you
  give (real pixels, no model), e.g. a room people leave; :func:`standing_poses`;
- :mod:`~posestage.testing.room` — :class:`RoomCamera`: a known camera over a known floor,
  people standing and walking on it, and the ``[room]`` table calibrating it (known truth for
  floor positions and zones);
- :mod:`~posestage.testing.hosted` — :func:`hosted`: plugins in a real plugin host, their
  hooks called one by one (exact order across scene switches, failures switched off);
- :mod:`~posestage.testing.factories` — what hooks are handed, built as the stage builds it:
  :func:`person`, :func:`frame`, :func:`track` (the real tracker), :func:`context` (a real
  stage context keeping what is posted), :func:`write_stream` (a pose stream to replay),
  :func:`shared_path` / :func:`shared_models` (the shared models and photos);
- :mod:`~posestage.testing.osc` — :class:`OscReceiver`: what was sent over OSC (needs python-osc);
- :mod:`~posestage.testing.midi` — :class:`MidiCapture`, :func:`capture_midi`: what was played
  (needs mido).

The OSC and MIDI helpers import their libraries when first used.
"""

from __future__ import annotations

from posestage.testing.factories import (
    FPS,
    SIZE,
    T0,
    TestContext,
    Tracked,
    context,
    frame,
    person,
    shared_models,
    shared_path,
    standing_person,
    standing_xy,
    track,
    write_stream,
)
from posestage.testing.hosted import HostedPlugins, hosted
from posestage.testing.posed import PosedImages, standing_poses
from posestage.testing.room import RoomCamera
from posestage.testing.runner import (
    CANVAS_PLUGIN,
    DEFAULT_SYNTHETIC_FRAMES,
    FRAMES_PLUGIN,
    SAMPLE_POSES,
    PluginRun,
    SyntheticPeople,
    run_plugin,
    run_plugins,
)
from posestage.testing.scenes import (
    Show,
    check_plugin,
    installed_plugin,
    load_scene,
    run_cli,
    run_scene,
    window_picture,
)

__all__ = [
    # plugins in a host, hook by hook
    "HostedPlugins",
    "hosted",
    # running the stage
    "CANVAS_PLUGIN",
    "DEFAULT_SYNTHETIC_FRAMES",
    "FRAMES_PLUGIN",
    "SAMPLE_POSES",
    "PluginRun",
    "PosedImages",
    "SyntheticPeople",
    "standing_poses",
    "RoomCamera",
    "run_plugin",
    "run_plugins",
    "run_scene",
    "Show",
    "load_scene",
    "check_plugin",
    "installed_plugin",
    "run_cli",
    "window_picture",
    # what hooks are handed
    "FPS",
    "SIZE",
    "T0",
    "TestContext",
    "Tracked",
    "context",
    "frame",
    "person",
    "standing_person",
    "standing_xy",
    "track",
    "write_stream",
    "shared_models",
    "shared_path",
    # what was sent and played
    "OscReceiver",
    "OscMessage",
    "MidiCapture",
    "MidiEvent",
    "capture_midi",
]

_LAZY = {
    "OscReceiver": "osc",
    "OscMessage": "osc",
    "MidiCapture": "midi",
    "MidiEvent": "midi",
    "capture_midi": "midi",
}


def __getattr__(name: str):  # the OSC and MIDI helpers import their libraries when used
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"posestage.testing.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'posestage.testing' has no attribute {name!r}")
