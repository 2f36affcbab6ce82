"""The room edited live: the ``room`` control message (the control page's calibration and
zones) and the ``[room]`` table written back into the scene file.

A ``room`` message's value is a whole ``[room]`` table (``{"floor": [[0, 0], …], "image": …,
"zones": {"door": [[0, 0], [1, 0], [1, 1]]}, "size": "640x480", "view": false}``): it goes
through the one parser a scene file goes through (:data:`~posestage.config.room.ROOM_SETTINGS`
and the calibration's fit, :func:`edited`) — a bad value is one line and nothing changes. An
accepted table becomes the running scene's room at once, as a reload of the file would (zones
left as they were keep their visits), but the file is not touched: ``room`` with the name
``save`` writes the running scene's ``[room]`` table into its file (:func:`save_room`), after
checking that the file, read again, gives the same scene with that room.

:func:`room_state` is what the page shows: the table, the fitted calibration's reprojection
error, and the floor-to-image map it needs to draw zones in metres over the skeletons.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path
from typing import Any

from posestage.config.room import ROOM_SETTINGS, RoomSettings
from posestage.config.scenes import Scene, parse_scene
from posestage.config.schema import validate
from posestage.errors import PosestageError, SceneError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["edited", "room_state", "room_table", "room_toml", "save_room"]

# a table header ([room], [room.zones], [[x]]), not an array's line: no comma, no number start
_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z_\"'][^\],]*?)\s*\]\]?\s*(#.*)?$")


def _points(points: Any) -> list[list[float]] | None:
    return None if points is None else [[float(x), float(y)] for x, y in points]


def room_table(scene: Scene) -> dict[str, Any]:
    """The scene's ``[room]`` table as plain values, only the keys it sets."""
    room = scene.room
    out: dict[str, Any] = {}
    for key in ("floor", "image"):
        if room.get(key) is not None:
            out[key] = _points(room[key])
    if room.get("size") is not None:
        out["size"] = "{}x{}".format(*room["size"])
    if room.get("zones"):
        out["zones"] = {name: _points(c) for name, c in room["zones"].items()}
    if room.get("view"):
        out["view"] = True
    return out


def room_state(scene: Scene, mirror: bool) -> dict[str, Any]:
    """What the control page shows and edits: the ``table``, whether the stage is
    ``calibrated``, the reprojection ``error`` (px), ``to_image`` (floor metres → camera
    pixels, 3×3, None when uncalibrated) and ``to_floor`` (back), the zones' ``units``, the calibration's ``size``,
    whether the picture is mirrored and the file a save writes to."""
    import numpy as np

    try:
        settings = scene.room_settings()
    except SceneError:
        settings = None
    calibration = settings.calibration if settings is not None else None
    to_image = to_floor = None
    if calibration is not None:
        to_floor = [list(row) for row in calibration.homography]
        to_image = np.linalg.inv(np.array(calibration.homography)).tolist()
    return {
        "table": room_table(scene), "calibrated": calibration is not None,
        "error": None if calibration is None else round(calibration.error, 3),
        "to_image": to_image, "to_floor": to_floor, "units": "m" if calibration is not None else "px",
        "size": None if calibration is None or calibration.size is None
        else list(calibration.size),
        "mirror": bool(mirror), "file": scene.path.name if scene.path else None,
    }  # fmt: skip


def edited(scene: Scene, table: Any, origin: str) -> Scene:
    """``scene`` with ``table`` as its ``[room]``, checked as a scene file's would be (the
    calibration fitted too); :class:`SceneError` with one line when it is not valid."""
    where = f"{origin}: room"
    if not isinstance(table, dict):
        raise SceneError(f"{where}: expected the whole [room] table as a JSON object")
    values = validate(table, ROOM_SETTINGS, where)
    RoomSettings.from_values(values, where)  # points on a line, not as many image as floor
    return dataclasses.replace(scene, room=values)


def _number(value: float) -> str:
    return repr(float(value))


def room_toml(table: dict[str, Any]) -> list[str]:
    """The ``[room]`` table (as :func:`room_table` gives it) as TOML lines."""

    def points(ps) -> str:
        return "[" + ", ".join(f"[{_number(x)}, {_number(y)}]" for x, y in ps) + "]"

    lines = ["[room]"]
    for key in ("floor", "image"):
        if key in table:
            lines.append(f"{key} = {points(table[key])}")
    if "size" in table:
        lines.append(f'size = "{table["size"]}"')
    if table.get("view"):
        lines.append("view = true")
    if table.get("zones"):
        lines += ["", "[room.zones]"]
        lines += [f"{name} = {points(c)}" for name, c in table["zones"].items()]
    return lines


def _is_room(header: str) -> bool:
    name = header.replace('"', "").replace("'", "").replace(" ", "")
    return name == "room" or name.startswith("room.")


def _replaced(text: str, table: dict[str, Any]) -> str:
    """``text`` with its ``[room]`` and ``[room.*]`` tables replaced by ``table``'s lines
    (where the first of them was; at the end if there was none)."""
    out: list[str] = []
    at: int | None = None
    skipping = False
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header is not None:
            skipping = _is_room(header.group(1))
            if skipping and at is None:
                at = len(out)
        if not skipping:
            out.append(line)
    new = room_toml(table)
    if at is None:
        while out and not out[-1].strip():
            out.pop()
        out += ["", *new]
    else:
        out[at:at] = [*new, ""]
    return "\n".join(out).rstrip("\n") + "\n"


def save_room(scene: Scene) -> str:
    """Write ``scene``'s ``[room]`` into its file, the other tables left as they are (comments
    in the old ``[room]`` tables are not kept). The new text is read back with the scene
    parser first: unless it gives this room and the same other tables, nothing is written."""
    path = scene.path
    if path is None:
        raise PosestageError("room: save: this scene has no file; the room stays as it is live")
    where = f"room: save {path.name}"
    try:
        text = Path(path).read_text(encoding="utf-8")
        old = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise PosestageError(f"{where}: cannot read the file ({err}); nothing written") from None
    table = room_table(scene)
    new_text = _replaced(text, table)
    try:
        new = tomllib.loads(new_text)
        back = parse_scene(new_text, path)
    except (tomllib.TOMLDecodeError, SceneError) as err:
        raise PosestageError(
            f"{where}: the file's [room] is written in a way this cannot edit ({err}); nothing "
            "written, edit the file by hand"
        ) from None
    if {k: v for k, v in new.items() if k != "room"} != {
        k: v for k, v in old.items() if k != "room"
    } or room_table(back) != table:
        raise PosestageError(
            f"{where}: the file's [room] is written in a way this cannot edit; nothing written, "
            "edit the file by hand"
        )
    tmp = Path(path).with_suffix(".toml.tmp")
    try:
        tmp.write_text(new_text, encoding="utf-8")
        tmp.replace(path)
    except OSError as err:
        raise PosestageError(f"{where}: cannot write: {err.strerror or err}") from None
    zones = len(table.get("zones") or {})
    return f"room: written to {path.name} ({zones} zone{'s' if zones != 1 else ''})"
