"""How to run the stage: :class:`StageOptions`."""

from __future__ import annotations

from dataclasses import dataclass, field

from posestage.errors import PosestageError

__all__ = ["DISPLAY_FPS", "StageOptions"]

#: Display rate of the window loop (frames per second).
DISPLAY_FPS = 60.0


@dataclass
class StageOptions:
    """How to run the stage. ``None`` means "as the scene says" (CLI options override scenes).

    ``res`` is (width, height). ``frames`` / ``duration`` stop the stage by themselves;
    ``display_fps`` is the window's redraw rate.
    """

    source: str | None = None
    model: str | None = None
    device: str | None = None
    res: tuple[int, int] | None = None
    #: ``--fps``: the rate to ask a camera for (None: as the scene says, else 30)
    fps: float | None = None
    mirror: bool | None = None
    pace: str | None = None
    loop: bool | None = None
    privacy: bool | None = None
    headless: bool = False
    frames: int | None = None
    duration: float | None = None
    enable: list[str] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)
    safe: bool = False
    display_fps: float = DISPLAY_FPS
    fullscreen: bool = False
    #: ``--trace-hooks``: "-" traces every hook call to stderr, a path to that file (JSON
    #: Lines if it ends in .jsonl); None: no trace
    trace_hooks: str | None = None
    #: ``--plugin-dir``: a folder of plugin ``.py`` files, reloaded when saved
    plugin_dir: str | None = None
    #: ``--control [HOST:]PORT``: (host, port) of the control port; None: the first scene's
    #: ``[stage] control`` (not set there either: no control port)
    control: tuple[str, int] | None = None
    #: ``--osc HOST:PORT[,key=value]``: raw ``[[plugins.osc.targets]]`` tables added to every
    #: scene (:mod:`posestage.stage.osc_targets`)
    osc: list[dict] = field(default_factory=list)
    #: ``--web [HOST:]PORT``: (host, port) of the web server; None: the first scene's
    #: ``[stage] web`` (not set there either: no web server)
    web: tuple[str, int] | None = None
    #: ``--screenshot FILE``: the window as last shown, saved (PNG) when the run ends
    screenshot: str | None = None

    def __post_init__(self) -> None:
        if self.frames is not None and (isinstance(self.frames, bool) or int(self.frames) < 1):
            raise PosestageError(f"--frames {self.frames!r} is not valid; use a count >= 1")
        if self.duration is not None and not float(self.duration) > 0:
            raise PosestageError(f"--duration {self.duration!r} is not valid; use seconds > 0")
        if not float(self.display_fps) > 0:
            raise PosestageError(f"display rate {self.display_fps!r} must be > 0 fps")
