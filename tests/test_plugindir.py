"""--plugin-dir files: loaded, reloaded when saved, a broken save keeps the old version."""

from __future__ import annotations

import os
import textwrap

import pytest

from posestage.errors import PluginError
from posestage.plugindir import PluginDir
from posestage.plugins import PluginHost

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
