"""``-p NAME`` addresses a plugin by the name ``posestage plugins`` lists."""

from __future__ import annotations

import sys
import textwrap

import pytest

from posestage.cli import main
from posestage.errors import PluginError
from posestage.host import PluginHost

PLUGIN = """
    from posestage.hookspecs import hookimpl

    @hookimpl
    def posestage_frame(frame):
        pass
"""


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A third-party distribution ``posestage-thirdparty`` (plugin ``thirdparty``) on sys.path."""
    (tmp_path / "thirdparty_plugin.py").write_text(textwrap.dedent(PLUGIN))
    info = tmp_path / "posestage_thirdparty-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: posestage-thirdparty\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text("[posestage]\nthirdparty = thirdparty_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("thirdparty_plugin", None)


def test_an_installed_plugin_by_its_listed_name():
    host = PluginHost.load(enable=["recorder"])
    assert host.extra == ["recorder"]  # active in every scene, like any -p plugin
    assert host.plugins["recorder"].origin == "entry point"  # the installed one, not re-imported


def test_named_plugins_load_in_safe_mode_too(installed):
    assert not PluginHost.load(safe=True).plugins["thirdparty"].loaded
    host = PluginHost.load(enable=["thirdparty"], safe=True)
    assert host.plugins["thirdparty"].loaded and host.extra == ["thirdparty"]
    assert PluginHost.load(enable=["thirdparty"], disable=["thirdparty"]).extra == []


def test_an_unknown_name_lists_the_installed_plugins():
    with pytest.raises(PluginError) as err:
        PluginHost.load(enable=["recordr"])
    message = str(err.value)
    assert message.startswith("-p recordr: no installed plugin or module named 'recordr'")
    installed = message.split("installed: ")[1].split(";")[0].split(", ")
    assert "(did you mean 'recorder'?)" in message and {"recorder", "skeleton"} <= set(installed)


def test_run_with_p_name(tmp_path, capsys):
    out = tmp_path / "take.jsonl"
    scene = tmp_path / "scene.toml"
    scene.write_text(
        f'[stage]\nsource = "replay:{tmp_path / "in.jsonl"}"\n[plugins.recorder]\npath = "{out}"\n'
    )
    from posestage.testing import SAMPLE_POSES

    (tmp_path / "in.jsonl").write_bytes(SAMPLE_POSES.read_bytes())
    assert (
        main(["run", str(scene), "-p", "skeleton", "--headless", "--frames", "5", "--pace", "fast"])
        == 0
    )
    assert "5 frames" in capsys.readouterr().err and out.exists()
    assert main(["plugins", "-p", "recorder"]) == 0
    assert "on  recorder" in capsys.readouterr().out


COMMAND = """
    from posestage.hookspecs import hookimpl

    @hookimpl
    def posestage_commands(subparsers):
        p = subparsers.add_parser("hello", help="say hello")
        p.add_argument("who")
        p.set_defaults(func=lambda args: print(f"hello {args.who}") or 7)
"""


def test_commands_of_a_p_plugin_given_before_the_command(tmp_path, capsys):
    path = tmp_path / "posestage_greeter.py"
    path.write_text(textwrap.dedent(COMMAND))
    try:
        assert main(["-p", str(path), "hello", "bob"]) == 7
        assert capsys.readouterr().out == "hello bob\n"
        assert main(["-p", str(path), "plugins"]) == 0  # and it is listed, as -p would
        assert "on  greeter" in capsys.readouterr().out
    finally:
        sys.modules.pop("posestage_greeter", None)
    assert main(["-p", str(tmp_path / "missing.py"), "plugins"]) == 2
    assert "missing.py: no such file" in capsys.readouterr().err
