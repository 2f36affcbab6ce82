"""Zones: who is in which named polygon of the floor, since when, and who came and went.

:class:`Zones` follows the scene's ``[room.zones]`` frame by frame from the tracker's people.
A person's place is their floor position (metres) on a calibrated stage, else the point they
stand on in the camera image (pixels, not mirrored: the polygons are written in the camera's
image). Someone held through a dropout stays where they were last seen; someone who leaves the
stage leaves every zone they were in.

To keep a visit one visit when someone stands on a zone's border, they come in when their
point is inside the polygon and go out only once it is more than :data:`HYSTERESIS` metres
(or :data:`HYSTERESIS_PIXELS` × image height) outside. Per zone the visits are counted since
the stage started; per person the dwell is the frame time since they came in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from posestage.model.people import Person
from posestage.model.zones import ZoneCount, ZoneEvent
from posestage.tracking.floor import ground_points

__all__ = ["HYSTERESIS", "HYSTERESIS_PIXELS", "Zones", "inside", "outside_by"]

#: Metres beyond a zone's border before someone in it counts as out.
HYSTERESIS = 0.1
#: The same for zones in image pixels, as a fraction of the image height.
HYSTERESIS_PIXELS = 0.01


def inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(N,) True for the (N, 2) points inside ``polygon`` (K, 2) (even-odd rule)."""
    x, y = points[:, 0:1], points[:, 1:2]
    a, b = polygon, np.roll(polygon, -1, axis=0)
    crosses = (a[:, 1] > y) != (b[:, 1] > y)  # (N, K)
    with np.errstate(divide="ignore", invalid="ignore"):
        at = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    return ((crosses & (x < at)).sum(axis=1) % 2) == 1


def outside_by(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(N,) distance from each point to the polygon's border (0 inside)."""
    a, b = polygon, np.roll(polygon, -1, axis=0)
    ab = b - a  # (K, 2)
    ap = points[:, None, :] - a[None]  # (N, K, 2)
    t = np.clip((ap * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0.0, 1.0)
    d = np.hypot(*(ap - t[..., None] * ab).transpose(2, 0, 1)).min(axis=1)
    return np.where(inside(points, polygon), 0.0, d)


class Zones:
    """The scene's zones (name → corners), followed frame by frame (:meth:`update`)."""

    def __init__(
        self,
        polygons: Mapping[str, Sequence[Sequence[float]]],
        calibrated: bool,
        keep: Zones | None = None,
    ):
        """``keep``: the zones these replace (same units): a zone of the same name and the
        same corners goes on with who is in it and its visits."""
        self.names = tuple(polygons)
        self.polygons = [np.asarray(p, dtype=np.float64) for p in polygons.values()]
        self.calibrated = bool(calibrated)
        # every zone's edges in one array (a → b), so one test finds who is in which zone
        if self.polygons:
            self._a = np.concatenate(self.polygons)
            self._b = np.concatenate([np.roll(p, -1, axis=0) for p in self.polygons])
            self._starts = np.cumsum([0] + [len(p) for p in self.polygons[:-1]])
        self._since: list[dict[int, float]] = [{} for _ in self.names]  # id → came in at
        self._visits = [0] * len(self.names)
        if keep is not None:
            for z, name in enumerate(self.names):
                k = keep.names.index(name) if name in keep.names else None
                if k is not None and np.array_equal(keep.polygons[k], self.polygons[z]):
                    self._since[z], self._visits[z] = keep._since[k], keep._visits[k]

    def inside_all(self, points: np.ndarray) -> np.ndarray:
        """(N, Z) True where point n is inside zone z (even-odd rule, all zones at once)."""
        a, b = self._a, self._b
        x, y = points[:, 0:1], points[:, 1:2]
        crosses = (a[:, 1] > y) != (b[:, 1] > y)  # (N, E)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
        hits = (crosses & (x < at)).astype(np.int32)
        return (np.add.reduceat(hits, self._starts, axis=1) % 2) == 1

    def places(self, people: Sequence[Person], mirrored: bool) -> np.ndarray:
        """(N, 2) where each person is, in the zones' units (NaN: nowhere known)."""
        out = np.full((len(people), 2), np.nan)
        if self.calibrated:
            for i, p in enumerate(people):
                if p.floor is not None:
                    out[i] = (p.floor.x, p.floor.y)
            return out
        if people:
            xy = np.stack([p.xy for p in people]).astype(np.float64)
            point, _, _ = ground_points(xy, np.stack([p.scores for p in people]))
            if mirrored:
                point[:, 0] = (np.array([p.width for p in people]) - 1) - point[:, 0]
            out[:] = point
        return out

    def update(
        self, people: Sequence[Person], left: Iterable[Person], timestamp: float, mirrored: bool
    ) -> tuple[tuple[ZoneCount, ...], tuple[ZoneEvent, ...]]:
        """This frame's zones and zone events, from the tracker's people (and who left)."""
        if not self.names:
            return (), ()
        events: list[ZoneEvent] = []
        for person in left:  # gone from the stage: out of every zone
            for z, name in enumerate(self.names):
                came = self._since[z].pop(person.id, None)
                if came is not None:
                    events.append(ZoneEvent("leave", name, person.id, person.slot,
                                            max(timestamp - came, 0.0)))  # fmt: skip
        places = self.places(people, mirrored)
        known = np.isfinite(places).all(axis=1)
        height = people[0].height if people else 1
        margin = HYSTERESIS if self.calibrated else HYSTERESIS_PIXELS * height
        ins = np.zeros((len(people), len(self.names)), dtype=bool)
        if known.any():
            ins[known] = self.inside_all(places[known])
        counts = []
        for z, (name, polygon) in enumerate(zip(self.names, self.polygons, strict=True)):
            since = self._since[z]
            here = []
            for i, p in enumerate(people):
                was = p.id in since
                if ins[i, z] or (
                    was and known[i] and outside_by(places[i : i + 1], polygon)[0] <= margin
                ):
                    if not was:
                        since[p.id] = timestamp
                        self._visits[z] += 1
                        events.append(ZoneEvent("enter", name, p.id, p.slot))
                    here.append(p)
                elif was:
                    events.append(ZoneEvent("leave", name, p.id, p.slot,
                                            max(timestamp - since.pop(p.id), 0.0)))  # fmt: skip
            counts.append(
                ZoneCount(
                    name,
                    tuple(p.id for p in here),
                    tuple(max(timestamp - since[p.id], 0.0) for p in here),
                    self._visits[z],
                )
            )
        return tuple(counts), tuple(events)
