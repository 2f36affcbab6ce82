"""Shared test fakes: plugin classes, in-memory sources, scenes and streams, frames.

One place for what several test files need (import with ``from fakes import ...``). Plugins
are plain objects registered with a real :class:`~posestage.host.PluginHost`; sources are
real :class:`~posestage.sources.ArraySource` objects. People, frames, contexts and streams come
from the plugin authors' kit (:mod:`posestage.testing`); the names here stay for the core
tests that use them.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pygame
from PIL import Image

from posestage import testing as kit
from posestage.config.scenes import parse_scene
from posestage.config.schema import Setting
from posestage.context import StageContext
from posestage.hookspecs import hookimpl
from posestage.host import PluginHost
from posestage.model.frames import PoseFrame
from posestage.model.people import Person
from posestage.sources import ArraySource
from posestage.stage import Stage, StageOptions

SNOW = (236, 238, 242)


def context(width=640, height=480, scene="test", **facts) -> StageContext:
    """A real, read-only stage context with these facts (what plugins get as ``stage``)."""
    return kit.context(width, height, scene=scene, **facts)


def make_frame(index=0, people=(), image=None, width=640, height=480) -> PoseFrame:
    return kit.frame(index, people, image=image, size=(width, height), timestamp=time.time())


def make_person(pid=1, slot=0, xy=None, missing=0, scores=None) -> Person:
    xy = np.full((17, 2), 100.0, np.float32) if xy is None else xy
    scores = np.ones(17, np.float32) if scores is None else scores
    return kit.person(pid, slot, xy=xy, scores=scores, missing=missing)


# -- helpers ----------------------------------------------------------------------------------


def load_rgb(path: Path, scale: float = 1.0) -> np.ndarray:
    img = Image.open(path).convert("RGB")
    if scale != 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.BILINEAR)
    return np.asarray(img).copy()


class FrameSource(ArraySource):
    """:class:`ArraySource` counting its ``close`` calls (clean-shutdown tests)."""

    closed_calls = 0

    def _close(self):
        self.closed_calls += 1


def sliding(image: np.ndarray, count: int, size=(400, 400), start=(30, 26), step=(8, 0)):
    """``count`` crops of ``image``, the window moving by ``step`` pixels per frame."""
    w, h = size
    out = []
    for i in range(count):
        x, y = start[0] + i * step[0], start[1] + i * step[1]
        out.append(image[y : y + h, x : x + w])
    return out


def blank(width: int, height: int) -> np.ndarray:
    return np.full((height, width, 3), SNOW, dtype=np.uint8)


def pasted(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` scaled to the height and centred on a snow-coloured canvas."""
    h, w = image.shape[:2]
    scale = height / h
    small = np.asarray(Image.fromarray(image).resize((round(w * scale), height), Image.BILINEAR))
    out = blank(width, height)
    x = (width - small.shape[1]) // 2
    out[:, x : x + small.shape[1]] = small
    return out


class Collector:
    """A test plugin: records what it is given, on which thread, and draws a coloured box."""

    def __init__(self, name: str, log: list | None = None, color=None, box=(0, 0, 40, 40)):
        self.name = name
        self.log = log if log is not None else []
        self.color = color
        self.box = box
        self.frames: list = []
        self.entered: list = []
        self.left: list = []
        self.draws = 0
        self.configured = 0
        self.unconfigured = 0
        self.threads: dict[str, set] = {}
        self.canvas_sizes: set = set()

    def _thread(self, hook: str) -> None:
        self.threads.setdefault(hook, set()).add(threading.current_thread().name)

    @hookimpl
    def posestage_configure(self, stage, settings):
        self.configured += 1
        self.stage = stage

    @hookimpl
    def posestage_unconfigure(self, stage):
        self.unconfigured += 1

    @hookimpl
    def posestage_frame(self, frame):
        self._thread("frame")
        self.frames.append(frame)

    @hookimpl
    def posestage_person_enter(self, person, frame):
        self._thread("enter")
        self.entered.append((person.id, person.slot, frame.index))

    @hookimpl
    def posestage_person_leave(self, person, frame):
        self._thread("leave")
        self.left.append((person.id, person.slot, frame.index))

    @hookimpl
    def posestage_draw(self, canvas, frame):
        self._thread("draw")
        self.draws += 1
        self.canvas_sizes.add(canvas.get_size())
        self.log.append(self.name)
        if self.color is not None:
            canvas.fill(self.color, pygame.Rect(self.box))


class Crasher(Collector):
    """Raises in every frame hook after the ``after``-th frame."""

    def __init__(self, name: str, after: int = 2):
        super().__init__(name)
        self.after = after

    @hookimpl
    def posestage_frame(self, frame):
        self.frames.append(frame)
        if len(self.frames) > self.after:
            raise RuntimeError("boom on purpose")


