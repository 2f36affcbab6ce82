"""Control messages checked: any message, any field, any type, refused with one line.

Used by :class:`~posestage.stage.control.SceneControl` (main thread): a message's fields, a
scene named by number or name, a value shown in an error line, whether a message came from
outside (:func:`is_remote`), and :class:`Refusals` — refusals counted, not each logged.

**Remote.** The control port sets a message's ``source`` to ``remote:osc:HOST:PORT`` itself
(whatever the sender says never reaches that field); :func:`is_remote` tells such a message
from one a plugin or the embedding program posted. Rules that must not be steered from
outside (a scene switch that would end privacy) ask it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from posestage.config.scenes import Scene
from posestage.errors import PosestageError
from posestage.hookspecs import ControlMessage

__all__ = [
    "ACTIONS",
    "MAX_FIELD",
    "MAX_LINE",
    "REFUSAL_SECONDS",
    "REMOTE",
    "Refusals",
    "check_message",
    "is_remote",
    "scene_index",
    "shown",
]

log = logging.getLogger("posestage.control")

#: Built-in control actions (anything else goes to the plugins' ``posestage_event`` only).
ACTIONS = ("scene", "set", "enable", "disable")
#: Longest text field of a control message that is looked at (longer ones are refused).
MAX_FIELD = 200
#: Longest reply / error line (a huge value in a message is not echoed whole).
MAX_LINE = 240
#: What the control port puts before a message's ``source``: the message came from outside.
REMOTE = "remote:"
#: After a refusal is logged, further ones are counted and summed up at most this often.
REFUSAL_SECONDS = 10.0


def is_remote(origin: str) -> bool:
    """``origin`` (a checked message's source) is the control port's: someone outside."""
    return isinstance(origin, str) and origin.startswith(REMOTE)


class Refusals:
    """Refused control messages counted; one line now and then, not one each.

    :meth:`add` returns the line to show (the first refusal, then at most one every
    ``every`` seconds, with how many there were since), or None: counted only.
    """

    def __init__(self, every: float = REFUSAL_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.every, self.clock = every, clock
        self.count = 0
        self._since = 0  # refused since the last line
        self._next = 0.0

    def add(self, line: str) -> str | None:
        self.count += 1
        self._since += 1
        now = self.clock()
        if now < self._next:
            return None
        self._next = now + self.every
        since, self._since = self._since, 0
        more = f"{since} refused since the last line, " if since > 1 else ""
        return f"control message refused ({more}{self.count} so far): {line}"


def shown(value: Any) -> str:
    """A value for an error line: short, and never raising."""
    try:
        text = repr(value)
    except BaseException:  # noqa: BLE001 - a hostile __repr__
        return f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."


def check_message(message: Any) -> tuple[str, str, str, Any, str]:
    """(action, target, name, value, origin) of a well-formed message, else a one-line
    :class:`PosestageError`."""
    if not isinstance(message, ControlMessage):
        raise PosestageError(
            f"control: not a ControlMessage but a {type(message).__name__}; "
            "post posestage.hookspecs.ControlMessage(action, target, name, value, source)"
        )
    origin = message.source
    if not isinstance(origin, str) or not origin or len(origin) > MAX_FIELD:
        origin = "control"
    texts = {}
    for field in ("action", "target", "name"):
        got = getattr(message, field)
        if not isinstance(got, str) or len(got) > MAX_FIELD:
            raise PosestageError(f"{origin}: {field} {shown(got)} is not valid; give a short text")
        texts[field] = got
    action = texts["action"]
    if action in ("set", "enable", "disable") and not texts["target"]:
        raise PosestageError(f"{origin}: {action} needs a target (a plugin name)")
    if action == "set" and not texts["name"]:
        raise PosestageError(f"{origin}: set {texts['target']} needs the setting's name")
    return action, texts["target"], texts["name"], message.value, origin


def scene_index(scenes: Sequence[Scene], value: Any) -> int | None:
    """A scene by 1-based number or by name / file name (None: no such scene)."""
    count = len(scenes)
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int):
        return value - 1 if 1 <= value <= count else None
    if not isinstance(value, str) or len(value) > MAX_FIELD:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) <= 6:
        number = int(text)
        return number - 1 if 1 <= number <= count else None
    for i, scene in enumerate(scenes):
        path = scene.path
        if text and text in (scene.name, str(path) if path else "", path.name if path else ""):
            return i
    return None
