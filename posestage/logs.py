"""One way to report: :mod:`logging`, configured once by the command line.

Every module (and every plugin) logs with ``logging.getLogger(...)``; the CLI calls
:func:`setup` once, so that those lines reach stderr as ``posestage: message`` — a plugin's own
logger name is shown after the prefix when it is not under ``posestage`` (``posestage:
my_osc: port 9000 in use``). Tracebacks (logged once per distinct plugin error) follow their
line. An application embedding posestage configures logging its own way and calls nothing here.
"""

from __future__ import annotations

import logging
import sys

PREFIX = "posestage"
_HANDLER_NAME = "posestage-stderr"


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (pytest's capture, a redirect)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.set_name(_HANDLER_NAME)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # logging.StreamHandler sets it once; ignore
        pass


class _Format(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        name = record.name
        where = "" if name == PREFIX or name.startswith(PREFIX + ".") else f"{name}: "
        line = f"{PREFIX}: {where}{record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup(debug: bool = False) -> None:
    """Send log lines (INFO and up; DEBUG with ``debug``) to stderr in the one-line format.
    Calling it again changes only the level."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    if any(h.get_name() == _HANDLER_NAME for h in root.handlers):
        return
    handler = _Stderr()
    handler.setFormatter(_Format())
    root.addHandler(handler)
