"""The empty room, the stage's: decided from the tracker's people, kept in memory, never a person.

:class:`~posestage.stage.room.EmptyRoom` alone (frame time, so nothing waits on the clock) and
its :class:`~posestage.stage.room.Backdrop` on real pygame surfaces (SDL dummy driver).
"""

from __future__ import annotations

import numpy as np
import pygame
import pytest

from posestage.stage.room import NO_IMAGE, WAITING, Backdrop, EmptyRoom

W, H = 64, 48
T0 = 1_700_000_000.0


def room(seed=0):
    return np.random.default_rng(seed).integers(30, 226, size=(H, W, 3), dtype=np.uint8)


def feed(r: EmptyRoom, people: list[int], image=None, start=0, **kw):
    image = room() if image is None else image
    for i, n in enumerate(people, start):
        r.see(image, n, T0 + i / 30, **kw)


def test_nobody_for_the_wait_takes_that_frame_as_a_private_immutable_copy():
    r = EmptyRoom(wait=0.5)
    feed(r, [1] * 10 + [0] * 14)  # nobody for 13/30 s: not yet
    assert r.plate is None
    feed(r, [1], start=24)  # somebody (or a ghost in its grace: the tracker counts it)
    feed(r, [0] * 15, start=25)  # 14/30 s after frame 25
    assert r.plate is None
    image = room(1)
    assert r.see(image, 0, T0 + 40 / 30)  # 15/30 s = 0.5 s: taken
    assert np.array_equal(r.plate, image) and not np.shares_memory(r.plate, image)
    with pytest.raises(ValueError):
        r.plate[0, 0] = 0
    with pytest.raises(ValueError):
        r.plate.flags.writeable = True
    feed(r, [2] * 30, image=room(2), start=41)  # later frames, with people, change nothing
    assert np.array_equal(r.plate, image) and r.locked_at == pytest.approx(T0 + 40 / 30)


def test_a_room_with_people_never_becomes_the_plate():
    r = EmptyRoom(wait=0.0)
    feed(r, [1, 2, 1, 3] * 100)
    assert r.plate is None and r.waited(T0 + 10) == 0.0


@pytest.mark.parametrize(
    "change",
    ["recapture", "not wanted", "strict privacy", "no pixels", "new size", "mirror switched"],
)
def test_the_plate_is_forgotten(change):
    r = EmptyRoom(wait=0.0)
    feed(r, [0])
    assert r.plate is not None and r.wanted and r.pixels
    version = r.version
    if change == "recapture":
        r.recapture()
    elif change == "not wanted":
        r.see(room(), 0, T0 + 1, wanted=False)
    elif change == "strict privacy":
        r.see(room(), 0, T0 + 1, allowed=False)
    elif change == "no pixels":
        r.see(None, 0, T0 + 1)
    elif change == "new size":
        r.see(room()[:, :32], 1, T0 + 1)
    else:
        r.see(room(), 1, T0 + 1, mirrored=True)
    assert r.plate is None and r.version != version


@pytest.fixture(scope="module", autouse=True)
def _pygame():
    pygame.init()
    yield


class Frame:
    def __init__(self, image=None):
        self.image, self.width, self.height = image, W, H


def pixels(surface):
    return pygame.surfarray.array3d(surface).swapaxes(0, 1)


def test_the_backdrop_live_the_room_waiting_or_black():
    r = EmptyRoom(wait=0.0)
    private = [False]
    backdrop = Backdrop(r, lambda: private[0])
    live = room(5)
    assert np.array_equal(pixels(backdrop(Frame(live))), live)  # not private: the live image
    assert backdrop(Frame()) is None
    private[0] = True
    assert backdrop(Frame(live)) is None  # private, nobody wants the room: black
    r.see(room(), 2, T0)  # wanted, people in view
    waiting = pixels(backdrop(Frame()))
    assert not waiting.any() and backdrop.notice == WAITING  # black; the window says why
    r.see(None, 0, T0)  # a replay: no pixels to take the room from
    assert not pixels(backdrop(Frame())).any() and backdrop.notice == NO_IMAGE
    r.see(room(), 0, T0 + 1)
    assert np.array_equal(pixels(backdrop(Frame(live))), room())  # the room, never live
    r.see(room(), 0, T0 + 2, allowed=False)  # strict privacy: nothing of the camera
    assert r.plate is None and not np.all(pixels(backdrop(Frame())) == room(), axis=-1).any()
    assert WAITING != NO_IMAGE
