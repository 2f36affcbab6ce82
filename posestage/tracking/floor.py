"""Where people stand: from keypoints to a point on the floor (:class:`FloorMap`).

The point a person stands on is, in the image, the point between their ankles. When the feet
are hidden (a table, the frame's bottom edge, another person) it is guessed from the body's
proportions and the score says so:

- both ankles confident: their midpoint, ``basis="feet"``, score the ankles' mean score;
- one ankle: that ankle, ``basis="feet"``, score lowered by :data:`ONE_ANKLE`;
- knees and hips: the knees extended by the shin (as long as the thigh), ``basis="hips"``,
  score × :data:`FROM_KNEES`;
- hips and shoulders: the hips extended by :data:`LEG_OVER_TORSO` torsos (an upright adult's
  hip-to-ankle is about 1.7 times their shoulder-to-hip), ``basis="hips"``, score ×
  :data:`FROM_HIPS`.

The image point is taken to the floor through the :class:`~posestage.config.room.Calibration`
(camera pixels, not mirrored: a mirrored stage's x is flipped back first). Nothing here keeps
state but :class:`FloorTrack`, one person's floor over time (walking velocity, One Euro
smoothing in metres), and :func:`floor_cost`, the tracker's distance on the floor.
"""

from __future__ import annotations

import numpy as np

from posestage.config.room import Calibration
from posestage.model.floor import FloorPosition
from posestage.tracking.one_euro import OneEuroFilter

__all__ = [
    "FLOOR_BETA",
    "FLOOR_MIN_CUTOFF",
    "FLOOR_SLACK",
    "FROM_HIPS",
    "FROM_KNEES",
    "LEG_OVER_TORSO",
    "ONE_ANKLE",
    "FloorMap",
    "FloorTrack",
    "floor_cost",
    "ground_points",
    "measure_poses",
    "measured",
]

#: Hip-to-ankle over shoulder-to-hip of an upright adult (anthropometric tables: ~0.49 H / 0.29 H).
LEG_OVER_TORSO = 1.7
#: Score factors when the point is guessed rather than seen.
ONE_ANKLE = 0.8
FROM_KNEES = 0.5
FROM_HIPS = 0.3

#: Metres added to a walk's reach for the floor position's own noise (feet vs hips guesses).
FLOOR_SLACK = 0.5
#: One Euro smoothing of floor positions (metres): minimum cutoff (Hz) and speed coefficient
#: (per m/s: walking at 1.2 m/s raises the cutoff to 13 Hz, a lag of about 1.5 cm).
FLOOR_MIN_CUTOFF, FLOOR_BETA = 1.0, 10.0

_SHOULDERS, _HIPS, _KNEES, _ANKLES = (5, 6), (11, 12), (13, 14), (15, 16)
#: basis codes of :func:`ground_points`
FEET, HIPS, NONE = 0, 1, -1


def _mean_pair(xy, scores, pair, min_score):
    """(N, 2) mean of the confident keypoints of ``pair``, (N,) their mean score, (N,) how
    many were confident."""
    conf = scores[:, pair] >= min_score  # (N, 2)
    n = conf.sum(axis=1)
    w = conf.astype(np.float64)
    point = (xy[:, pair] * w[..., None]).sum(axis=1) / np.maximum(n, 1)[:, None]
    score = (scores[:, pair] * w).sum(axis=1) / np.maximum(n, 1)
    return point, score, n


def ground_points(
    xy: np.ndarray, scores: np.ndarray, min_score: float = 0.3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For (N, 17, 2) keypoints and (N, 17) scores: (N, 2) image point each stands on (NaN
    when nothing tells), (N,) its score and (N,) its basis (:data:`FEET`, :data:`HIPS`,
    :data:`NONE`)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 17, 2)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1, 17)
    n = len(xy)
    point = np.full((n, 2), np.nan)
    score = np.zeros(n)
    basis = np.full(n, NONE)
    ankle, ankle_s, ankles = _mean_pair(xy, scores, _ANKLES, min_score)
    knee, knee_s, knees = _mean_pair(xy, scores, _KNEES, min_score)
    hip, hip_s, hips = _mean_pair(xy, scores, _HIPS, min_score)
    shoulder, shoulder_s, shoulders = _mean_pair(xy, scores, _SHOULDERS, min_score)

    from_hips = (hips > 0) & (shoulders > 0)
    est = hip + (hip - shoulder) * LEG_OVER_TORSO
    point[from_hips] = est[from_hips]
    score[from_hips] = (FROM_HIPS * (hip_s + shoulder_s) / 2)[from_hips]
    basis[from_hips] = HIPS

    from_knees = (knees > 0) & (hips > 0)
    est = knee + (knee - hip)
    point[from_knees] = est[from_knees]
    score[from_knees] = (FROM_KNEES * (knee_s + hip_s) / 2)[from_knees]
    basis[from_knees] = HIPS

    feet = ankles > 0
    point[feet] = ankle[feet]
    score[feet] = np.where(ankles == 2, ankle_s, ONE_ANKLE * ankle_s)[feet]
    basis[feet] = FEET
    return point, np.clip(score, 0.0, 1.0), basis


