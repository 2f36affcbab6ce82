"""Scenes: TOML loading, validation messages, default scene, watcher reload."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from posestage.config.scenes import (
    DEFAULT_SCENE,
    STAGE_SETTINGS,
    TRACKING_SETTINGS,
    SceneWatcher,
    default_scene,
    load_scene,
    scene_files,
)
from posestage.config.schema import Setting
from posestage.errors import SceneError
from posestage.hookspecs import hookimpl
from posestage.host import PluginHost, PluginUse

ROOT = Path(__file__).resolve().parents[1]


class Painter:
    PLUGIN_NAME = "skeleton"

    @hookimpl
    def posestage_settings(self):
        return [
            Setting("thickness", int, 3, min=1, max=20),
            Setting("labels", bool, False),
            Setting("color_by", str, "id", choices=("id", "slot")),
        ]


class Osc:
    PLUGIN_NAME = "osc"

    @hookimpl
    def posestage_settings(self):
        return [Setting("port", int, 9000, min=1, max=65535)]


@pytest.fixture
def host():
    h = PluginHost()
    h.register(Painter())
    h.register(Osc())
    return h


def write(tmp_path, text, name="x.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path, host=None):
    with pytest.raises(SceneError) as info:
        load_scene(path, host)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_scene_tables_and_plugin_order(tmp_path, host):
    path = write(
        tmp_path,
        """
        [scene]
        name = "duet"
        [stage]
        source = "clips/dance.mp4"
        mirror = true
        res = "640x480"
        input_size = "353x481"
        device = "edgetpu:usb:0"
        [tracking]
        max_missing = 4
        smoothing = false
        [plugins.osc]
        port = 9001
        [plugins.skeleton]
        thickness = 5
        [plugins]
        recorder = false
        """,
    )
    scene = load_scene(path, host)
    assert scene.name == "duet" and scene.path == path
    assert scene.stage.mirror is True and scene.stage["source"] == "clips/dance.mp4"
    assert scene.stage.res == (640, 480) and scene.stage.input_size == (353, 481)
    assert scene.stage.model == "posenet-481x641" and scene.stage.threshold is None
    assert scene.plugin_names == ["osc", "skeleton"]  # table order, recorder = false left out
    assert scene.plugins[1] == PluginUse(
        "skeleton", {"thickness": 5, "labels": False, "color_by": "id"}, f"{path}: plugins.skeleton"
    )
    tracking = scene.tracking_settings()
    assert tracking.max_missing == 4 and tracking.smoothing is False
    assert tracking.beta == type(tracking)().beta  # unset: the tracker's own default


def test_without_a_host_plugin_settings_stay_raw(tmp_path):
    scene = load_scene(write(tmp_path, "[plugins.anything]\nx = 1\n[plugins]\nother = true\n"))
    assert scene.plugins == [
        PluginUse("anything", {"x": 1}, f"{tmp_path / 'x.toml'}: plugins.anything"),
        PluginUse("other", {}, f"{tmp_path / 'x.toml'}: plugins.other"),
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "[plugins.skeleton]\nthikness = 3\n",
            "plugins.skeleton.thikness: unknown setting (did you mean 'thickness'?); "
            "valid: thickness, labels, color_by",
        ),
        (
            '[plugins.skeleton]\nthickness = "3"\n',
            "plugins.skeleton.thickness: expected a whole number from 1 to 20, got '3' (text)",
        ),
        (
            '[plugins.skeleton]\ncolor_by = "colour"\n',
            "plugins.skeleton.color_by: 'colour' is not a valid choice; valid: 'id', 'slot'",
        ),
        (
            "[plugins.skeletn]\n",
            "plugins.skeletn: unknown plugin (did you mean 'skeleton'?); installed: osc, skeleton",
        ),
        (
            "[plugins]\nskeleton = 3\n",
            "plugins.skeleton: expected a table [plugins.skeleton] of settings, or true/false, got 3",
        ),
        (
            "[stage]\nmirorr = true\n",
            "stage.mirorr: unknown setting (did you mean 'mirror'?); valid: source, model, device, "
            "input_size, resize, threshold, max_poses, num_threads, mirror, privacy, "
            "privacy_ends, empty_seconds, room_pixels, res, fps, fullscreen, pace, loop, control, "
            "control_allow, control_token, web",
        ),
        (
            '[stage]\nresize = "crop"\n',
            "stage.resize: expected stretch or letterbox, got 'crop'",
        ),
        (
            '[stage]\ndevice = "gpu"\n',
            "stage.device: expected auto, cpu, edgetpu, edgetpu:usb, edgetpu:usb:N or "
            "edgetpu:pci:N (or usb:N, pci:N), got 'gpu'",
        ),
        (
            '[stage]\nres = "wide"\n',
            "stage.res: expected a size WxH like 640x480, width 1 to 7680 and height 1 to 4320, "
            "got 'wide'",
        ),
        (
            '[stage]\nmirror = "yes"\n',
            "stage.mirror: expected true or false, got 'yes' (text)",
        ),
        (
            "[tracking]\nmax_missing = -1\n",
            "tracking.max_missing: -1 is out of range; expected a whole number >= 0",
        ),
        (
            "[tracking]\nmax_distance = 0.0\n",
            "tracking.max_distance: expected a number > 0, got 0",
        ),
        (
            "[stages]\nmirror = true\n",
            "stages: unknown table; valid: scene, stage, tracking, room, plugins",
        ),
        (
            "[stage]\nmirror = tru\n",
            "line 2, column 10: invalid TOML: invalid value",
        ),
        (
            '[stage]\nsource = "camera\nmirror = true\n',
            "line 2, column 17: invalid TOML: illegal character '\\n'",
        ),
        (
            "[plugins.skeleton]\nthickness = 3\n[plugins.skeleton]\n",
            "line 3, column 18: invalid TOML: cannot declare ('plugins', 'skeleton') twice",
        ),
    ],
)
def test_validation_errors_are_one_exact_line(tmp_path, host, text, message):
    path = write(tmp_path, text)
    assert error_of(path, host) == f"{path}: {message}"


def test_unreadable_files(tmp_path):
    missing = tmp_path / "nope.toml"
    assert error_of(missing) == (
        f"{missing}: scene file not found; give the path of a .toml scene (e.g. scenes/skeleton.toml)"
    )
    assert error_of(tmp_path) == f"{tmp_path}: is a folder; give a .toml scene file inside it"
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert error_of(binary) == f"{binary}: not a text file; a scene is a UTF-8 TOML file"


def test_files_that_are_no_scene_end_with_one_line_and_never_block(tmp_path):
    import threading

    deep = tmp_path / "deep.toml"
    deep.write_text("[stage]\nmirror = " + "[" * 3000 + "]" * 3000 + "\n")
    assert error_of(deep) == (
        f"{deep}: values nested too deeply for a scene; a scene is a few flat tables"
    )
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (2 * 1024 * 1024) + "\n")
    assert error_of(big).startswith(f"{big}: 2.1 MB is more than the 1 MB allowed")
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    said = []
    thread = threading.Thread(target=lambda: said.append(error_of(fifo)), daemon=True)
    thread.start()
    thread.join(30)  # a hang guard: reading a FIFO blocks until a writer comes
    assert not thread.is_alive() and said == [
        f"{fifo}: not a regular file (a pipe, socket or device); give a file on disk"
    ]


def test_shipped_scenes_are_valid_with_the_real_skeleton_plugin():
    host = PluginHost.load()
    assert "skeleton" in host.plugins, "pip install -e plugins/skeleton (the built-in plugin)"
    for path in sorted((ROOT / "scenes").glob("*.toml")):
        scene = load_scene(path, host)
        assert scene.plugins, path
    scene = default_scene(host)
    assert scene.path == DEFAULT_SCENE and scene.name == "skeleton"
    assert scene.stage.mirror is None  # not set: the camera is mirrored, files are not
    assert scene.plugin_names == ["skeleton"]


def test_tracking_schema_matches_the_tracker():
    from dataclasses import fields

    from posestage.tracking.tracker import TrackingSettings

    assert [s.name for s in TRACKING_SETTINGS] == [f.name for f in fields(TrackingSettings)]
    assert all(s.default is None for s in TRACKING_SETTINGS)
    assert len({s.name for s in STAGE_SETTINGS}) == len(STAGE_SETTINGS)


def test_source_relative_to_the_scene_folder(tmp_path):
    (tmp_path / "show").mkdir()
    (tmp_path / "show" / "demo.jsonl").write_text("{}\n")
    scene = load_scene(write(tmp_path / "show", '[stage]\nsource = "replay:demo.jsonl"\n'))
    assert scene.source_spec() == f"replay:{tmp_path / 'show' / 'demo.jsonl'}"
    scene = load_scene(write(tmp_path / "show", '[stage]\nsource = "camera:1"\n', "c.toml"))
    assert scene.source_spec() == "camera:1"


def test_scene_files_expand_folders(tmp_path):
    write(tmp_path, "", "b.toml")
    write(tmp_path, "", "a.toml")
    (tmp_path / "notes.txt").write_text("")
    one = tmp_path / "x" / "solo.toml"
    assert scene_files([one, tmp_path]) == [one, tmp_path / "a.toml", tmp_path / "b.toml"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(SceneError, match="no .toml scene files in this folder"):
        scene_files([tmp_path / "empty"])


def bump(path, text):
    """Rewrite a file and move its mtime on, so the change is seen whatever the clock grain."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


