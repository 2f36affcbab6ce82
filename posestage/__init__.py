"""posestage: pose estimation for the stage, dispatched to plugins.

Public API (imported lazily, so ``import posestage`` stays cheap for plugins)::

    from posestage import PoseEngine, decode_poses, hookimpl
    from posestage import Pose, Keypoint, Person, PoseFrame
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "PoseEngine": "posestage.engine",
    "decode_poses": "posestage.decoding",
    "Pose": "posestage.poses",
    "Keypoint": "posestage.poses",
    "DetectionResult": "posestage.poses",
    "Person": "posestage.frames",
    "PoseFrame": "posestage.frames",
    "hookimpl": "posestage.hookspecs",
    "ControlMessage": "posestage.hookspecs",
    "ControlReply": "posestage.hookspecs",
    "StageContext": "posestage.context",
    "Setting": "posestage.settings",
    "Stage": "posestage.stage",
    "StageOptions": "posestage.stage",
    "KEYPOINT_NAMES": "posestage.keypoints",
    "PosestageError": "posestage.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'posestage' has no attribute {name!r}")
