"""posestage: pose estimation for the stage, dispatched to plugins.

This module is the public face: everything a plugin imports, and nothing else. A plugin (the
built-in ones too) imports from ``posestage`` and its tests from ``posestage.testing``; every
other module is the stage's own and may change. Names are imported when first used, so
``import posestage`` stays cheap (the command line starts fast)::

    from posestage import Setting, hookimpl                     # a plugin's hooks and settings
    from posestage import PoseFrame, Person, KEYPOINT_INDEX     # what the hooks are handed
    from posestage import SkeletonStyle, draw_people, color_for # drawing like the stage does
    from posestage import PoseEngine, decode_poses              # the engine, outside a stage

What there is, by what a plugin does with it:

- hooks: :data:`hookimpl`; what they are handed: :class:`PoseFrame`, :class:`Person` (and its :class:`FloorPosition`), the frame's :class:`ZoneCount` and :class:`ZoneEvent`,
  :class:`StageContext`; messages to and from the stage: :class:`ControlMessage`,
  :class:`ControlReply`;
- keypoints: :class:`Pose`, :class:`Keypoint`, :data:`KEYPOINT_NAMES`, :data:`KEYPOINT_INDEX`,
  :data:`BONES`;
- settings: :class:`Setting` (what ``posestage_settings`` returns), :func:`validate` (check a
  dict against settings, as the stage does), :func:`parse_size` (``"32x24"`` → ``(32, 24)``);
- errors: :class:`PosestageError`, :class:`PluginError` (a plugin refusing, one line),
  :class:`SceneError`; :func:`did_you_mean` for the hint at the end of such a line;
- the pose stream (what the recorder writes and ``replay:`` reads): :class:`PoseStreamWriter`,
  :class:`StreamHeader`, :class:`StreamFrame`, :class:`StreamPerson`, :func:`read_posestream`;
- OSC on the wire: the module :mod:`osc_wire <posestage.model.osc_wire>` (messages, bundles,
  time tags, the defensive decoder the stage's control port uses);
- drawing: :class:`SkeletonStyle`, :data:`STYLE_SETTINGS`, :func:`draw_people`,
  :func:`draw_message`; the one palette :data:`PALETTE`, :func:`color_for`, :data:`OUTLINE`
  (the empty room is the stage's: ``posestage_privacy`` answers ``"room"``);
- the engine: :class:`PoseEngine`, :func:`decode_poses`, :class:`DetectionResult`;
- the stage itself: :class:`Stage`, :class:`StageOptions`;
- sources a plugin registers (``posestage_sources``): :class:`Source`, :class:`SourceFrame`,
  :class:`SourceOptions`, :class:`SourceError`.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    # hooks and what they are handed
    "hookimpl": "posestage.hookspecs",
    "ControlMessage": "posestage.hookspecs",
    "ControlReply": "posestage.hookspecs",
    "StageContext": "posestage.context",
    "PoseFrame": "posestage.model.frames",
    "Person": "posestage.model.people",
    "FloorPosition": "posestage.model.floor",
    "ZoneCount": "posestage.model.zones",
    "ZoneEvent": "posestage.model.zones",
    # keypoints
    "Pose": "posestage.model.poses",
    "Keypoint": "posestage.model.poses",
    "KEYPOINT_NAMES": "posestage.model.keypoints",
    "KEYPOINT_INDEX": "posestage.model.keypoints",
    "BONES": "posestage.model.keypoints",
    # settings
    "Setting": "posestage.config.schema",
    "validate": "posestage.config.schema",
    "parse_size": "posestage.config.schema",
    # errors
    "PosestageError": "posestage.errors",
    "PluginError": "posestage.errors",
    "SceneError": "posestage.errors",
    "did_you_mean": "posestage.errors",
    # the pose stream
    "PoseStreamWriter": "posestage.model.posestream",
    "StreamHeader": "posestage.model.posestream",
    "StreamFrame": "posestage.model.posestream",
    "StreamPerson": "posestage.model.posestream",
    "read_posestream": "posestage.model.posestream",
    # OSC on the wire (the control port's and the osc plugin's codec): a module
    "osc_wire": "posestage.model.osc_wire",
    # drawing
    "SkeletonStyle": "posestage.draw.skeleton",
    "STYLE_SETTINGS": "posestage.draw.skeleton",
    "draw_people": "posestage.draw.skeleton",
    "draw_message": "posestage.draw.skeleton",
    "PALETTE": "posestage.draw.palette",
    "OUTLINE": "posestage.draw.palette",
    "color_for": "posestage.draw.palette",
    # images a plugin reads (a floor plan, a mask): size and pixels checked before decoding
    "open_image": "posestage.sources.stills",
    # the engine
    "PoseEngine": "posestage.engine.pose_engine",
    "decode_poses": "posestage.engine.decoding",
    "DetectionResult": "posestage.model.poses",
    # the stage
    "Stage": "posestage.stage",
    "StageOptions": "posestage.stage",
    # sources a plugin offers (posestage_sources): the contract, its frames, its options
    "Source": "posestage.sources.base",
    "SourceFrame": "posestage.sources.base",
    "SourceOptions": "posestage.sources.base",
    "SourceError": "posestage.errors",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(_EXPORTS[name])
        # a name that is its module's own (``osc_wire``) exports the module itself
        value = module if _EXPORTS[name].endswith("." + name) else getattr(module, name)
        globals()[name] = value  # looked up once
        return value
    raise AttributeError(f"module 'posestage' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
