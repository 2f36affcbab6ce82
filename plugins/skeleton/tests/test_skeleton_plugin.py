"""The built-in skeleton painter, run by the real stage (posestage.testing): real pixels."""

from __future__ import annotations

import time

import numpy as np
import pygame
import pytest

from posestage import KEYPOINT_INDEX, Pose, SceneError, validate
from posestage.testing import (
    SAMPLE_POSES,
    SyntheticPeople,
    frame,
    installed_plugin,
    person,
    run_plugin,
)

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


def pose(dx=0.0, low=()):
    scores = np.full(17, 0.9, np.float32)
    for name in low:
        scores[KEYPOINT_INDEX[name]] = 0.1
    return Pose(0.9, FIGURE + np.float32([dx, 0]), scores)


def paint(*poses, frames=1, gone_after=None, **options):
    """Run the stage on ``poses`` (the same every frame; nobody after frame ``gone_after``)
    with the skeleton plugin; return (canvas, the last frame)."""

    def people(i):
        return [] if gone_after is not None and i > gone_after else list(poses)

    settings = {k: options.pop(k) for k in list(options) if k not in ("mirror", "tracking")}
    run = run_plugin("skeleton", settings, source=SyntheticPeople(people, frames=frames), **options)
    assert run.errors == []
    assert run.canvas_frame == frames - 1
    return run.canvas, run.frames[-1]


def at(canvas, xy):
    return tuple(int(v) for v in canvas[int(xy[1]), int(xy[0])])


def mid(a, b):
    pa, pb = FIGURE[KEYPOINT_INDEX[a]], FIGURE[KEYPOINT_INDEX[b]]
    return (pa + pb) / 2


def test_discovered_through_its_entry_point():
    from posestage_skeleton import plugin

    info = installed_plugin("skeleton")
    assert info.loaded and info.origin == "entry point" and info.plugin is plugin
    assert info.distribution == "posestage-skeleton" and info.builtin and info.version == "0.1.0"
    assert set(info.hooks) >= {"posestage_settings", "posestage_configure", "posestage_draw"}
    assert [s.name for s in info.settings] == [
        "thickness", "radius", "threshold", "color_by", "labels", "label", "missing", "outline",
    ]  # fmt: skip
    assert installed_plugin("skeleton", safe=True).loaded  # built in: loaded in --safe mode too


def test_keypoints_and_bones_in_the_person_colour():
    from posestage_skeleton import color_for

    canvas, frame = paint(pose())
    (person,) = frame.people
    assert np.allclose(person.xy, FIGURE)  # the first frame of a track is not smoothed
    colour = color_for(person.id)
    assert at(canvas, FIGURE[KEYPOINT_INDEX["left_shoulder"]]) == colour
    assert at(canvas, mid("left_shoulder", "right_shoulder")) == colour  # a bone
    assert at(canvas, mid("left_hip", "left_knee")) == colour
    assert at(canvas, (100, 100)) == BLACK  # nothing elsewhere
    assert at(canvas, mid("left_shoulder", "right_hip")) == BLACK  # no bone across the chest


def test_low_score_keypoints_and_their_bones_are_not_drawn():
    canvas, _ = paint(pose(low=("left_wrist",)), threshold=0.5)
    assert at(canvas, FIGURE[KEYPOINT_INDEX["left_wrist"]]) == BLACK
    assert at(canvas, mid("left_elbow", "left_wrist")) == BLACK
    assert at(canvas, mid("right_elbow", "right_wrist")) != BLACK
    canvas, _ = paint(pose(low=("left_wrist",)), threshold=0.05)
    assert at(canvas, mid("left_elbow", "left_wrist")) != BLACK


def test_each_person_gets_a_stable_palette_colour():
    from posestage_skeleton import PALETTE, color_for

    assert len(set(PALETTE)) == len(PALETTE)
    shoulder = FIGURE[KEYPOINT_INDEX["left_shoulder"]]
    canvas, frame = paint(pose(dx=-200), pose(dx=200), frames=3)
    left, right = sorted(frame.people, key=lambda p: p.xy[0, 0])
    assert left.id != right.id
    assert at(canvas, shoulder + (-200, 0)) == color_for(left.id)
    assert at(canvas, shoulder + (200, 0)) == color_for(right.id)
    canvas, frame = paint(pose(dx=-200), pose(dx=200), color_by="slot")
    left, right = sorted(frame.people, key=lambda p: p.xy[0, 0])
    assert at(canvas, shoulder + (-200, 0)) == color_for(left.slot)
    assert at(canvas, shoulder + (200, 0)) == color_for(right.slot)


