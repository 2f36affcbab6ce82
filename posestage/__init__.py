"""posestage: pose estimation for the stage, dispatched to plugins.

Public API (imported lazily, so ``import posestage`` stays cheap for plugins)::

    from posestage import PoseEngine, decode_poses, hookimpl
    from posestage import Pose, Keypoint, Person, PoseFrame
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "PoseEngine": "posestage.engine.pose_engine",
    "decode_poses": "posestage.engine.decoding",
    "Pose": "posestage.model.poses",
    "Keypoint": "posestage.model.poses",
    "DetectionResult": "posestage.model.poses",
    "Person": "posestage.model.people",
    "PoseFrame": "posestage.model.frames",
    "hookimpl": "posestage.hookspecs",
    "ControlMessage": "posestage.hookspecs",
    "ControlReply": "posestage.hookspecs",
    "StageContext": "posestage.context",
    "Setting": "posestage.config.schema",
    "Stage": "posestage.stage",
    "StageOptions": "posestage.stage",
    "KEYPOINT_NAMES": "posestage.model.keypoints",
    "PosestageError": "posestage.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'posestage' has no attribute {name!r}")
