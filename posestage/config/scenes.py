"""Scenes: TOML files saying what the stage runs — source, model, tracking, ordered plugins.

A scene file (``scenes/skeleton.toml`` is the default)::

    [scene]
    name = "skeleton"            # shown in the status line (default: the file name)

    [stage]                      # STAGE_SETTINGS below; command-line options override them
    source = "camera"
    model = "posenet-481x641"
    mirror = true

    [tracking]                   # posestage.tracking.tracker.TrackingSettings; unset = tracker default
    max_missing_seconds = 1.0

    [room]                       # posestage.config.room: floor calibration and zones
    image = [[112, 402], [530, 398], [612, 470], [30, 474]]
    floor = [[0, 0], [4, 0], [4, 2.5], [0, 2.5]]

    [plugins.skeleton]           # the order of the plugin tables is the scene order:
    thickness = 3                # earlier plugins draw first and get each frame first
    [plugins]
    recorder = false             # NAME = false leaves a plugin out; NAME = true: defaults

Every key is validated (:mod:`posestage.config.schema`); an error is one line with the file, the
key path, what was expected and the valid choices. TOML syntax errors give line and column.
Plugin settings are checked against each plugin's ``posestage_settings()`` when a
:class:`PluginCheck` is given (``load_scene(path, host)``: the plugin host is one), and in any
case when the host activates the scene. Scenes are configuration: this module knows nothing of
the host, only that something can check plugin uses.

Relative file paths in ``[stage] source`` (``replay:demo.jsonl``, ``clips/dance.mp4``) are
relative to the scene file's folder when such a file exists there (:meth:`Scene.source_spec`).

Several scenes: ``posestage run a.toml b.toml c.toml`` (or a folder: its ``*.toml`` sorted by
name, see :func:`scene_files`) — number key N switches to the N-th file. A single file runs
alone. :class:`SceneWatcher` reloads the running scene when its file changes; an invalid edit
keeps the running scene and gives the error to show on screen.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from posestage.config import vocabulary
from posestage.config.room import ROOM_SETTINGS, RoomSettings
from posestage.config.schema import Setting, Values, validate
from posestage.config.tracking import tracking_schema
from posestage.errors import SceneError
from posestage.model.limits import MAX_TEXT_FILE_BYTES, regular_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:  # pragma: no cover
    from posestage.config.tracking import TrackingSettings

__all__ = [
    "DEFAULT_SCENE",
    "SCENE_SETTINGS",
    "STAGE_SETTINGS",
    "TRACKING_SETTINGS",
    "PluginCheck",
    "PluginUse",
    "Scene",
    "SceneWatcher",
    "default_scene",
    "load_scene",
    "parse_scene",
    "scene_files",
]

#: The scene ``posestage run`` uses when given none.
DEFAULT_SCENE = Path(__file__).resolve().parents[2] / "scenes" / "skeleton.toml"

#: The ``[stage]`` table — the one declaration of the stage's keys: scene files are validated
#: against it and ``posestage run`` derives its options (type, help) from it. ``None``
#: defaults mean "the engine / source decides" (``mirror``: cameras yes, files no). Each
#: vocabulary (sizes, device, pace, …) is a :mod:`posestage.config.vocabulary` parser, the same one
#: the command line uses.
STAGE_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "source",
        str,
        "camera",
        "camera, camera:N, a video or image file, a folder or glob of stills, replay:FILE",
        live=False,
        max_length=4096,
    ),
    Setting(
        "model",
        str,
        "posenet-481x641",
        "a catalogue name (posestage models list) or a .tflite path",
        live=False,
        max_length=4096,
    ),
    Setting(
        "device",
        str,
        "auto",
        f"where the model runs: {vocabulary.DEVICE.expected}",
        parse=vocabulary.DEVICE,
    ),
    Setting(
        "input_size",
        str,
        None,
        'network input "HxW" (CPU PoseNet: 16k+1 each), e.g. "481x641"',
        parse=vocabulary.INPUT_SIZE,
    ),
    Setting(
        "resize",
        str,
        "stretch",
        "how frames are fitted to the network input",
        parse=vocabulary.RESIZE,
    ),
    Setting("threshold", float, None, "minimum pose score", parse=vocabulary.SCORE),
    Setting(
        "max_poses", int, None, "at most this many people per frame", parse=vocabulary.MAX_POSES
    ),
    Setting("num_threads", int, None, "CPU inference threads", parse=vocabulary.NUM_THREADS),
    Setting(
        "mirror",
        bool,
        None,
        "mirror image and coordinates (not set: cameras are mirrored, files are not)",
    ),
    Setting("privacy", bool, False, "no camera pixels reach plugins, disk, network or the window"),
    Setting(
        "privacy_ends",
        str,
        "local",
        "who may switch this private scene to one without privacy: local (keys at the window) "
        "or anyone (control messages too)",
        choices=("local", "anyone"),
    ),
    Setting(
        "empty_seconds",
        float,
        2.0,
        "seconds (frame time) nobody may be in view before that frame becomes the empty room "
        "a plugin asked for",
        min=0.0,
        max=3600.0,
    ),
    Setting(
        "room_pixels",
        str,
        "window",
        "where the empty room's camera pixels may go: the window only, or plugins too (which "
        "may write them to files); read at start, never changed live",
        choices=("window", "plugins"),
    ),
    Setting(
        "res",
        str,
        None,
        'source frame size "WxH", e.g. "640x480" (at most 7680x4320)',
        parse=vocabulary.SIZE,
    ),
    Setting("fps", float, None, "the rate to ask a camera for (not set: 30)", parse=vocabulary.FPS),
    Setting("fullscreen", bool, False, "start in fullscreen"),
    Setting(
        "pace",
        str,
        "realtime",
        "video and replay: realtime or as fast as possible",
        parse=vocabulary.PACE,
    ),
    Setting("loop", bool, False, "video, stills and replay start again at the end"),
    Setting(
        "control",
        str,
        None,
        "[HOST:]PORT of the control port (OSC in), open for the whole run; a port alone "
        "listens on 127.0.0.1 (this computer only); not set: no control port",
        parse=vocabulary.LISTEN,
        live=False,
    ),
    Setting(
        "control_allow",
        list,
        None,
        'who may use the control port: addresses or networks, e.g. ["10.0.0.0/24"]',
        item=str,
        parse=vocabulary.NETWORKS,
        live=False,
    ),
    Setting(
        "control_token",
        bool,
        None,
        "require /posestage/auth <token> first (the token is printed at start and shown on "
        "screen); on by itself when control listens beyond this computer without control_allow",
        live=False,
    ),
    Setting(
        "web",
        str,
        None,
        "[HOST:]PORT of the web server (control page, OSCQuery, pose stream), open for the whole "
        "run; a port alone listens on 127.0.0.1; beyond it control_allow and the token apply",
        parse=vocabulary.LISTEN,
        live=False,
    ),
)

#: The ``[tracking]`` table, derived from :class:`posestage.tracking.tracker.TrackingSettings` (its
#: fields declare each key once). Defaults are None here so the tracker's own defaults apply.
TRACKING_SETTINGS: tuple[Setting, ...] = tracking_schema()

SCENE_SETTINGS: tuple[Setting, ...] = (
    Setting("name", str, None, "shown in the status line (default: the file name)"),
    Setting("description", str, "", "one line about the scene"),
)

_TABLES = ("scene", "stage", "tracking", "room", "plugins")


@dataclass(frozen=True)
class PluginUse:
    """One plugin enabled by a scene, with its settings (raw from the file, or validated).

    ``where`` prefixes error messages: ``"scenes/x.toml: plugins.skeleton"``. ``validated``:
    ``settings`` already went through a :class:`PluginCheck` (a loaded scene's do), so they are
    not parsed a second time — a setting's ``parse`` turns text into another type, which
    its own check would then refuse.
    """

    name: str
    settings: dict = field(default_factory=dict)
    where: str = ""
    validated: bool = field(default=False, compare=False)

    @property
    def location(self) -> str:
        return self.where or f"plugins.{self.name}"


class PluginCheck(Protocol):
    """What validates a scene's plugin tables against the plugins' declared settings (the
    plugin host, :meth:`posestage.host.PluginHost.check`): returns the uses with their settings
    validated and defaults filled in; raises :class:`SceneError` for an unknown plugin."""

    def check(self, uses: Sequence[PluginUse]) -> list[PluginUse]: ...


@dataclass
class Scene:
    """A loaded, validated scene.

    ``stage``, ``tracking`` and ``room`` are :class:`~posestage.config.schema.Values` with every
    key of :data:`STAGE_SETTINGS` / :data:`TRACKING_SETTINGS` / ``ROOM_SETTINGS`` (``None`` =
    not set); ``plugins`` the
    enabled plugins in scene order (settings validated if a :class:`PluginCheck` was given to
    :func:`load_scene`). ``path`` is None for the built-in fallback scene.
    """

    name: str
    stage: Values
    tracking: Values
    plugins: list[PluginUse] = field(default_factory=list)
    path: Path | None = None
    description: str = ""
    room: Values = field(default_factory=lambda: validate(None, ROOM_SETTINGS, "room"))

    def room_settings(self) -> RoomSettings:
        """The ``[room]`` table read: the floor calibration (fitted) and the zones."""
        return RoomSettings.from_values(self.room, f"{self._where()}: room")

    def tracking_settings(self) -> TrackingSettings:
        """The ``[tracking]`` table as the tracker's settings (unset keys: its defaults)."""
        from posestage.config.tracking import TrackingSettings

        given = {k: v for k, v in self.tracking.items() if v is not None}
        try:
            return TrackingSettings(**given)
        except SceneError as err:
            raise SceneError(f"{self._where()}: {err}") from None

    def source_spec(self) -> str:
        """``[stage] source`` with a relative file path made relative to the scene's folder."""
        spec = self.stage["source"]
        if self.path is None:
            return spec
        prefix, rest = ("replay:", spec[7:]) if spec.startswith("replay:") else ("", spec)
        candidate = self.path.parent / rest
        if rest and not Path(rest).is_absolute() and not Path(rest).exists() and candidate.exists():
            return prefix + str(candidate)
        return spec

    def stage_value(self, name: str, default: Any = None) -> Any:
        """The ``[stage]`` setting ``name``, or ``default`` when the scene does not set it."""
        value = self.stage.get(name)
        return default if value is None else value

    @property
    def plugin_names(self) -> list[str]:
        return [u.name for u in self.plugins]

    def _where(self) -> str:
        return str(self.path) if self.path else "default scene"


def load_scene(path: str | Path, plugins: PluginCheck | None = None) -> Scene:
    """Read and validate a scene file; :class:`SceneError` (one line) when it is not valid."""
    path = Path(path)
    where = str(path)
    try:
        regular_file(path, where, MAX_TEXT_FILE_BYTES, SceneError)  # a FIFO would block
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SceneError(
            f"{where}: scene file not found; give the path of a .toml scene (e.g. scenes/skeleton.toml)"
        ) from None
    except IsADirectoryError:
        raise SceneError(f"{where}: is a folder; give a .toml scene file inside it") from None
    except UnicodeDecodeError:
        raise SceneError(f"{where}: not a text file; a scene is a UTF-8 TOML file") from None
    except OSError as err:
        raise SceneError(f"{where}: cannot read: {err.strerror or err}") from None
    return parse_scene(text, path, plugins)


def parse_scene(
    text: str, path: str | Path | None = None, plugins: PluginCheck | None = None
) -> Scene:
    """Validate scene TOML ``text`` (``path`` names it in errors and resolves sources)."""
    where = str(path) if path is not None else "scene"
    if len(text) > MAX_TEXT_FILE_BYTES:
        raise SceneError(f"{where}: more than {MAX_TEXT_FILE_BYTES} characters; not a scene")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SceneError(f"{where}: {_toml_message(err)}") from None
    except RecursionError:  # arrays or inline tables nested thousands deep
        raise SceneError(
            f"{where}: values nested too deeply for a scene; a scene is a few flat tables"
        ) from None
    for key in data:
        if key not in _TABLES:
            raise SceneError(f"{where}: {key}: unknown table; valid: {', '.join(_TABLES)}")
    scene_info = validate(data.get("scene"), SCENE_SETTINGS, f"{where}: scene")
    stage = validate(data.get("stage"), STAGE_SETTINGS, f"{where}: stage")
    tracking = validate(data.get("tracking"), TRACKING_SETTINGS, f"{where}: tracking")
    room = validate(data.get("room"), ROOM_SETTINGS, f"{where}: room")
    uses = _plugin_uses(data.get("plugins", {}), where)
    if plugins is not None:
        uses = plugins.check(uses)
    p = Path(path) if path is not None else None
    name = scene_info["name"] or (p.stem if p is not None else "scene")
    scene = Scene(name, stage, tracking, uses, p, scene_info["description"], room)
    scene.tracking_settings()  # the tracker's own finer checks, now rather than mid-show
    scene.room_settings()  # the calibration fitted now: points on a line are a scene error
    return scene


def default_scene(plugins: PluginCheck | None = None) -> Scene:
    """``scenes/skeleton.toml`` when present (a source checkout), else the same built in."""
    if DEFAULT_SCENE.is_file():
        return load_scene(DEFAULT_SCENE, plugins)
    return parse_scene("[plugins.skeleton]\n", None, plugins)


def scene_files(args: Sequence[str | Path]) -> list[Path]:
    """The scene list for number keys: files as given, a folder as its ``*.toml`` by name."""
    out: list[Path] = []
    for arg in args:
        p = Path(arg)
        if p.is_dir():
            found = sorted(p.glob("*.toml"))
            if not found:
                raise SceneError(f"{p}: no .toml scene files in this folder")
            out.extend(found)
        else:
            out.append(p)
    return out


def _plugin_uses(table: Any, where: str) -> list[PluginUse]:
    if not isinstance(table, dict):
        raise SceneError(
            f"{where}: plugins: expected tables like [plugins.skeleton], got {table!r}"
        )
    uses = []
    for name, value in table.items():
        loc = f"{where}: plugins.{name}"
        if value is False:
            continue
        if value is True:
            value = {}
        if not isinstance(value, dict):
            raise SceneError(
                f"{loc}: expected a table [plugins.{name}] of settings, or true/false, got {value!r}"
            )
        uses.append(PluginUse(name, dict(value), loc))
    return uses


def _toml_message(err: Exception) -> str:
    """``Invalid value (at line 2, column 5)`` → ``line 2, column 5: invalid TOML: invalid value``."""
    text = str(err)
    m = re.search(r"\(at line (\d+), column (\d+)\)", text)
    if m:
        msg = text[: m.start()].strip()
        return f"line {m.group(1)}, column {m.group(2)}: invalid TOML: {msg[:1].lower() + msg[1:]}"
    m = re.search(r"\(at end of document\)", text)
    if m:
        return f"end of file: invalid TOML: {text[: m.start()].strip()}"
    return f"invalid TOML: {text}"


class SceneWatcher:
    """Notices edits of a scene file; cheap to call every display frame.

    ``poll()`` stats the file at most every ``interval`` seconds and, when it changed since the
    last look, loads it: it returns the new :class:`Scene`, or the :class:`SceneError` (the
    caller keeps the running scene and shows :attr:`error` until a later edit fixes it), or
    None when nothing changed.
    """

    def __init__(self, path: str | Path, plugins: PluginCheck | None = None, interval: float = 1.0):
        self.path = Path(path)
        self.plugins = plugins
        self.interval = interval
        self.error: SceneError | None = None
        self._signature = self._stat()
        self._next = 0.0

    def _stat(self) -> tuple | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def poll(self, now: float | None = None) -> Scene | SceneError | None:
        now = time.monotonic() if now is None else now
        if now < self._next:
            return None
        self._next = now + self.interval
        signature = self._stat()
        if signature == self._signature:
            return None
        self._signature = signature
        try:
            scene = load_scene(self.path, self.plugins)
        except SceneError as err:
            self.error = err
            return err
        self.error = None
        return scene
