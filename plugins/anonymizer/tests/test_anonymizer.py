"""The anonymizer: skeletons over the stage's empty room; no plugin, this one included, gets a pixel.

Through the plugin author's kit only (``posestage`` and ``posestage.testing``): real pygame
surfaces (SDL dummy driver), the real host and stage; camera-like frames from memory with their
people given (:class:`~posestage.testing.PosedImages`), or the shared photos through the real
model (marked slow).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygame
import pytest
from PIL import Image
from posestage_anonymizer import PRIVACY, SETTINGS, Anonymizer

from posestage import ControlMessage, SkeletonStyle, draw_people, hookimpl
from posestage.testing import (
    PosedImages,
    frame,
    hosted,
    installed_plugin,
    person,
    run_scene,
    shared_models,
    shared_path,
    window_picture,
)

ROOT = Path(__file__).resolve().parents[3]
W, H = 640, 480
MAGENTA = (255, 0, 255)


def room(seed: int = 0) -> np.ndarray:
    """A textured empty room: every pixel mid-grey-ish and different (never pure black)."""
    return np.random.default_rng(seed).integers(30, 226, size=(H, W, 3), dtype=np.uint8)


def with_person(image: np.ndarray) -> np.ndarray:
    """``image`` with a bright magenta "person" in the middle."""
    out = image.copy()
    out[60:470, 240:400] = MAGENTA
    return out


def rgb(surface: pygame.Surface) -> np.ndarray:
    return pygame.surfarray.array3d(surface).swapaxes(0, 1).copy()  # (H, W, 3)


def drawn_mask(draw, size=(W, H)) -> np.ndarray:
    """Where ``draw(surface)`` puts any pixel: drawn on black and on white, compared."""
    masks = []
    for fill in ((0, 0, 0), (255, 255, 255)):
        s = pygame.Surface(size)
        s.fill(fill)
        draw(s)
        masks.append(np.any(rgb(s) != fill, axis=-1))
    return masks[0] | masks[1]


def skeleton_mask(the_frame, style: SkeletonStyle | None = None) -> np.ndarray:
    style = style or SkeletonStyle()
    return drawn_mask(
        lambda s: draw_people(s, the_frame, style), (the_frame.width, the_frame.height)
    )


def has(pixels: np.ndarray, color) -> bool:
    return bool(np.all(pixels == color, axis=-1).any())


class Watcher:
    """Another plugin in the scene: every image it is handed (any hook), the canvas it draws
    on, and the window as last presented (what the audience sees)."""

    def __init__(self):
        self.images: list = []
        self.frames = 0
        self.canvases: list[np.ndarray] = []
        self.draw_frames: list = []
        self.windows: list[np.ndarray] = []
        self.privacy: list[bool] = []
        self.stage = None

    @hookimpl
    def posestage_configure(self, stage):
        self.stage = stage

    @hookimpl
    def posestage_frame(self, frame):
        self.frames += 1
        self.images.append(frame.image)
        self.privacy.append(bool(self.stage.privacy))

    @hookimpl
    def posestage_person_enter(self, person, frame):
        self.images.append(frame.image)

    @hookimpl
    def posestage_draw(self, canvas, frame):
        self.images.append(frame.image)
        self.canvases.append(rgb(canvas))
        self.draw_frames.append(frame)
        window = window_picture()  # the picture's part of the window, as last presented
        if window is not None:
            self.windows.append(window)


@pytest.fixture(scope="module", autouse=True)
def _pygame():
    pygame.init()
    yield


# -- the plugin ------------------------------------------------------------------------------


def test_discovered_as_a_builtin_that_asks_for_privacy_with_the_room():
    info = installed_plugin("anonymizer")
    assert info.loaded and info.origin == "entry point" and info.builtin
    assert info.distribution == "posestage-anonymizer"
    assert "posestage_privacy" in info.hooks
    assert installed_plugin("anonymizer", safe=True).loaded
    assert Anonymizer().posestage_privacy() == PRIVACY == "room"


def test_it_draws_skeletons_and_nothing_else():
    """No background of its own, no fill: the skeletons on whatever the canvas holds."""
    with hosted({"anonymizer": Anonymizer()}) as h:
        assert h.scene("[plugins.anonymizer]\nthickness = 5\nlabels = true\n") == []
        f = frame(0, [person(1, 0, x=170), person(2, 1, x=470, missing=2)])
        canvas = pygame.Surface((W, H))
        canvas.fill((0, 0, 0))
        h.frame(f)
        h.draw(canvas, f)
        pixels = rgb(canvas)
        mask = skeleton_mask(f, SkeletonStyle(thickness=5, labels=True))
        assert pixels[mask].any() and not pixels[~mask].any() and mask.mean() < 0.2
        h.scene("[plugins.anonymizer]\nthickness = 8\n", "two")  # applied live
        assert h.active == ["anonymizer"] and h.errors == []


# -- on the real stage -----------------------------------------------------------------------


def test_the_window_shows_the_room_the_canvas_never_does():
    """People, then nobody for long enough, then someone again, in a window (SDL dummy): the
    stage takes the room; the window shows it under the skeletons, the canvas plugins draw on
    never holds it, no frame carries an image and nothing magenta (a person) is ever shown."""
    watcher = Watcher()
    empty = room()
    counts = [1] * 10 + [0] * 40 + [1] * 20
    images = [with_person(empty) if n else empty for n in counts]
    source = PosedImages(images, counts, fps=30)  # camera-paced: the window keeps up
    scene = (
        "[stage]\nempty_seconds = 0.5\n[tracking]\nmax_missing_seconds = 0.1\n"
        "[plugins.anonymizer]\n[plugins.watch]\n"
    )
    run = run_scene(scene, {"watch": watcher}, source=source, headless=False)
    assert run.errors == [] and run.frames
    assert all(image is None for image in watcher.images) and all(watcher.privacy)
    for pixels in watcher.canvases + watcher.windows:
        assert not has(pixels, MAGENTA)
    for pixels in watcher.canvases:  # the room is never on the canvas
        assert not np.all(pixels == empty, axis=-1).any()
    # the window shows the room under the skeletons once it was taken (the frame drawn last
    # has someone in it); before, the waiting message over black
    last = watcher.windows[-1]
    f = watcher.draw_frames[-1]
    shown = ~skeleton_mask(f)
    assert len(f.people) == 1
    assert np.mean(np.all(last == empty, axis=-1)[shown]) > 0.95
    # before the room was taken: no room in the window, black under the skeletons (the
    # waiting notice is in the window's log strip, not across the performers)
    before = watcher.windows[:10]  # the first 10 frames have someone in view
    assert all(np.mean(np.all(w == empty, axis=-1)) < 0.01 for w in before)
    assert all(np.mean(w.any(axis=-1)) < 0.2 for w in before)


def test_recapture_goes_to_the_stage():
    """``recapture`` (a control message, any target) is the stage's: answered, and the room is
    taken again once the stage sees it empty again."""
    replies = []

    def during(show):
        show.wait_for(lambda: len(show.run.frames) > 20)
        replies.append(show.post(ControlMessage("recapture", target="anonymizer")).result(10))

    counts = [0] * 100_000
    source = PosedImages([room()], counts, fps=60)
    run = run_scene(
        "[stage]\nempty_seconds = 0.1\n[plugins.anonymizer]\n", source=source, during=during
    )
    assert run.errors == []
    assert replies and replies[0].ok and "recapture" in replies[0].text


class Failing(Anonymizer):
    """The real anonymizer, made to fail from frame 20 on (a bug, a full disk…)."""

    @hookimpl
    def posestage_frame(self, frame):
        if frame.index >= 20:
            raise RuntimeError("anonymizer broke on purpose")


def test_when_the_anonymizer_fails_privacy_stays_on():
    watcher = Watcher()
    images = [with_person(room())] * 60
    run = run_scene(
        "[plugins.anonymizer]\n[plugins.watch]\n",
        {"anonymizer": Failing(), "watch": watcher},
        source=PosedImages(images, [1] * 60),
    )
    assert any("anonymizer" in e and "switched off" in e for e in run.errors)
    assert watcher.frames == 60
    assert all(image is None for image in watcher.images)  # before and after the failure
    assert all(watcher.privacy), [i for i, p in enumerate(watcher.privacy) if not p]
    assert not has(watcher.canvases[-1], MAGENTA)


# -- the scene -------------------------------------------------------------------------------


def test_scene_on_the_demo_replay():
    """scenes/anonymizer.toml on the recorded demo stream: no pixels at all, skeletons only."""
    watcher = Watcher()
    scene = (ROOT / "scenes" / "anonymizer.toml").read_text(encoding="utf-8")
    scene += "[plugins.watch]\n"
    source = f"replay:{ROOT / 'scenes' / 'demo.jsonl'}"
    run = run_scene(scene, {"watch": watcher}, source=source)
    assert run.active == ["anonymizer", "watch"]
    assert len(run.frames) == 150 and run.errors == []
    assert watcher.frames == 150 and all(image is None for image in watcher.images)
    assert max(len(f.people) for f in watcher.draw_frames) == 2
    f = run.frames[-1]  # what the window shows last: the anonymizer's layer of the last frame
    assert run.canvas[skeleton_mask(f, SkeletonStyle(thickness=4))].any()


@pytest.mark.slow
def test_scene_on_the_shared_photos_with_the_real_model():
    """People from the shared photos through the real model, then the empty room, in a
    window: the stage takes the empty room (mirrored, as the scene says) and never a photo
    with people; the window shows the room, the canvas and every frame nothing of the camera."""
    shared_models()
    people = np.asarray(Image.open(shared_path("images", "two_people.bmp")).convert("RGB"))
    empty = np.full_like(people, (236, 238, 242))
    empty[:, :320] = (120, 90, 60)  # a wall and a door: the mirror shows
    # the tracker holds the people 0.5 s (15 frames at 30 fps), then 2 s = 60 frames of nobody
    images = [people] * 4 + [empty] * 80 + [people] * 3
    watcher = Watcher()
    scene = (ROOT / "scenes" / "anonymizer.toml").read_text(encoding="utf-8")
    scene += "[plugins.watch]\n"
    camera = PosedImages(
        images, [None] * len(images), mirror_by_default=True
    )  # the model finds them
    run = run_scene(
        scene, {"watch": watcher}, source=camera, model="posenet-481x641", headless=False
    )
    assert len(run.frames) == len(images) and run.errors == []
    assert all(image is None for image in watcher.images)
    f, last = watcher.draw_frames[-1], watcher.windows[-1]
    assert len(f.people) == 2 and f.mirrored
    shown = ~skeleton_mask(f, SkeletonStyle(thickness=4))
    mirrored_room = empty[:, ::-1]
    assert np.mean(np.all(last == mirrored_room, axis=-1)[shown]) > 0.95  # the room, not them
    photo = people[:, ::-1]
    for pixels in watcher.canvases + watcher.windows:
        assert np.mean(np.all(pixels == photo, axis=-1)) < 0.01


def test_docs_describe_the_settings_as_the_code_does():
    doc = (ROOT / "docs" / "demos.md").read_text(encoding="utf-8")
    for s in SETTINGS:
        d = s.default
        shown = (
            "true"
            if d is True
            else "false"
            if d is False
            else f'"{d}"'
            if isinstance(d, str)
            else repr(d)
        )
        assert f"| `{s.name}` | `{shown}` | {s.help} |" in doc, s.name
