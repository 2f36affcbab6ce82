"""The dispatcher's rules, on a real PluginHost with real threads: per-plugin locks, skipped
draws, deferred events, configure off the frame path, time budgets on an injected clock,
failures counted per plugin and hook, BaseException from plugin code.

Every wait is on a threading.Event (with a generous timeout that is never reached when the
code works); time budgets are checked against a clock the plugins themselves advance.
"""

from __future__ import annotations

import logging
import threading
import time

import pygame
import pytest
from fakes import context, make_frame

from posestage.hookspecs import hookimpl
from posestage.host import PluginHost, PluginUse
from posestage.host.dispatch import mark_real_interrupt

WAIT = 10.0


class FakeClock:
    """A clock the test (or a plugin) moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


class Blocker:
    """Blocks in ``frame`` until released; tells when it is inside. Also draws and takes
    events, to show what happens to its other hooks meanwhile."""

    def __init__(self, name="blocker", clock=None, hold=0.0):
        self.PLUGIN_NAME = name
        self.inside = threading.Event()
        self.release = threading.Event()
        self.clock, self.hold = clock, hold
        self.calls: list = []
        self.active_hooks = 0
        self.overlaps = 0

    def _enter(self, hook):
        self.active_hooks += 1
        if self.active_hooks > 1:
            self.overlaps += 1
        self.calls.append(hook)

    @hookimpl
    def posestage_frame(self, frame):
        self._enter(("frame", frame.index))
        try:
            if self.clock is not None:
                self.clock.advance(self.hold)
            self.inside.set()
            assert self.release.wait(WAIT)
        finally:
            self.active_hooks -= 1

    @hookimpl
    def posestage_draw(self, canvas, frame):
        self._enter("draw")
        self.active_hooks -= 1

    @hookimpl
    def posestage_event(self, event):
        self._enter(("event", event))
        self.active_hooks -= 1


class Counter:
    def __init__(self, name):
        self.PLUGIN_NAME = name
        self.frames: list = []
        self.draws = 0
        self.events: list = []
        self.unconfigured = 0

    @hookimpl
    def posestage_frame(self, frame):
        self.frames.append(frame.index)

    @hookimpl
    def posestage_draw(self, canvas, frame):
        self.draws += 1

    @hookimpl
    def posestage_event(self, event):
        self.events.append(event)

    @hookimpl
    def posestage_unconfigure(self):
        self.unconfigured += 1


def host_of(*plugins, **kwargs):
    host = PluginHost(**kwargs)
    for p in plugins:
        host.register(p)
    host.activate([PluginUse(p.PLUGIN_NAME) for p in plugins], context())
    return host


def eventually(condition, timeout=WAIT):
    """Wait (a hang guard, never reached when the code works) until ``condition()``."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.005)
    return True


def in_thread(fn, *args):
    thread = threading.Thread(target=fn, args=args, daemon=True)
    thread.start()
    return thread


def test_a_plugin_busy_in_frame_holds_up_nobody_and_its_own_hooks_wait_in_order():
    blocker, other = Blocker(), Counter("other")
    host = host_of(blocker, other)
    host.dispatcher.synchronous = False  # as on the stage: post and go on
    host.frame(make_frame(1))  # returns at once: the blocker blocks on its own lane
    assert blocker.inside.wait(WAIT)
    canvas = pygame.Surface((640, 480))
    for _ in range(5):  # the caller never waits for the busy plugin
        host.draw(canvas, make_frame(1))
    host.event("first")
    host.event("second")
    host.frame(make_frame(2))
    assert eventually(lambda: other.draws >= 1 and other.frames == [1, 2])  # others go on
    assert other.events == []  # events keep scene order: they wait behind the blocker
    assert host.dispatcher.drain(0.1) is False  # the blocker is still busy
    blocker.release.set()
    assert host.dispatcher.drain(WAIT)
    # its own hooks came in order once it was free, one at a time
    assert blocker.calls[0] == ("frame", 1)
    assert [c for c in blocker.calls if c[0] == "event"] == [
        ("event", "first"),
        ("event", "second"),
    ]
    assert ("frame", 2) in blocker.calls and blocker.overlaps == 0
    assert other.frames == [1, 2]
    # an event goes from lane to lane in scene order: the other plugin got it after the blocker
    assert other.events == ["first", "second"]


def test_configure_runs_without_holding_up_the_frames_and_the_plugin_joins_when_ready():
    started, finish = threading.Event(), threading.Event()

    class SlowStart(Counter):
        @hookimpl
        def posestage_configure(self):
            started.set()
            assert finish.wait(WAIT)  # loading a soundfont, opening a port...

    running, slow = Counter("running"), SlowStart("slow")
    host = host_of(running)
    host.register(slow)
    enabling = in_thread(host.enable, PluginUse("slow"), context())
    assert started.wait(WAIT)
    host.frame(make_frame(1))  # dispatch goes on meanwhile, without the plugin configuring
    assert running.frames == [1] and slow.frames == []
    assert host.active == ["running"]
    finish.set()
    enabling.join(WAIT)
    host.frame(make_frame(2))
    assert running.frames == [1, 2] and slow.frames == [2]
    assert host.active == ["running", "slow"]


