"""Several stages' people made one: global ids and slots, one person seen twice fused.

Each merged frame gets every live stage's people (*observations*, each keyed by its stage,
the stage's session and the stage's own id). :class:`Fusion` keeps *global tracks*:

1. An observation already linked to a track stays with it (a stage's own ids are stable), as
   long as it is within ``2 × gate`` of where the track's other cameras see it (else the link
   is cut: a stage's tracker swapped two people).
2. Any other observation with a floor position goes to the nearest track within ``gate``
   metres that no observation of the same stage has this frame — and that is not linked to
   another person this stage still sees — best-scored observations first. That is how one
   person seen by two cameras becomes one, and how a walker passing from one camera to the
   next keeps their id: the second camera's first sight of them lands on their track.
3. What is left starts a new track: the next id (never reused) and the lowest free slot (kept
   while the person stays).

A stage's people held through a dropout (``missing > 0``) keep their links but are not
observations. A track no stage observes is held for ``grace`` seconds (``missing`` counts the
merged frames), then leaves and frees its slot. A track's floor position is the score-weighted
mean of its observations; its keypoints are those of its best-scored observation, in that
stage's camera pixels (``width``/``height`` of the person say which size).
Observations without a floor position (an uncalibrated stage) are never fused by distance: each
stays its own track, linked by its stage's id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from posestage import FloorPosition, Person
from posestage_mqtt.wire import StagePerson

__all__ = ["Fusion", "Observation"]

Key = tuple[str, str, int]  # (stage, session, the stage's person id)


@dataclass(frozen=True, slots=True)
class Observation:
    """One stage's person in a merged frame."""

    stage: str
    session: str
    person: StagePerson
    width: int
    height: int

    @property
    def key(self) -> Key:
        return (self.stage, self.session, self.person.id)


@dataclass(eq=False)
class _Track:
    id: int
    slot: int
    first_seen: float
    last_seen: float
    x: float | None = None
    y: float | None = None
    age: int = 0
    missing: int = 0
    links: set[Key] = field(default_factory=set)
    best: Observation | None = None
    floor_score: float = 0.0
    basis: str = "feet"


def _distance(obs: Observation, x: float | None, y: float | None) -> float:
    floor = obs.person.floor
    if floor is None or x is None or y is None:
        return math.inf
    return math.hypot(floor.x - x, floor.y - y)


class Fusion:
    """Global tracks across stages (see the module docstring)."""

    def __init__(self, gate: float = 0.8, grace: float = 1.0) -> None:
        self.gate = float(gate)
        self.grace = float(grace)
        self._next_id = 1
        self._tracks: list[_Track] = []
        self._links: dict[Key, _Track] = {}

    @property
    def tracks(self) -> int:
        return len(self._tracks)

    def update(self, observations: list[Observation], t: float) -> tuple[list[Person], list[int]]:
        """The merged people at merged time ``t`` (ordered by slot) and the ids that left."""
        present = {o.key for o in observations}
        seen = [o for o in observations if o.person.missing == 0]
        taken: dict[int, list[Observation]] = {}  # track id → its observations this frame
        stages: dict[int, set[str]] = {}
        by_id = {tr.id: tr for tr in self._tracks}

        def assign(tr: _Track, obs: Observation) -> None:
            taken.setdefault(tr.id, []).append(obs)
            stages.setdefault(tr.id, set()).add(obs.stage)
            tr.links.add(obs.key)
            self._links[obs.key] = tr

        rest = []
        for obs in seen:  # 1: linked observations stay with their track
            tr = self._links.get(obs.key)
            if tr is not None and obs.stage not in stages.get(tr.id, ()):
                far = _distance(obs, tr.x, tr.y) > 2 * self.gate
                if not far or obs.person.floor is None or tr.x is None:
                    assign(tr, obs)
                    continue
            if tr is not None:  # cut: the stage's id no longer means this track
                tr.links.discard(obs.key)
                del self._links[obs.key]
            rest.append(obs)
        for tid, found in taken.items():
            self._place(by_id[tid], found)

        rest.sort(key=lambda o: -o.person.score)
        for obs in rest:  # 2: fuse by floor position within the gate; 3: else a new track
            best, best_d = None, self.gate
            if obs.person.floor is not None:
                for tr in self._tracks:
                    if obs.stage in stages.get(tr.id, ()) or any(
                        k[0] == obs.stage and k != obs.key and k in present for k in tr.links
                    ):
                        continue
                    d = _distance(obs, tr.x, tr.y)
                    if d <= best_d:
                        best, best_d = tr, d
            if best is None:
                best = self._new_track(t)
                by_id[best.id] = best
            assign(best, obs)
            self._place(best, taken[best.id])

        left = []
        keep = []
        for tr in self._tracks:
            tr.age += 1
            if tr.id in taken:
                tr.missing, tr.last_seen = 0, t
                keep.append(tr)
            elif t - tr.last_seen > self.grace:
                left.append(tr.id)
                for key in tr.links:
                    if self._links.get(key) is tr:
                        del self._links[key]
            else:
                tr.missing += 1
                keep.append(tr)
        self._tracks = sorted(keep, key=lambda tr: tr.slot)
        return [self._person(tr) for tr in self._tracks if tr.best is not None], left

    def reset(self) -> None:
        """Forget every track (ids keep counting up)."""
        self._tracks, self._links = [], {}

    # -- internals ---------------------------------------------------------------------------

    def _new_track(self, t: float) -> _Track:
        used = {tr.slot for tr in self._tracks}
        slot = next(s for s in range(len(used) + 1) if s not in used)
        tr = _Track(id=self._next_id, slot=slot, first_seen=t, last_seen=t)
        self._next_id += 1
        self._tracks.append(tr)
        return tr

    @staticmethod
    def _place(tr: _Track, found: list[Observation]) -> None:
        """The track's floor position and best view from this frame's observations."""
        tr.best = max(found, key=lambda o: o.person.score)
        floors = [o.person.floor for o in found if o.person.floor is not None]
        if floors:
            weights = [max(f.score, 1e-3) for f in floors]
            total = sum(weights)
            tr.x = sum(f.x * w for f, w in zip(floors, weights)) / total
            tr.y = sum(f.y * w for f, w in zip(floors, weights)) / total
            top = max(floors, key=lambda f: f.score)
            tr.floor_score, tr.basis = top.score, top.basis

    def _person(self, tr: _Track) -> Person:
        obs = tr.best
        assert obs is not None
        p = obs.person
        floor = None
        if tr.x is not None and tr.y is not None:
            floor = FloorPosition(float(tr.x), float(tr.y), float(tr.floor_score), tr.basis)
        return Person(
            id=tr.id,
            slot=tr.slot,
            score=float(p.score),
            xy=p.xy,
            scores=p.scores,
            raw_xy=p.xy,
            age=tr.age,
            missing=tr.missing,
            width=obs.width,
            height=obs.height,
            first_seen=tr.first_seen,
            floor=floor,
        )
