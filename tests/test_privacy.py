"""Privacy never fails open: a plugin trying every route it has to camera pixels reaches none.

Real stages (window on SDL's dummy driver) on camera-like frames of one distinct colour: the
"anonymizer" asks for privacy and then crashes, is disabled, or is reconfigured live; the
"snoop" looks for the colour in ``frame.image`` of every hook, on the canvas and the window,
and walks everything reachable from its ``stage`` context.
"""

from __future__ import annotations

import numpy as np
import pygame
import pytest
from fakes import Anonymizer, PosedSource, host_with, reachable

from posestage.config.scenes import parse_scene
from posestage.errors import PluginError
from posestage.hookspecs import ControlMessage, hookimpl
from posestage.stage import Stage, StageOptions

CAMERA = (201, 13, 77)  # the colour of every camera pixel in these tests
W, H = 320, 240


def camera_frames(n=4):
    return [np.full((H, W, 3), CAMERA, np.uint8) for _ in range(n)]


class Pacer:
    """First in the scene: at given frames it posts a control message and waits for the
    answer — the frame goes on to the others only once the message took effect (so the test
    knows exactly which frames came before and after, on any machine)."""

    PLUGIN_NAME = "pacer"

    def __init__(self, script):
        self.script = dict(script)
        self.replies = []

    @hookimpl
    def posestage_configure(self, stage):
        self.context = stage

    @hookimpl
    def posestage_frame(self, frame):
        message = self.script.pop(frame.index, None)
        if message is not None:
            self.replies.append(self.context.post(message).result(10.0))


