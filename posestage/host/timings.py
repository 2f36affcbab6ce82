"""How long plugins' hooks take, and the time budgets they are held to.

:class:`Timings` keeps, per plugin and hook, a moving average, the peak and the count of calls
(:class:`HookTiming`), and reads them out for the overlay (:meth:`Timings.summary`) and for
``--profile`` (:meth:`Timings.profile_lines`). :class:`Overruns` is the rule that tells a merely
slow machine from a plugin that stalls the show: a call over its hook's budget
(:data:`HOOK_BUDGET_MS`) is noted once; more than :data:`OVERRUN_FACTOR` times the budget in
:data:`OVERRUN_LIMIT` of the last :data:`OVERRUN_WINDOW` calls of one hook switches it off.

Nothing here calls a plugin or holds its lock: :class:`~posestage.host.dispatch.Dispatcher`
measures each call and hands the duration here.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = [
    "HOOK_BUDGET_MS",
    "LIFECYCLE_SECONDS",
    "STUCK_SECONDS",
    "OVERRUN_FACTOR",
    "OVERRUN_LIMIT",
    "OVERRUN_WINDOW",
    "PER_FRAME",
    "TIMING_ALPHA",
    "HookTiming",
    "Overruns",
    "Timings",
]

#: Time budget per call, in milliseconds. The per-frame hooks run at camera rate (30–60 fps:
#: 50 ms is a frame and a half at 30 fps); draw and event run on the display's 60 Hz tick
#: (20 ms leaves room for the others). Hooks not listed (configure, unconfigure, …) run off
#: the frame and display paths and have no budget.
HOOK_BUDGET_MS = {
    "posestage_frame": 50.0,
    "posestage_person_enter": 50.0,
    "posestage_person_leave": 50.0,
    "posestage_draw": 20.0,
    "posestage_event": 20.0,
}
#: A per-frame or display hook (the ones with a budget) still running after this many seconds
#: is stuck: its plugin is switched off and its lane left behind (see
#: :mod:`posestage.host.lanes`). Far above any budget: only a plugin that hangs gets here.
STUCK_SECONDS = 2.0
#: How long the one who asked waits for a lifecycle hook (seconds) before the plugin counts as
#: stuck (switched off, left behind). Configure may load a soundfont or open a device.
LIFECYCLE_SECONDS = {
    "posestage_configure": 20.0,
    "posestage_privacy": 5.0,
    "posestage_settings_changed": 10.0,
    "posestage_scene_changed": 10.0,
    "posestage_unconfigure": 5.0,
}
#: A call over its budget is named on screen; a plugin whose calls of one hook take more than
#: :data:`OVERRUN_FACTOR` times the budget in :data:`OVERRUN_LIMIT` of the last
#: :data:`OVERRUN_WINDOW` calls is switched off. A merely slow machine (a draw of 25 ms on a
#: busy board) is warned about; a plugin that stalls the show (200 ms draws, 2 s frames) stops.
OVERRUN_FACTOR = 4.0
OVERRUN_LIMIT = 5
OVERRUN_WINDOW = 10
#: Weight of the newest call in the timing moving average.
TIMING_ALPHA = 0.1

#: The hooks called per frame or per display tick (timings shown by the overlay).
PER_FRAME = frozenset(HOOK_BUDGET_MS)


@dataclass
class HookTiming:
    """Time spent in one plugin's hook: moving-average and peak milliseconds, call count."""

    mean_ms: float = 0.0
    max_ms: float = 0.0
    calls: int = 0

    def add(self, ms: float) -> None:
        self.calls += 1
        self.mean_ms = ms if self.calls == 1 else self.mean_ms + TIMING_ALPHA * (ms - self.mean_ms)
        if ms > self.max_ms:
            self.max_ms = ms


class Timings:
    """``{plugin: {hook: HookTiming}}``, added to from any thread (one writer per plugin: the
    call holding its lock) and read by the overlay."""

    def __init__(self) -> None:
        self._by_plugin: dict[str, dict[str, HookTiming]] = {}

    def add(self, name: str, hook: str, ms: float) -> None:
        hooks = self._by_plugin.get(name)
        if hooks is None:
            hooks = self._by_plugin.setdefault(name, {})
        timing = hooks.get(hook)
        if timing is None:
            timing = hooks.setdefault(hook, HookTiming())
        timing.add(ms)

    def of(self, name: str) -> dict[str, HookTiming]:
        """One plugin's timings by hook (empty when it never ran)."""
        return dict(self._by_plugin.get(name, {}))

    def means(self) -> dict[str, dict[str, float]]:
        """``{plugin: {hook: mean ms}}``: moving average of the time spent per call."""
        return {
            p: {h: t.mean_ms for h, t in list(hooks.items())}
            for p, hooks in list(self._by_plugin.items())
        }

    def summary(self) -> dict[str, dict[str, float]]:
        """Per plugin, over its per-frame hooks: ``mean_ms`` (sum of the hooks' means),
        ``max_ms`` and ``calls`` — the shape :func:`posestage.stage.overlay.timing_lines` reads."""
        out = {}
        for plugin, hooks in list(self._by_plugin.items()):
            rows = [t for h, t in list(hooks.items()) if h in PER_FRAME]
            if rows:
                out[plugin] = {
                    "mean_ms": sum(t.mean_ms for t in rows),
                    "max_ms": max(t.max_ms for t in rows),
                    "calls": sum(t.calls for t in rows),
                }
        return out

    def profile_lines(self) -> list[str]:
        """One line per plugin and hook, for ``--profile`` at exit."""
        lines = []
        for plugin, hooks in sorted(list(self._by_plugin.items())):
            for hook, t in sorted(list(hooks.items())):
                lines.append(
                    f"{plugin:<16} {hook:<26} mean {t.mean_ms:8.3f} ms  max {t.max_ms:8.3f} ms  {t.calls} calls"
                )
        return lines


class Overruns:
    """The budget rule per plugin and hook: :meth:`check` says whether a call's duration is
    worth a note (the first time over budget) and whether the plugin stalls the show."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], deque] = {}
        self._noted: set[tuple[str, str]] = set()

    def check(self, name: str, hook: str, ms: float, budget: float) -> tuple[str, str]:
        """``(note, off)``: a line to show once when the call went over its budget ("" else),
        and why the plugin is switched off ("" while it may go on)."""
        key = (name, hook)
        note = ""
        if ms > budget and key not in self._noted:
            self._noted.add(key)
            note = f"{name}: {hook} took {ms:.0f} ms (budget {budget:g} ms)"
        limit = budget * OVERRUN_FACTOR
        stalled = ms > limit
        window = self._windows.get(key)
        if window is None:
            if not stalled:
                return note, ""
            window = self._windows[key] = deque(maxlen=OVERRUN_WINDOW)
        window.append(stalled)
        if stalled and sum(window) >= OVERRUN_LIMIT:
            window.clear()
            return note, (
                f"{hook} over {limit:g} ms ({OVERRUN_FACTOR:g}x its {budget:g} ms budget) in "
                f"{OVERRUN_LIMIT} of its last {OVERRUN_WINDOW} calls (last {ms:.0f} ms)"
            )
        return note, ""

    def forget(self, name: str) -> None:
        """A fresh start for a plugin configured again."""
        for key in [k for k in self._windows if k[0] == name]:
            del self._windows[key]
