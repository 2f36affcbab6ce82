"""People a source tracked itself (the MQTT merger): who entered and who left, read from ids.

A source that follows people on its own hands the stage finished :class:`Person` objects
(``SourceFrame.people``) instead of poses. :class:`GivenPeople` stands where the
:class:`~posestage.tracking.tracker.Tracker` stands for other sources: it keeps the last frame's
people and turns each new frame into the same :class:`TrackUpdate` — ``entered`` the ids not
there before, ``left`` the ids no longer there (as last seen) — so plugins get the same hooks in
the same order whoever tracked. The source keeps the tracker's promises (an id is never reused,
a slot is kept while its person stays); :class:`GivenPeople` does not renumber anyone.
"""

from __future__ import annotations

from collections.abc import Iterable

from posestage.model.people import Person
from posestage.tracking.tracker import TrackUpdate

__all__ = ["GivenPeople"]


class GivenPeople:
    """The people of the last frame a people-giving source handed over, by id."""

    def __init__(self) -> None:
        self._people: dict[int, Person] = {}

    @property
    def people(self) -> list[Person]:
        """Everyone given in the last frame, ordered by slot."""
        return sorted(self._people.values(), key=lambda p: (p.slot, p.id))

    def update(self, people: Iterable[Person]) -> TrackUpdate:
        """This frame's people: who is here (ordered by slot), who is new, who is gone."""
        now: dict[int, Person] = {}
        for person in people:
            now.setdefault(int(person.id), person)  # one person per id, the first given
        entered = [p for i, p in now.items() if i not in self._people]
        left = [p for i, p in self._people.items() if i not in now]
        self._people = now
        order = lambda p: (p.slot, p.id)  # noqa: E731
        return TrackUpdate(
            people=sorted(now.values(), key=order),
            entered=sorted(entered, key=order),
            left=sorted(left, key=order),
        )

    def reset(self) -> list[Person]:
        """Forget everyone; returns who was there (ordered by slot), to tell plugins they left."""
        gone = self.people
        self._people = {}
        return gone