def test_mirrored_frames_are_drawn_as_given():
    """The stage mirrors coordinates before plugins see them: the painter must not flip again."""
    from posestage_skeleton import color_for

    canvas, frame = paint(pose(dx=-150), mirror=True)  # the figure is symmetric: move it
    assert frame.mirrored
    wrist = FIGURE[KEYPOINT_INDEX["left_wrist"]] - (150, 0)
    assert at(canvas, (639 - wrist[0], wrist[1])) == color_for(frame.people[0].id)
    assert at(canvas, wrist) == BLACK


def test_people_in_a_dropout_dimmed_or_hidden():
    from posestage_skeleton import color_for

    shoulder = FIGURE[KEYPOINT_INDEX["left_shoulder"]]
    canvas, frame = paint(pose(), frames=2, gone_after=0)
    assert frame.people[0].missing == 1
    assert at(canvas, shoulder) == tuple(c // 2 for c in color_for(1))
    canvas, _ = paint(pose(), frames=2, gone_after=0, missing="hide")
    assert at(canvas, shoulder) == BLACK
    canvas, _ = paint(pose(), frames=2, gone_after=0, missing="show")
    assert at(canvas, shoulder) == color_for(1)


def test_labels_written_above_the_head():
    from posestage_skeleton import color_for

    canvas, _ = paint(pose(), labels=True, label="both")
    above_head = canvas[40:88, 250:390]  # the eyes are the top keypoints, at y = 90
    assert np.all(above_head == color_for(1), axis=-1).sum() > 20
    canvas, _ = paint(pose(), labels=False)
    assert not canvas[40:85, 250:390].any()


def test_thickness_setting():
    x, y = mid("left_hip", "left_knee")  # a nearly vertical bone
    thin, _ = paint(pose(), thickness=1, radius=0)
    thick, _ = paint(pose(), thickness=9, radius=0)

    def width(canvas):
        return sum(at(canvas, (x + d, y)) != BLACK for d in range(-10, 11))

    assert width(thin) <= 2 and width(thick) >= 8


def test_a_recorded_stream_draws_both_people():
    from posestage_skeleton import color_for

    run = run_plugin("skeleton", {"color_by": "slot"}, source=SAMPLE_POSES, frames=20)
    assert run.errors == [] and run.people[-1] == 2
    colours = {tuple(c) for c in run.canvas.reshape(-1, 3)[::7]}
    assert {color_for(0), color_for(1)} <= colours


def test_a_canvas_of_another_size_is_scaled():
    """The stage's canvas is the frame's size; a plugin embedding the painter may not be."""
    from posestage_skeleton import SETTINGS, SkeletonPainter, color_for

    pygame.init()
    painter = SkeletonPainter()
    painter.posestage_configure(validate({}, SETTINGS, "plugins.skeleton"))
    xy = FIGURE.copy()
    scores = np.full(17, 0.9, np.float32)
    the_frame = frame(0, [person(2, 0, xy=xy, scores=scores)], timestamp=time.time())
    canvas = pygame.Surface((320, 240))
    painter.posestage_draw(canvas, the_frame)
    pixels = pygame.surfarray.array3d(canvas).transpose(1, 0, 2)
    shoulder = FIGURE[KEYPOINT_INDEX["left_shoulder"]] / 2
    assert at(pixels, shoulder) == color_for(2)
    assert at(pixels, mid("left_hip", "left_knee") / 2) == color_for(2)


@pytest.mark.parametrize("bad", [{"thickness": 0}, {"color_by": "age"}])
def test_bad_settings_are_refused_at_start(bad):
    with pytest.raises(SceneError, match=r"plugins\.skeleton\."):
        run_plugin("skeleton", bad)
