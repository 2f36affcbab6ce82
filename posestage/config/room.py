"""The room: the ``[room]`` table — the floor's calibration and its named zones.

A scene that knows its room says where four or more points of the camera image lie on the
floor, in metres, and may name zones on that floor::

    [room]
    image = [[112, 402], [530, 398], [612, 470], [30, 474]]   # camera pixels, not mirrored
    floor = [[0, 0], [4, 0], [4, 2.5], [0, 2.5]]              # the same points, metres
    view = true                                               # the floor view at start

    [room.zones]
    door = [[0, 0], [1, 0], [1, 1], [0, 1]]                   # metres (pixels if uncalibrated)
    stage = [[2, 1], [4, 1], [4, 2.5], [2, 2.5]]

Image points are in the camera's own image, as a photo taken with it shows them (not
mirrored, whatever ``[stage] mirror`` says): the calibration belongs to the camera, and a
recorded pose stream (always unmirrored) replays onto the same floor. The floor's axes are
whatever the points were measured in (x along one wall, y along the other, say).

:class:`Calibration` is the plane-to-plane map (a homography fitted to the points by least
squares) and its reprojection error in pixels — how far the image points are from where the
fitted map puts their floor points; more than a few pixels means a point was mistyped or
mis-clicked. ``floor`` alone (measured with a tape) waits for its image points: the window's
calibration mode (key C) asks for a click on each and writes ``image`` into the scene file.
Without ``image`` the stage is uncalibrated: zones are then polygons
in camera pixels and people get no floor position.

numpy is imported only when a calibration is fitted, so the command line can read scenes
without it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from posestage.config.schema import Setting
from posestage.config.vocabulary import SIZE
from posestage.errors import SceneError

__all__ = [
    "MAX_POINTS",
    "MAX_ZONES",
    "ROOM_SETTINGS",
    "Calibration",
    "RoomSettings",
    "fit_calibration",
    "parse_points",
]

#: At most this many calibration points, zones, and corners per zone.
MAX_POINTS = 64
MAX_ZONES = 64
_ZONE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def parse_points(value: Any, minimum: int = 4) -> tuple[tuple[float, float], ...]:
    """``[[x, y], …]`` → a tuple of float pairs; ``ValueError`` saying what was expected."""
    want = f"a list of at least {minimum} [x, y] points (at most {MAX_POINTS})"
    if not isinstance(value, (list, tuple)) or not minimum <= len(value) <= MAX_POINTS:
        raise ValueError(f"expected {want}")
    out = []
    for i, point in enumerate(value):
        if (
            not isinstance(point, (list, tuple))
            or len(point) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in point)
            or not all(math.isfinite(v) for v in point)
        ):
            raise ValueError(f"point {i + 1}: expected [x, y] (two finite numbers), got {point!r}")
        out.append((float(point[0]), float(point[1])))
    return tuple(out)


def _zones(value: Any) -> dict[str, tuple[tuple[float, float], ...]]:
    if len(value) > MAX_ZONES:
        raise ValueError(f"at most {MAX_ZONES} zones")
    out = {}
    for name, corners in value.items():
        if not _ZONE_NAME.match(str(name)):
            raise ValueError(
                f"zone name {name!r}: use 1 to 40 letters, digits, '_' or '-' (it becomes an "
                "OSC address)"
            )
        try:
            out[str(name)] = parse_points(corners, minimum=3)
        except ValueError as err:
            raise ValueError(f"zone {name}: {err}") from None
    return out


#: The ``[room]`` table. Validated by the one scene parser (:mod:`posestage.config.scenes`).
ROOM_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "image",
        list,
        None,
        "calibration: 4 or more points in the camera image, pixels [[x, y], …] (not mirrored)",
        parse=parse_points,
    ),
    Setting(
        "floor",
        list,
        None,
        "calibration: the same points on the floor, in metres [[x, y], …]",
        parse=parse_points,
    ),
    Setting(
        "zones",
        dict,
        None,
        "named polygons, name = [[x, y], …]: metres on the floor (camera pixels when not "
        "calibrated)",
        parse=_zones,
    ),
    Setting(
        "size",
        str,
        None,
        'the camera picture\'s size the image points were taken in, "WxH": another size is '
        "scaled to it (not set: the points are used as they are)",
        parse=SIZE,
    ),
    Setting("view", bool, False, "show the floor view in the window at start (key: V)"),
)


@dataclass(frozen=True)
class Calibration:
    """The floor plane seen by one camera: image pixels ↔ floor metres.

    ``homography`` maps camera pixels (not mirrored) to floor metres, as 3x3 nested tuples;
    ``error`` is the reprojection error in pixels (root mean square over the points);
    ``image``/``floor`` the points it was fitted to; ``size`` the (width, height) of the
    picture the image points were taken in (None: any).
    """

    image: tuple[tuple[float, float], ...]
    floor: tuple[tuple[float, float], ...]
    homography: tuple[tuple[float, float, float], ...]
    error: float
    size: tuple[int, int] | None = None

    def to_floor(self, points):
        """(N, 2) camera pixels → (N, 2) floor metres (numpy float64). Points on or beyond
        the horizon come back as NaN."""
        return _apply(self.homography, points)

    def to_image(self, points):
        """(N, 2) floor metres → (N, 2) camera pixels (numpy float64)."""
        import numpy as np

        return _apply(np.linalg.inv(np.array(self.homography)), points)


def _apply(h, points):
    import numpy as np

    h = np.asarray(h, dtype=np.float64)
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    w = p @ h[2, :2] + h[2, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (p @ h[:2, :2].T + h[:2, 2]) / w[:, None]
    out[~(w > 1e-12)] = np.nan  # behind the camera / at the horizon
    return out


def _normalizer(points):
    """The similarity moving ``points`` to mean 0 and mean distance √2 (Hartley)."""
    import numpy as np

    mean = points.mean(axis=0)
    spread = np.sqrt(((points - mean) ** 2).sum(axis=1)).mean()
    s = math.sqrt(2) / spread if spread > 0 else 1.0
    return np.array([[s, 0, -s * mean[0]], [0, s, -s * mean[1]], [0, 0, 1.0]])


def fit_calibration(
    image: Sequence[Sequence[float]],
    floor: Sequence[Sequence[float]],
    where: str = "[room]",
    size: tuple[int, int] | None = None,
) -> Calibration:
    """The homography taking ``image`` points to ``floor`` points (normalized DLT, least
    squares over all points) and its reprojection error. :class:`SceneError` when the points
    cannot make one (too few, not the same number, three of four on a line)."""
    import numpy as np

    src = np.asarray(image, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(floor, dtype=np.float64).reshape(-1, 2)
    if len(src) != len(dst):
        raise SceneError(
            f"{where}: image has {len(src)} points and floor {len(dst)}; give each floor "
            "point's place in the image, in the same order"
        )
    if len(src) < 4:
        raise SceneError(f"{where}: at least 4 points are needed to calibrate, got {len(src)}")
    ts, td = _normalizer(src), _normalizer(dst)
    a = np.hstack([src, np.ones((len(src), 1))]) @ ts.T
    b = np.hstack([dst, np.ones((len(dst), 1))]) @ td.T
    rows = []
    for (x, y, _), (u, v, _) in zip(a, b, strict=True):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    _, sing, vt = np.linalg.svd(np.array(rows))
    h = np.linalg.inv(td) @ vt[-1].reshape(3, 3) @ ts
    degenerate = sing[-2] < 1e-9 * sing[0] or abs(h[2, 2]) < 1e-12
    if not degenerate:
        h = h / h[2, 2]
        # the sign that puts the image points in front of the camera (w > 0), wherever the
        # picture's corner (0, 0) lies: above the horizon for a camera looking across a room
        if np.median(src @ h[2, :2] + h[2, 2]) < 0:
            h = -h
        degenerate = abs(np.linalg.det(h)) < 1e-15 or not _spread(src) or not _spread(dst)
    if degenerate:
        raise SceneError(
            f"{where}: the points do not span the floor (three of them on a line, or repeated); "
            "mark four corners of a large rectangle on the floor"
        )
    back = _apply(np.linalg.inv(h), dst)
    err = float(np.sqrt(np.nanmean(((back - src) ** 2).sum(axis=1))))
    if not math.isfinite(err) or not np.isfinite(_apply(h, src)).all():
        raise SceneError(
            f"{where}: an image point lies on or above the horizon of the fitted floor; "
            "check the order of the points (image and floor in the same order)"
        )
    homography = tuple(tuple(float(v) for v in row) for row in h)
    return Calibration(tuple(map(tuple, src.tolist())), tuple(map(tuple, dst.tolist())),
                       homography, err, size)  # fmt: skip


def _spread(points) -> bool:
    """No three of any four points on a line: the points span a plane."""
    import numpy as np

    centred = points - points.mean(axis=0)
    sing = np.linalg.svd(centred, compute_uv=False)
    return sing[-1] > 1e-6 * max(sing[0], 1e-12)


@dataclass(frozen=True)
class RoomSettings:
    """The ``[room]`` table, read: a :class:`Calibration` (None when the scene has none), the
    zones (name → corners), whether the floor view shows at start, and the floor points
    written without their image points yet (``to_click``: the window's calibration mode asks
    for them, one click each)."""

    calibration: Calibration | None = None
    zones: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    view: bool = False
    to_click: tuple[tuple[float, float], ...] = ()

    @property
    def calibrated(self) -> bool:
        return self.calibration is not None

    @classmethod
    def from_values(cls, values: Mapping[str, Any], where: str = "[room]") -> RoomSettings:
        """From the validated ``[room]`` values (:data:`ROOM_SETTINGS`)."""
        image, floor = values.get("image"), values.get("floor")
        if image is not None and floor is None:
            raise SceneError(
                f"{where}.floor: missing; a calibration needs both image and floor points"
            )
        size = values.get("size")
        calibration = None if image is None else fit_calibration(image, floor, where, size)
        zones, view = dict(values.get("zones") or {}), bool(values.get("view"))
        return cls(calibration, zones, view, tuple(floor or ()) if image is None else ())
