"""What the stage builds when it is not handed it: the scenes, the source, the pose engine.

Each is built from the scenes and the :class:`StageOptions` (command-line options win over a
scene's ``[stage]`` table). The :class:`~posestage.stage.Stage` calls these at start-up, so a
problem raises its one-line :class:`~posestage.errors.PosestageError` before anything runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from posestage.config.scenes import Scene
from posestage.errors import SourceError
from posestage.host import PluginHost
from posestage.sources import Source
from posestage.stage.options import StageOptions

if TYPE_CHECKING:  # the engine (and its interpreter) is imported when a model is loaded
    from posestage.engine.pose_engine import PoseEngine

__all__ = ["ENGINE_SETTINGS", "load_engine", "load_scenes", "needs_a_camera", "open_scene_source"]

#: ``[stage]`` settings handed to :class:`~posestage.engine.pose_engine.PoseEngine`
#: (scene key → argument).
ENGINE_SETTINGS = {
    "input_size": "input_size",
    "resize": "resize",
    "num_threads": "num_threads",
    "threshold": "score_threshold",
    "max_poses": "max_poses",
}


def load_scenes(specs: Sequence[Scene | str | os.PathLike], host: PluginHost) -> list[Scene]:
    """Scene objects as given, or loaded from files / folders (validated with the host); the
    default scene when none is given."""
    from posestage.config import scenes as scenes_mod

    if not specs:
        return [scenes_mod.default_scene(host)]
    loaded: list[Scene] = []
    for spec in specs:
        if isinstance(spec, (str, os.PathLike)):
            for path in scenes_mod.scene_files([spec]):
                loaded.append(scenes_mod.load_scene(path, host))
        else:
            loaded.append(spec)
    return loaded


def open_scene_source(scene: Scene, options: StageOptions, host: PluginHost) -> Source:
    """The source ``--source`` (or the scene) names, with the scene's ``res``, ``pace``,
    ``loop``; plugins' sources (``posestage_sources``) are offered too."""
    from posestage.sources import SourceOptions, open_source
    from posestage.sources.camera import NoCamera

    spec = options.source or scene.source_spec()
    res = options.res or scene.stage_value("res")
    loop = options.loop if options.loop is not None else scene.stage_value("loop", False)
    source_options = SourceOptions(
        res=tuple(res) if res else None,
        pace=options.pace or scene.stage_value("pace", "realtime"),
        loop=bool(loop),
        hold=not options.headless,  # a window keeps showing the last still
        fps=options.fps or scene.stage_value("fps"),
    )
    try:
        return open_source(str(spec), source_options, extra=host.sources() or None)
    except NoCamera:
        if options.source:  # --source named the camera: its own line says it all
            raise
        raise SourceError(needs_a_camera(scene, str(spec))) from None


def needs_a_camera(scene: Scene, spec: str) -> str:
    """One line for a scene whose camera is not here: what to run it with instead."""
    where = f"scene {scene.path}" if scene.path else f"scene {scene.name!r}"
    return (
        f'{where} needs a camera (source = "{spec}") and none is found here: try it on the demo '
        "replay with --source replay:scenes/demo.jsonl, or on a video with --source VIDEO.mp4 "
        "(posestage cameras lists the cameras)"
    )


def load_engine(scene: Scene, options: StageOptions, source: Source) -> PoseEngine:
    """The pose engine for the scene's model and device (CLI options win)."""
    from posestage.engine.pose_engine import PoseEngine

    model = options.model or scene.stage_value("model")
    device = options.device or scene.stage_value("device", "auto")
    kwargs = {}
    for name, arg in ENGINE_SETTINGS.items():
        value = scene.stage_value(name)
        if value is not None:
            kwargs[arg] = value
    if model:
        kwargs["model"] = model
    # Crop tracking (MoveNet) follows a person from frame to frame: on for camera and video.
    kwargs["tracking"] = bool(source.continuous)
    return PoseEngine(device=device, **kwargs)
