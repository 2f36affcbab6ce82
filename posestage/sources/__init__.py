"""Frame sources: where the stage's frames come from. One module per kind of source:

=========================  =====================================================================
``camera``, ``camera:N``   :mod:`.camera`: a camera through PyAV's device inputs (N: index in
``camera:NAME``            :func:`list_cameras`; NAME: a unique part of its name, or a device
                           such as ``camera:/dev/video2``); modes and drivers in :mod:`.devices`
                           and :mod:`.platforms`
``clip.mp4`` (any video)   :mod:`.video`: a video file decoded with PyAV, at its own frame rate
                           (pace ``realtime``) or as fast as the consumer takes it (``fast``)
``photo.jpg``              :mod:`.stills`: one still image: one frame (forever with ``loop``)
``folder/``, ``'shots/*.png'``  :mod:`.stills`: the stills of a folder or glob, natural order
``rtsp://…``, ``http://…``  :mod:`.stream`: network video (also ``srt://``, ``udp://``): low
                           latency, reconnected when it drops
``ndi:NAME``               :mod:`.ndi`: an NDI source found by part of its name (optional extra
                           ``posestage[ndi]``)
``replay:poses.jsonl``     :mod:`.replay`: a recorded pose stream (:mod:`posestage.model.posestream`):
                           frames carry ``poses`` and no image, so the stage runs no model
(in memory)                :mod:`.array`: :class:`ArraySource`, frames from numpy arrays
``SCHEME:REST``            a scheme a plugin registered (``posestage_sources()`` hook)
=========================  =====================================================================

:mod:`.base` holds the contract every source keeps — built-in or a plugin's: :class:`Source`
(``read``/``close``, and what ``live``, ``continuous``, ``gives_poses`` and
``mirror_by_default`` tell the stage), :class:`SourceFrame` and :class:`SourceOptions`.
:mod:`.registry` holds :func:`open_source`, which picks the kind from the spec. A spec that
cannot be opened raises :class:`~posestage.errors.SourceError` with one line naming the spec and
the valid forms.
"""

from __future__ import annotations

from posestage.sources.array import ArraySource
from posestage.sources.base import (
    CLOSE_WAIT,
    MAX_WAIT_SECONDS,
    RESYNC_SECONDS,
    VALID_FORMS,
    MediaClock,
    Opener,
    Source,
    SourceFrame,
    SourceOptions,
)
from posestage.sources.camera import CameraSource, list_cameras
from posestage.sources.registry import BUILTIN_SCHEMES, POSESTREAM_SUFFIXES, open_source
from posestage.sources.replay import ReplaySource
from posestage.sources.stills import IMAGE_SUFFIXES, STILL_CACHE_BYTES, StillsSource, load_image
from posestage.sources.video import VideoSource

__all__ = [
    "BUILTIN_SCHEMES",
    "CLOSE_WAIT",
    "IMAGE_SUFFIXES",
    "MAX_WAIT_SECONDS",
    "POSESTREAM_SUFFIXES",
    "RESYNC_SECONDS",
    "STILL_CACHE_BYTES",
    "VALID_FORMS",
    "ArraySource",
    "CameraSource",
    "MediaClock",
    "Opener",
    "ReplaySource",
    "Source",
    "SourceFrame",
    "SourceOptions",
    "StillsSource",
    "VideoSource",
    "list_cameras",
    "load_image",
    "open_source",
]
