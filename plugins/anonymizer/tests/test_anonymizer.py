"""The anonymizer: locks the empty room, then shows only it and skeletons; nobody else sees pixels.

Real pygame surfaces (SDL dummy driver), the real plugin host and stage; frames are built in
memory (a textured "room" image and tracked people) or come from the shared photos through the
real model (marked slow).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pygame
import pytest
from PIL import Image
from posestage_anonymizer import NO_IMAGE, WAITING

from posestage import (
    ControlMessage,
    Person,
    Pose,
    PoseFrame,
    SceneError,
    SkeletonStyle,
    Stage,
    StageOptions,
    draw_message,
    draw_people,
    hookimpl,
)
from posestage.config.scenes import load_scene, parse_scene
from posestage.host import PluginHost, PluginUse
from posestage.sources import ArraySource, SourceFrame

ROOT = Path(__file__).resolve().parents[3]
W, H = 640, 480
T0 = 1_700_000_000.0
# A standing person, (x, y) image pixels, COCO order.
FIGURE = np.array(
    [
        (320, 100), (330, 90), (310, 90), (340, 95), (300, 95),  # face
        (360, 160), (280, 160), (380, 220), (260, 220), (390, 280), (250, 280),  # arms
        (350, 300), (290, 300), (355, 380), (285, 380), (360, 450), (280, 450),  # legs
    ],
    dtype=np.float32,
)  # fmt: skip


def problems(report) -> list[str]:
    """The run's errors (hook-time budget notes are apart, in ``report.slow``)."""
    return list(report.errors)


def room(seed: int = 0) -> np.ndarray:
    """A textured empty room: every pixel mid-grey-ish and different (never pure black)."""
    rng = np.random.default_rng(seed)
    return rng.integers(30, 226, size=(H, W, 3), dtype=np.uint8)


def with_person(image: np.ndarray, dx: float = 0.0) -> np.ndarray:
    """``image`` with a bright magenta "person" where :data:`FIGURE` stands."""
    out = image.copy()
    x0, x1 = int(FIGURE[:, 0].min() + dx), int(FIGURE[:, 0].max() + dx)
    out[80:460, x0:x1] = (255, 0, 255)
    return out


def person(pid=1, slot=0, dx=0.0, missing=0) -> Person:
    xy = FIGURE + np.float32([dx, 0])
    scores = np.full(17, 0.9, np.float32)
    return Person(pid, slot, 0.9, xy, scores, xy.copy(), missing=missing, width=W, height=H)


def frame(i: int, people=(), image=None) -> PoseFrame:
    return PoseFrame(i, T0 + i / 30, time.perf_counter(), W, H, list(people), image=image)


class Context:
    width, height, mirror, privacy, scene = W, H, False, True, "test"

    def post(self, message):
        pass


class Collector:
    """Another plugin in the scene: records every image it is handed, in any hook."""

    def __init__(self, name="collect"):
        self.name = name
        self.images: list = []
        self.frames = 0
        self.canvases: list[np.ndarray] = []
        self.draw_frames: list[PoseFrame] = []
        self.stage = None
        self.privacy: list[bool] = []  # the stage's privacy mode, as of each frame

    @hookimpl
    def posestage_configure(self, stage):
        self.stage = stage

    def _saw(self, frame):
        self.images.append(frame.image)

    @hookimpl
    def posestage_frame(self, frame):
        self.frames += 1
        self._saw(frame)
        self.privacy.append(bool(getattr(self.stage, "privacy", True)))

    @hookimpl
    def posestage_person_enter(self, person, frame):
        self._saw(frame)

    @hookimpl
    def posestage_person_leave(self, person, frame):
        self._saw(frame)

    @hookimpl
    def posestage_draw(self, canvas, frame):
        self._saw(frame)
        self.canvases.append(pygame.surfarray.array3d(canvas).swapaxes(0, 1).copy())
        self.draw_frames.append(frame)


@pytest.fixture(scope="module", autouse=True)
def _pygame():
    pygame.init()
    yield


@pytest.fixture()
def host():
    h = PluginHost.load()
    assert "anonymizer" in h.plugins, (
        "the built-in plugin is not installed: pip install -e plugins/anonymizer"
    )
    yield h
    h.deactivate_all(Context())


def activate(host, collector=None, **settings):
    uses = [PluginUse("anonymizer", settings)]
    if collector is not None:
        host.register(collector, collector.name)
        uses.append(PluginUse(collector.name, {}))
    problems = host.activate(uses, Context())
    assert problems == []
    return host.plugins["anonymizer"].plugin


