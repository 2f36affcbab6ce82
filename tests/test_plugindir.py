"""--plugin-dir files: loaded, reloaded when saved, a broken save keeps the old version."""

from __future__ import annotations

import os
import textwrap

import pytest

from posestage.errors import PluginError
from posestage.host import PluginHost
from posestage.host.plugindir import PluginDir

GLOW = """
    from posestage import hookimpl

    COLOUR = {colour!r}

    @hookimpl
    def posestage_draw(canvas):
        canvas.fill(COLOUR)
"""


def write(path, text, tick=[0]):  # noqa: B006 - a counter: every save gets a new mtime
    path.write_text(textwrap.dedent(text))
    tick[0] += 1
    stamp = 1_700_000_000 + tick[0]
    os.utime(path, (stamp, stamp))


def test_files_are_loaded_then_reloaded_when_saved(tmp_path):
    write(tmp_path / "glow.py", GLOW.format(colour=(255, 0, 0)))
    write(tmp_path / "_helper.py", "raise RuntimeError('not a plugin file')")
    folder = PluginDir(tmp_path, interval=0.0)
    (change,) = folder.scan()
    assert (change.kind, change.name, change.old) == ("added", "glow", None)
    first = change.plugin
    assert first.COLOUR == (255, 0, 0) and folder.plugins == {"glow": first}
    PluginHost().register(first, "glow")  # a real plugin for the host
    assert folder.poll() == []  # nothing changed

    write(tmp_path / "glow.py", GLOW.format(colour=(0, 255, 0)))
    (change,) = folder.poll()
    assert change.kind == "reloaded" and change.old is first
    assert change.plugin is not first and change.plugin.COLOUR == (0, 255, 0)
    assert first.COLOUR == (255, 0, 0)  # the old version is left alone


def test_a_broken_save_keeps_the_old_version_and_says_where(tmp_path):
    path = tmp_path / "posestage_glow.py"
    write(path, GLOW.format(colour=(1, 2, 3)))
    folder = PluginDir(tmp_path, interval=0.0)
    (added,) = folder.scan()
    write(path, "from posestage import hookimpl\n\n@hookimpl\ndef posestage_draw(canvas:\n")
    (failed,) = folder.poll()
    assert failed.kind == "failed" and failed.old is added.plugin and failed.name == "glow"
    assert failed.error.startswith(f"{path}:4: SyntaxError")
    assert folder.plugins == {"glow": added.plugin} and path in folder.errors

    write(path, "import posestage\nraise ValueError('no colour')\n")
    (failed,) = folder.poll()
    assert failed.error == f"{path}:2: importing it failed: ValueError: no colour"

    write(path, GLOW.format(colour=(4, 5, 6)))
    (fixed,) = folder.poll()
    assert fixed.kind == "reloaded" and fixed.old is added.plugin
    assert fixed.plugin.COLOUR == (4, 5, 6) and folder.errors == {}


def test_a_file_that_fails_from_the_start_is_reported_then_added_when_fixed(tmp_path):
    path = tmp_path / "late.py"
    write(path, "x = 1 / 0\n")
    folder = PluginDir(tmp_path, interval=0.0)
    (failed,) = folder.scan()
    assert failed.kind == "failed" and failed.old is None and "ZeroDivisionError" in failed.error
    write(
        path, "from posestage import hookimpl\n\n@hookimpl\ndef posestage_frame(frame):\n    pass\n"
    )
    (added,) = folder.poll()
    assert added.kind == "added" and added.name == "late"


def test_files_without_hooks_use_their_plugin_object_or_are_refused(tmp_path):
    write(
        tmp_path / "painter.py",
        """
        from posestage import hookimpl

        class Painter:
            PLUGIN_NAME = "brush"

            @hookimpl
            def posestage_draw(self, canvas):
                pass

        plugin = Painter()
    """,
    )
    write(tmp_path / "notes.py", "TEXT = 'just notes'\n")
    changes = {c.path.name: c for c in PluginDir(tmp_path).scan()}
    assert changes["painter.py"].name == "brush" and changes["painter.py"].kind == "added"
    assert changes["notes.py"].kind == "failed"
    assert "no posestage_* hook functions and no 'plugin' object" in changes["notes.py"].error


