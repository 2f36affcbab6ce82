"""A source that tracks people itself (the MQTT merger's way): the stage hands its people to
plugins as given — ids, slots and floor untouched, no tracker, no mirror — with enter and leave
read from the ids."""

from __future__ import annotations

import time

from posestage.model.floor import FloorPosition
from posestage.sources import Source, SourceFrame
from posestage.testing import person, run_plugin
from posestage.tracking.given import GivenPeople


class GivenSource(Source):
    """Frames of people given as they are (ids and slots chosen here, not by a tracker)."""

    gives_poses = True

    def __init__(self, frames):
        super().__init__()
        self.name = "given"
        self.width, self.height = 640, 480
        self._frames = list(frames)

    def _read(self):
        if not self._frames:
            return None
        people = self._frames.pop(0)
        return SourceFrame(None, time.time(), time.perf_counter(), 640, 480, people=people)


def walker(id, slot, x, floor=None):
    made = person(id, slot, x=x)
    if floor is None:
        return made
    from dataclasses import replace

    return replace(made, floor=FloorPosition(*floor))


class Nothing:
    pass


def test_given_people_reach_plugins_untouched_with_enter_and_leave_from_ids():
    frames = [
        [walker(7, 0, 100, (1.0, 2.0, 0.9, "feet"))],
        [walker(7, 0, 110, (1.1, 2.0, 0.9, "feet")), walker(12, 1, 500)],
        [walker(12, 1, 505)],  # 7 left; 12 keeps slot 1 (the source's promise, not renumbered)
        [walker(12, 1, 510), walker(13, 0, 300)],
        [],
    ]
    run = run_plugin(Nothing(), source=GivenSource(frames), mirror=True)
    assert run.errors == []
    assert [[(p.id, p.slot) for p in f.people] for f in run.frames] == [
        [(7, 0)],
        [(7, 0), (12, 1)],
        [(12, 1)],
        [(13, 0), (12, 1)],
        [],
    ]
    first = run.frames[0].people[0]
    assert first.floor == FloorPosition(1.0, 2.0, 0.9, "feet")
    assert float(first.xy[0, 0]) == float(walker(7, 0, 100).xy[0, 0])  # not mirrored
    assert not run.frames[0].mirrored
    assert run.entered == [(7, 0, 0), (12, 1, 1), (13, 0, 3)]
    assert run.left == [(7, 0, 2), (13, 0, 4), (12, 1, 4)]  # by slot


def test_people_still_given_at_the_end_leave_at_shutdown():
    run = run_plugin(Nothing(), source=GivenSource([[walker(4, 2, 100)], [walker(4, 2, 101)]]))
    assert run.entered == [(4, 2, 0)]
    assert [(pid, slot) for pid, slot, _ in run.left] == [(4, 2)]


def test_given_people_update_and_reset():
    given = GivenPeople()
    update = given.update([walker(3, 1, 10), walker(2, 0, 20)])
    assert [p.id for p in update.people] == [2, 3] and [p.id for p in update.entered] == [2, 3]
    update = given.update([walker(3, 1, 12)])
    assert [p.id for p in update.left] == [2] and update.entered == []
    assert [p.id for p in given.reset()] == [3]
    assert given.people == []