def render(host, the_frame) -> np.ndarray:
    canvas = pygame.Surface((W, H))
    canvas.fill((0, 0, 0))  # what the stage does in privacy mode before plugins draw
    host.draw(canvas, the_frame)
    assert [e for e in host.errors if e.startswith("anonymizer")] == []
    return pygame.surfarray.array3d(canvas).swapaxes(0, 1).copy()  # (H, W, 3)


def drawn_mask(draw, size=(W, H)) -> np.ndarray:
    """Where ``draw(surface)`` puts any pixel: drawn on black and on white, compared."""
    masks = []
    for fill in ((0, 0, 0), (255, 255, 255)):
        s = pygame.Surface(size)
        s.fill(fill)
        draw(s)
        masks.append(np.any(pygame.surfarray.array3d(s).swapaxes(0, 1) != fill, axis=-1))
    return masks[0] | masks[1]


def skeleton_mask(the_frame, style: SkeletonStyle | None = None) -> np.ndarray:
    style = style or SkeletonStyle()
    return drawn_mask(lambda s: draw_people(s, the_frame, style))


# -- the plugin ------------------------------------------------------------------------------


def test_discovered_as_a_builtin_that_asks_for_privacy(host):
    info = host.plugins["anonymizer"]
    assert info.loaded and info.origin == "entry point" and info.builtin
    assert info.distribution == "posestage-anonymizer"
    assert "posestage_privacy" in info.hooks
    assert PluginHost.load(safe=True).plugins["anonymizer"].loaded
    activate(host)
    assert host.privacy_requested


def test_a_room_with_people_never_locks(host):
    plugin = activate(host)
    image = room()
    for i in range(600):  # 20 s of frames, someone always there (sometimes only just lost)
        f = frame(i, [person(missing=i % 3)], with_person(image))
        host.frame(f)
        assert not plugin.locked
    pixels = render(host, f)
    # black, the skeleton and the waiting message; never a camera pixel
    mask = drawn_mask(lambda s: (draw_people(s, f), draw_message(s, WAITING)))
    assert not pixels[~mask].any()
    assert not np.all(pixels == with_person(image), axis=-1)[~mask].any()


def test_nobody_for_the_configured_time_locks_that_frame(host):
    plugin = activate(host, empty_seconds=0.5)
    images = [room(seed=i) for i in range(60)]
    for i in range(10):  # someone there
        host.frame(frame(i, [person()], with_person(images[i])))
    for i in range(10, 24):  # nobody, for 14/30 s: not yet
        host.frame(frame(i, [], images[i]))
        assert not plugin.locked
    host.frame(frame(24, [person()], with_person(images[24])))  # somebody came back
    for i in range(25, 40):  # nobody again: the wait starts over at frame 25
        host.frame(frame(i, [], images[i]))
        assert not plugin.locked
    host.frame(frame(40, [], images[40]))  # 15/30 s = 0.5 s after frame 25
    assert plugin.locked
    assert np.array_equal(plugin.background.image, images[40])
    assert not np.shares_memory(plugin.background.image, images[40])  # a private copy
    for i in range(41, 50):  # later frames change nothing
        host.frame(frame(i, [], images[i]))
    assert np.array_equal(plugin.background.image, images[40])
    assert np.array_equal(render(host, frame(50)), images[40])  # nobody: just the room


def test_once_locked_only_the_background_and_skeletons_are_shown(host):
    plugin = activate(host, empty_seconds=0.0, labels=True, thickness=5)
    empty = room()
    host.frame(frame(0, [], empty))
    assert plugin.locked
    people = [person(1, 0, dx=-150), person(2, 1, dx=150, missing=2)]
    f = frame(1, people, with_person(with_person(empty, -150), 150))
    host.frame(f)
    pixels = render(host, f)
    mask = skeleton_mask(f, SkeletonStyle(thickness=5, labels=True))
    assert mask.any() and mask.mean() < 0.2
    # outside the skeletons every pixel is the background's, and nothing of the live frame
    assert np.array_equal(pixels[~mask], empty[~mask])
    assert not np.all(pixels == (255, 0, 255), axis=-1).any()
    # a canvas of another size gets the background scaled, the same way
    canvas = pygame.Surface((320, 240))
    host.draw(canvas, f)
    small = pygame.surfarray.array3d(canvas).swapaxes(0, 1)
    assert not np.all(small == (255, 0, 255), axis=-1).any()


