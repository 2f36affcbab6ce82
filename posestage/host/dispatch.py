"""The one owner of hook calls: every plugin in its own lane, failure counts, time budgets.

Every hook call of a plugin is posted to its :class:`~posestage.host.lanes.Lane` (a thread of
its own) and runs there, in order, one at a time; the pose thread, the window and the control
thread never run plugin code. The contract plugin authors read is in :mod:`posestage.hookspecs`
(Threads, Locks, Time budgets, Failures); here is who keeps which part of it:

- frames, enters and leaves: :meth:`Dispatcher.dispatch` (a slow plugin misses frames,
  :meth:`Dispatcher.missed`, unless :attr:`Dispatcher.keep_every_frame`);
- draws on each plugin's own layer (:mod:`posestage.host.layers`), composited in scene order:
  :meth:`Dispatcher.draw`; events handed from lane to lane until consumed:
  :meth:`Dispatcher.event`;
- lifecycle hooks, waited for with a deadline: :meth:`Dispatcher.lifecycles`;
- stuck plugins switched off and their lanes left behind: :meth:`Dispatcher.watch`;
- failures and slow calls, measured on the lane: :meth:`Dispatcher._run` with
  :class:`~posestage.host.failures.Failures` and :class:`~posestage.host.timings.Overruns`;
- privacy is not the dispatcher's: in privacy mode the pose thread builds frames without an
  image, for every plugin alike (:mod:`posestage.stage.room`).

The host decides *who* is in dispatch (:meth:`Dispatcher.set_plugins`); switching a plugin off
removes it at once (what waited on its lane is dropped) and hands its name to
``on_switch_off`` (the host unconfigures it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from posestage.host.failures import Failures, mark_real_interrupt, real_interrupt
from posestage.host.lanes import CALL, DRAW, EVENT, FRAME, LIFE, Job, Lane, LaneGone
from posestage.host.timings import (
    HOOK_BUDGET_MS,
    LIFECYCLE_SECONDS,
    STUCK_SECONDS,
    Overruns,
    Timings,
)

__all__ = [
    "DEFAULT_MAX_FAILURES",
    "FAILED",
    "Dispatcher",
    "mark_real_interrupt",
    "real_interrupt",
]

log = logging.getLogger("posestage.host")

#: Consecutive failures of one hook after which a plugin is switched off.
DEFAULT_MAX_FAILURES = 3
FAILED = object()  #: what a lifecycle call answers when the hook raised (see activation)

Row = tuple  # (plugin name, function, argument names)


class Dispatcher(Failures):
    """Posts plugins' hook calls to their lanes: see the module docstring for the rules."""

    def __init__(
        self,
        *,
        max_failures: int = DEFAULT_MAX_FAILURES,
        budgets: dict[str, float] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        on_switch_off: Callable[[str, str], None] | None = None,
    ):
        super().__init__()
        self.max_failures = max_failures
        self.budgets = dict(HOOK_BUDGET_MS if budgets is None else budgets)
        #: seconds after which a per-frame or display hook still running is stuck
        self.stuck_after = STUCK_SECONDS
        #: seconds a lifecycle hook is waited for, per hook
        self.deadlines = dict(LIFECYCLE_SECONDS)
        self.clock = clock
        self.on_switch_off = on_switch_off
        #: every frame reaches every plugin (a source that is not live): the pose thread
        #: waits for room on a lane; False (live): a slow plugin misses frames instead
        self.keep_every_frame = True
        #: a host without a stage (a plugin's unit tests, a program calling ``host.frame``
        #: itself) waits for each call on its lane, plugin after plugin as before; the stage
        #: sets it False: it posts and goes on
        self.synchronous = True
        self._lanes: dict[str, Lane] = {}
        self._left: dict[str, Lane] = {}  # lanes left behind, their thread still stuck
        self._lanes_lock = threading.Lock()
        self._drawn = threading.Condition()
        #: counts finished draws: the window composites again when it changed
        self.layers_version = 0
        self._composited = 0
        self._tables: dict[str, tuple[Row, ...]] = {}
        self._members: frozenset[str] = frozenset()
        self._off: set[str] = set()  # switched off: no call of theirs runs but lifecycle
        self._overruns = Overruns()
        #: time spent per plugin and hook (:class:`~posestage.host.timings.Timings`)
        self.timings = Timings()
        #: ``--trace-hooks``: a :class:`posestage.host.trace.HookTrace` told of every call, or None
        self.trace: Any = None

    # ------------------------------------------------------------------ who is in dispatch

    def set_plugins(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """The plugins in dispatch, in scene order: ``(name, {hook: impl})`` (swapped whole)."""
        rows = list(rows)
        tables: dict[str, list[Row]] = {}
        for name, impls in rows:
            for hook, impl in impls.items():
                tables.setdefault(hook, []).append((name, impl.function, tuple(impl.argnames)))
        self._tables = {hook: tuple(r) for hook, r in tables.items()}
        self._members = frozenset(name for name, _ in rows)
        self._off -= self._members  # configured again: its calls run again

    def remove(self, name: str) -> None:
        """Take one plugin out of dispatch now (switched off): what waited on its lane is
        dropped; its running call, if any, finishes."""
        self._members = self._members - {name}
        self._tables = {
            hook: tuple(r for r in rows if r[0] != name) for hook, rows in self._tables.items()
        }
        lane = self._lanes.get(name)
        if lane is not None:
            for job in lane.clear():
                if job.kind == EVENT:
                    self._forward(job.kwargs["event"], job.extra)

    def in_dispatch(self, name: str) -> bool:
        return name in self._members

    def left_behind(self, name: str) -> bool:
        """The plugin's lane was left behind and its stuck call has not returned yet."""
        lane = self._left.get(name)
        return lane is not None and lane.thread.is_alive()

    # ------------------------------------------------------------------ lanes

    def lane(self, name: str) -> Lane:
        """The plugin's lane (started on first use); :class:`LaneGone` while the plugin is
        left behind, stuck in a call (its hooks never overlap)."""
        with self._lanes_lock:
            lane = self._lanes.get(name)
            if lane is None:
                if self.left_behind(name):
                    raise LaneGone(name)
                lane = self._lanes[name] = Lane(name, self._run, self.clock)
            return lane

    def _post(self, name: str, job: Job, *, wait: bool = False) -> bool:
        """Post ``job`` on ``name``'s lane; False when the lane was left behind. With
        ``wait``, until the job ran (or its plugin was found stuck and left behind)."""
        room = self._room if job.kind == FRAME and self.keep_every_frame else None
        try:
            lane = self.lane(name)
            lane.post(job, room=room)
        except LaneGone:
            return False
        while wait and not job.wait(0.05) and not lane.abandoned:
            self.watch()
        return True

    def _room(self) -> bool:
        """A frame waits for room on a lane (a source that is not live): go on waiting, while
        stuck plugins are looked for (a stuck one is left behind and the wait ends)."""
        self.watch()
        return True

    def has(self, hook: str) -> bool:
        """True when a plugin in dispatch implements ``hook`` (any thread)."""
        return bool(self._tables.get(hook))

    def dispatch(self, hook: str, kwargs: dict) -> None:
        """Post ``hook`` to every plugin in dispatch, in scene order."""
        kind = FRAME if hook == "posestage_frame" else CALL
        droppable = kind == FRAME and not self.keep_every_frame
        wait = self.synchronous
        for name, fn, argnames in self._tables.get(hook, ()):
            self._post(name, Job(kind, hook, fn, argnames, kwargs, droppable=droppable), wait=wait)

    def person_leave(self, person: Any, frame: Any) -> None:
        """``posestage_person_leave(person, frame)`` posted (pose thread)."""
        self.dispatch("posestage_person_leave", {"person": person, "frame": frame})

    def person_enter(self, person: Any, frame: Any) -> None:
        """``posestage_person_enter(person, frame)`` posted (pose thread)."""
        self.dispatch("posestage_person_enter", {"person": person, "frame": frame})

    def frame(self, frame: Any) -> None:
        """``posestage_frame(frame)`` posted to every active plugin (pose thread)."""
        self.dispatch("posestage_frame", {"frame": frame})

    def draw(self, canvas: Any, frame: Any, *, within: float = 0.0) -> bool:
        """Ask every drawing plugin for its layer of ``frame`` (on its lane; a request not
        started yet is replaced), give them up to ``within`` seconds, then composite the
        latest finished layers onto ``canvas`` in scene order (main thread). No-op without a
        frame. True when a plugin asked to be drawn again on the next tick (animating).
        :attr:`synchronous`: each layer is waited for (up to a stuck plugin's deadline)."""
        if frame is None:
            return False
        rows = self._tables.get("posestage_draw", ())
        get_size = getattr(canvas, "get_size", None)
        size = tuple(get_size()) if get_size is not None else (frame.width, frame.height)
        jobs = []
        for name, fn, argnames in rows:
            args = {"frame": frame}
            job = Job(DRAW, "posestage_draw", fn, argnames, args, extra=size)
            if self._post(name, job, wait=self.synchronous):
                jobs.append(job)
        if within > 0 and jobs:
            with self._drawn:
                self._drawn.wait_for(lambda: all(j.done for j in jobs), within)
        return self.composite(canvas)

    def composite(self, canvas: Any) -> bool:
        """The latest finished layers onto ``canvas``, scene order; True if one animates."""
        animate = False
        self._composited = self.layers_version
        for name, _, _ in self._tables.get("posestage_draw", ()):
            layer = getattr(self._lanes.get(name), "layer", None)
            if layer is not None and layer.blit_onto(canvas):
                animate = animate or layer.animate
        return animate

    @property
    def layers_changed(self) -> bool:
        """A layer finished since the last :meth:`composite` (the window shows it)."""
        return self.layers_version != self._composited

    def event(self, event: Any) -> bool:
        """Hand ``event`` to the plugins: from lane to lane in scene order, until one
        consumes it (returns True). The caller does not wait (main thread): False. A
        :attr:`synchronous` host waits: True when a plugin consumed it."""
        names = tuple(name for name, _, _ in self._tables.get("posestage_event", ()))
        if not self.synchronous:
            self._forward(event, names)
            return False
        for name, fn, argnames in self._tables.get("posestage_event", ()):
            job = Job(EVENT, "posestage_event", fn, argnames, {"event": event}, extra=None)
            if self._post(name, job, wait=True) and job.result is True:
                return True  # consumed
        return False

    def _forward(self, event: Any, chain: Sequence[str]) -> None:
        """Post ``event`` to the first plugin of ``chain`` still in dispatch; the rest of the
        chain goes with it (its lane forwards the event unless consumed)."""
        rows = {
            name: (fn, argnames) for name, fn, argnames in self._tables.get("posestage_event", ())
        }
        chain = tuple(chain)
        while chain:
            name, chain = chain[0], chain[1:]
            row = rows.get(name)
            if row is None:
                continue
            job = Job(EVENT, "posestage_event", row[0], row[1], {"event": event}, extra=chain)
            if self._post(name, job):
                return

    def lifecycle(
        self,
        name: str,
        hook: str,
        fn: Callable,
        argnames: Sequence[str],
        kwargs: dict,
        timeout: float | None = None,
    ):
        """A configure/privacy/unconfigure/settings_changed/scene_changed call on the plugin's
        lane, waited for: its result, or what it raised, raised here (the host decides what
        that means). Waited for ``timeout`` seconds (default: the hook's deadline); a plugin
        not done by then is stuck: switched off, left behind, :class:`TimeoutError`."""
        return self.lifecycles([(name, hook, fn, argnames, kwargs)], timeout)[0]

    def lifecycles(self, calls: Sequence[tuple], timeout: float | None = None) -> list:
        """Several lifecycle calls ``(name, hook, fn, argnames, kwargs)`` at once, each on its
        plugin's lane, waited for together (one deadline): a stuck plugin holds up no other.
        Returns each call's result; the first one's error is raised when there is one call,
        otherwise errors are returned in its place (the caller reports them)."""
        jobs = []
        for name, hook, fn, argnames, kwargs in calls:
            job = Job(LIFE, hook, fn, tuple(argnames), kwargs)
            if self.left_behind(name):
                job.finish(error=TimeoutError(f"{self._stuck_in(name)}; {hook} not called"))
            else:
                self._left.pop(name, None)
                lane = self.lane(name)
                if threading.current_thread() is lane.thread:  # switched off from its own lane
                    self._run(lane, job)
                elif not self._post(name, job):
                    job.finish(error=TimeoutError(f"{self._stuck_in(name)}; {hook} not called"))
            jobs.append((name, hook, job))
        end = time.monotonic() + (
            timeout
            if timeout is not None
            else max((self.deadlines.get(h, 5.0) for _, h, _ in jobs), default=0.0)
        )
        out = []
        for name, hook, job in jobs:
            if not job.wait(max(0.0, end - time.monotonic())):
                why = f"{hook} not done after {end - job.posted:.1f} s"
                self._abandon(name, why)
                job.finish(error=TimeoutError(f"{why}; stuck, left behind"))
            error = job.error
            if isinstance(error, LaneGone):
                error = TimeoutError(f"{self._stuck_in(name)}; {hook} not done")
            out.append(error if error is not None else job.result)
        if len(calls) == 1 and isinstance(jobs[0][2].error, BaseException):
            raise out[0]
        return out

    def _stuck_in(self, name: str) -> str:
        lane = self._left.get(name)
        job, secs = lane.running_for() if lane is not None else (None, 0.0)
        where = job.hook if job is not None else "a hook"
        return f"left behind, stuck in {where} for {secs:.1f} s"

    # ------------------------------------------------------------------ on the lane

    def _run(self, lane: Lane, job: Job) -> None:
        """Run one job on its lane (the lane's thread): the call, timed and traced; then what
        its kind asks (a layer swapped, an event handed on, a waiter told)."""
        name, hook = lane.name, job.hook
        if job.kind != LIFE and name in self._off:
            return  # switched off after this call was handed over
        kwargs = job.kwargs
        layer = None
        if job.kind == DRAW:
            layer = lane.layer
            kwargs = dict(kwargs, canvas=layer.canvas(job.extra))
        error: BaseException | None = None
        result: Any = None
        start = self.clock()
        try:
            result = job.fn(*[kwargs[a] for a in job.argnames])
        except BaseException as err:  # noqa: BLE001 - the plugin's failure, not the show's
            error = err
        end = self.clock()
        if lane.abandoned:
            return  # left behind: whatever it did is ignored
        ms = (end - start) * 1000.0
        self.timings.add(name, hook, ms)
        trace = self.trace
        if trace is not None:
            trace.record(name, hook, start, end, error is not None)
        if job.kind == LIFE:
            job.finish(result, error)
            return
        off = ""
        if error is not None:
            off = self._failed(name, hook, error)
        else:
            self._failures.pop((name, hook), None)
        budget = self.budgets.get(hook)
        if budget is not None and not off:
            note, off = self._overruns.check(name, hook, ms, budget)
            if note:
                self.slow_note(note)
        if layer is not None:
            with self._drawn:
                if error is None:
                    layer.swap(getattr(kwargs["frame"], "index", None), result is True)
                    self.layers_version += 1
                job.finish(result, error)
                self._drawn.notify_all()
        elif job.kind == EVENT and result is not True and job.extra is not None:
            self._forward(kwargs["event"], job.extra)  # not consumed: the next plugin's turn
        if off:
            self._switch_off(name, off)
        job.finish(result, error)  # after a switch-off's consequences (a bare host waits)

    # ------------------------------------------------------------------ stuck plugins

    def watch(self) -> None:
        """Switch off and leave behind every plugin whose call has run past its deadline
        (any thread; the stage calls it every display tick)."""
        for name, lane in list(self._lanes.items()):
            job, secs = lane.running_for()
            if job is None or job.kind == LIFE:
                continue  # lifecycle calls: whoever waits for them holds the deadline
            if secs > self.stuck_after:
                self._abandon(
                    name, f"{job.hook} ran for {secs:.1f} s (deadline {self.stuck_after:g} s)"
                )

    def _abandon(self, name: str, why: str) -> None:
        with self._lanes_lock:
            lane = self._lanes.get(name)
            if lane is None or lane.abandoned:
                return
            del self._lanes[name]
            self._left[name] = lane
        for job in lane.abandon():
            if job.kind == EVENT:
                self._forward(job.kwargs["event"], job.extra)
        if self.in_dispatch(name):
            self._switch_off(name, f"being stuck: {why}; left behind")
        else:
            line = f"{name}: left behind, stuck: {why}"
            log.error("%s", line)
            self.error(line)

    def missed(self) -> dict[str, int]:
        """Frames each plugin missed because it was busy (newer frames waited)."""
        lanes = {**self._left, **self._lanes}
        return {name: lane.missed for name, lane in lanes.items() if lane.missed}

    def drain(self, timeout: float) -> bool:
        """Wait (up to ``timeout`` seconds) until every lane not left behind is idle."""
        end = time.monotonic() + timeout
        while True:
            if all(lane.idle() for lane in list(self._lanes.values())):
                return True
            if time.monotonic() >= end:
                return False
            time.sleep(0.005)

    def close(self) -> None:
        """The lanes' threads end once their queues are empty (shutdown)."""
        with self._lanes_lock:
            lanes = list(self._lanes.values())
            self._lanes.clear()
        for lane in lanes:
            lane.close()

    def _switch_off(self, name: str, why: str) -> None:
        if not self.in_dispatch(name):
            return  # already off (another thread got there first)
        self._off.add(name)  # a call posted from a table read just before: not run either
        self.remove(name)
        line = f"{name}: switched off after {why}"
        log.error("%s", line)
        self.error(line)
        if self.on_switch_off is not None:
            self.on_switch_off(name, line)

    def running_late(self, now: float | None = None) -> dict[str, str]:
        """Plugins in a hook for longer than its budget right now: ``{name: line}``."""
        now = self.clock() if now is None else now
        out = {}
        for name, lane in list(self._lanes.items()):
            job = lane.current
            if job is None:
                continue
            budget = self.budgets.get(job.hook)
            ms = (now - lane.started) * 1000.0
            if budget is not None and ms > budget:
                out[name] = (
                    f"{name}: {job.hook} running for {ms / 1000:.1f} s (budget {budget:g} ms)"
                )
        return out

    def forget_failures(self, name: str) -> None:
        """A fresh start for a plugin configured again."""
        for key in [k for k in self._failures if k[0] == name]:
            del self._failures[key]
        self._overruns.forget(name)
