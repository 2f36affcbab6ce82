"""Lanes: one thread per plugin, running its hook calls in order, one at a time.

A :class:`Lane` is a plugin's own thread with a queue of :class:`Job` s. The pose thread, the
window and the control thread only *post* jobs (never run plugin code); the lane runs them in
the order they were posted, so one plugin's hooks never overlap and keep their order, while
different plugins run side by side and a slow one holds up nobody but itself.

What the queue keeps (the rules plugin authors read in :mod:`posestage.hookspecs`):

- **Frames** posted from a live source are *droppable*: when the lane comes to a frame that
  waited longer than :data:`STALE_AFTER` while a newer frame waits behind it, that frame's
  ``posestage_frame`` is skipped and counted (:attr:`Lane.missed`). A plugin that keeps up
  gets every frame (a short hiccup of the machine included); a slow one gets the newest frame
  when it is ready, never a stale one as new. Enters and leaves are never dropped: they come
  in order, each with the frame it belongs to.
- **Draws** are one at a time: a new draw request replaces one not started yet.
- **Lifecycle** jobs (configure, unconfigure, ...) are waited for by whoever posted them, with
  a deadline (:meth:`Job.wait`).
- A frame from a source that is not live waits for room (:data:`BACKLOG` jobs) instead: every
  plugin gets every frame of a file played as fast as the stage takes it.

A lane found stuck (a call past its deadline) is :meth:`abandoned <Lane.abandon>`: its queue
is emptied (lifecycle waiters told at once), its thread left to return whenever it does, and
whatever the stuck call returns then is ignored. Nothing here knows about hooks' meaning: the
dispatcher (:mod:`posestage.host.dispatch`) runs each job through ``run(lane, job)``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from posestage.host.layers import Layer

__all__ = ["BACKLOG", "MAX_QUEUE", "STALE_AFTER", "Job", "Lane", "LaneGone"]

#: A frame from a live source that waited this long (seconds) on a lane, with a newer one
#: behind it, is skipped (counted as missed): a slow plugin gets the newest frame.
STALE_AFTER = 0.1
#: Jobs a lane holds before a frame of a source that is not live waits for room.
BACKLOG = 4
#: Jobs a lane holds at most (a lane stuck in a call collects no more; the oldest droppable
#: frames go first, then the oldest jobs).
MAX_QUEUE = 512

FRAME, DRAW, EVENT, CALL, LIFE = "frame", "draw", "event", "call", "life"


class LaneGone(RuntimeError):
    """The lane was abandoned (its plugin stuck): the job will never run."""


class Job:
    """One hook call waiting on a lane: ``kind`` (frame, draw, event, call, life), the hook,
    its function and arguments. ``posted`` is when it was posted (``time.monotonic``)."""

    __slots__ = (
        "hook",
        "fn",
        "argnames",
        "kwargs",
        "kind",
        "droppable",
        "posted",
        "extra",
        "_done",
        "result",
        "error",
    )

    def __init__(
        self,
        kind: str,
        hook: str,
        fn: Callable,
        argnames: tuple,
        kwargs: dict,
        *,
        droppable: bool = False,
        extra: Any = None,
    ) -> None:
        self.kind, self.hook, self.fn = kind, hook, fn
        self.argnames, self.kwargs = argnames, kwargs
        self.droppable = droppable
        self.extra = extra
        self.posted = time.monotonic()
        self._done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None) -> bool:
        """True once the job ran (or was dropped); False after ``timeout`` seconds."""
        return self._done.wait(timeout)


class Lane:
    """One plugin's thread (``posestage-lane-NAME``, a daemon) and its queue of jobs; each job
    is run by ``run(lane, job)``. ``clock`` is the dispatcher's (time budgets); deadlines are
    measured on ``time.monotonic``."""

    def __init__(self, name: str, run: Callable[[Lane, Job], None], clock: Callable[[], float]):
        self.name = name
        self._run = run
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: deque[Job] = deque()
        self.current: Job | None = None
        self.started = 0.0  #: when the current job started, on ``clock``
        self.started_real = 0.0  #: the same on ``time.monotonic`` (deadlines)
        self.abandoned = False
        self.missed = 0  #: frames skipped because newer ones waited (a slow plugin)
        self.dropped = 0  #: jobs dropped because the queue was full
        self.layer = Layer()  #: what its ``posestage_draw`` drew last (:mod:`.layers`)
        self._closed = False
        self.thread = threading.Thread(
            target=self._loop, name=f"posestage-lane-{name}", daemon=True
        )
        self.thread.start()

    # -- posting -------------------------------------------------------------------------

    def post(self, job: Job, *, room: Callable[[], bool] | None = None) -> None:
        """Queue ``job``. With ``room`` (a frame of a source that is not live), wait while the
        lane holds :data:`BACKLOG` jobs, as long as ``room()`` says to go on waiting (it is
        called about every 50 ms; False: post anyway). :class:`LaneGone` if abandoned."""
        with self._cond:
            if room is not None:
                while len(self._queue) >= BACKLOG and not self.abandoned and not self._closed:
                    self._cond.release()
                    try:
                        go_on = room()
                    finally:
                        self._cond.acquire()
                    if not go_on:
                        break
                    self._cond.wait(0.05)
            if self.abandoned or self._closed:
                raise LaneGone(self.name)
            if job.kind == DRAW:  # one draw at a time: a newer request replaces a waiting one
                for old in [j for j in self._queue if j.kind == DRAW]:
                    self._queue.remove(old)
                    old.finish()
            self._queue.append(job)
            if len(self._queue) > MAX_QUEUE:
                self._shed()
            self._cond.notify_all()

    def _shed(self) -> None:
        victim = next((j for j in self._queue if j.droppable), None)
        if victim is None:
            victim = next((j for j in self._queue if j.kind != LIFE), None)
        if victim is None:  # pragma: no cover - only lifecycle jobs: nobody posts 512
            return
        self._queue.remove(victim)
        self.dropped += 1
        victim.finish()

    def pending(self, kind: str) -> bool:
        """A job of ``kind`` is waiting or running."""
        with self._cond:
            current = self.current
            return (current is not None and current.kind == kind) or any(
                j.kind == kind for j in self._queue
            )

    def idle(self) -> bool:
        with self._cond:
            return self.current is None and not self._queue

    def clear(self) -> list[Job]:
        """Drop every job not started (a plugin switched off); returns them (finished)."""
        with self._cond:
            jobs = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        for job in jobs:
            job.finish()
        return jobs

    def abandon(self) -> list[Job]:
        """Leave this lane behind (its plugin is stuck): no job runs on it any more; the jobs
        that waited are returned (their waiters told). The stuck call's outcome is ignored."""
        with self._cond:
            self.abandoned = True
            jobs = list(self._queue)
            self._queue.clear()
            current = self.current
            self._cond.notify_all()
        for job in jobs:
            job.finish(error=LaneGone(self.name))
        if current is not None and current.kind == LIFE:
            current.finish(error=LaneGone(self.name))
        return ([current] if current is not None else []) + jobs

    def close(self) -> None:
        """End the thread once its queue is empty."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- the thread ----------------------------------------------------------------------

    def _next(self) -> Job | None:
        with self._cond:
            while not self._queue:
                if self._closed or self.abandoned:
                    return None
                self._cond.wait()
            if self.abandoned:
                return None
            job = self._queue.popleft()
            now = time.monotonic()
            while (
                job.droppable
                and now - job.posted > STALE_AFTER
                and any(j.droppable for j in self._queue)
            ):
                self.missed += 1  # a newer frame waits: this one is stale
                job.finish()
                job = self._queue.popleft()
            self.current = job
            self.started = self._clock()
            self.started_real = time.monotonic()
            self._cond.notify_all()  # room for a frame waiting to be posted
            return job

    def _loop(self) -> None:
        while True:
            job = self._next()
            if job is None:
                return
            try:
                self._run(self, job)
            finally:
                with self._cond:
                    self.current = None
                    self._cond.notify_all()
                if not job.done:
                    job.finish()
            if self.abandoned:
                return  # left behind: the thread ends once the stuck call returned

    def running_for(self) -> tuple[Job | None, float]:
        """The job running now and for how long (seconds, ``time.monotonic``)."""
        with self._cond:
            job = self.current
            return job, (time.monotonic() - self.started_real) if job is not None else 0.0