def test_removed_files_and_polling_interval(tmp_path):
    write(tmp_path / "glow.py", GLOW.format(colour=(9, 9, 9)))
    folder = PluginDir(tmp_path, interval=60.0)
    (added,) = folder.scan()
    (tmp_path / "glow.py").unlink()
    assert folder.poll() == []  # not time to look yet
    (removed,) = folder.poll(now=float("inf"))
    assert removed.kind == "removed" and removed.old is added.plugin and folder.plugins == {}


def test_a_missing_folder_is_one_line():
    with pytest.raises(PluginError, match=r"--plugin-dir /no/such: no such folder"):
        PluginDir("/no/such")


# -- through the running stage ---------------------------------------------------------------

VERSION = """
    import plugindir_probe
    from posestage import hookimpl

    @hookimpl
    def posestage_configure(settings):
        plugindir_probe.seen.append(("{v}", "configure"))

    @hookimpl
    def posestage_frame(frame):
        plugindir_probe.seen.append(("{v}", "frame"))

    @hookimpl
    def posestage_unconfigure():
        plugindir_probe.seen.append(("{v}", "unconfigure"))
"""


def test_the_stage_swaps_a_saved_file_and_survives_a_broken_one(tmp_path, monkeypatch):
    """A broken save does not stop the stage and the old version keeps running; the fixed
    version is picked up on the next save (old unconfigured, new configured)."""
    import sys
    import threading
    import time
    import types

    from posestage.config.scenes import parse_scene
    from posestage.host import PluginHost
    from posestage.stage import Stage, StageOptions
    from posestage.testing import SyntheticPeople

    probe = types.ModuleType("plugindir_probe")
    probe.seen = []
    monkeypatch.setitem(sys.modules, "plugindir_probe", probe)
    path = tmp_path / "posestage_live.py"
    write(path, VERSION.format(v="v1"))
    stage = Stage(
        [parse_scene("[scene]\nname = 'rehearsal'\n")],
        StageOptions(headless=True, plugin_dir=str(tmp_path), duration=60),
        host=PluginHost(),
        source=SyntheticPeople(1, frames=100_000, realtime=True),
    )
    done = {}

    def wait_for(what, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if what():
                return True
            time.sleep(0.02)
        return False

    def rehearse():
        try:
            done["v1"] = wait_for(lambda: ("v1", "frame") in probe.seen)
            write(path, "from posestage import hookimpl\n\n@hookimpl\ndef posestage_frame(frame:\n")
            done["error"] = wait_for(lambda: any("SyntaxError" in e for e in stage.errors))
            count = len(probe.seen)
            done["still_v1"] = wait_for(lambda: probe.seen[count:].count(("v1", "frame")) >= 3)
            write(path, VERSION.format(v="v2"))
            done["v2"] = wait_for(lambda: ("v2", "frame") in probe.seen)
        finally:
            stage.stop()

    helper = threading.Thread(target=rehearse)
    helper.start()
    report = stage.run()
    helper.join()
    assert done == {"v1": True, "error": True, "still_v1": True, "v2": True}
    assert report.error is None
    (error,) = [e for e in report.errors if "SyntaxError" in e]
    assert error.startswith(f"{path}:4: SyntaxError") and "previous version keeps running" in error
    events = [e for e in probe.seen if e[1] != "frame"]
    assert events == [
        ("v1", "configure"),
        ("v1", "unconfigure"),
        ("v2", "configure"),
        ("v2", "unconfigure"),
    ]
    last_v1 = max(i for i, e in enumerate(probe.seen) if e == ("v1", "frame"))
    first_v2 = probe.seen.index(("v2", "frame"))
    assert probe.seen.index(("v1", "unconfigure")) > last_v1  # no v1 frame after it stopped
    assert probe.seen.index(("v2", "configure")) < first_v2


def test_plugins_lists_the_files_and_why_one_is_not_loaded(tmp_path, capsys):
    import json

    from posestage.cli import main

    write(tmp_path / "glow.py", GLOW.format(colour=(1, 1, 1)))
    write(tmp_path / "broken.py", "x = (\n")
    assert main(["plugins", "--plugin-dir", str(tmp_path), "--json"]) == 0
    rows = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert rows["glow"]["status"] == "on" and rows["glow"]["origin"] == "--plugin-dir"
    assert rows["broken"]["status"] == "not loaded"
    assert rows["broken"]["error"].startswith(f"{tmp_path / 'broken.py'}:1: SyntaxError")