def test_watcher_reloads_keeps_errors_and_recovers(tmp_path, host):
    path = write(tmp_path, "[plugins.skeleton]\nthickness = 3\n")
    watcher = SceneWatcher(path, host, interval=1.0)
    assert watcher.poll(now=0.0) is None  # unchanged since the scene was loaded

    bump(path, "[plugins.skeleton]\nthickness = 7\n")
    assert watcher.poll(now=0.5) is None  # polled less than `interval` ago: no stat at all
    scene = watcher.poll(now=1.0)
    assert scene.plugins[0].settings["thickness"] == 7 and watcher.error is None
    assert watcher.poll(now=2.0) is None

    bump(path, "[plugins.skeleton]\nthikness = 8\n")
    err = watcher.poll(now=3.0)
    assert isinstance(err, SceneError) and "thikness: unknown setting" in str(err)
    assert watcher.error is err
    assert watcher.poll(now=4.0) is None and watcher.error is err  # still broken, still shown

    bump(path, "[plugins.skeleton]\nthickness = 8\n")
    scene = watcher.poll(now=5.0)
    assert scene.plugins[0].settings["thickness"] == 8 and watcher.error is None

    path.unlink()
    err = watcher.poll(now=6.0)
    assert isinstance(err, SceneError) and "scene file not found" in str(err)


def test_watcher_poll_only_stats_until_the_file_changes(tmp_path, monkeypatch):
    # Cheap to call every display frame: an unchanged file is never read again (a test asserts
    # behaviour, not speed; each poll is one stat).
    import posestage.config.scenes as scenes

    path = write(tmp_path, "[stage]\nmirror = true\n")
    watcher = SceneWatcher(path, interval=0.0)
    loads = []
    real = scenes.load_scene
    monkeypatch.setattr(scenes, "load_scene", lambda *a: loads.append(a) or real(*a))
    assert all(watcher.poll(now=float(i)) is None for i in range(1000)) and loads == []
    bump(path, "[stage]\nmirror = false\n")
    assert watcher.poll(now=1000.0).stage.mirror is False and len(loads) == 1
    assert watcher.poll(now=1001.0) is None and len(loads) == 1
