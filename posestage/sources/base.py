"""The source contract: what the stage expects of every frame source, built-in or a plugin's.

A source is a :class:`Source` subclass. The stage (or anyone) calls :meth:`Source.read` in a
loop on one thread — the *capture thread* — and :meth:`Source.close` once, possibly from
another thread. A plugin registers sources with the ``posestage_sources()`` hook: it returns
``{scheme: opener}`` and ``--source SCHEME:REST`` calls ``opener("SCHEME:REST", options)``
with a :class:`SourceOptions`; the opener returns a :class:`Source` or raises
:class:`~posestage.errors.SourceError` (one line naming the spec and the fix).

What a subclass provides:

- ``name``: a short description shown on screen and in ``PoseFrame.source`` (``camera:0``,
  ``video:dance.mp4``).
- ``width``, ``height``: the frame size in pixels, known once the source is open (the stage
  sizes its window from them). Frames may differ in size (stills of several sizes).
- :meth:`_read`: block until the next frame and return a :class:`SourceFrame`, or None at the
  end. It may raise :class:`~posestage.errors.SourceError` (a one-line reason). It runs under
  the source's lock: never two reads at once, and :meth:`close` waits for a read in progress.
  Wait with :meth:`_sleep` (it wakes on :meth:`close`), never with ``time.sleep``.
- :meth:`_close` (optional): free devices and files. Called once, under the lock.
- :meth:`recover` (optional, live sources): reopen the device after a failed read.

Class attributes that tell the stage how to consume the source:

``live``
    The source produces frames in real time whatever the consumer does (a camera, a video or
    replay at ``realtime`` pace). The stage then keeps only the newest frame: a frame not yet
    processed when the next one arrives is dropped (counted as stale), so latency stays low.
    A read of a live source that raises is reported and retried (after :meth:`recover`): a
    camera unplugged and plugged back in. ``live = False`` (stills, ``fast`` pace): the source
    waits for the consumer and every frame is processed; a read that raises ends the run.
``continuous``
    Frames follow each other in time (camera, video, replay), so models may track between them
    (MoveNet's crop tracking) and the tracker's velocities mean something. False for unrelated
    stills.
``gives_poses``
    Frames carry ``poses`` (already detected, in frame pixels) and usually no image: the stage
    runs no model for this source (a replay of a recorded pose stream). A source whose frames
    carry ``people`` (tracked already) sets it too.
``gives_floor``
    The people a source gives already stand on the room's floor in metres (the MQTT merger of
    several calibrated stages): the scene's zones are then in metres without a ``[room]``
    calibration of its own.
``mirror_by_default``
    The stage mirrors this source's frames unless the scene's ``[stage] mirror`` or
    ``--mirror/--no-mirror`` says otherwise. True for cameras (a performer facing the screen
    sees a looking glass); False for files, whose picture is shown as it was recorded.

:attr:`end_note` may be set by :meth:`_read` before it returns None, to say in one line that
the source ended early (a truncated video); the stage reports it.

Times on a :class:`SourceFrame`: ``timestamp`` is the wall-clock capture time *in this run*
(``time.time()`` when the frame was read, also at ``fast`` pace: the OSC time tag);
``media`` is the frame's time on the media's own clock in this run (videos and replays: it
advances by exactly one recorded step per frame, and the tracker uses it); ``captured`` is
``time.perf_counter()`` when the frame was read; a replayed frame also carries its
``recorded`` stream frame, whose ``timestamp`` is the wall time it was recorded at.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from posestage.config.vocabulary import FPS, PACE, SIZE, VocabularyError
from posestage.errors import SourceError
from posestage.model.people import Person
from posestage.model.poses import Pose
from posestage.model.posestream import StreamFrame

log = logging.getLogger("posestage.sources")

#: How long :meth:`Source.close` waits for a read in progress (s).
CLOSE_WAIT = 2.0
#: A realtime video or replay that falls this far behind (s) restarts its clock (a pause).
RESYNC_SECONDS = 0.5
#: A realtime video or replay never waits longer than this (s) for its next frame: a pose
#: stream recorded across a break (or a video with broken frame times) plays on after at most
#: this pause instead of stalling for the length of the gap.
MAX_WAIT_SECONDS = 1.0

VALID_FORMS = (
    "camera, camera:N, camera:NAME, a video file, an image file, a folder of stills, "
    "a quoted glob like 'shots/*.jpg', replay:FILE.jsonl, a stream (rtsp://, http://, "
    "srt://, udp://) or ndi:NAME"
)


@dataclass
class SourceOptions:
    """How to read a source (``--res``, ``--pace``, ``--loop``; ``hold`` is the stage's).

    - ``res``: (width, height) to resize every frame to (a camera is asked for it first);
      None keeps the source's size. Replayed poses are scaled to it.
    - ``pace``: ``"realtime"`` plays videos and replays at their recorded pace, ``"fast"`` as
      fast as the consumer takes frames. Cameras are always realtime, stills always consumer-paced.
    - ``fps``: the rate to ask a camera for (``--fps``); None: 30 when offered. Files ignore it.
    - ``loop``: start again at the end (videos, stills, replays), timestamps keep increasing.
    - ``hold``: stills only: after the last still (without ``loop``), wait until closed instead
      of ending, so a window keeps showing it until the performer quits. The stage sets it
      when it opens a window; headless runs process the stills once and end.
    """

    res: tuple[int, int] | None = None
    pace: str = "realtime"
    loop: bool = False
    hold: bool = False
    fps: float | None = None

    def __post_init__(self) -> None:
        try:
            self.pace = PACE(self.pace)
        except VocabularyError as err:
            raise SourceError(f"--pace: {err}") from None
        if self.res is not None:
            try:
                self.res = SIZE(self.res)
            except VocabularyError as err:
                raise SourceError(f"--res: {err}") from None
        if self.fps is not None:
            try:
                self.fps = FPS(self.fps)
            except VocabularyError as err:
                raise SourceError(f"--fps: {err}") from None


@dataclass
class SourceFrame:
    """One frame from a source.

    - ``image``: (H, W, 3) uint8 RGB, or None when replaying poses.
    - ``timestamp``: wall-clock capture time in this run, seconds since the epoch: when the
      frame was read (decoded, received) on this machine — the OSC bundle's time tag.
    - ``captured``: ``time.perf_counter()`` when the frame was read.
    - ``width``, ``height``: image size in pixels (for replays the recorded, or ``res``, size).
    - ``poses``: on replay the recorded detections — the stage then skips the model. They
      belong to the stage once read: the pose thread mirrors them in place; a source that
      keeps them (a looping cache) hands out copies.
    - ``index``: frame number from this source (0, 1, 2…, continuing across loops), set by
      :meth:`Source.read` — the one owner of the stage's frame numbers.
    - ``recorded``: on replay the whole recorded frame (with the recorded ids, slots and the
      recorded wall time ``recorded.timestamp``); None for live sources.
    - ``people``: a source that tracks people itself (the MQTT merger of several stages) hands
      them finished: :class:`~posestage.model.people.Person` objects with their ids, slots and
      floor positions. The stage then runs no model, no tracker and no mirror on them; who
      entered and who left is read from the ids (:mod:`posestage.tracking.given`). The source
      keeps the tracker's promises: an id never reused, a slot kept while its person stays.
    - ``media``: the frame's time on the media's own clock, in this run (the run's start plus
      the frame's time in the video or recording): the tracker's and smoother's time, so a
      file read at ``fast`` pace steps as recorded, whatever speed it is read at. None: the
      source has no clock of its own (cameras, stills): ``timestamp`` is used.
    """

    image: np.ndarray | None
    timestamp: float
    captured: float
    width: int
    height: int
    poses: list[Pose] | None = None
    index: int = 0
    recorded: StreamFrame | None = None
    people: list[Person] | None = None
    media: float | None = None


class Source:
    """Base class of frame sources (the contract is in this module's docstring). Subclasses
    set ``name``, ``width``, ``height`` and the class attributes, and implement :meth:`_read`
    (and :meth:`_close` when they hold resources)."""

    name: str = "source"
    width: int = 0
    height: int = 0
    live: bool = False
    continuous: bool = True
    gives_poses: bool = False
    gives_floor: bool = False
    mirror_by_default: bool = False

    def __init__(self) -> None:
        self._closed = threading.Event()
        self._lock = threading.Lock()  # one read at a time; close waits for it
        self._index = 0
        #: Set before the end (read returns None) when the source stopped early; one line.
        self.end_note: str = ""

    def read(self) -> SourceFrame | None:
        """The next frame (blocking), or None at the end of the stream or once closed."""
        if self._closed.is_set():
            return None
        with self._lock:
            if self._closed.is_set():
                return None
            frame = self._read()
            if frame is not None:
                frame.index = self._index
                self._index += 1
            return frame

    def close(self) -> None:
        """Stop: wakes a waiting :meth:`read` (which then returns None) and frees resources.

        Never hangs: if a read is stuck in the device for :data:`CLOSE_WAIT` seconds (an
        unplugged camera), the resources are left to the process exit.
        """
        self._closed.set()
        if not self._lock.acquire(timeout=CLOSE_WAIT):
            log.warning("%s: a read is stuck; closing without waiting for it", self.name)
            return
        try:
            self._close()
        finally:
            self._lock.release()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def _read(self) -> SourceFrame | None:
        raise NotImplementedError

    def _close(self) -> None:
        pass

    def recover(self) -> None:
        """Called by the stage after a read of a live source failed, before it reads again:
        reopen the device here (a camera unplugged and plugged back in). Raise if it is not
        back yet; the stage keeps trying. The default does nothing."""

    def _sleep(self, seconds: float) -> bool:
        """Wait, waking early on :meth:`close`; False if closed."""
        if seconds > 0:
            return not self._closed.wait(seconds)
        return not self._closed.is_set()

    def __iter__(self) -> Iterator[SourceFrame]:
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.width}x{self.height} live={self.live}>"


#: A plugin's source opener (``posestage_sources()`` hook): ``opener(spec, options)`` gets the
#: whole spec (``"SCHEME:REST"``) and returns a :class:`Source` or raises :class:`SourceError`.
Opener = Callable[[str, SourceOptions], Source]


class MediaClock:
    """Maps media time (seconds in a video or recording) to ``perf_counter`` time for pacing.

    :meth:`delay` says how long to wait until a frame is due. A consumer that stalled more
    than :data:`RESYNC_SECONDS` restarts the clock from the late frame (no burst to catch up);
    a frame due more than :data:`MAX_WAIT_SECONDS` ahead (a gap in the media) is due after
    :data:`MAX_WAIT_SECONDS`, and the clock carries on from there. ``clock`` is injectable.
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.anchor: tuple[float, float] | None = None  # (media time, perf_counter)

    def delay(self, media_time: float) -> float:
        """Seconds until ``media_time`` is due (negative: late). Starts the clock if needed."""
        now = self.clock()
        if self.anchor is None:
            self.anchor = (media_time, now)
            return 0.0
        delay = (media_time - self.anchor[0]) - (now - self.anchor[1])
        if delay < -RESYNC_SECONDS:  # consumer or decoder stalled: carry on from here
            self.anchor = (media_time, now)
            return 0.0
        cap = MAX_WAIT_SECONDS  # read at call time (tests may change it)
        if delay > cap:  # a gap in the media: a short pause, then play on
            self.anchor = (media_time, now + cap)
            return cap
        return delay
