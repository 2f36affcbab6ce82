"""Privacy never fails open: a plugin trying every route it has to camera pixels reaches none.

Real stages (window on SDL's dummy driver) on camera-like frames of one distinct colour: the
"anonymizer" asks for privacy and then crashes, is disabled, or is reconfigured live; the
"snoop" looks for the colour in ``frame.image`` of every hook, on the canvas and the window,
and walks everything reachable from its ``stage`` context.
"""

from __future__ import annotations

import time

import numpy as np
import pygame
import pytest
from fakes import Anonymizer, PosedSource, host_with, reachable

from posestage.config.scenes import parse_scene
from posestage.errors import PluginError
from posestage.hookspecs import ControlMessage, ControlReply, hookimpl
from posestage.model.posestream import read_posestream
from posestage.stage import Stage, StageOptions
from posestage.testing import shared_models

CAMERA = (201, 13, 77)  # the colour of every camera pixel in these tests
W, H = 320, 240


def camera_frames(n=4):
    return [np.full((H, W, 3), CAMERA, np.uint8) for _ in range(n)]


class Key:
    """A key pressed at the window (the performer's, local): scene ``number``."""

    def __init__(self, number: int, scene: str):
        self.number, self.scene = number, scene


class Pacer:
    """First in the scene: at given frames it posts a control message (or presses a
    :class:`Key` at the window) and waits for it to take effect — the frame goes on to the
    others only then (so the test knows exactly which frames came before and after, on any
    machine)."""

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
        if isinstance(message, Key):
            key = pygame.K_0 + message.number
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=""))
            deadline = time.monotonic() + 10.0
            context = self.context
            while time.monotonic() < deadline:
                if context.scene == message.scene and not context.privacy:
                    break
                time.sleep(0.005)
            self.replies.append(ControlReply(context.scene == message.scene, "key"))
        elif message is not None:
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
    shared_models()  # the stage's default model on the camera frames
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


#: The performer's way out of privacy: key 2 at the window (local), at frame 40.
RESCUE = {40: Key(2, "open")}


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
    # the plugin that asked for privacy got no pixel either, healthy or not
    assert len(anonymizer.got) >= 10 and not any(got for _, got in anonymizer.got)
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
    shared_models()
    Stage([scene], StageOptions(headless=True), host=host, source=source).run()
    assert len(snoop.after) >= 20 and all(got for _, _, got in snoop.after)
    assert snoop.writes == []  # neither a write nor making the array writeable worked


# -- the attack: an in-place filter and a greedy privacy plugin -----------------------


class InPlaceFilter:
    """Listed before the anonymizer: keeps only confident people by filtering ``frame.people``
    in place (where frames allow it), so later plugins believe the room is empty."""

    PLUGIN_NAME = "filter"

    @hookimpl
    def posestage_frame(self, frame):
        try:
            frame.people[:] = [p for p in frame.people if p.score >= 0.99]
        except TypeError:  # frames nobody can change
            pass


class Greedy:
    """Asks for privacy only to receive the camera: counts the images it got."""

    PLUGIN_NAME = "greedy"

    def __init__(self):
        self.images = 0
        self.frames = 0

    @hookimpl
    def posestage_privacy(self):
        return True

    @hookimpl
    def posestage_frame(self, frame):
        self.frames += 1
        self.images += frame.image is not None


class PhotoSpy:
    """Last in the scene: looks for the photo on every route it has — ``frame.image`` in each
    hook, the canvas it draws on, the window as presented, everything reachable from its
    context."""

    PLUGIN_NAME = "spy"

    def __init__(self):
        self.images = 0
        self.canvases: list[np.ndarray] = []
        self.windows: list[np.ndarray] = []
        self.context = None

    @hookimpl
    def posestage_configure(self, stage):
        self.context = stage

    @hookimpl
    def posestage_person_enter(self, frame):
        self.images += frame.image is not None

    @hookimpl
    def posestage_frame(self, frame):
        self.images += frame.image is not None

    @hookimpl
    def posestage_draw(self, canvas, frame):
        self.images += frame.image is not None
        self.canvases.append(pygame.surfarray.array3d(canvas).swapaxes(0, 1).copy())
        window = pygame.display.get_surface()
        if window is not None:
            self.windows.append(pygame.surfarray.array3d(window).swapaxes(0, 1).copy())