class FloorMap:
    """A calibration as the tracker uses it: keypoints in the stage's coordinates (mirrored
    when the stage mirrors) → floor metres."""

    def __init__(self, calibration: Calibration, mirrored: bool = False):
        self.calibration = calibration
        self.mirrored = bool(mirrored)
        self._h = np.asarray(calibration.homography, dtype=np.float64)

    def to_floor(self, points: np.ndarray, width: int, height: int | None = None) -> np.ndarray:
        """(N, 2) stage pixels of a ``width`` x ``height`` picture → (N, 2) metres (NaN for no
        point or beyond the horizon). A picture of another size than the calibration's
        ``size`` is scaled to it first."""
        p = np.array(points, dtype=np.float64).reshape(-1, 2)
        if self.mirrored:
            p[:, 0] = (width - 1) - p[:, 0]
        size = self.calibration.size
        if size is not None and height and (width, height) != tuple(size):
            p *= (size[0] / width, size[1] / height)
        w = p @ self._h[2, :2] + self._h[2, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (p @ self._h[:2, :2].T + self._h[:2, 2]) / w[:, None]
        out[~(w > 1e-12)] = np.nan
        return out

    def measure(
        self,
        xy: np.ndarray,
        scores: np.ndarray,
        width: int,
        min_score: float = 0.3,
        height: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(N, 2) floor metres, (N,) scores, (N,) bases for (N, 17, 2) keypoints."""
        point, score, basis = ground_points(xy, scores, min_score)
        return self.to_floor(point, width, height), score, basis


def measure_poses(floor: FloorMap | None, poses, xy, scores, size: tuple[int, int], min_score):
    """(D, 2) floor metres (NaN: none), (D,) scores, (D,) bases ("feet"/"hips") of the
    detections: a pose's own ``floor`` as it came, else measured through ``floor``."""
    n = len(poses)
    point, score = np.full((n, 2), np.nan), np.zeros(n)
    basis = ["feet"] * n
    if floor is not None:
        point, score, codes = floor.measure(xy, scores, size[0], min_score, size[1])
        basis = ["feet" if c == FEET else "hips" for c in codes.tolist()]
    for j, pose in enumerate(poses):
        given = getattr(pose, "floor", None)
        if given is not None:
            point[j] = (given.x, given.y)
            score[j], basis[j] = given.score, given.basis
    return point, score, basis


def measured(found, j: int):
    """Detection ``j``'s (point, score, basis) from :func:`measure_poses`, or None."""
    if found is None or not np.isfinite(found[0][j]).all():
        return None
    return found[0][j].copy(), float(found[1][j]), found[2][j]


class FloorTrack:
    """One tracked person's floor: last measured point, walking velocity, smoothed position."""

    __slots__ = ("point", "velocity", "score", "basis", "smooth", "filter")

    def __init__(self) -> None:
        self.point: np.ndarray | None = None  # last measured, metres
        self.velocity = np.zeros(2)  # metres / s
        self.score, self.basis = 0.0, "feet"
        self.smooth = np.zeros(2)
        self.filter = OneEuroFilter(FLOOR_MIN_CUTOFF, FLOOR_BETA)

    def observe(self, found, timestamp: float, seen: float, restart: bool, gain: float) -> None:
        """Take a measurement (or None) at ``timestamp``; ``seen`` the previous one's time."""
        if found is None:
            return
        point, score, basis = found
        if self.point is not None and timestamp > seen:
            self.velocity += gain * ((point - self.point) / (timestamp - seen) - self.velocity)
        if restart or self.point is None or basis != self.basis:
            self.filter.reset()  # a new start, or feet seen again: no lag from the guess
        self.point, self.score, self.basis = point, score, basis
        self.smooth = self.filter(point, timestamp)

    def position(self) -> FloorPosition | None:
        if self.point is None:
            return None
        x, y = self.smooth.tolist()
        return FloorPosition(x, y, self.score, self.basis)


def floor_cost(cost, tracks, det_floor, timestamp, max_speed, gate, horizon) -> None:
    """Where a tracked person and a pose both stand on the floor, their cost (in ``cost``,
    (T, D)) becomes their distance there (predicted with the walking velocity, at most
    ``horizon`` s ahead) over how far one walks at ``max_speed`` since, scaled to ``gate``."""
    if not np.isfinite(det_floor).any():
        return
    for r, track in enumerate(tracks):
        where = track.where
        if where.point is None:
            continue
        since = max(timestamp - track.seen, 0.0)
        ahead = where.point + where.velocity * min(since, horizon)
        dist = np.hypot(*(det_floor - ahead).T)
        has = np.isfinite(dist)
        cost[r, has] = dist[has] / (FLOOR_SLACK + max_speed * since) * gate