def test_no_other_plugin_ever_receives_an_image(host):
    other = Collector()
    activate(host, other, empty_seconds=0.2)
    for i in range(40):
        people = [person()] if i < 10 or i > 30 else []
        f = frame(i, people, with_person(room()) if people else room())
        if i in (0, 31):
            host.person_enter(people[0], f)
        if i == 12:
            host.person_leave(person(), f)
        host.frame(f)
        render(host, f)
    host.event(ControlMessage("recapture", target="anonymizer"))
    assert other.frames == 40 and len(other.images) == 40 + 40 + 3
    assert all(image is None for image in other.images)


def test_recapture_by_key_and_by_control_message(host):
    plugin = activate(host, empty_seconds=0.0)
    first, second, third = room(1), room(2), room(3)
    host.frame(frame(0, [], first))
    assert plugin.locked
    key = pygame.event.Event(pygame.KEYDOWN, key=pygame.K_r, mod=0, unicode="r")
    host.event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_x, mod=0, unicode="x"))
    assert plugin.locked  # another key does nothing
    host.event(key)
    assert not plugin.locked
    host.frame(frame(1, [person()], with_person(second)))
    assert not plugin.locked  # someone in view: wait
    host.frame(frame(2, [], second))
    assert np.array_equal(plugin.background.image, second)
    # a control message for this plugin is consumed; one for another plugin is not for us
    assert host.event(ControlMessage("recapture", target="footfall")) is False
    assert plugin.locked
    assert host.event(ControlMessage("recapture", target="anonymizer", source="osc")) is True
    assert not plugin.locked
    pixels = render(host, frame(3))
    assert not pixels[~drawn_mask(lambda s: draw_message(s, WAITING))].any()  # waiting again
    host.frame(frame(4, [], third))
    assert np.array_equal(plugin.background.image, third)


def test_a_new_size_or_the_mirror_switching_takes_the_room_again(host):
    plugin = activate(host, empty_seconds=0.0)
    host.frame(frame(0, [], room(1)))
    assert np.array_equal(plugin.background.image, room(1))
    mirrored = dataclasses.replace(frame(1, [person()], room(2)[:, ::-1]), mirrored=True)
    host.frame(mirrored)  # the performer switched to a mirrored scene, someone in view
    assert not plugin.locked
    host.frame(dataclasses.replace(frame(2, [], room(2)[:, ::-1]), mirrored=True))
    assert np.array_equal(plugin.background.image, room(2)[:, ::-1])
    small = np.zeros((240, 320, 3), np.uint8)
    host.frame(dataclasses.replace(frame(3, [person()], small), mirrored=True))
    assert not plugin.locked


def test_live_settings_keep_the_background(host):
    plugin = activate(host, empty_seconds=0.0)
    host.frame(frame(0, [], room(1)))
    host.update_settings("anonymizer", {"thickness": 8, "key": "b"}, Context())
    assert plugin.locked and plugin.style.thickness == 8 and plugin.key == ord("b")


def test_the_key_is_a_setting(host):
    plugin = activate(host, empty_seconds=0.0, key="b")
    host.frame(frame(0, [], room()))
    host.event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_r, mod=0, unicode="r"))
    assert plugin.locked
    host.event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_b, mod=0, unicode="b"))
    assert not plugin.locked

    with pytest.raises(SceneError, match="key"):
        host.activate([PluginUse("anonymizer", {"key": "q"})], Context())  # the stage's quit


def test_waiting_message_and_skeletons_without_any_image(host):
    """Strict privacy or a pose replay: no pixels ever; skeletons over black, said on screen."""
    plugin = activate(host, empty_seconds=0.0)
    for i in range(5):
        host.frame(frame(i, [] if i % 2 else [person()], None))
    assert not plugin.locked and not plugin.saw_image
    f = frame(5, [person()])
    pixels = render(host, f)
    mask = skeleton_mask(f) | drawn_mask(lambda s: draw_message(s, NO_IMAGE))
    assert pixels[skeleton_mask(f)].any() and not pixels[~mask].any()