def test_overruns_are_named_with_their_duration_and_a_plugin_that_keeps_overrunning_is_off():
    clock = FakeClock()

    class Slow(Counter):
        def __init__(self, name, every):
            super().__init__(name)
            self.every, self.n = every, 0

        @hookimpl
        def posestage_frame(self, frame):
            self.frames.append(frame.index)
            self.n += 1
            if self.n % self.every == 0:
                clock.advance(0.25)  # this call "took" 250 ms: 5x the 50 ms budget

    class Slowish(Counter):
        @hookimpl
        def posestage_frame(self, frame):
            self.frames.append(frame.index)
            clock.advance(0.1)  # twice the budget, every call: a slow machine, not a stall

    always, sometimes, slowish = Slow("always", 1), Slow("sometimes", 3), Slowish("slowish")
    host = host_of(always, sometimes, slowish, clock=clock)
    for i in range(30):
        host.frame(make_frame(i))
    assert "always: posestage_frame took 250 ms (budget 50 ms)" in host.slow
    assert any(
        e.startswith("always: switched off after posestage_frame over 200 ms (4x its 50 ms")
        for e in host.errors
    )
    assert always.frames == [0, 1, 2, 3, 4] and always.unconfigured == 1
    # one overrun in three calls: reported, never switched off
    assert "sometimes: posestage_frame took 250 ms (budget 50 ms)" in host.slow
    assert len(sometimes.frames) == 30
    # over budget every time, but never 4x: warned once, never switched off
    assert "slowish: posestage_frame took 100 ms (budget 50 ms)" in host.slow
    assert len(slowish.frames) == 30 and host.active == ["sometimes", "slowish"]


def test_a_hook_past_its_budget_is_named_while_it_still_runs():
    clock = FakeClock()
    blocker = Blocker(clock=clock, hold=2.0)
    host = host_of(blocker, clock=clock)
    pose = in_thread(host.frame, make_frame(1))
    assert blocker.inside.wait(WAIT)
    assert host.running_late() == {
        "blocker": "blocker: posestage_frame running for 2.0 s (budget 50 ms)"
    }
    blocker.release.set()
    pose.join(WAIT)
    assert host.running_late() == {}
    assert "blocker: posestage_frame took 2000 ms (budget 50 ms)" in host.slow


def test_failures_are_counted_per_hook_and_reported_once_with_a_count(caplog):
    class BadDraw(Counter):
        @hookimpl
        def posestage_draw(self, canvas, frame):
            raise RuntimeError("cannot draw")

    bad, good = BadDraw("bad"), Counter("good")
    host = host_of(bad, good)
    with caplog.at_level(logging.ERROR, logger="posestage.host"):
        for i in range(3):
            host.frame(make_frame(i))  # succeeds: must not reset the draw failures
            host.draw([], make_frame(i))
    assert host.active == ["good"] and bad.unconfigured == 1
    assert bad.frames == [0, 1, 2]
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1  # one traceback per distinct error
    assert host.dispatcher.failure_lines() == [
        "bad: posestage_draw failed: RuntimeError: cannot draw (3 times)"
    ]
    assert any("bad: switched off after 3 failures in a row" in e for e in host.errors)


@pytest.mark.parametrize(
    "error", [SystemExit(0), KeyboardInterrupt(), GeneratorExit(), BaseException("odd")]
)
def test_base_exceptions_from_plugin_code_are_that_plugins_failure(error):
    class Raiser(Counter):
        @hookimpl
        def posestage_frame(self, frame):
            raise error

    raiser, good = Raiser("raiser"), Counter("good")
    host = host_of(raiser, good)
    for i in range(4):
        host.frame(make_frame(i))  # nothing escapes
    assert good.frames == [0, 1, 2, 3]
    assert host.active == ["good"] and raiser.unconfigured == 1
    assert any(type(error).__name__ in e for e in host.errors)


def test_a_keyboard_interrupt_from_plugin_code_is_its_failure_even_during_a_real_ctrl_c():
    """Plugin code runs on lanes, never on the main thread, where signals arrive: whatever
    it raises is the plugin's own failure."""

    class Raiser(Counter):
        @hookimpl
        def posestage_frame(self, frame):
            raise KeyboardInterrupt

    good = Counter("good")
    host = host_of(Raiser("raiser"), good)
    mark_real_interrupt()  # what the stage's SIGINT handler does before raising
    try:
        for i in range(3):
            host.frame(make_frame(i))
    finally:
        mark_real_interrupt(False)
    assert good.frames == [0, 1, 2] and host.active == ["good"]


def test_shutdown_leaves_a_plugin_stuck_in_a_hook_and_unconfigures_the_others():
    class StuckBlocker(Blocker):
        @hookimpl
        def posestage_unconfigure(self):
            self.calls.append("unconfigure")

    stuck, other = StuckBlocker("stuck"), Counter("other")
    host = host_of(stuck, other)
    pose = in_thread(host.frame, make_frame(1))
    assert stuck.inside.wait(WAIT)
    try:
        host.deactivate_all(context(), timeout=0.05)  # returns: the stuck plugin is left
        assert other.unconfigured == 1 and "unconfigure" not in stuck.calls
        assert any(
            "stuck: posestage_unconfigure failed: TimeoutError: posestage_unconfigure not done" in e
            for e in host.errors
        )
    finally:
        stuck.release.set()
        pose.join(WAIT)