def photo_match(pixels: np.ndarray, photo: np.ndarray) -> float:
    """Share of the photo's lit pixels (not near black) that ``pixels`` shows exactly, as the
    photo or mirrored."""
    if pixels.shape != photo.shape:
        return 0.0
    lit = photo.sum(axis=-1) > 60
    best = 0.0
    for candidate in (photo, photo[:, ::-1]):
        lit = candidate.sum(axis=-1) > 60
        same = np.all(pixels == candidate, axis=-1)
        best = max(best, float(same[lit].mean()))
    return best


@pytest.mark.slow
def test_an_in_place_filter_and_a_greedy_plugin_reach_no_camera_pixel(tmp_path):
    """The issue's attack on the real model and a shared photo of two people, every frame:
    the filter before the anonymizer empties ``frame.people``, the greedy plugin asks for
    privacy. Nothing of the photo reaches any plugin's ``frame.image``, the canvas, the window,
    footfall's PNG, the recorder's stream or the context — and the room with the people in it
    is never taken as empty (the stage decides from its own detections)."""
    from PIL import Image

    from posestage.sources import ArraySource
    from posestage.testing import run_scene, shared_path

    shared_models()
    photo = np.asarray(Image.open(shared_path("images", "two_people.bmp")).convert("RGB"))
    greedy, spy = Greedy(), PhotoSpy()
    out = tmp_path / "files"
    scene = (
        "[stage]\nmirror = false\n"
        "[plugins.filter]\n[plugins.greedy]\n[plugins.anonymizer]\n"
        f'[plugins.footfall]\nfolder = "{out}"\nbackground = "empty"\nevery = 0.02\n'
        f'[plugins.recorder]\npath = "{out / "take.jsonl"}"\n'
        "[plugins.spy]\n"
    )
    # 2.7 s of frame time: longer than the 2 s an empty room takes; footfall's snapshots every
    # 1.2 s (the map is empty: the filter took everyone away)
    frames = 80
    run = run_scene(
        scene,
        {"filter": InPlaceFilter(), "greedy": greedy, "spy": spy},
        source=ArraySource([photo], count=frames),
        model="posenet-481x641",
        headless=False,
    )
    assert len(run.frames) == frames, run.errors
    assert max(run.people) == 2  # the model saw the two people
    # frame.image: nobody, not even the plugin that asked
    assert greedy.frames == frames and greedy.images == 0
    assert spy.images == 0
    # the canvas and the window
    assert spy.canvases and spy.windows
    worst = max(photo_match(p, photo) for p in spy.canvases + spy.windows)
    assert worst < 0.01, f"{worst:.0%} of the photo on the canvas or window"
    # files any plugin wrote
    written = sorted(p for p in out.iterdir() if p.is_file())
    assert any(p.suffix == ".png" for p in written) and any(p.suffix == ".jsonl" for p in written)
    for path in written:
        if path.suffix == ".png":
            png = np.asarray(Image.open(path).convert("RGB"))
            assert photo_match(png, photo) < 0.01, path.name
        elif path.suffix == ".jsonl":  # a pose stream: frames of numbers, no line holds pixels
            lines = path.read_text().splitlines()
            assert read_posestream(path)[1] and max(map(len, lines)) < photo.nbytes // 100
        else:
            assert path.stat().st_size < photo.nbytes // 20, path.name  # numbers, not pixels
    # the context: no array, no stage part
    found = [type(o).__name__ for o in reachable(spy.context) if isinstance(o, np.ndarray)]
    assert found == []


def test_a_remote_switch_out_of_privacy_is_refused_a_key_is_not():
    """A control message (here a plugin's ``stage.post`` with a source claiming to be local)
    cannot end privacy; key 2 at the window can. Pixels stay withheld until the key."""
    anonymizer, snoop = Anonymizer(), Snoop()
    remote = ControlMessage("scene", value="open", source="key")
    st, pacer = privacy_stage(anonymizer, snoop, {20: remote, **RESCUE})
    report = st.run()
    assert report.error is None
    refused, by_key = pacer.replies
    assert not refused.ok and "would end privacy" in refused.text
    assert by_key.ok
    assert_no_route_to_pixels(st, snoop)
    assert not any(got for _, index, got in snoop.after if index <= 40)
    assert_pixels_again(snoop)


def test_a_private_scene_may_let_anyone_end_it():
    anonymizer, snoop = Anonymizer(), Snoop()
    remote = {40: ControlMessage("scene", value="open", source="osc:10.0.0.9:9000")}
    st, pacer = privacy_stage(anonymizer, snoop, remote, first_stage='privacy_ends = "anyone"')
    report = st.run()
    assert report.error is None
    assert [reply.ok for reply in pacer.replies] == [True]
    assert_no_route_to_pixels(st, snoop)
    assert_pixels_again(snoop)
