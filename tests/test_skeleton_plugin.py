"""The built-in skeleton painter: found through its entry point, draws real pixels."""

from __future__ import annotations

import time

import numpy as np
import pygame
import pytest
from fakes import context

from posestage.frames import Person, PoseFrame
from posestage.keypoints import KEYPOINT_INDEX
from posestage.plugins import PluginHost, PluginUse

BLACK = (0, 0, 0)
# A standing person, (x, y) image pixels, COCO order.
FIGURE = np.array(
    [
        (320, 100), (330, 90), (310, 90), (340, 95), (300, 95),  # face
        (360, 160), (280, 160), (380, 220), (260, 220), (390, 280), (250, 280),  # arms
        (350, 300), (290, 300), (355, 380), (285, 380), (360, 450), (280, 450),  # legs
    ],
    dtype=np.float32,
)  # fmt: skip


def person(pid=1, slot=0, dx=0.0, missing=0, low=()):
    xy = FIGURE + np.float32([dx, 0])
    scores = np.full(17, 0.9, np.float32)
    for name in low:
        scores[KEYPOINT_INDEX[name]] = 0.1
    return Person(pid, slot, 0.9, xy, scores, xy.copy(), missing=missing, width=640, height=480)


def frame(*people, mirrored=False):
    return PoseFrame(0, time.time(), time.perf_counter(), 640, 480, list(people), mirrored=mirrored)


@pytest.fixture(scope="module")
def host():
    pygame.init()
    h = PluginHost.load()
    assert "skeleton" in h.plugins, (
        "the built-in plugin is not installed: pip install -e plugins/skeleton"
    )
    yield h
    h.deactivate_all(context())


def paint(host, the_frame, size=(640, 480), **settings):
    host.activate([PluginUse("skeleton", settings)], context())
    canvas = pygame.Surface(size)
    canvas.fill(BLACK)
    host.draw(canvas, the_frame)
    assert [e for e in host.errors if e.startswith("skeleton")] == []
    return canvas


def at(canvas, xy):
    return tuple(canvas.get_at((int(xy[0]), int(xy[1]))))[:3]


def mid(a, b):
    pa, pb = FIGURE[KEYPOINT_INDEX[a]], FIGURE[KEYPOINT_INDEX[b]]
    return (pa + pb) / 2


def test_discovered_through_its_entry_point(host):
    info = host.plugins["skeleton"]
    assert info.loaded and info.origin == "entry point"
    assert info.distribution == "posestage-skeleton" and info.builtin and info.version == "0.1.0"
    assert set(info.hooks) >= {"posestage_settings", "posestage_configure", "posestage_draw"}
    assert [s.name for s in info.settings] == [
        "thickness", "radius", "threshold", "color_by", "labels", "label", "missing", "outline",
    ]  # fmt: skip
    safe = PluginHost.load(safe=True)
    assert safe.plugins["skeleton"].loaded  # built in: loaded in --safe mode too


def test_keypoints_and_bones_in_the_person_colour(host):
    from posestage_skeleton import color_for

    canvas = paint(host, frame(person(pid=1)))
    colour = color_for(1)
    assert at(canvas, FIGURE[KEYPOINT_INDEX["left_shoulder"]]) == colour
    assert at(canvas, mid("left_shoulder", "right_shoulder")) == colour  # a bone
    assert at(canvas, mid("left_hip", "left_knee")) == colour
    assert at(canvas, (100, 100)) == BLACK  # nothing elsewhere
    assert at(canvas, mid("left_shoulder", "right_hip")) == BLACK  # no bone across the chest


def test_low_score_keypoints_and_their_bones_are_not_drawn(host):
    canvas = paint(host, frame(person(low=("left_wrist",))), threshold=0.5)
    assert at(canvas, FIGURE[KEYPOINT_INDEX["left_wrist"]]) == BLACK
    assert at(canvas, mid("left_elbow", "left_wrist")) == BLACK
    assert at(canvas, mid("right_elbow", "right_wrist")) != BLACK
    canvas = paint(host, frame(person(low=("left_wrist",))), threshold=0.05)
    assert at(canvas, mid("left_elbow", "left_wrist")) != BLACK


def test_each_person_gets_a_stable_palette_colour(host):
    from posestage_skeleton import PALETTE, color_for

    assert len(set(PALETTE)) == len(PALETTE)
    one, two = person(pid=4, slot=1, dx=-200), person(pid=5, slot=0, dx=200)
    canvas = paint(host, frame(one, two))
    left_of = FIGURE[KEYPOINT_INDEX["left_shoulder"]]
    assert at(canvas, left_of + (-200, 0)) == color_for(4)
    assert at(canvas, left_of + (200, 0)) == color_for(5)
    assert color_for(4) != color_for(5)
    canvas = paint(host, frame(one, two), color_by="slot")
    assert at(canvas, left_of + (-200, 0)) == color_for(1)
    assert at(canvas, left_of + (200, 0)) == color_for(0)


def test_canvas_of_another_size_is_scaled(host):
    canvas = paint(host, frame(person(pid=2)), size=(320, 240))
    from posestage_skeleton import color_for

    shoulder = FIGURE[KEYPOINT_INDEX["left_shoulder"]] / 2
    assert at(canvas, shoulder) == color_for(2)
    assert at(canvas, mid("left_hip", "left_knee") / 2) == color_for(2)


def test_mirrored_frames_are_drawn_as_given(host):
    """The stage mirrors coordinates before plugins see them: the painter must not flip again."""
    from posestage_skeleton import color_for

    canvas = paint(host, frame(person(pid=3), mirrored=True))
    assert at(canvas, FIGURE[KEYPOINT_INDEX["left_wrist"]]) == color_for(3)


def test_people_in_a_dropout_dimmed_or_hidden(host):
    from posestage_skeleton import color_for

    shoulder = FIGURE[KEYPOINT_INDEX["left_shoulder"]]
    canvas = paint(host, frame(person(pid=1, missing=2)))
    assert at(canvas, shoulder) == tuple(c // 2 for c in color_for(1))
    canvas = paint(host, frame(person(pid=1, missing=2)), missing="hide")
    assert at(canvas, shoulder) == BLACK
    canvas = paint(host, frame(person(pid=1, missing=2)), missing="show")
    assert at(canvas, shoulder) == color_for(1)


def test_labels_written_above_the_head(host):
    from posestage_skeleton import color_for

    canvas = paint(host, frame(person(pid=6)), labels=True, label="both")
    pixels = pygame.surfarray.array3d(canvas)  # (W, H, 3)
    above_head = pixels[250:390, 40:88]  # the eyes are the top keypoints, at y = 90
    assert np.all(above_head == color_for(6), axis=-1).sum() > 20
    canvas = paint(host, frame(person(pid=6)), labels=False)
    assert not pygame.surfarray.array3d(canvas)[250:390, 40:85].any()


def test_thickness_setting(host):
    x, y = mid("left_hip", "left_knee")  # a nearly vertical bone
    thin = paint(host, frame(person()), thickness=1, radius=0)
    thick = paint(host, frame(person()), thickness=9, radius=0)

    def width(canvas):
        return sum(at(canvas, (x + d, y)) != BLACK for d in range(-10, 11))

    assert width(thin) <= 2 and width(thick) >= 8