class Snoop:
    """Tries every route to pixels it has: every hook's frame.image (and writing to it), the
    canvas and the window, everything reachable from its context."""

    PLUGIN_NAME = "snoop"

    def __init__(self):
        self.context = None
        self.switched = False
        self.before: list[tuple[str, int, bool]] = []  # (hook, frame, pixels?) before the switch
        self.after: list[tuple[str, int, bool]] = []
        self.writes: list[str] = []
        self.seen_on_canvas = []

    def _look(self, hook, frame):
        got = frame.image is not None
        (self.after if self.switched else self.before).append((hook, frame.index, got))
        if got:
            try:
                frame.image[0, 0] = 0
                self.writes.append("wrote a pixel")
            except ValueError:
                pass
            try:
                frame.image.flags.writeable = True
                self.writes.append("made it writeable")
            except ValueError:
                pass

    @hookimpl
    def posestage_configure(self, stage, settings):
        self.context = stage

    @hookimpl
    def posestage_scene_changed(self, stage, old, new):
        self.switched = True

    @hookimpl
    def posestage_person_enter(self, person, frame):
        self._look("enter", frame)

    @hookimpl
    def posestage_frame(self, frame):
        self._look("frame", frame)

    @hookimpl
    def posestage_draw(self, canvas, frame):
        self._look("draw", frame)
        if not self.switched:
            window = pygame.display.get_surface()
            for surface in (canvas, window) if window is not None else (canvas,):
                w, h = surface.get_size()
                self.seen_on_canvas.append(tuple(surface.get_at((w // 2, h // 2)))[:3])
        return True  # animate: drawn every display tick, new frame or not


def privacy_stage(anonymizer, snoop, script, *, first_stage="", frames=60):
    pacer = Pacer(script)
    host = host_with_named(pacer, anonymizer, snoop)
    first = parse_scene(
        f"[stage]\n{first_stage}\n[plugins.pacer]\n[plugins.anonymizer]\n[plugins.snoop]\n",
        None,
        host,
    )
    second = parse_scene("[plugins.pacer]\n[plugins.snoop]\n", None, host)
    first.name, second.name = "private", "open"
    source = PosedSource(camera_frames(), count=100_000)
    options = StageOptions(headless=False, frames=frames)
    return Stage([first, second], options, host=host, source=source), pacer


def host_with_named(*plugins):
    for p in plugins:
        p.name = p.PLUGIN_NAME
    return host_with(*plugins)


def assert_no_route_to_pixels(st, snoop):
    """Nothing the snoop had before the switch back carried a pixel."""
    assert snoop.before and not any(got for _, _, got in snoop.before), snoop.before
    assert snoop.seen_on_canvas and CAMERA not in snoop.seen_on_canvas
    assert snoop.writes == []
    forbidden = (np.ndarray, Stage, type(st.host), type(st.tracker), type(st.source))
    found = [type(o).__name__ for o in reachable(snoop.context) if isinstance(o, forbidden)]
    assert found == []


def assert_pixels_again(snoop):
    """After the switch to a scene without privacy took effect, every later frame carries
    pixels again (read-only: no write worked). The pose thread does not wait for the pacer's
    switch (each plugin on its own lane): the frames between asking and the switch taking
    effect still come without pixels (fails closed)."""
    later = [got for _, index, got in snoop.after if index > 40]
    assert later and True in later, snoop.after
    assert all(later[later.index(True) :]), snoop.after
    assert snoop.writes == []


RESCUE = {40: ControlMessage("scene", value="open", source="test")}


@pytest.mark.parametrize("case", ["crashes", "is disabled", "is reconfigured live"])
def test_privacy_fails_closed_until_a_scene_without_it(case):
    script = dict(RESCUE)
    anonymizer = Anonymizer(fail_from=10 if case == "crashes" else None)
    if case == "is disabled":
        script[10] = ControlMessage("disable", target="anonymizer")
    elif case == "is reconfigured live":
        script[10] = ControlMessage("set", target="anonymizer", name="asks", value=False)
    snoop = Snoop()
    st, pacer = privacy_stage(anonymizer, snoop, script)
    report = st.run()
    assert report.error is None, report.errors
    assert all(reply.ok for reply in pacer.replies), pacer.replies
    assert_no_route_to_pixels(st, snoop)
    # the anonymizer saw pixels while it asked and was healthy, then never again
    assert [got for _, got in anonymizer.got[:10]] == [True] * 10
    if case == "crashes":
        healthy_until = 12  # a failing plugin is off after 3 failures
    else:  # the pose thread does not wait for the pacer's message: off once it took effect
        healthy_until = next(index for index, got in anonymizer.got if not got) - 1
        assert healthy_until >= 9
    assert not any(got for index, got in anonymizer.got if index > healthy_until)
    assert all(got for index, got in anonymizer.got if index <= healthy_until)
    if case == "crashes":
        assert any("anonymizer: switched off" in e for e in report.errors)
    # the performer switched to a scene that does not ask: pixels flow again, read-only
    assert_pixels_again(snoop)


def test_strict_privacy_withholds_pixels_even_from_the_plugin_that_asked():
    anonymizer = Anonymizer()
    snoop = Snoop()
    st, _ = privacy_stage(anonymizer, snoop, RESCUE, first_stage="privacy = true")
    report = st.run()
    assert report.error is None
    assert anonymizer.got and not any(got for _, got in anonymizer.got)
    assert_no_route_to_pixels(st, snoop)
    assert_pixels_again(snoop)


def test_a_privacy_plugin_whose_configure_fails_keeps_privacy_on():
    class Refuses(Anonymizer):
        @hookimpl
        def posestage_configure(self, stage, settings):
            raise PluginError("anonymizer: no camera calibration")

    snoop = Snoop()
    st, _ = privacy_stage(Refuses(), snoop, RESCUE)
    report = st.run()
    assert any("no camera calibration" in e for e in report.errors)
    assert_no_route_to_pixels(st, snoop)
    assert_pixels_again(snoop)


def test_without_privacy_plugins_get_a_read_only_image():
    snoop = Snoop()
    snoop.switched = True  # nothing private here: everything counts as "after"
    host = host_with_named(snoop)
    scene = parse_scene("[plugins.snoop]\n", None, host)
    source = PosedSource(camera_frames(), count=20)
    Stage([scene], StageOptions(headless=True), host=host, source=source).run()
    assert len(snoop.after) >= 20 and all(got for _, _, got in snoop.after)
    assert snoop.writes == []  # neither a write nor making the array writeable worked
