"""Skeletons readable on any background: the skeleton painter (through its entry point) and
posestage.draw.skeleton, on real pygame surfaces — white, black, small and large canvases."""

from __future__ import annotations

import time

import numpy as np
import pygame
import pytest

from posestage.draw.palette import contrast_ratio
from posestage.host import PluginHost, PluginUse
from posestage.model.frames import PoseFrame
from posestage.model.keypoints import KEYPOINT_INDEX
from posestage.model.people import Person

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


class Context:
    width, height, mirror, privacy, scene = 640, 480, False, False, "test"

    def post(self, message):
        pass


def person(pid=1, slot=0):
    xy = FIGURE.copy()
    scores = np.full(17, 0.9, np.float32)
    return Person(pid, slot, 0.9, xy, scores, xy.copy(), width=640, height=480)


def frame(*people):
    return PoseFrame(0, time.time(), time.perf_counter(), 640, 480, list(people))


@pytest.fixture(scope="module")
def host():
    pygame.init()
    h = PluginHost.load()
    assert "skeleton" in h.plugins, (
        "the built-in plugin is not installed: pip install -e plugins/skeleton"
    )
    yield h
    h.deactivate_all(Context())


def at(canvas, xy):
    return tuple(canvas.get_at((int(xy[0]), int(xy[1]))))[:3]


def mid(a, b):
    pa, pb = FIGURE[KEYPOINT_INDEX[a]], FIGURE[KEYPOINT_INDEX[b]]
    return (pa + pb) / 2


WHITE = (255, 255, 255)


def paint_on(host, the_frame, fill, size=(640, 480), **settings):
    host.activate([PluginUse("skeleton", settings)], Context())
    canvas = pygame.Surface(size)
    canvas.fill(fill)
    host.draw(canvas, the_frame)
    assert [e for e in host.errors if e.startswith("skeleton")] == []
    return canvas


def cross_section(canvas, y, x0, x1):
    """The colours along row ``y`` from ``x0`` to ``x1`` (a cut across a vertical bone)."""
    return [at(canvas, (x, y)) for x in range(x0, x1)]


@pytest.mark.parametrize("pid", range(10))  # every palette colour
def test_bones_stand_out_on_white_and_on_black(host, pid):
    from posestage_skeleton import color_for

    x, y = mid("left_hip", "left_knee")  # a nearly vertical bone
    for fill in (WHITE, BLACK):
        canvas = paint_on(host, frame(person(pid=pid)), fill, radius=0)
        cut = cross_section(canvas, int(y), int(x) - 15, int(x) + 16)
        drawn = [i for i, c in enumerate(cut) if c != fill]
        assert color_for(pid) in cut and drawn, (fill, cut)
        # where the bone meets the background, on both sides, the two contrast strongly: the
        # bright colour on black, the dark outline on white
        for edge in (cut[drawn[0]], cut[drawn[-1]]):
            assert contrast_ratio(edge, fill) >= 4.5, (fill, edge)
            if fill == WHITE:  # and the outline stands out from the bone's own colour
                assert contrast_ratio(edge, color_for(pid)) >= 4.5
    # without the outline the white skeleton vanishes on a white wall (why it exists)
    white = paint_on(host, frame(person(pid=9)), WHITE, radius=0, outline=False)
    cut = cross_section(white, int(y), int(x) - 15, int(x) + 16)
    assert max(contrast_ratio(c, WHITE) for c in cut) < 1.2


def test_labels_on_a_dark_backing_even_on_white(host):
    from posestage_skeleton import color_for

    canvas = paint_on(host, frame(person(pid=9)), WHITE, labels=True, label="both")
    pixels = pygame.surfarray.array3d(canvas)[250:390, 30:88].reshape(-1, 3).astype(int)
    text = np.all(pixels == color_for(9), axis=-1).sum()
    backing = [tuple(p) for p in pixels if max(p) < 100]
    assert text > 20 and len(backing) > 200
    assert contrast_ratio(color_for(9), backing[0]) >= 7


def test_thickness_and_labels_grow_with_the_canvas(host):
    x, y = mid("left_hip", "left_knee")

    def bone_width(canvas, scale):
        cut = cross_section(canvas, int(y * scale), int((x - 30) * scale), int((x + 30) * scale))
        return sum(c != BLACK for c in cut)

    small = paint_on(host, frame(person()), BLACK, radius=0, outline=False)
    big = paint_on(host, frame(person()), BLACK, size=(1920, 1440), radius=0, outline=False)
    assert bone_width(small, 1) == 3
    assert 8 <= bone_width(big, 3) <= 10  # three times the canvas, three times the width
    # a 1440-pixel camera image drawn on its own canvas: the same, thickness follows the image
    tall = Person(1, 0, 0.9, FIGURE * 3, np.full(17, 0.9, np.float32), FIGURE * 3)
    big_frame = PoseFrame(0, time.time(), time.perf_counter(), 1920, 1440, [tall])
    own = paint_on(host, big_frame, BLACK, size=(1920, 1440), radius=0, outline=False)
    assert 8 <= bone_width(own, 3) <= 10

    def label_height(canvas):
        rows = np.any(pygame.surfarray.array3d(canvas) != 0, axis=(0, 2))
        head = int(FIGURE[:, 1].min() * canvas.get_height() / 480)
        return int(rows[:head].sum())

    small = paint_on(host, frame(person()), BLACK, radius=0, labels=True)
    big = paint_on(host, frame(person()), BLACK, size=(1920, 1440), radius=0, labels=True)
    assert label_height(big) > 2 * label_height(small) > 0


def test_style_settings_declare_exactly_the_style():
    from dataclasses import fields

    from posestage.draw.skeleton import STYLE_SETTINGS, SkeletonStyle

    assert [s.name for s in STYLE_SETTINGS] == [f.name for f in fields(SkeletonStyle)]
    defaults = SkeletonStyle.of({s.name: s.default for s in STYLE_SETTINGS})
    assert defaults == SkeletonStyle()
