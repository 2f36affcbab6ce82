"""Whole scenes, installed plugins and the command line, for a plugin's tests.

:func:`run_scene` runs scenes (TOML text or files, several to switch between) on the real stage
headless, ``during`` a :class:`Show` that posts control messages; :func:`load_scene` gives a
scene's one-line errors as the stage would; :func:`check_plugin` and :func:`installed_plugin`
register a plugin as the stage does; :func:`run_cli` runs ``posestage ...`` in this process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from posestage.host import PluginHost, PluginUse
from posestage.testing.runner import (
    CANVAS_PLUGIN,
    FRAMES_PLUGIN,
    PluginRun,
    default_name,
    open_run_source,
    watched,
)

__all__ = ["Show", "check_plugin", "installed_plugin", "load_scene", "run_cli", "run_scene"]


def _host_with(plugins: dict[str, Any] | None) -> PluginHost:
    """The installed plugins, with ``plugins`` (name → plugin object) registered over them."""
    host = PluginHost.load()
    for name, plugin in (plugins or {}).items():
        if name in host.plugins:
            host.unregister(name)  # the plugin under test wins over the installed one
        host.register(plugin, name, origin="-p")
    return host


def load_scene(scene: str | Path, plugins: dict[str, Any] | None = None, *, path: Any = None):
    """A scene validated as the stage validates it: ``scene`` is TOML text (``path`` names it
    in errors and resolves relative sources) or a scene file's path. ``plugins`` (name →
    plugin object) are registered over the installed ones. A bad scene raises the stage's
    one-line :class:`~posestage.SceneError` (``"scenes/x.toml: plugins.osc.target: ..."``)."""
    from posestage.config.scenes import load_scene as load
    from posestage.config.scenes import parse_scene

    host = _host_with(plugins)
    if isinstance(scene, Path):
        return load(scene, host)
    return parse_scene(scene, path, host)


def check_plugin(plugin: Any, name: str | None = None) -> Any:
    """Register ``plugin`` with a fresh plugin host, as the stage does at start: every
    ``posestage_*`` hook must name a real hook with real arguments, its settings must be a
    valid declaration — else :class:`~posestage.PluginError`. Returns what the host knows
    (``name``, ``hooks``, ``settings``…)."""
    return PluginHost().register(plugin, name or default_name(plugin))


def installed_plugin(name: str, *, safe: bool = False) -> Any:
    """What ``posestage plugins`` knows of the installed plugin ``name`` (``loaded``,
    ``origin``, ``distribution``, ``builtin``, ``version``, ``hooks``, ``settings``,
    ``plugin``): loaded through its entry point as the stage loads it (``safe``: as
    ``--safe`` does). Fails the test with the install hint when it is not installed."""
    host = PluginHost.load(safe=safe)
    if name not in host.plugins:
        import pytest

        pytest.fail(f"plugin {name!r} is not installed: pip install -e <its folder>", pytrace=False)
    return host.plugins[name]


def run_cli(*argv: str) -> int:
    """``posestage ARGV...`` in this process (a plugin's own commands too); the exit status.
    What it printed is in pytest's ``capsys``."""
    from posestage.cli import main

    try:
        status = main([str(a) for a in argv])
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return int(status or 0)


class Show:
    """The running stage, handed to ``during`` of :func:`run_scene` (on a thread of its own).

    :meth:`post` a control message (a scene switch, a setting, a plugin's own), read
    :attr:`context` (the stage's facts: ``scene``, ``plugins``…), :meth:`wait_for` a condition,
    :meth:`stop` the show (it stops by itself when ``during`` returns).
    """

    def __init__(self, stage: Any, run: PluginRun):
        self._stage = stage
        self.run = run

    @property
    def context(self) -> Any:
        return self._stage.context

    def post(self, message: Any) -> Any:
        """Hand a :class:`~posestage.ControlMessage` to the stage (as
        :meth:`StageContext.post <posestage.StageContext.post>`): a future of its
        :class:`~posestage.ControlReply`."""
        return self._stage.post(message)

    def wait_for(self, check: Callable[[], Any], timeout: float = 10.0) -> bool:
        """Until ``check()`` is true (polled every 10 ms) or ``timeout``; whether it became true."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.01)
        return bool(check())

    def stop(self, reason: str = "quit") -> None:
        self._stage.stop(reason)


def run_scene(
    scenes: str | Path | Sequence[str | Path],
    plugins: dict[str, Any] | None = None,
    *,
    source: Any = None,
    frames: int | None = None,
    duration: float | None = None,
    pace: str | None = "fast",
    loop: bool | None = None,
    headless: bool = True,
    model: str | None = None,
    during: Callable[[Show], Any] | None = None,
    budgets: bool = False,
    path: Any = None,
) -> PluginRun:
    """Run the stage on whole scenes, as ``posestage run`` does; a :class:`PluginRun`.

    ``scenes``: TOML text or a scene file's path, or several (the first runs; the others are
    there to switch to). ``plugins``: name → plugin object, registered over the installed
    plugins (the scenes use the rest by name). ``source``: as :func:`run_plugins`; None: the
    scene's own ``[stage] source``. ``frames`` / ``duration`` stop the stage; ``pace``:
    ``"fast"`` (as fast as the stage takes frames) or ``"realtime"``; ``loop``: a file source
    starts over at its end; ``headless=False`` runs
    the window loop (SDL's dummy driver: no window appears). ``path`` names text scenes in
    errors and resolves their relative sources.

    ``during(show)`` runs on its own thread while the stage runs (a :class:`Show`: post
    control messages, switch scenes, wait for something) and the stage stops when it returns;
    an exception in it is raised here after the stage stopped. The helper plugins
    (``testing-frames``, ``testing-canvas``) join every scene, first and last.
    """
    import dataclasses
    import threading

    from posestage.config.scenes import load_scene as load
    from posestage.config.scenes import parse_scene
    from posestage.stage import Stage, StageOptions

    items = [scenes] if isinstance(scenes, (str, Path)) else list(scenes)
    host = _host_with(plugins)
    run, log, grab = watched(host, budgets)
    loaded = []
    for item in items:
        scene = load(item, host) if isinstance(item, Path) else parse_scene(item, path, host)
        uses = [PluginUse(FRAMES_PLUGIN), *scene.plugins, PluginUse(CANVAS_PLUGIN)]
        loaded.append(dataclasses.replace(scene, plugins=uses))
    src = None if source is None else open_run_source(source, frames, None, host, pace, loop)
    options = StageOptions(
        headless=headless, frames=frames, duration=duration, pace=pace, loop=loop, model=model
    )
    the_stage = grab.stage = Stage(loaded, options, host=host, source=src)
    failed: list[BaseException] = []
    driver = None
    if during is not None:

        def drive() -> None:
            show = Show(the_stage, run)
            try:
                show.wait_for(lambda: the_stage.context.plugins, timeout=30.0)
                during(show)
            except BaseException as err:  # noqa: BLE001 - raised in the test's thread
                failed.append(err)
            finally:
                show.stop()

        driver = threading.Thread(target=drive, name="posestage.testing-during", daemon=True)
        driver.start()
    try:
        run.report = the_stage.run()
    finally:
        if src is not None:
            src.close()
        if driver is not None:
            driver.join(30.0)
    run.canvas = grab.array()
    run.errors = list(run.report.errors)
    if run.report.error:
        run.errors.append(run.report.error)
    run.active = [u.name for u in loaded[0].plugins[1:-1]]
    if log is not None:
        helpers = {FRAMES_PLUGIN, CANVAS_PLUGIN}
        run.calls = sorted((c for c in log.calls if c.plugin not in helpers), key=lambda c: c.at)
    if failed:
        raise failed[0]
    return run


def window_picture() -> Any:
    """The stage's picture as the window showed it at its last redraw — the part between the
    status bar, the log strip and the side panels, scaled back to the canvas size — as an
    (H, W, 3) uint8 array; None without a window. Main thread, or a plugin's draw hook (the
    window as last presented)."""
    import numpy as np
    import pygame

    from posestage.stage.window import shown_layout

    window = pygame.display.get_surface() if pygame.display.get_init() else None
    parts = shown_layout()
    if window is None or parts is None or window.get_size() != parts.window:
        return None
    box = parts.canvas
    picture = window.subsurface(pygame.Rect(box.as_tuple()).clip(window.get_rect())).copy()
    size = (round(box.w / parts.scale), round(box.h / parts.scale))
    if picture.get_size() != size:
        picture = pygame.transform.scale(picture, size)
    return np.ascontiguousarray(pygame.surfarray.array3d(picture).transpose(1, 0, 2))
