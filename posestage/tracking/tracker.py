"""Stable ids, slots and dropouts: turns each frame's poses into tracked :class:`Person` objects.

Every frame the :class:`Tracker` matches the new poses to the people it already follows with
an optimal assignment (``scipy.optimize.linear_sum_assignment``) on a keypoint distance:

- the *distance* between a tracked person and a pose is the mean pixel distance over the
  keypoints both are confident about (score >= ``min_keypoint_score``), divided by the person's
  size (the diagonal of the box around their confident keypoints, the larger of the two). With
  fewer than three such keypoints it falls back to a mean over all 17 weighted by both scores.
  So ``max_distance = 0.5`` means "moved by at most half a body between two frames";
- the tracked person's position is first *predicted* with their last velocity (whole-body
  translation, at most :data:`PREDICT_HORIZON` seconds ahead), which keeps ids apart when two
  people walk past each other;
- a pair farther apart than ``max_distance`` is never matched (gating).

A person who is not seen is kept for ``max_missing_seconds`` (default 1 s, measured on the
frames' timestamps, so the same at 15, 30 or 120 fps). During that grace they are still
reported, with ``missing > 0`` and their last smoothed position held (not extrapolated): a
receiver mapping a wrist to a sound gets a held value rather than a flicker to nothing or a
limb drifting on its own. Plugins that only want people seen this frame filter on
``person.missing == 0``. Only when the grace expires does the person appear in
:attr:`TrackUpdate.left`.

Each person has a unique ``id`` (1, 2, 3…, never reused, not even after :meth:`Tracker.reset`)
and a ``slot``: the lowest small index (0, 1, 2…) free when they enter, kept while they stay
and given to the next person who enters after they leave. Keypoints are smoothed with the
One Euro filter (:mod:`posestage.tracking.one_euro`) in image-height units; ``Person.raw_xy`` keeps the
detection as it came.

**At the frame's edge** (any stage): someone last seen touching the edge (``edge_margin`` of the
image) and moving out leaves after a moment rather than the whole grace, so their
slot is free at once; if they come back within the grace where they left (the same edge, near
the same place; on the floor within reach of a walk) they get their id and, when it is still
free, their slot back (and enter again). Someone hidden mid-frame is held for the grace
(:mod:`posestage.tracking.edges`).

**On the floor** (a calibrated stage: :attr:`Tracker.floor` is a
:class:`~posestage.tracking.floor.FloorMap`, or the poses come with a floor position): each
person's floor position (:attr:`Person.floor`, metres) is measured from their keypoints
(:mod:`posestage.tracking.floor`; a pose's own ``floor`` is taken as it is) and smoothed; a
tracked person and a pose with floor positions are matched by their distance on the floor, the
gate being how far one may walk at ``max_speed`` since they were seen.

The people handed out are frozen (:class:`~posestage.model.people.Person`): their arrays are
read-only copies of their own, never the tracker's state nor the engine's arrays, so nothing a
plugin does to a person reaches the next frame's matching or held positions.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from posestage.config.tracking import TrackingSettings
from posestage.model.frozen import frozen_array
from posestage.model.keypoints import NUM_KEYPOINTS
from posestage.model.people import Person
from posestage.model.poses import Pose
from posestage.tracking.edges import EDGE_SECONDS, EDGE_SPEED, Exit, edge_direction, find_return
from posestage.tracking.floor import FloorMap, FloorTrack, floor_cost, measure_poses, measured
from posestage.tracking.one_euro import OneEuroFilter

#: Never predict a missing person's position further ahead than this many seconds.
PREDICT_HORIZON = 0.5
#: Fewer keypoints than this confident in both poses → use the score-weighted fallback distance.
MIN_COMMON_KEYPOINTS = 3
#: Person sizes are never taken smaller than this fraction of the image height.
MIN_SIZE_FRACTION = 0.05
#: Weight of the newest measurement in the running velocity estimate.
VELOCITY_GAIN = 0.6
_GATED = 1e6  # cost of a pair beyond the gate; keeps linear_sum_assignment feasible


@functools.cache
def _load_assignment() -> Callable:
    """``scipy.optimize.linear_sum_assignment``, the very same function, from scipy's compiled
    ``_lsap`` module loaded on its own: ``import scipy.optimize`` also imports scipy's linalg,
    sparse, special and fft (0.6–0.8 s of every ``posestage run`` start-up on a 2-core x86,
    several times that on a Raspberry Pi) for this one function. Any surprise (another scipy
    layout, no such file) falls back to the public import."""
    try:
        spec = importlib.util.find_spec("scipy")
        folder = spec.submodule_search_locations[0] if spec is not None else None
        for suffix in importlib.machinery.EXTENSION_SUFFIXES if folder else ():
            path = os.path.join(folder, "optimize", "_lsap" + suffix)
            if os.path.isfile(path):
                ext = importlib.util.spec_from_file_location("scipy.optimize._lsap", path)
                module = importlib.util.module_from_spec(ext)
                ext.loader.exec_module(module)
                return module.linear_sum_assignment
    except Exception:  # noqa: BLE001 - the public import below is the fallback
        pass
    from scipy.optimize import linear_sum_assignment

    return linear_sum_assignment


@dataclass
class TrackUpdate:
    """What one :meth:`Tracker.update` changed.

    ``people``: everyone tracked now, ordered by slot (including those in a dropout grace, with
    ``missing > 0``); ``entered``: people new this frame (also in ``people``); ``left``: people
    whose grace expired this frame (no longer in ``people``; their slot is free again).
    """

    people: list[Person] = field(default_factory=list)
    entered: list[Person] = field(default_factory=list)
    left: list[Person] = field(default_factory=list)


class _Track:
    """Internal state of one followed person."""

    __slots__ = (
        "id", "slot", "xy", "scores", "score", "size", "velocity", "seen", "first_seen",
        "age", "missing", "observed", "filter", "person",
        "where", "edge",
    )  # fmt: skip

    def __init__(self, id: int, slot: int, first_seen: float, filt: OneEuroFilter):
        self.id = id
        self.slot = slot
        self.xy = np.zeros((NUM_KEYPOINTS, 2))  # last detected (raw) keypoints, float64
        self.scores = np.zeros(NUM_KEYPOINTS, dtype=np.float32)
        self.score = 0.0
        self.size = 1.0  # person size in pixels
        self.velocity = np.zeros(2)  # whole-body velocity, pixels / s
        self.seen = first_seen  # timestamp of the last detection
        self.first_seen = first_seen
        self.age = 0
        self.missing = 0
        self.observed = 0  # detections taken so far
        self.filter = filt
        self.person: Person | None = None
        self.edge = np.zeros(2)  # outward unit direction when last seen at the edge, else 0
        self.where = FloorTrack()


def _sizes(xy: np.ndarray, confident: np.ndarray, floor: float) -> np.ndarray:
    """(N,) diagonal of the box around each pose's confident keypoints (all 17 if < 2)."""
    use = confident | (confident.sum(axis=1) < 2)[:, None]
    x, y = xy[..., 0], xy[..., 1]
    w = np.where(use, x, -np.inf).max(axis=1) - np.where(use, x, np.inf).min(axis=1)
    h = np.where(use, y, -np.inf).max(axis=1) - np.where(use, y, np.inf).min(axis=1)
    return np.maximum(np.hypot(w, h), floor)