def test_strict_privacy_forgets_the_background(host):
    """Switched to a scene with ``[stage] privacy = true`` while configured: the frames come
    without pixels, and the room taken before is neither kept nor shown."""
    plugin = activate(host, empty_seconds=0.0)
    host.frame(frame(0, [], room()))
    assert plugin.locked
    render(host, frame(0))  # the room drawn once: a surface of it exists
    f = frame(1, [person()], None)
    host.frame(f)
    assert not plugin.locked and plugin.background.image is None
    pixels = render(host, f)
    mask = skeleton_mask(f) | drawn_mask(lambda s: draw_message(s, NO_IMAGE))
    assert not pixels[~mask].any()
    assert plugin._surface is None  # no copy of the room kept for drawing either


def test_unconfigure_forgets_the_background(host):
    plugin = activate(host, empty_seconds=0.0)
    host.frame(frame(0, [], room()))
    assert plugin.locked
    host.deactivate_all(Context())
    assert not plugin.locked and plugin.background.image is None


# -- on the real stage -------------------------------------------------------------------------


class PosedArraySource(ArraySource):
    """Camera-like frames from memory that carry their detections (no model needed):
    ``people[i]`` is how many standing figures frame ``i`` has."""

    gives_poses = True

    def __init__(self, images, people, fps=None):
        super().__init__(images, count=len(people), fps=fps)
        self.people = list(people)

    def _read(self) -> SourceFrame | None:
        i = self._i
        got = super()._read()
        if got is not None:
            scores = np.full(17, 0.9, np.float32)
            got.poses = [
                Pose(0.9, FIGURE + np.float32([200 * k - 100, 0]), scores)
                for k in range(self.people[i])
            ]
            got.index = i
        return got


def shown(st) -> np.ndarray:
    """What the window showed last: the stage's backdrop under every plugin's layer (a plugin's
    own canvas holds only what it drew itself)."""
    return pygame.surfarray.array3d(st.display.canvas).swapaxes(0, 1).copy()


def stage_run(host, scene, frames=None, **options):
    st = Stage([scene], StageOptions(headless=True, **options), host=host, source=frames)
    report = st.run()
    return st, report


def test_on_the_stage_other_plugins_get_no_pixels_and_the_canvas_only_the_room():
    from posestage_anonymizer import Anonymizer

    host = PluginHost()
    anonymizer, other = Anonymizer(), Collector()
    host.register(anonymizer, "anonymizer")
    host.register(other, "collect")
    scene = parse_scene(
        "[tracking]\nmax_missing_seconds = 0.1\n"  # people leave 3 frames after they went
        "[plugins.anonymizer]\nempty_seconds = 0.5\n[plugins.collect]\n",
        None,
        host,
    )
    empty = room()
    counts = [2] * 10 + [0] * 30 + [1] * 20  # people, nobody for 1 s, then someone again
    images = [with_person(empty) if n else empty for n in counts]
    st, report = stage_run(host, scene, PosedArraySource(images, counts))
    assert report.frames == 60 and not problems(report)
    assert other.frames == 60 and all(image is None for image in other.images)
    assert all(other.privacy), [i for i, p in enumerate(other.privacy) if not p]
    assert anonymizer.background.image is None  # forgotten at shutdown
    # the last frame drawn (always the stage's last) has someone over the locked room
    last, f = shown(st), other.draw_frames[-1]
    assert f.index == 59 == st.display.canvas_frame and len(f.people) == 1
    mask = skeleton_mask(f)
    assert np.array_equal(last[~mask], empty[~mask])
    assert not np.all(last == (255, 0, 255), axis=-1).any()


class WindowWatcher(Collector):
    """Also looks at the window itself (what was last presented) on every draw."""

    def __init__(self):
        super().__init__("collect")
        self.windows: list[np.ndarray] = []

    @hookimpl
    def posestage_draw(self, canvas, frame):
        super().posestage_draw(canvas, frame)
        window = pygame.display.get_surface()
        if window is not None:
            self.windows.append(pygame.surfarray.array3d(window).swapaxes(0, 1).copy())


def test_the_window_never_shows_a_live_frame():
    """A real window (SDL dummy driver), camera-paced frames of a magenta "person" on the
    room: neither the canvas nor the window ever shows a magenta pixel."""
    from posestage_anonymizer import Anonymizer

    host = PluginHost()
    watcher = WindowWatcher()
    host.register(Anonymizer(), "anonymizer")
    host.register(watcher, "collect")
    scene = parse_scene(
        "[plugins.anonymizer]\nempty_seconds = 0.3\n[plugins.collect]\n", None, host
    )
    empty = room()
    counts = [1] * 15 + [0] * 30 + [1] * 30
    images = [with_person(empty) if n else empty for n in counts]
    source = PosedArraySource(images, counts, fps=60)
    st = Stage([scene], StageOptions(headless=False), host=host, source=source)
    report = st.run()
    assert report.frames > 0 and not problems(report)
    assert len(watcher.canvases) >= 3 and watcher.windows
    for pixels in watcher.canvases + watcher.windows:
        assert not np.all(pixels == (255, 0, 255), axis=-1).any()
    assert all(image is None for image in watcher.images)


