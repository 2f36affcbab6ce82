"""How large anything that flows may be, and the files it is read from.

A show reads files a performer did not necessarily make: a downloaded photo, a replay from a
colleague, a scene file copied off a forum. Whatever they claim, the stage decides how much it
takes: frame sizes up to 8K, a bounded number of people per frame, text lines and files of a
sane length, and only regular files (a FIFO or a device named as a file would block a read for
ever). Every refusal is one line naming the file and the limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from posestage.errors import PosestageError

__all__ = [
    "MAX_HEIGHT",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "MAX_LINE_BYTES",
    "MAX_PEOPLE",
    "MAX_TEXT_FILE_BYTES",
    "MAX_WIDTH",
    "check_frame_size",
    "regular_file",
]

#: The largest frame anything takes: 8K UHD.
MAX_WIDTH, MAX_HEIGHT = 7680, 4320
#: Pixels an image file may decode to (8K UHD): checked from its header, before decoding.
MAX_IMAGE_PIXELS = MAX_WIDTH * MAX_HEIGHT
#: Bytes an image file may have (a 8K PNG of noise is about 100 MB).
MAX_IMAGE_BYTES = 256 * 1024 * 1024
#: People in one frame (the engine finds at most 100; a replay claiming more is cut there).
MAX_PEOPLE = 100
#: Bytes of one line of a text stream (a frame of 100 people is about 60 KB).
MAX_LINE_BYTES = 1024 * 1024
#: Bytes of a small text file a person writes (a scene, a settings file).
MAX_TEXT_FILE_BYTES = 1024 * 1024


def regular_file(
    path: str | Path, what: str, max_bytes: int, error: type[PosestageError] = PosestageError
) -> int:
    """The size of ``path`` when it is a regular file of at most ``max_bytes``; else a one-line
    ``error`` (``what`` names the file: ``"scene file x.toml"``).

    Looked at with ``stat`` before anything opens it: a FIFO, a socket or a device is refused
    without blocking. Missing files and folders raise :class:`FileNotFoundError` and
    :class:`IsADirectoryError` as ``open`` would, for the caller's own words.
    """
    st = os.stat(path)  # FileNotFoundError / PermissionError: the caller's words
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(path)
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{what}: not a regular file (a pipe, socket or device); give a file on disk")
    if st.st_size > max_bytes:
        raise error(
            f"{what}: {st.st_size / 1e6:.1f} MB is more than the {max_bytes / 1e6:.0f} MB "
            "allowed; is this the right file?"
        )
    return st.st_size


def check_frame_size(
    width: int, height: int, what: str, error: type[PosestageError] = PosestageError
) -> None:
    """A one-line ``error`` unless 1 <= width <= 7680 and 1 <= height <= 4320."""
    if not (1 <= width <= MAX_WIDTH and 1 <= height <= MAX_HEIGHT):
        raise error(f"{what}: size {width}x{height} is outside 1x1 to {MAX_WIDTH}x{MAX_HEIGHT}")
