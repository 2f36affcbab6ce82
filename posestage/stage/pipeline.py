"""The pose thread: detect → mirror → track → build the :class:`PoseFrame` → dispatch."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from posestage.errors import PosestageError, describe_error
from posestage.model.frames import PoseFrame
from posestage.model.poses import Pose
from posestage.stage.control import _scene_stage

log = logging.getLogger("posestage.stage")

#: ``[stage]`` settings handed to :class:`~posestage.engine.pose_engine.PoseEngine` (scene key → argument).
_ENGINE_SETTINGS = {
    "input_size": "input_size",
    "resize": "resize",
    "num_threads": "num_threads",
    "threshold": "score_threshold",
    "max_poses": "max_poses",
}
#: Live sources: when the next camera frame is due within this many seconds, the pose thread
#: waits for it rather than take the frame about to be replaced (see :meth:`Mailbox.take`).
FRESH_FRAME_WAIT = 0.009


def mirror_poses(poses: Sequence[Pose], width: int) -> list[Pose]:
    """The poses as seen in the horizontally flipped image (``x → width - 1 - x``); copies."""
    out = []
    for pose in poses:
        xy = np.array(pose.xy, dtype=np.float32, copy=True)
        xy[:, 0] = (width - 1) - xy[:, 0]
        out.append(Pose(score=pose.score, xy=xy, scores=pose.scores))
    return out


class Pipeline:
    """Part of :class:`~posestage.stage.Stage`: the pose thread, one frame at a time."""

    def _load_engine(self) -> Any:
        """The pose engine for the scene's model and device (CLI options win)."""
        from posestage.engine.pose_engine import PoseEngine

        scene = self.current_scene
        model = self.options.model or _scene_stage(scene, "model")
        device = self.options.device or _scene_stage(scene, "device", "auto")
        kwargs = {}
        for name, arg in _ENGINE_SETTINGS.items():
            value = _scene_stage(scene, name)
            if value is not None:
                kwargs[arg] = value
        if model:
            kwargs["model"] = model
        # Crop tracking (MoveNet) follows a person from frame to frame: on for camera and video.
        kwargs["tracking"] = bool(getattr(self.source, "continuous", True))
        return PoseEngine(device=device, **kwargs)

    def _pose_loop(self) -> None:
        box = self._mailbox
        limit = self.options.frames
        fresh = FRESH_FRAME_WAIT if getattr(self.source, "live", False) else 0.0
        try:
            while not self._stop.is_set():
                sf = box.take(timeout=0.1, fresh_within=fresh)
                if sf is None:
                    if box.finished:
                        break
                    continue
                if self._stop.is_set():
                    break
                self._process(sf)
                if limit is not None and self._dispatched >= limit:
                    self.stop("frames")
        except BaseException as err:  # pragma: no cover - a bug in the stage itself
            log.exception("stage: pose thread failed")
            self._fatal = self._fatal or err
        finally:
            self.stop(self._stopped_by or "source ended")

    def _process(self, sf: Any) -> None:
        """One frame: detect (or take replayed poses), mirror, track, dispatch."""
        self._wait.append((time.perf_counter() - sf.captured) * 1000.0)
        width, height = int(sf.width), int(sf.height)
        image = sf.image
        inference_ms = 0.0
        if sf.poses is not None:
            poses = list(sf.poses)
        elif image is None:
            poses = []
        else:
            if self.engine is None:  # a source that unexpectedly has images
                try:
                    self.engine = self._load_engine()
                except PosestageError as err:
                    self._report(str(err))
                    self._fatal = self._fatal or err
                    self.stop("error")
                    return
            t0 = time.perf_counter()
            try:
                result = self.engine.detect(image)
            except Exception as err:
                self._engine_errors += 1
                if self._engine_errors <= 3 or self._engine_errors % 100 == 0:
                    self._report(
                        f"engine error on frame {sf.index} ({self._engine_errors} so far): "
                        f"{describe_error(err)}"
                    )
                return
            inference_ms = (time.perf_counter() - t0) * 1000.0
            poses = result.poses
        # A scene switch (mirror, privacy, tracking) takes the same lock: it lands between
        # frames, never inside one. No plugin code runs under it.
        with self._scene_lock:
            mirror = self._mirror
            strict = self._privacy_option
            if mirror:
                poses = mirror_poses(poses, width)
            update = self.tracker.update(poses, width, height, sf.timestamp)
        shown = self._pixels(image, mirror, strict)
        frame = PoseFrame(
            index=int(sf.index),
            timestamp=float(sf.timestamp),
            captured=float(sf.captured),
            width=width,
            height=height,
            people=update.people,
            inference_ms=inference_ms,
            image=shown,
            source=str(getattr(self.source, "name", "")),
            mirrored=mirror,
            recorded=getattr(sf.recorded, "timestamp", None),  # replays: recorded time
        )
        now = time.perf_counter()
        self._fps = frame.fps = self._rate.tick(now)
        frame.latency_ms = (now - frame.captured) * 1000.0
        host = self.host
        for person in update.left:
            host.person_leave(person, frame)
        for person in update.entered:
            host.person_enter(person, frame)
        host.frame(frame)
        self.frame = frame
        self._wake.set()
        self._dispatched += 1
        self._latency.append(frame.latency_ms)
        if inference_ms:
            self._inference.append(inference_ms)

    def _pixels(self, image: Any, mirror: bool, strict: bool) -> np.ndarray | None:
        """The image plugins may get: None under strict privacy (``[stage] privacy = true``:
        nobody, not even a plugin that asked) and when privacy asked by plugins has nobody
        healthy left to give it to; else a read-only view (mirrored when the stage mirrors).
        Privacy asked by a plugin is then enforced per plugin by the dispatcher."""
        if image is None or strict:
            return None
        host = self.host
        if getattr(host, "privacy", False) and not getattr(host, "pixels_for", None):
            return None
        if mirror:
            image = image[:, ::-1]
        # One copy into immutable bytes: no plugin can make it writeable again (a read-only
        # view of a writeable array can be), and the source's own buffer stays the source's.
        pixels = np.frombuffer(np.ascontiguousarray(image).tobytes(), dtype=image.dtype)
        return pixels.reshape(image.shape)