class FailingAnonymizer:
    """The real anonymizer, made to fail from frame ``after`` on (a bug, a full disk…)."""

    def __new__(cls, after: int):
        from posestage_anonymizer import Anonymizer

        class Failing(Anonymizer):
            @hookimpl
            def posestage_frame(self, frame):
                super().posestage_frame(frame)
                if frame.index >= after:
                    raise RuntimeError("anonymizer broke on purpose")

        return Failing()


def test_when_the_anonymizer_fails_privacy_stays_on():
    host = PluginHost()
    other = Collector()
    host.register(FailingAnonymizer(after=20), "anonymizer")
    host.register(other, "collect")
    scene = parse_scene("[plugins.anonymizer]\n[plugins.collect]\n", None, host)
    counts = [1] * 60
    images = [with_person(room())] * 60
    st, report = stage_run(host, scene, PosedArraySource(images, counts))
    assert any("anonymizer" in e and "switched off" in e for e in report.errors)
    assert "anonymizer" not in host.active
    assert other.frames == 60
    assert all(image is None for image in other.images)  # before and after the failure
    assert all(other.privacy), [i for i, p in enumerate(other.privacy) if not p]
    last = shown(st)
    assert not np.all(last == (255, 0, 255), axis=-1).any()  # the window: no live pixel


# -- the scene ---------------------------------------------------------------------------------


def test_scene_on_the_demo_replay():
    """scenes/anonymizer.toml on the recorded demo stream: no pixels at all, skeletons only."""
    host = PluginHost.load()
    scene = load_scene(ROOT / "scenes" / "anonymizer.toml", host)
    assert [u.name for u in scene.plugins] == ["anonymizer"]
    other = Collector()
    host.register(other, "collect")
    scene = dataclasses.replace(scene, plugins=[*scene.plugins, PluginUse("collect", {})])
    st, report = stage_run(
        host, scene, None, source=f"replay:{ROOT / 'scenes' / 'demo.jsonl'}", pace="fast"
    )
    assert report.frames == 150 and not problems(report)
    assert other.frames == 150 and all(image is None for image in other.images)
    assert max(len(f.people) for f in other.draw_frames) == 2
    last = shown(st)
    f = other.draw_frames[-1]
    assert f.index == st.display.canvas_frame
    assert last[skeleton_mask(f, SkeletonStyle(thickness=4))].any()


def load_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).copy()


@pytest.mark.slow
def test_scene_on_the_shared_photos_with_the_real_model(images_dir):
    """People from the shared photos through the real model, then the empty room: it locks
    on the empty room (mirrored, as the scene says) and never on a photo with people."""
    host = PluginHost.load()
    scene = load_scene(ROOT / "scenes" / "anonymizer.toml", host)
    other = Collector()
    host.register(other, "collect")
    scene = dataclasses.replace(scene, plugins=[*scene.plugins, PluginUse("collect", {})])
    people = load_rgb(images_dir / "two_people.bmp")  # 640x480
    empty = np.full_like(people, (236, 238, 242))
    empty[:, :320] = (120, 90, 60)  # a wall and a door: the mirror shows
    # the tracker holds the people 0.5 s (15 frames at 30 fps), then 2 s = 60 frames of nobody
    images = [people] * 4 + [empty] * 80 + [people] * 3
    st, report = stage_run(host, scene, ArraySource(images), model="posenet-481x641")
    assert report.frames == len(images) and not problems(report)
    assert all(image is None for image in other.images)
    f, last = other.draw_frames[-1], shown(st)
    assert len(f.people) == 2 and f.mirrored
    mask = skeleton_mask(f, SkeletonStyle(thickness=4))
    mirrored_room = empty[:, ::-1]
    assert np.array_equal(last[~mask], mirrored_room[~mask])  # the room, not the people


def test_docs_describe_the_settings_as_the_code_does():
    from posestage_anonymizer import SETTINGS

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
