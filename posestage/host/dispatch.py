"""The one owner of hook calls: per-plugin locks, isolation, failure counts, time budgets.

Every call of a plugin's hook goes through :meth:`Dispatcher.call`. The rules (documented for
plugin authors in :mod:`posestage.hookspecs`):

- **One lock per plugin.** A plugin's hooks never run at the same time as each other; two
  different plugins may run at the same time on different threads. The pose thread waits for
  a plugin's lock (its frame hooks are never skipped while it is in dispatch); the main thread
  never waits: ``posestage_draw`` of a plugin busy elsewhere is skipped for that display tick
  (counted in :attr:`Dispatcher.skipped`), an event for a busy plugin waits in order until the
  plugin is free (:meth:`Dispatcher.pump_events`). A plugin busy in ``settings_changed`` or
  ``scene_changed`` misses ``posestage_frame`` meanwhile instead of holding up the others (its
  enters and leaves are waited for); one configuring is not in dispatch yet.
- **Failures** (any ``BaseException`` raised by the plugin, ``SystemExit`` and
  ``KeyboardInterrupt`` included; a real Ctrl-C is told apart by :func:`real_interrupt`) are
  counted per plugin *and hook*: a success of another hook does not reset the count. After
  ``max_failures`` failures in a row of one hook the plugin is switched off. One traceback is
  logged per distinct error (plugin, hook, type, message); repeats are counted
  (:meth:`Dispatcher.failure_lines`).
- **Time budgets** (:data:`~posestage.host.timings.HOOK_BUDGET_MS`, the rule in
  :mod:`posestage.host.timings`): a call over its hook's budget is reported with its
  duration (the first time per plugin and hook, then counted); a call still running past its
  budget is named by :meth:`Dispatcher.running_late` (the overlay shows it while it lasts);
  a plugin stalling the show (far over budget in most of its last calls of one hook) is
  switched off.
- **Privacy**: hooks that take a ``frame`` get ``frame.image`` only if :attr:`pixels_for`
  allows it (decided per call, so a privacy plugin failing mid-frame withholds the image from
  the plugins after it in the same frame).

The host decides *who* is in dispatch (:meth:`Dispatcher.set_plugins`); the dispatcher only
calls them. Switching a plugin off removes it from dispatch at once and hands its name to
``on_switch_off`` (the host unconfigures it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from posestage.errors import describe_error
from posestage.host.lines import Lines
from posestage.host.timings import HOOK_BUDGET_MS, Overruns, Timings

log = logging.getLogger("posestage.host")

#: Consecutive failures of one hook after which a plugin is switched off.
DEFAULT_MAX_FAILURES = 3
#: Events waiting for busy plugins, at most (older ones are dropped, counted).
EVENT_BACKLOG = 100
#: Hooks whose ``frame`` argument is filtered for privacy.
FRAME_HOOKS = frozenset(
    {"posestage_frame", "posestage_draw", "posestage_person_enter", "posestage_person_leave"}
)

FAILED = object()  #: returned by :meth:`Dispatcher.call` when the hook raised
BUSY = object()  #: returned by :meth:`Dispatcher.call` with ``wait=False`` when busy
GONE = object()  #: returned by :meth:`Dispatcher.call` for a plugin no longer in dispatch

_real_interrupt = threading.Event()


def real_interrupt() -> bool:
    """True once the process got a real Ctrl-C (SIGINT) that must stop the show.

    The stage's SIGINT handler sets it (:func:`mark_real_interrupt`) before raising
    :class:`KeyboardInterrupt`; a ``KeyboardInterrupt`` raised by plugin code otherwise is only
    that plugin's failure.
    """
    return _real_interrupt.is_set()


def mark_real_interrupt(on: bool = True) -> None:
    if on:
        _real_interrupt.set()
    else:
        _real_interrupt.clear()


Row = tuple  # (plugin name, function, argument names)


class Dispatcher:
    """Calls plugins' hooks: see the module docstring for the rules it keeps."""

    def __init__(
        self,
        *,
        max_failures: int = DEFAULT_MAX_FAILURES,
        budgets: dict[str, float] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        on_switch_off: Callable[[str, str], None] | None = None,
    ):
        self.max_failures = max_failures
        self.budgets = dict(HOOK_BUDGET_MS if budgets is None else budgets)
        self.clock = clock
        self.on_switch_off = on_switch_off
        #: who gets ``frame.image``: None = every plugin; a set = only these plugins
        self.pixels_for: frozenset[str] | None = None
        self.skipped: dict[str, int] = {}  #: draws skipped because the plugin was busy
        self._locks: dict[str, threading.RLock] = {}
        self._locks_lock = threading.Lock()
        self._tables: dict[str, tuple[Row, ...]] = {}
        self._members: frozenset[str] = frozenset()
        self._in_lifecycle: set[str] = set()
        self._busy: dict[str, tuple[str, float]] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self._reported: dict[tuple, list] = {}  # key → [count, first line]
        self._overruns = Overruns()
        #: time spent per plugin and hook (:class:`~posestage.host.timings.Timings`)
        self.timings = Timings()
        self._errors = Lines()
        self._slow = Lines()  # hooks over their time budget: warnings, not errors
        self._events: deque[list] = deque()
        self.events_dropped = 0
        #: ``--trace-hooks``: a :class:`posestage.host.trace.HookTrace` told of every call, or None
        self.trace: Any = None

    # ------------------------------------------------------------------ who is in dispatch

    def lock_of(self, name: str) -> threading.RLock:
        """The plugin's own lock: held around each of its hook calls."""
        with self._locks_lock:
            lock = self._locks.get(name)
            if lock is None:
                lock = self._locks[name] = threading.RLock()
            return lock

    def set_plugins(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """The plugins in dispatch, in scene order: ``(name, {hook: impl})`` (swapped whole)."""
        rows = list(rows)
        tables: dict[str, list[Row]] = {}
        for name, impls in rows:
            for hook, impl in impls.items():
                tables.setdefault(hook, []).append((name, impl.function, tuple(impl.argnames)))
        self._tables = {hook: tuple(r) for hook, r in tables.items()}
        self._members = frozenset(name for name, _ in rows)

    def remove(self, name: str) -> None:
        """Take one plugin out of dispatch now (its running call, if any, finishes)."""
        self._members = self._members - {name}
        self._tables = {
            hook: tuple(r for r in rows if r[0] != name) for hook, rows in self._tables.items()
        }

    def in_dispatch(self, name: str) -> bool:
        return name in self._members

    # ------------------------------------------------------------------ calls

    def call(
        self,
        name: str,
        hook: str,
        fn: Callable,
        argnames: Sequence[str],
        kwargs: dict,
        *,
        wait: bool = True,
        member: bool = True,
    ) -> Any:
        """Call one hook of one plugin under its lock; :data:`FAILED` if it raised, :data:`BUSY`
        if ``wait`` is False and the plugin is busy on another thread, :data:`GONE` if (with
        ``member``) it is no longer in dispatch once its lock is free — a plugin is never
        called after it left dispatch, even by a dispatch that started before."""
        lock = self.lock_of(name)
        if not lock.acquire(blocking=wait):
            return BUSY
        if member and name not in self._members:
            lock.release()  # left dispatch while we waited (switched off, unconfigured)
            return GONE
        error: BaseException | None = None
        result: Any = None
        budget = self.budgets.get(hook)
        try:
            start = self.clock()
            if budget is not None:
                self._busy[name] = (hook, start)
            try:
                result = fn(*[kwargs[a] for a in argnames])
            except BaseException as err:  # noqa: BLE001 - the plugin's failure, not the show's
                if isinstance(err, KeyboardInterrupt) and real_interrupt():
                    raise
                error = err
            finally:
                self._busy.pop(name, None)
            end = self.clock()
            ms = (end - start) * 1000.0
            self.timings.add(name, hook, ms)
        finally:
            lock.release()
        trace = self.trace
        if trace is not None:
            trace.record(name, hook, start, end, error is not None)
        off = ""
        if error is not None:
            off = self._failed(name, hook, error)
        else:
            self._failures.pop((name, hook), None)
        if budget is not None and not off:
            note, off = self._overruns.check(name, hook, ms, budget)
            if note:
                self.slow_note(note)
        if off:
            self._switch_off(name, off)
        return FAILED if error is not None else result

    def lifecycle(
        self,
        name: str,
        hook: str,
        fn: Callable,
        argnames: Sequence[str],
        kwargs: dict,
        timeout: float | None = None,
    ):
        """A configure/unconfigure/settings_changed/scene_changed call: under the plugin's lock,
        errors raised to the caller (the host decides what they mean). Frame hooks skip the
        plugin meanwhile rather than wait for it. With ``timeout``, a plugin still busy in
        another hook after that many seconds (stuck) is not called: :class:`TimeoutError`."""
        lock = self.lock_of(name)
        if not lock.acquire(timeout=-1 if timeout is None else timeout):
            busy = self._busy.get(name, ("a hook", 0.0))[0]
            raise TimeoutError(f"still busy in {busy} after {timeout:g} s; {hook} not called")
        self._in_lifecycle.add(name)
        failed = False
        try:
            start = self.clock()
            try:
                return fn(*[kwargs[a] for a in argnames])
            except BaseException:
                failed = True
                raise
            finally:
                end = self.clock()
                self.timings.add(name, hook, (end - start) * 1000.0)
        finally:
            self._in_lifecycle.discard(name)
            lock.release()
            trace = self.trace
            if trace is not None:
                trace.record(name, hook, start, end, failed)

    def dispatch(self, hook: str, kwargs: dict, *, wait: bool = True) -> bool:
        """``hook`` on every plugin in dispatch, in scene order. ``wait=False`` (main thread):
        a plugin busy elsewhere is skipped this time. True when a plugin returned True (for
        ``posestage_draw``: "draw me again on the next display tick")."""
        rows = self._tables.get(hook, ())
        # a plugin busy in a lifecycle hook misses frames rather than stall the others; its
        # enters and leaves are waited for (a note-off must not be lost)
        skip_lifecycle = wait and hook == "posestage_frame"
        asked = False
        if not rows:
            return asked
        frame = kwargs.get("frame") if hook in FRAME_HOOKS else None
        withheld = None
        for name, fn, argnames in rows:
            if skip_lifecycle and name in self._in_lifecycle:
                continue  # busy in settings_changed / scene_changed: this frame goes without
            args = kwargs
            if frame is not None and getattr(frame, "image", None) is not None:
                allowed = self.pixels_for
                if allowed is not None and name not in allowed:
                    if withheld is None:
                        withheld = dict(kwargs, frame=replace(frame, image=None))
                    args = withheld
            got = self.call(name, hook, fn, argnames, args, wait=wait)
            if got is BUSY:
                self.skipped[name] = self.skipped.get(name, 0) + 1
            elif got is True:
                asked = True
        return asked

    def person_leave(self, person: Any, frame: Any) -> None:
        """``posestage_person_leave(person, frame)`` (pose thread)."""
        self.dispatch("posestage_person_leave", {"person": person, "frame": frame})

    def person_enter(self, person: Any, frame: Any) -> None:
        """``posestage_person_enter(person, frame)`` (pose thread)."""
        self.dispatch("posestage_person_enter", {"person": person, "frame": frame})

    def frame(self, frame: Any) -> None:
        """``posestage_frame(frame)`` on every active plugin (pose thread)."""
        self.dispatch("posestage_frame", {"frame": frame})

    def draw(self, canvas: Any, frame: Any, *, wait: bool = False) -> bool:
        """``posestage_draw(canvas, frame)`` in scene order (main thread); a plugin busy on
        another thread is skipped this time (unless ``wait``); no-op without a frame. True
        when a plugin asked to be drawn again on the next display tick (animating)."""
        if frame is None:
            return False
        args = {"canvas": canvas, "frame": frame}
        return self.dispatch("posestage_draw", args, wait=wait)

    def event(self, event: Any) -> bool:
        """Queue ``event`` for the plugins, then deliver what can be delivered now (main
        thread). True when a plugin consumed this event now."""
        item = [event, set(), False]
        self._events.append(item)
        while len(self._events) > EVENT_BACKLOG:
            self._events.popleft()
            self.events_dropped += 1
        self.pump_events()
        return item[2]

    def pump_events(self) -> None:
        """Deliver waiting events in order, scene order within each; an event stops at a
        plugin busy elsewhere (it is retried on the next call) and at the plugin that returns
        True (consumed: later plugins do not get it)."""
        hook = "posestage_event"
        while self._events:
            item = self._events[0]
            event, delivered = item[0], item[1]
            for name, fn, argnames in self._tables.get(hook, ()):
                if name in delivered:
                    continue
                got = self.call(name, hook, fn, argnames, {"event": event}, wait=False)
                if got is BUSY:
                    return
                delivered.add(name)
                if got is True:
                    item[2] = True
                    break
            self._events.popleft()

    # ------------------------------------------------------------------ failures and budgets

    def _failed(self, name: str, hook: str, err: BaseException) -> str:
        self.report(name, hook, err)
        key = (name, hook)
        count = self._failures[key] = self._failures.get(key, 0) + 1
        if count >= self.max_failures:
            self._failures.pop(key, None)
            return f"{count} failures in a row (last in {hook}: {describe_error(err)})"
        return ""

    def report(self, name: str, hook: str, err: BaseException) -> None:
        """Log a failure with its traceback and show it, once per plugin, hook and error;
        repeats are counted (:meth:`failure_lines`)."""
        key = (name, hook, type(err).__name__, str(err))
        seen = self._reported.get(key)
        if seen is not None:
            seen[0] += 1
            return
        if len(self._reported) > 1000:
            self._reported.clear()
        line = f"{name}: {hook} failed: {describe_error(err)}"
        self._reported[key] = [1, line]
        log.error("plugin %s: %s failed", name, hook, exc_info=err)
        self.error(line)

    def failure_lines(self) -> list[str]:
        """One line per distinct error with how often it happened (for the report)."""
        return [
            line if count == 1 else f"{line} ({count} times)"
            for count, line in self._reported.values()
        ]

    def _switch_off(self, name: str, why: str) -> None:
        if not self.in_dispatch(name):
            return  # already off (another thread got there first)
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
        for name, (hook, start) in list(self._busy.items()):
            budget = self.budgets.get(hook)
            ms = (now - start) * 1000.0
            if budget is not None and ms > budget:
                out[name] = f"{name}: {hook} running for {ms / 1000:.1f} s (budget {budget:g} ms)"
        return out

    def forget_failures(self, name: str) -> None:
        """A fresh start for a plugin configured again."""
        for key in [k for k in self._failures if k[0] == name]:
            del self._failures[key]
        self._overruns.forget(name)

    # ------------------------------------------------------------------ errors shown

    def error(self, line: str) -> None:
        self._errors.add(line)

    @property
    def errors(self) -> list[str]:
        return self._errors.lines()

    def take_errors(self) -> list[str]:
        return self._errors.take()

    def slow_note(self, line: str) -> None:
        """A hook over its time budget: a warning (logged, shown on screen), not an error — a
        busy machine is not a broken plugin. Switching a stalling plugin off is an error."""
        log.warning("%s", line)
        self._slow.add(line)

    @property
    def slow(self) -> list[str]:
        return self._slow.lines()

    def take_slow(self) -> list[str]:
        return self._slow.take()
