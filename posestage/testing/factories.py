"""What a plugin's tests hand its hooks: people, frames, a stage context, pose streams.

Call a hook directly when a whole stage run is more than the test needs::

    from posestage.testing import context, frame, person

    plugin = MyPlugin()
    plugin.posestage_configure(context(), settings)
    plugin.posestage_frame(frame(0, [person(1, 0, right_wrist=(None, 150.0))]))

Everything here is built the way the stage builds it — the same classes
(:class:`~posestage.PoseFrame`, :class:`~posestage.Person`, :class:`~posestage.StageContext`),
the same fields set, frozen as the stage hands them (``frame.people`` a tuple, read-only
arrays; make a changed one with ``dataclasses.replace``) — so a test keeps meaning what it says
when the stage changes how they are made. :func:`track` runs the real tracker, so ids, slots,
dropouts, enter and leave come out as on stage. :func:`write_stream` writes a pose stream the
stage replays (``source=path``).

People stand like :mod:`posestage`'s synthetic figures (:func:`standing_xy`): ``tall`` pixels
from nose to ankles, centred on ``x``, ankles at ``feet``. Times are reproducible: frame ``i``
has ``timestamp = t0 + i / fps`` (:data:`T0`, 30 fps by default).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import numpy as np

from posestage.context import ControlInbox, StageContext, StageFacts
from posestage.hookspecs import ControlReply
from posestage.model.frames import PoseFrame
from posestage.model.keypoints import KEYPOINT_INDEX, NUM_KEYPOINTS
from posestage.model.people import Person
from posestage.model.poses import Pose
from posestage.model.synthetic import standing_person, standing_xy

__all__ = [
    "NO_TEST_DATA",
    "SIZE",
    "T0",
    "FPS",
    "Tracked",
    "TestContext",
    "context",
    "frame",
    "no_test_data",
    "person",
    "shared_models",
    "shared_path",
    "standing_person",
    "standing_xy",
    "track",
    "write_stream",
]

#: The image size people and frames have unless told: (width, height) pixels.
SIZE = (640, 480)
#: The wall-clock time of frame 0 (seconds since the epoch) unless told.
T0 = 1_700_000_000.0
#: Frames per second unless told (frame ``i`` is at ``t0 + i / fps``).
FPS = 30.0


# -- people and frames ---------------------------------------------------------------------


def person(
    id: int = 1,
    slot: int = 0,
    *,
    xy: Any = None,
    x: float = 320.0,
    feet: float = 460.0,
    tall: float = 400.0,
    scores: Any = None,
    keypoint_score: float = 0.9,
    low: Iterable[int | str] = (),
    score: float = 0.9,
    missing: int = 0,
    age: int = 1,
    size: tuple[int, int] = SIZE,
    **at: tuple[float | None, float | None],
) -> Person:
    """A tracked :class:`~posestage.Person`, as the tracker hands it to plugins.

    ``xy``: the (17, 2) keypoints in image pixels; without it a standing figure (``x``,
    ``feet``, ``tall``). A keypoint named as a keyword moves there: ``right_wrist=(None, 150)``
    (None keeps that coordinate). ``scores``: (17,) keypoint scores, else ``keypoint_score``
    for all; keypoints in ``low`` (indices or names) score 0.05, below any threshold.
    ``missing`` > 0: in a tracking dropout. ``size``: the image the pixels are of.
    Frozen, with read-only arrays of its own, as the tracker hands it out.
    """
    xy = standing_xy(x, feet, tall) if xy is None else np.array(xy, np.float32)
    if xy.shape != (NUM_KEYPOINTS, 2):
        raise ValueError(f"person: xy must be ({NUM_KEYPOINTS}, 2), got {xy.shape}")
    for name, (kx, ky) in at.items():
        if name not in KEYPOINT_INDEX:
            raise TypeError(f"person: no keypoint or argument named {name!r}")
        k = KEYPOINT_INDEX[name]
        if kx is not None:
            xy[k, 0] = kx
        if ky is not None:
            xy[k, 1] = ky
    if scores is None:
        scores = np.full(NUM_KEYPOINTS, keypoint_score, np.float32)
    else:
        scores = np.array(scores, np.float32)
    for k in low:
        scores[KEYPOINT_INDEX[k] if isinstance(k, str) else int(k)] = 0.05
    return Person(
        id=int(id),
        slot=int(slot),
        score=float(score),
        xy=xy,
        scores=scores,
        raw_xy=xy.copy(),
        age=int(age),
        missing=int(missing),
        width=int(size[0]),
        height=int(size[1]),
    )


def frame(
    index: int = 0,
    people: Iterable[Person] = (),
    *,
    image: np.ndarray | None = None,
    size: tuple[int, int] | None = None,
    t0: float = T0,
    fps: float = FPS,
    timestamp: float | None = None,
    captured: float | None = None,
    **fields: Any,
) -> PoseFrame:
    """A :class:`~posestage.PoseFrame` as the stage dispatches it.

    ``timestamp``: ``t0 + index / fps`` unless given; ``captured``: ``time.perf_counter()`` now
    (latency arithmetic works as on stage). ``size``: the image's (width, height) — ``image``'s
    if one is given, else :data:`SIZE`. Other fields (``fps``, ``inference_ms``, ``mirrored``,
    ``source``, ``recorded``…) as keywords. Frozen: ``people`` becomes a tuple, ``image`` a
    read-only copy, as the stage dispatches it.
    """
    if size is None:
        size = (image.shape[1], image.shape[0]) if image is not None else SIZE
    stamp = t0 + index / fps if timestamp is None else float(timestamp)
    return PoseFrame(
        index=int(index),
        timestamp=float(stamp),
        captured=time.perf_counter() if captured is None else float(captured),
        width=int(size[0]),
        height=int(size[1]),
        people=tuple(people),
        image=image,
        **fields,
    )


class Tracked(NamedTuple):
    """One frame out of :func:`track`: the frame, who entered and who left just before it."""

    frame: PoseFrame
    entered: list[Person]
    left: list[Person]


def track(
    poses: Iterable[Sequence[Pose | np.ndarray]],
    *,
    size: tuple[int, int] = SIZE,
    t0: float = T0,
    fps: float = FPS,
    tracking: dict | None = None,
    times: Sequence[float] | None = None,
    **fields: Any,
) -> list[Tracked]:
    """Frames from the real tracker: ``poses[i]`` are frame ``i``'s detections
    (:class:`~posestage.Pose` objects or (17, 2) keypoint arrays, scored 0.9), tracked as the
    stage tracks them (ids, slots, dropouts, smoothing; ``tracking``: ``[tracking]`` keys).
    Frame ``i`` is at ``times[i]`` if given (a recording's own times), else ``t0 + i / fps``.
    Each item is a :class:`Tracked` ``(frame, entered, left)``; ``fields`` go to every frame."""
    from posestage.config.tracking import TrackingSettings
    from posestage.tracking.tracker import Tracker

    tracker = Tracker(TrackingSettings.from_mapping(dict(tracking or {}), "posestage.testing"))
    width, height = size
    out = []
    for i, detections in enumerate(poses):
        stamp = float(times[i]) if times is not None else t0 + i / fps
        update = tracker.update([_pose(p) for p in detections], width, height, stamp)
        made = frame(i, update.people, size=size, timestamp=stamp, **fields)
        out.append(Tracked(made, list(update.entered), list(update.left)))
    return out


def _pose(p: Pose | np.ndarray) -> Pose:
    if isinstance(p, Pose):
        return p
    xy = np.asarray(p, np.float32)
    return Pose(0.9, xy, np.full(NUM_KEYPOINTS, 0.9, np.float32))


# -- the stage context -----------------------------------------------------------------------


class _CollectingInbox(ControlInbox):
    """Keeps every posted message; answers each at once (``reply(message)``, else ok)."""

    __slots__ = ("posted", "reply")

    def __init__(self, reply: Callable[[Any], ControlReply] | None) -> None:
        super().__init__()
        self.posted: list[Any] = []
        self.reply = reply

    def put(self, message: Any) -> Future:
        self.posted.append(message)
        future: Future = Future()
        answer = self.reply(message) if self.reply is not None else None
        future.set_result(answer if answer is not None else ControlReply(True, "posted"))
        return future


class TestContext(StageContext):
    """A real, read-only :class:`~posestage.StageContext` that keeps what plugins post:
    :attr:`posted`, every :class:`~posestage.ControlMessage` in order."""

    __test__ = False  # not a test class, whatever its name
    __slots__ = ()

    @property
    def posted(self) -> list[Any]:
        return self._inbox.posted


def context(
    width: int = SIZE[0],
    height: int = SIZE[1],
    *,
    scene: str = "test",
    reply: Callable[[Any], ControlReply | None] | None = None,
    **facts: Any,
) -> TestContext:
    """The ``stage`` argument of configure / unconfigure / settings_changed / scene_changed.

    Facts as keywords (``mirror``, ``privacy``, ``source``, ``model``, ``fps``, ``plugins``,
    ``scenes``…; :class:`~posestage.StageContext` lists them). ``post(message)`` keeps the
    message in :attr:`TestContext.posted` and answers at once: ``reply(message)`` if given
    (None: ok), else ``ControlReply(True, "posted")``.
    """
    f = StageFacts()
    f.width, f.height, f.scene = int(width), int(height), scene
    for name, value in facts.items():
        if name not in StageFacts.__slots__:
            raise TypeError(f"context: no stage fact named {name!r}")
        setattr(f, name, tuple(value) if name in ("plugins", "scenes") else value)
    return TestContext(f, _CollectingInbox(reply))


# -- pose streams ----------------------------------------------------------------------------


def write_stream(
    path: str | Path,
    frames: Iterable[PoseFrame | Sequence[Person | Pose | np.ndarray]],
    *,
    size: tuple[int, int] = SIZE,
    t0: float = T0,
    fps: float = FPS,
    source: str = "posestage.testing",
) -> Path:
    """A pose stream file the stage replays (``run_plugin(..., source=path)``).

    Each item of ``frames`` is a :class:`~posestage.PoseFrame` (its people, timestamp and
    size) or a list of people: :class:`~posestage.Person` (id and slot kept),
    :class:`~posestage.Pose` or (17, 2) keypoint arrays (ids 1, 2… and slots 0, 1… by their
    place in the list). Frame ``i`` is at ``t0 + i / fps``. Returns the path.
    """
    from posestage.model.posestream import (
        PoseStreamWriter,
        StreamFrame,
        StreamHeader,
        StreamPerson,
    )

    path = Path(path)
    width, height = size
    header = StreamHeader(source=source, width=width, height=height, start_time=t0)
    with PoseStreamWriter(path, header) as writer:
        for i, item in enumerate(frames):
            if isinstance(item, PoseFrame):
                stamp, w, h, people = item.timestamp, item.width, item.height, item.people
            else:
                stamp, w, h, people = t0 + i / fps, width, height, item
            recorded = []
            for k, p in enumerate(people):
                if isinstance(p, Person):
                    recorded.append(StreamPerson(p.id, p.slot, p.score, p.raw_xy, p.scores))
                else:
                    pose = _pose(p)
                    recorded.append(StreamPerson(k + 1, k, pose.score, pose.xy, pose.scores))
            writer.write(StreamFrame(i, stamp, w, h, recorded))
    return path


# -- shared test data ------------------------------------------------------------------------


def shared_path(*parts: str, required: bool = True) -> Path:
    """A path in the shared test data (models, ``images/``, ``reference/``): the folder
    ``$POSESTAGE_SHARED`` names, else the ``shared`` folder beside the working directory's
    repository (``../shared``), else the user cache where ``posestage models fetch
    --test-data`` puts it. Missing, the test is skipped (:func:`no_test_data`); ``required``
    tests fail instead in CI."""
    for root, layout in _shared_roots():
        target = root.joinpath(*(layout.get(parts[0], parts[0]), *parts[1:])) if parts else root
        if target.exists():
            return target
    no_test_data(required)


def shared_places() -> list[str]:
    """Where the shared test data is looked for, in order."""
    return [str(root) for root, _ in _shared_roots()]


def shared_required() -> bool:
    """In CI (``CI`` set, or ``POSESTAGE_REQUIRE_TEST_DATA=1``) missing test data fails."""
    required = os.environ.get("POSESTAGE_REQUIRE_TEST_DATA", "")
    return required == "1" or (required != "0" and os.environ.get("CI", "") not in ("", "0"))


#: The start of the one reason every test skipped without the test data gives.
NO_TEST_DATA = "no test data"


def no_test_data(required: bool = True) -> NoReturn:
    """Skip the test: no test data. The same words from the same line for every such test, so
    pytest folds them into one line (``-rs``: ``SKIPPED [92] …``); in CI (and ``required``)
    it fails instead."""
    import pytest

    why = (
        f"{NO_TEST_DATA} in {', '.join(shared_places())}: run `posestage models fetch "
        "--test-data` once (models, Coral's test photos and references, checksummed, into the "
        "user cache), or set POSESTAGE_SHARED to a folder with models/, images/ and reference/"
    )
    if required and shared_required():
        pytest.fail(why, pytrace=False)
    pytest.skip(why)


def shared_models() -> Path:
    """The shared models folder (:func:`shared_path`), put on ``POSESTAGE_MODELS_PATH`` unless
    that is set: call it before a run that uses the real pose model (``model=...``)."""
    models = shared_path("models")
    os.environ.setdefault("POSESTAGE_MODELS_PATH", str(models))
    return Path(os.environ["POSESTAGE_MODELS_PATH"])


def _shared_roots() -> list[tuple[Path, dict[str, str]]]:
    if os.environ.get("POSESTAGE_SHARED"):
        return [(Path(os.environ["POSESTAGE_SHARED"]), {})]
    from platformdirs import user_cache_dir

    roots = [(parent / "shared", {}) for parent in _repository_parents()]
    cache = Path(user_cache_dir("posestage"))
    roots.append((cache, {"images": "test-data/images", "reference": "test-data/reference"}))
    return roots


def _repository_parents() -> list[Path]:
    """The folders holding the repository the tests run in (found from the working
    directory upwards: the first folder with a ``pyproject.toml``)."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return [folder.parent]
    return [here.parent]
