"""Errors a performer can act on: one line naming the file/option and the fix."""

from __future__ import annotations

import difflib


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


def one_line(err: BaseException | str) -> str:
    """``err``'s text on one line (newlines and runs of spaces become one space); an exception
    with no text gives its type name."""
    text = " ".join(str(err).split())
    if not text and isinstance(err, BaseException):
        return type(err).__name__
    return text


def describe_error(err: BaseException) -> str:
    """``"TypeName: text"`` on one line: an unexpected error, reported without a traceback."""
    return f"{type(err).__name__}: {one_line(err)}"


def did_you_mean(word: str, options: list[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``options``, or ``""``."""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
