"""Frames nobody can change: what a plugin receives is immutable.

A plugin that tries every mutation it plausibly could — assigning attributes, ``people[:] =``,
``people.append``, writing keypoint arrays, making them writeable again, ``np.asarray`` and
writing — changes nothing: the plugin after it gets the original frame, the stage's first
plugin kept the original, and the tracker's next frames come out as in a run without it.
(``object.__setattr__`` on a frozen dataclass is out of scope: Python cannot stop it, and no
plugin writes it by accident.)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from posestage import Person, PoseFrame, hookimpl
from posestage import testing as kit
from posestage.model.synthetic import standing_person
from posestage.testing import SyntheticPeople, run_plugins
from posestage.tracking.tracker import Tracker

ARRAYS = ("xy", "raw_xy", "scores")


def attempts_on_person(p: Person) -> dict:
    """Every mutation of a person a plugin could plausibly try: name → callable."""
    tries = {
        "person.xy =": lambda: setattr(p, "xy", np.zeros((17, 2), np.float32)),
        "person.score =": lambda: setattr(p, "score", 0.0),
        "person.slot =": lambda: setattr(p, "slot", 9),
        "person.missing =": lambda: setattr(p, "missing", 5),
        "del person.id": lambda: delattr(p, "id"),
        "vars(person)[xy] =": lambda: vars(p).__setitem__("xy", np.zeros((17, 2))),
    }
    for name in ARRAYS:

        def write(a=name):
            getattr(p, a)[...] = 0

        def writeable(a=name):
            getattr(p, a).setflags(write=True)
            getattr(p, a)[...] = 0

        def flag(a=name):
            getattr(p, a).flags.writeable = True
            getattr(p, a)[...] = 0

        def asarray(a=name):
            np.asarray(getattr(p, a))[...] = 0

        def base(a=name):
            owner = getattr(p, a).base
            while isinstance(owner, np.ndarray) and not owner.flags.writeable:
                owner.setflags(write=True)
            if owner is None or isinstance(owner, (bytes, memoryview)):
                raise TypeError("no writeable owner")
            np.frombuffer(owner, np.uint8)[...] = 0

        def inplace(a=name):
            arr = getattr(p, a)
            arr += 1

        tries |= {
            f"person.{name}[...] =": write,
            f"person.{name}.setflags(write=True)": writeable,
            f"person.{name}.flags.writeable = True": flag,
            f"np.asarray(person.{name})[...] =": asarray,
            f"person.{name}.base written": base,
            f"person.{name} +=": inplace,
        }
    return tries


def attempts_on_frame(frame: PoseFrame) -> dict:
    """Every mutation of a frame (and its people) a plugin could plausibly try."""
    first = frame.people[0] if frame.people else None
    tries = {
        "frame.people = []": lambda: setattr(frame, "people", []),
        "frame.people[:] = []": lambda: frame.people.__setitem__(slice(None), []),
        "frame.people.append": lambda: frame.people.append(first),
        "frame.people.clear()": lambda: frame.people.clear(),
        "frame.people.sort()": lambda: frame.people.sort(key=lambda p: -p.slot),
        "del frame.people[0]": lambda: frame.people.__delitem__(0),
        "frame.people += [...]": lambda: frame.people.__iadd__([first]),
        "frame.index =": lambda: setattr(frame, "index", -5),
        "frame.fps =": lambda: setattr(frame, "fps", 0.0),
        "frame.image = None": lambda: setattr(frame, "image", None),
        "frame.width =": lambda: setattr(frame, "width", 1),
        "vars(frame)[people] =": lambda: vars(frame).__setitem__("people", []),
    }
    if frame.image is not None:
        image = frame.image

        def image_write():
            image[...] = 0

        def image_writeable():
            image.setflags(write=True)
            image[...] = 0

        def image_asarray():
            np.asarray(image)[...] = 0

        tries |= {
            "frame.image[...] =": image_write,
            "frame.image.setflags(write=True)": image_writeable,
            "np.asarray(frame.image)[...] =": image_asarray,
        }
    return tries


class Meddler:
    """Tries every mutation on everything it is handed; keeps the names of those that took."""

    PLUGIN_NAME = "meddler"

    def __init__(self) -> None:
        self.took: set[str] = set()
        self.tried = 0

    def _try(self, tries: dict) -> None:
        for name, attempt in tries.items():
            self.tried += 1
            try:
                attempt()
            except Exception:  # noqa: BLE001 - refused: what we hope for
                continue
            self.took.add(name)

    def _all(self, frame: PoseFrame, *people: Person) -> None:
        for p in (*people, *frame.people):
            self._try(attempts_on_person(p))
        self._try(attempts_on_frame(frame))

    @hookimpl
    def posestage_person_enter(self, person, frame):
        self._all(frame, person)

    @hookimpl
    def posestage_person_leave(self, person, frame):
        self._all(frame, person)

    @hookimpl
    def posestage_frame(self, frame):
        self._all(frame)

    @hookimpl
    def posestage_draw(self, frame):
        self._all(frame)


def seen(frame: PoseFrame) -> tuple:
    """What a frame says, as plain values (copies)."""
    people = tuple(
        (p.id, p.slot, p.score, p.missing, p.age, *(getattr(p, a).tolist() for a in ARRAYS))
        for p in frame.people
    )
    image = None if frame.image is None else frame.image.tobytes()
    return (frame.index, frame.width, frame.height, frame.timestamp, people, image)


class Checker:
    """The plugin after the meddler: keeps what it got, as plain values, when it got it."""

    PLUGIN_NAME = "checker"

    def __init__(self) -> None:
        self.frames: list[tuple] = []
        self.enters: list[tuple] = []
        self.leaves: list[tuple] = []

    @hookimpl
    def posestage_person_enter(self, person, frame):
        self.enters.append((person.id, person.slot, frame.index, person.xy.tolist()))

    @hookimpl
    def posestage_person_leave(self, person, frame):
        self.leaves.append((person.id, person.slot, frame.index, person.xy.tolist()))

    @hookimpl
    def posestage_frame(self, frame):
        self.frames.append(seen(frame))


def comings_and_goings(i: int):
    """Two people; the second drops out for a few frames (held by the tracker with its last
    position: the meddler's writes would move it), then leaves for good."""
    people = [standing_person(200.0 + 2 * i, 440.0, 330.0)]
    if i < 12 or 16 <= i < 30:
        people.append(standing_person(460.0 - i, 440.0, 330.0))
    return people


def source(frames: int = 75) -> SyntheticPeople:
    return SyntheticPeople(comings_and_goings, frames=frames)


def test_a_plugin_cannot_change_what_the_stage_or_another_plugin_sees():
    meddler, checker = Meddler(), Checker()
    run = run_plugins([meddler, checker], source=source())
    assert run.errors == []
    reference = Checker()
    clean = run_plugins([reference], source=source())
    assert clean.errors == []

    assert meddler.tried > 1000
    assert sorted(meddler.took) == []  # every mutation refused
    # the plugin after the meddler got exactly what a plugin gets without it: the same people
    # in the same places, entering and leaving on the same frames — so the tracker's later
    # frames (held positions, matching) were not touched either
    assert len(checker.frames) == len(reference.frames) == 75
    assert checker.frames == reference.frames
    assert checker.enters == reference.enters and len(checker.enters) == 2
    assert checker.leaves == reference.leaves and len(checker.leaves) == 2  # at 60, at the end
    # the stage's first plugin keeps the frames it was handed: unchanged afterwards
    assert [seen(f) for f in run.frames] == reference.frames


def test_nobody_changes_the_image_a_plugin_gets():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    meddler, checker = Meddler(), Checker()
    kit.shared_models()
    run = run_plugins([meddler, checker], source=image.copy(), frames=3)
    assert run.errors == []
    assert sorted(meddler.took) == []
    assert [f[5] for f in checker.frames] == [image.tobytes()] * 3


def test_people_and_frames_are_frozen_with_read_only_arrays_of_their_own():
    xy = kit.standing_xy(320.0, 460.0, 400.0)
    scores = np.full(17, 0.9, np.float32)
    p = Person(1, 0, 0.9, xy, scores, xy)
    xy[0] = 5.0  # the caller keeps writing its own arrays: the person does not change
    scores[:] = 0.0
    assert p.xy[0].tolist() != [5.0, 5.0] and p.scores.tolist() == [pytest.approx(0.9)] * 17
    for name in ARRAYS:
        array = getattr(p, name)
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array.setflags(write=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.xy = xy
    f = PoseFrame(0, 1.0, 2.0, 640, 480, [p], fps=30.0, latency_ms=4.0)
    assert isinstance(f.people, tuple) and f.people == (p,) and f.fps == 30.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.fps = 0.0
    # a changed copy is made, never an edit: dataclasses.replace
    moved = dataclasses.replace(p, xy=np.zeros((17, 2), np.float32))
    assert moved.xy.sum() == 0 and p.xy.sum() > 0 and not moved.xy.flags.writeable


def test_the_testing_kit_builds_frames_as_the_stage_does():
    f = kit.frame(
        3, [kit.person(1, 0), kit.person(2, 1, x=100.0)], image=np.zeros((4, 4, 3), np.uint8)
    )
    assert isinstance(f.people, tuple)
    assert all(not getattr(p, a).flags.writeable for p in f.people for a in ARRAYS)
    assert not f.image.flags.writeable
    (tracked, *_), *_ = kit.track([[kit.standing_xy(320.0, 460.0, 400.0)]])
    assert isinstance(tracked.people, tuple) and not tracked.people[0].xy.flags.writeable


def test_the_tracker_hands_out_no_array_of_its_own():
    tracker = Tracker()
    pose = standing_person(320.0, 460.0, 400.0)
    first = tracker.update([pose], 640, 480, 0.0).people[0]
    for name in ARRAYS:
        assert not np.shares_memory(
            getattr(first, name), pose.xy if name != "scores" else pose.scores
        )
    pose.xy[...] = 0.0  # the engine's array, reused: the person handed out keeps its values
    pose.scores[...] = 0.0
    assert first.xy.sum() > 0 and first.scores.sum() > 0
    held = tracker.update([], 640, 480, 1 / 30).people[0]  # a dropout: the last position held
    assert held.missing == 1 and held.xy.tolist() == first.xy.tolist()
