"""Errors a performer can act on: one line naming the file/option and the fix."""

from __future__ import annotations


class PosestageError(Exception):
    """A user-facing error. ``str(err)`` is a single line that says what is wrong and what to do.

    The CLI prints it without a traceback (unless ``--debug``) and exits with status 2.
    """


class ModelError(PosestageError):
    """A model file is missing, corrupt, or not a model posestage can run."""


class DeviceError(PosestageError):
    """The requested device (e.g. an Edge TPU) is not available."""


class SourceError(PosestageError):
    """An input source (camera, video, stills, replay) cannot be opened or read."""


class SceneError(PosestageError):
    """A scene file or a live setting is invalid."""


class PluginError(PosestageError):
    """A plugin cannot be loaded or rejected its settings."""