class LogCollector:
    """A plugin recording every hook call into a shared ``log`` as (name, hook, detail); its
    event hook consumes messages whose ``target`` is its name."""

    def __init__(self, name, log, settings=()):
        self.PLUGIN_NAME = name
        self.log = log
        self.settings_decl = list(settings)
        self.configured_with = None

    @hookimpl
    def posestage_settings(self):
        return self.settings_decl

    @hookimpl
    def posestage_configure(self, stage, settings):
        self.configured_with = dict(settings)
        self.log.append((self.PLUGIN_NAME, "configure", dict(settings)))

    @hookimpl
    def posestage_unconfigure(self, stage):
        self.log.append((self.PLUGIN_NAME, "unconfigure", None))

    @hookimpl
    def posestage_frame(self, frame):
        self.log.append((self.PLUGIN_NAME, "frame", frame.index))

    @hookimpl
    def posestage_draw(self, canvas, frame):
        canvas.fill((ord(self.PLUGIN_NAME[0]), 0, 0))  # its own layer, all of it
        self.log.append((self.PLUGIN_NAME, "draw", frame.index))

    @hookimpl
    def posestage_person_enter(self, person):  # a subset of the arguments is fine
        self.log.append((self.PLUGIN_NAME, "enter", person.id))

    @hookimpl
    def posestage_person_leave(self, person, frame):
        self.log.append((self.PLUGIN_NAME, "leave", person.id))

    @hookimpl
    def posestage_event(self, event):
        self.log.append((self.PLUGIN_NAME, "event", getattr(event, "action", event)))
        return getattr(event, "target", None) == self.PLUGIN_NAME


class LogCrasher:
    """Raises in posestage_frame; can be told to stop failing."""

    PLUGIN_NAME = "crasher"

    def __init__(self, log):
        self.log = log
        self.fail = True

    @hookimpl
    def posestage_frame(self, frame):
        if self.fail:
            raise ZeroDivisionError("division by zero in my synth")
        self.log.append(("crasher", "frame", frame.index))

    @hookimpl
    def posestage_unconfigure(self):
        self.log.append(("crasher", "unconfigure", None))


class Anonymizer:
    """A privacy plugin like the anonymizer: asks for privacy while its ``asks`` setting is on,
    records ``(frame index, got pixels)``; from frame ``fail_from`` on, it crashes."""

    PLUGIN_NAME = "anonymizer"

    def __init__(self, fail_from: int | None = None):
        self.fail_from = fail_from
        self.got: list[tuple[int, bool]] = []
        self.asks = True

    @hookimpl
    def posestage_settings(self):
        return [Setting("asks", bool, True)]

    @hookimpl
    def posestage_configure(self, stage, settings):
        self.asks = settings.asks

    @hookimpl
    def posestage_privacy(self):
        return self.asks

    @hookimpl
    def posestage_frame(self, frame):
        self.got.append((frame.index, frame.image is not None))
        if self.fail_from is not None and frame.index >= self.fail_from:
            raise RuntimeError("anonymizer lost its background plate")


def host_with(*plugins: Collector) -> PluginHost:
    host = PluginHost()
    for plugin in plugins:
        host.register(plugin, plugin.name)
    return host


def scene_of(host: PluginHost, *names: str, stage: str = "", tracking: str = ""):
    text = f"[stage]\n{stage}\n[tracking]\n{tracking}\n" + "".join(
        f"[plugins.{n}]\n" for n in names
    )
    return parse_scene(text, None, host)


def run_stage(source, *plugins, engine=None, stage="", tracking="", **options):
    host = host_with(*plugins)
    scene = scene_of(host, *[p.name for p in plugins], stage=stage, tracking=tracking)
    options.setdefault("headless", True)
    st = Stage([scene], StageOptions(**options), host=host, source=source, engine=engine)
    report = st.run()
    return st, report


def write_stream(path: Path, frames: int, people: int = 1, width=640, height=480):
    """A synthetic pose stream: ``people`` standing figures walking right."""
    ys = np.linspace(60, 420, 17, dtype=np.float32)

    def figure(i, k):
        x = 60 + 200 * k + (i % 100) + np.linspace(-30, 30, 17, dtype=np.float32)
        return np.stack([x, ys], 1).astype(np.float32)

    everyone = ([figure(i, k) for k in range(people)] for i in range(frames))
    kit.write_stream(path, everyone, size=(width, height), t0=1_700_000_000.0, fps=30)


class PosedSource(ArraySource):
    """Camera-like frames that also carry one standing figure's pose: real pixels reach the
    stage (privacy tests) without a model — the stage tracks the given poses."""

    def _read(self):
        from posestage.model.poses import Pose

        frame = super()._read()
        if frame is not None:
            ys = np.linspace(60, 420, 17, dtype=np.float32)
            xs = np.full(17, 100.0 + (self._i % 50), np.float32)
            frame.poses = [Pose(0.9, np.stack([xs, ys], 1), np.full(17, 0.9, np.float32))]
        return frame


def reachable(root, limit: int = 200_000) -> list:
    """Every object reachable from ``root`` through references (attributes, slots, closures,
    containers, bound methods), except types, modules and module globals — what a plugin can
    walk to from an object it was handed."""
    import gc
    import types

    seen, out, todo = {id(root)}, [], [root]
    while todo and len(out) < limit:
        obj = todo.pop()
        out.append(obj)
        if isinstance(obj, (type, types.ModuleType)):
            continue
        for ref in gc.get_referents(obj):
            if isinstance(ref, (type, types.ModuleType)) or id(ref) in seen:
                continue
            if isinstance(ref, dict) and "__builtins__" in ref:
                continue  # a module's globals: everything is importable anyway
            seen.add(id(ref))
            todo.append(ref)
    return out