class Tracker:
    """Follows people across frames: stable ids, reusable slots, dropouts, smoothing.

    Call :meth:`update` once per processed frame with that frame's poses (in source-image
    pixels), the image size and the capture timestamp (seconds; the same clock every call —
    time steps for smoothing and prediction come from it, so replays reproduce exactly).
    Changing :attr:`settings` at any time applies to the following updates.
    """

    def __init__(self, settings: TrackingSettings | None = None):
        # scipy is loaded by the first Tracker, not by `import posestage.tracking.tracker` (scene
        # files, the CLI): and here, on the thread that builds the stage, never mid-show
        self._assign = _load_assignment()
        self._settings = settings or TrackingSettings()
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._image_size: tuple[int, int] | None = None
        self._people: list[Person] = []
        self._exits: list[Exit] = []
        #: the floor calibration (None: people get no floor position unless poses bring one)
        self.floor: FloorMap | None = None

    @property
    def settings(self) -> TrackingSettings:
        """The settings in force. To change them live assign a new object (e.g. with
        ``dataclasses.replace``): running filters take the new One Euro parameters at once."""
        return self._settings

    @settings.setter
    def settings(self, settings: TrackingSettings) -> None:
        self._settings = settings
        for track in self._tracks:
            track.filter.min_cutoff = settings.min_cutoff
            track.filter.beta = settings.beta
            track.filter.d_cutoff = settings.d_cutoff

    @property
    def people(self) -> list[Person]:
        """Everyone tracked after the last update, ordered by slot."""
        return list(self._people)

    def reset(self) -> list[Person]:
        """Forget everyone (e.g. on a source change). Ids keep counting up, never reused.

        Returns the people dropped, ordered by slot, so the caller can tell plugins they left.
        """
        gone = self._people
        self._tracks = []
        self._exits = []
        self._people = []
        self._image_size = None
        return gone

    def update(self, poses: list[Pose], width: int, height: int, timestamp: float) -> TrackUpdate:
        """Match this frame's ``poses`` to the tracked people; returns who is here, new, gone."""
        linear_sum_assignment = self._assign
        s = self._settings
        width, height = max(int(width), 1), max(int(height), 1)
        timestamp = float(timestamp)
        left: list[Person] = []
        if self._image_size is not None and self._image_size != (width, height):
            left.extend(self.reset())  # positions from another image size mean nothing here
        self._image_size = (width, height)

        dets = [
            p
            for p in poses
            if p.score >= s.min_pose_score
            and np.shape(p.xy) == (NUM_KEYPOINTS, 2)
            and np.shape(p.scores) == (NUM_KEYPOINTS,)
            and np.isfinite(p.xy).all()
        ]
        tracks = self._tracks
        floor = MIN_SIZE_FRACTION * height
        matched: list[tuple[_Track, int]] = []
        unmatched_dets = list(range(len(dets)))
        if dets:
            det_xy = np.stack([p.xy for p in dets]).astype(np.float64)
            det_scores = np.stack([p.scores for p in dets]).astype(np.float64)
            det_conf = det_scores >= s.min_keypoint_score
            det_size = _sizes(det_xy, det_conf, floor)
            det_edge = edge_direction(det_xy, det_conf, width, height, s.edge_margin)
            det_floor = measure_poses(
                self.floor, dets, det_xy, det_scores, (width, height), s.min_keypoint_score
            )
        if tracks and dets:
            cost = self._cost(tracks, det_xy, det_scores, det_conf, det_size, timestamp)
            gate = s.max_distance
            floor_cost(cost, tracks, det_floor[0], timestamp, s.max_speed, gate, PREDICT_HORIZON)
            rows, cols = linear_sum_assignment(np.where(cost <= gate, cost, _GATED))
            taken = set()
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
                if cost[r, c] <= gate:
                    matched.append((tracks[r], c))
                    taken.add(c)
            unmatched_dets = [j for j in range(len(dets)) if j not in taken]

        # Everyone not matched loses a frame; those past the grace leave, and those who were
        # walking out through the frame's edge leave sooner (remembered in case they return).
        matched_ids = {id(t) for t, _ in matched}
        self._exits = [e for e in self._exits if not s.grace_over(1, timestamp - e.time)]
        kept: list[_Track] = []
        for track in tracks:
            track.age += 1
            if id(track) in matched_ids:
                kept.append(track)
                continue
            track.missing += 1
            unseen = timestamp - track.seen
            out = track.edge.any() and unseen >= min(EDGE_SECONDS, s.max_missing_seconds)
            if s.grace_over(track.missing, unseen) or out:
                left.append(self._person(track, track.person.xy))
                if out:
                    conf = track.scores >= s.min_keypoint_score
                    center = (track.xy[conf] if conf.any() else track.xy).mean(axis=0)
                    self._exits.append(
                        Exit(track.id, track.slot, track.first_seen, track.seen, center,
                             track.edge, track.where.point)
                    )  # fmt: skip
            else:
                kept.append(track)
                track.person = self._person(track, track.person.xy)

        for track, j in matched:
            self._observe(track, dets[j], det_xy[j], det_conf[j], det_size[j], det_edge[j], timestamp,
                          measured(det_floor, j))  # fmt: skip

        # New people take the lowest free slots, in order of pose score; someone returning
        # where they left through the edge gets their id (and slot, when free) back.
        entered: list[Person] = []
        used = {t.slot for t in kept}
        unmatched_dets.sort(key=lambda j: -dets[j].score)
        for j in unmatched_dets:
            found = measured(det_floor, j)
            back = find_return(self._exits, det_xy[j], det_conf[j],
                               found and found[0], timestamp, self._image_size, s)  # fmt: skip
            slot = back.slot if back is not None and back.slot not in used else 0
            while slot in used:
                slot += 1
            used.add(slot)
            filt = OneEuroFilter(s.min_cutoff, s.beta, s.d_cutoff)
            if back is not None:
                track = _Track(back.id, slot, back.first_seen, filt)
            else:
                track = _Track(self._next_id, slot, timestamp, filt)
                self._next_id += 1
            track.age = 1
            self._observe(track, dets[j], det_xy[j], det_conf[j], det_size[j], det_edge[j], timestamp,
                          measured(det_floor, j))  # fmt: skip
            kept.append(track)
            entered.append(track.person)

        kept.sort(key=lambda t: t.slot)
        self._tracks = kept
        self._people = [t.person for t in kept]
        left.sort(key=lambda p: p.slot)
        entered.sort(key=lambda p: p.slot)
        return TrackUpdate(people=list(self._people), entered=entered, left=left)

    # -- internals -------------------------------------------------------------------------

    def _cost(self, tracks, det_xy, det_scores, det_conf, det_size, timestamp) -> np.ndarray:
        """(T, D) distances in person sizes between predicted tracks and detections."""
        s = self._settings
        trk_xy = np.stack([t.xy for t in tracks])
        if s.predict:
            ahead = np.array([min(max(timestamp - t.seen, 0.0), PREDICT_HORIZON) for t in tracks])
            shift = np.stack([t.velocity for t in tracks]) * ahead[:, None]
            trk_xy = trk_xy + shift[:, None, :]
        trk_scores = np.stack([t.scores for t in tracks]).astype(np.float64)
        trk_conf = trk_scores >= s.min_keypoint_score
        trk_size = np.array([t.size for t in tracks])

        diff = trk_xy[:, None] - det_xy[None]  # (T, D, 17, 2)
        dist = np.sqrt(np.einsum("tdki,tdki->tdk", diff, diff))  # (T, D, 17)
        both = trk_conf[:, None] & det_conf[None]  # (T, D, 17)
        n_both = both.sum(axis=2)
        mean_conf = (dist * both).sum(axis=2) / np.maximum(n_both, 1)
        weight = trk_scores[:, None] * det_scores[None] + 1e-6
        mean_weighted = (dist * weight).sum(axis=2) / weight.sum(axis=2)
        mean = np.where(n_both >= MIN_COMMON_KEYPOINTS, mean_conf, mean_weighted)
        return mean / np.maximum(trk_size[:, None], det_size[None])

    def _observe(self, track: _Track, pose: Pose, xy, conf, size, edge, timestamp, floor) -> None:
        """Take a matched/new detection into ``track`` and build its :class:`Person`."""
        s = self._settings
        track.where.observe(floor, timestamp, track.seen, bool(track.missing), VELOCITY_GAIN)
        if track.observed:  # seen before: update the whole-body velocity
            dt = timestamp - track.seen
            if dt > 0:
                both = conf & (track.scores >= s.min_keypoint_score)
                moved = xy - track.xy
                if both.sum() >= MIN_COMMON_KEYPOINTS:
                    step = moved[both].mean(axis=0)
                else:  # few confident keypoints: weigh every keypoint by both scores
                    weight = track.scores * pose.scores + 1e-6
                    step = (moved * weight[:, None]).sum(axis=0) / weight.sum()
                if track.observed == 1:  # first measurement: take it as it is
                    track.velocity = step / dt
                else:
                    track.velocity += VELOCITY_GAIN * (step / dt - track.velocity)
        if track.missing:  # re-acquired after a dropout: restart smoothing from here
            track.filter.reset()
            track.missing = 0
        height = self._image_size[1]
        outward = float(edge @ track.velocity) >= EDGE_SPEED * height if track.observed else True
        track.edge = edge if outward else np.zeros(2)
        track.xy = xy
        track.scores = frozen_array(pose.scores)  # the people's too: a frozen copy, once
        track.score = float(pose.score)
        track.size = float(size)
        track.seen = timestamp
        track.observed += 1
        raw = frozen_array(pose.xy, np.float32)  # a copy: the pose's array stays the engine's
        if s.smoothing:
            h = self._image_size[1]
            smooth = (track.filter(xy / h, timestamp) * h).astype(np.float32)
        else:
            track.filter.reset()
            smooth = raw
        track.person = self._person(track, smooth, raw)

    def _person(self, track: _Track, xy: np.ndarray, raw: np.ndarray | None = None) -> Person:
        width, height = self._image_size or (1, 1)
        prev = track.person
        return Person(
            id=track.id,
            slot=track.slot,
            score=track.score,
            xy=xy,
            scores=track.scores,
            raw_xy=raw if raw is not None else (prev.raw_xy if prev else xy),
            age=track.age,
            missing=track.missing,
            width=width,
            height=height,
            first_seen=track.first_seen,
            floor=track.where.position(),
        )
