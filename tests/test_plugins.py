"""The plugin host: real pluggy manager, real plugin objects, real entry points on sys.path."""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
import threading
import time

import pygame
import pytest
from fakes import Anonymizer, LogCollector, LogCrasher, context, make_frame, make_person

from posestage.config.schema import Setting
from posestage.errors import PluginError, SceneError
from posestage.hookspecs import ControlMessage, hookimpl
from posestage.host import BUILTIN_DISTRIBUTIONS, PluginHost, PluginUse, import_plugin


@pytest.fixture
def log():
    return []


@pytest.fixture
def host():
    return PluginHost()


def test_call_and_draw_order_follow_the_scene(host, log):
    a, b = LogCollector("a", log), LogCollector("b", log)
    host.register(a)
    host.register(b)
    stage = context()
    assert host.activate([PluginUse("b"), PluginUse("a")], stage) == []
    assert host.active == ["b", "a"]
    frame = make_frame(7, [make_person(3)])
    host.person_enter(frame.people[0], frame)
    host.frame(frame)
    canvas = pygame.Surface((frame.width, frame.height))
    host.draw(canvas, frame)
    host.person_leave(frame.people[0], frame)
    assert canvas.get_at((0, 0))[:3] == (ord("a"), 0, 0)  # later plugins' layers over earlier
    assert [(n, h) for n, h, _ in log] == [
        ("b", "configure"), ("a", "configure"),
        ("b", "enter"), ("a", "enter"),
        ("b", "frame"), ("a", "frame"),
        ("b", "draw"), ("a", "draw"),
        ("b", "leave"), ("a", "leave"),
    ]  # fmt: skip
    log.clear()
    host.deactivate_all(stage)  # each on its own lane, at the same time
    assert sorted(log) == [("a", "unconfigure", None), ("b", "unconfigure", None)]
    assert host.active == []
    host.frame(frame)
    assert sorted(log) == [("a", "unconfigure", None), ("b", "unconfigure", None)]


def test_draw_without_a_frame_calls_nobody(host, log):
    host.register(LogCollector("a", log))
    host.activate([PluginUse("a")], context())
    canvas = []
    host.draw(canvas, None)
    assert canvas == []


def test_settings_validated_and_scene_changes_reconfigure_only_what_changed(host, log):
    decl = [Setting("port", int, 9000, "UDP port", min=1, max=65535)]
    host.register(LogCollector("osc", log, decl))
    host.register(LogCollector("keep", log))
    host.register(LogCollector("gone", log))
    stage = context()
    host.activate([PluginUse("keep"), PluginUse("osc", {"port": 9001}), PluginUse("gone")], stage)
    assert host.settings_of("osc") == {"port": 9001}
    log.clear()
    host.activate([PluginUse("keep"), PluginUse("osc", {"port": 9002})], stage)
    assert log == [
        ("gone", "unconfigure", None),
        ("osc", "unconfigure", None),
        ("osc", "configure", {"port": 9002}),
    ]  # "keep" stays configured across the scene switch
    assert host.active == ["keep", "osc"]
    log.clear()
    with pytest.raises(SceneError) as info:
        host.activate([PluginUse("osc", {"port": 0}, "scenes/x.toml: plugins.osc")], stage)
    assert str(info.value) == (
        "scenes/x.toml: plugins.osc.port: 0 is out of range; expected a whole number from 1 to 65535"
    )
    assert log == [] and host.active == ["keep", "osc"]  # a bad scene changes nothing


def test_unknown_plugin_lists_installed(host, log):
    host.register(LogCollector("skeleton", log))
    host.register(LogCollector("osc", log))
    with pytest.raises(SceneError) as info:
        host.check([PluginUse("skelton", {}, "scenes/x.toml: plugins.skelton")])
    assert str(info.value) == (
        "scenes/x.toml: plugins.skelton: unknown plugin (did you mean 'skeleton'?); installed: osc, skeleton"
    )


def test_failing_plugin_is_reported_once_then_switched_off(host, log, caplog):
    host.register(LogCollector("a", log))
    crasher = LogCrasher(log)
    host.register(crasher)
    host.register(LogCollector("b", log))
    stage = context()
    host.activate([PluginUse("a"), PluginUse("crasher"), PluginUse("b")], stage)
    log.clear()
    with caplog.at_level(logging.ERROR, logger="posestage.host"):
        for i in range(5):
            host.frame(make_frame(i))
    # the others got every frame
    assert [x for x in log if x[1] == "frame"] == [
        (n, "frame", i) for i in range(5) for n in ("a", "b")
    ]
    # switched off after the third failure, unconfigured once
    assert log.count(("crasher", "unconfigure", None)) == 1
    assert host.active == ["a", "b"]
    assert host.errors == [
        "crasher: posestage_frame failed: ZeroDivisionError: division by zero in my synth",
        "crasher: switched off after 3 failures in a row "
        "(last in posestage_frame: ZeroDivisionError: division by zero in my synth)",
    ]
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and "ZeroDivisionError" in caplog.text
    assert host.timings["crasher"]["posestage_frame"] >= 0
    # a new scene activation switches it on again
    crasher.fail = False
    host.activate([PluginUse("a"), PluginUse("crasher"), PluginUse("b")], stage)
    host.frame(make_frame(9))
    assert ("crasher", "frame", 9) in log


def test_intermittent_failures_do_not_switch_off(host, log):
    crasher = LogCrasher(log)
    host.register(crasher)
    host.activate([PluginUse("crasher")], context())
    for i in range(10):
        crasher.fail = i % 2 == 0  # fail, succeed, fail, succeed…
        host.frame(make_frame(i))
    assert host.active == ["crasher"]
    assert len(host.errors) == 1  # the same error is reported once


def test_max_failures_is_configurable(log):
    host = PluginHost(max_failures=1)
    host.register(LogCrasher(log))
    host.activate([PluginUse("crasher")], context())
    host.frame(make_frame())
    assert host.active == [] and ("crasher", "unconfigure", None) in log


def test_configure_refusal_keeps_the_rest_of_the_scene(host, log):
    class Picky:
        PLUGIN_NAME = "picky"

        @hookimpl
        def posestage_configure(self):
            raise PluginError("port 9000 is in use; set port to a free one")

        @hookimpl
        def posestage_unconfigure(self):
            log.append(("picky", "unconfigure", None))

    host.register(Picky())
    host.register(LogCollector("a", log))
    problems = host.activate(
        [PluginUse("picky", {}, "scenes/x.toml: plugins.picky"), PluginUse("a")], context()
    )
    assert problems == [
        "scenes/x.toml: plugins.picky: picky refused its settings: port 9000 is in use; set port to a free one"
    ]
    assert host.active == ["a"]
    assert ("picky", "unconfigure", None) in log  # cleanup of a half-done configure
    assert host.take_errors() == problems
    assert host.take_errors() == []


def test_unconfigure_that_raises_does_not_stop_shutdown(host, log):
    class Sloppy:
        PLUGIN_NAME = "sloppy"

        @hookimpl
        def posestage_unconfigure(self):
            raise RuntimeError("port already closed")

    host.register(LogCollector("a", log))
    host.register(Sloppy())
    host.activate([PluginUse("a"), PluginUse("sloppy")], context())
    host.deactivate_all(context())
    assert ("a", "unconfigure", None) in log
    assert host.errors == [
        "sloppy: posestage_unconfigure failed: RuntimeError: port already closed"
    ]


def test_event_stops_at_the_plugin_that_consumes_it(host, log):
    host.register(LogCollector("a", log))
    host.register(LogCollector("b", log))
    host.activate([PluginUse("a"), PluginUse("b")], context())
    assert host.event(ControlMessage("cue", target="a", value=3)) is True
    assert [x for x in log if x[1] == "event"] == [("a", "event", "cue")]
    assert host.event(ControlMessage("cue", value=4)) is False
    assert [x for x in log if x[1] == "event"][1:] == [("a", "event", "cue"), ("b", "event", "cue")]


def test_bad_plugins_are_refused_with_a_clear_message(host):
    class Typo:
        PLUGIN_NAME = "typo"

        @hookimpl
        def posestage_fram(self, frame):
            pass

    class BadArgs:
        PLUGIN_NAME = "badargs"

        @hookimpl
        def posestage_frame(self, frame, people):
            pass

    class Unmarked:
        PLUGIN_NAME = "unmarked"

        def posestage_frame(self, frame):
            pass

    class BadSettings:
        PLUGIN_NAME = "badsettings"

        @hookimpl
        def posestage_settings(self):
            return [{"name": "size"}]

    with pytest.raises(
        PluginError,
        match=r"^plugin 'typo' refused: posestage_fram is not a posestage hook \(did you mean 'posestage_frame'\?\)$",
    ):
        host.register(Typo())
    with pytest.raises(PluginError, match=r"^plugin 'badargs' refused: .*people"):
        host.register(BadArgs())
    with pytest.raises(
        PluginError,
        match=r"^plugin 'unmarked' refused: posestage_frame is not marked with @hookimpl",
    ):
        host.register(Unmarked())
    with pytest.raises(
        PluginError,
        match=r"^plugin 'badsettings': posestage_settings\(\) must return Setting objects",
    ):
        host.register(BadSettings())
    assert host.plugins == {}
    assert host.registry.pm.get_plugins() == set()


def test_name_taken(host, log):
    host.register(LogCollector("a", log))
    with pytest.raises(PluginError, match="^plugin 'a': the name is already taken by registered$"):
        host.register(LogCollector("a", log))


def test_timings_and_summary_feed_the_overlay(host, log):
    class Slow:
        PLUGIN_NAME = "slow"

        @hookimpl
        def posestage_frame(self):
            time.sleep(0.005)

    host.register(Slow())
    host.register(LogCollector("a", log))
    host.activate([PluginUse("slow"), PluginUse("a")], context())
    for i in range(3):
        host.frame(make_frame(i))
    assert 4.0 < host.timings["slow"]["posestage_frame"] < 50.0
    summary = host.timing_summary()
    assert (
        summary["slow"]["calls"] == 3
        and summary["slow"]["max_ms"] >= summary["slow"]["mean_ms"] * 0.5
    )
    assert set(summary) == {"slow", "a"}
    from posestage.stage.overlay import timing_lines

    lines = timing_lines(summary)
    assert lines[0].startswith("slow") and "3 calls" in lines[0]
    assert any(
        line.startswith("slow") and "posestage_frame" in line for line in host.profile_lines()
    )


def test_sources_privacy_and_commands(host):
    def opener(spec, options):
        return ("opened", spec)

    class Source:
        PLUGIN_NAME = "ndi"

        @hookimpl
        def posestage_sources(self):
            return {"ndi": opener}

        @hookimpl
        def posestage_commands(self, subparsers):
            p = subparsers.add_parser("ndi-list", help="list NDI sources")
            p.set_defaults(func=lambda args: 0)

    class Dupe:
        PLUGIN_NAME = "dupe"

        @hookimpl
        def posestage_sources(self):
            return {"ndi": opener}

    for p in (Source(), Dupe(), Anonymizer()):
        host.register(p)
    assert host.sources() == {"ndi": opener}
    assert host.errors == ["dupe: source scheme 'ndi' is already registered; ignored"]
    stage = context()
    assert host.privacy_requested is False
    host.activate([PluginUse("anonymizer")], stage)
    assert host.privacy_requested is True
    host.activate([PluginUse("anonymizer", {"asks": False})], stage)
    assert host.privacy_requested is False
    host.activate([PluginUse("anonymizer")], stage)
    host.deactivate("anonymizer", stage)
    assert host.privacy_requested is False
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    sub.add_parser("ndi-list")  # the name is already taken: the plugin's is refused, no crash
    host.add_commands(sub)
    parser2 = argparse.ArgumentParser()
    sub2 = parser2.add_subparsers()
    host.add_commands(sub2)
    assert parser2.parse_args(["ndi-list"]).func(None) == 0


def test_update_settings_live(host, log):
    class Live(LogCollector):
        @hookimpl
        def posestage_settings_changed(self, settings, changed):
            self.log.append((self.PLUGIN_NAME, "changed", tuple(changed)))
            return "gain" in changed and len(changed) == 1

    decl = [Setting("gain", float, 1.0, min=0, max=2), Setting("port", int, 9000, min=1, max=65535)]
    host.register(Live("synth", log, decl))
    stage = context()
    host.activate([PluginUse("synth")], stage)
    log.clear()
    assert host.update_settings("synth", {"gain": "0.5"}, stage, "osc") == {
        "gain": 0.5,
        "port": 9000,
    }
    assert log == [("synth", "changed", ("gain",))]  # applied live, no reconfigure
    log.clear()
    host.update_settings("synth", {"port": 9001}, stage, "osc")
    assert log == [
        ("synth", "changed", ("port",)),
        ("synth", "unconfigure", None),
        ("synth", "configure", {"gain": 0.5, "port": 9001}),
    ]
    with pytest.raises(SceneError) as info:
        host.update_settings("synth", {"gian": 1}, stage, "osc")
    assert (
        str(info.value)
        == "osc: plugins.synth.gian: unknown setting (did you mean 'gain'?); valid: gain, port"
    )
    with pytest.raises(PluginError, match="^osc: plugin 'nope' is not active; active: synth$"):
        host.update_settings("nope", {}, stage, "osc")


def test_a_refused_live_value_leaves_the_plugin_running_with_its_old_settings(host, log):
    """A value the plugin's configure refuses (validation could not tell): configured again
    with its old settings, still in dispatch, the error names what was refused; a setting that
    names a file is refused before any hook is called."""

    class Picky(LogCollector):
        @hookimpl
        def posestage_configure(self, stage, settings):
            self.log.append((self.PLUGIN_NAME, "configure", dict(settings)))
            if settings["grid"] == "bad":
                raise PluginError("picky.grid: 'bad' is not a grid; give COLSxROWS")

    decl = [Setting("grid", str, "4x3"), Setting("folder", str, "out", live=False)]
    host.register(Picky("picky", log, decl))
    stage = context()
    host.activate([PluginUse("picky")], stage)
    log.clear()
    with pytest.raises(PluginError, match="refused its settings.*picky keeps its previous"):
        host.update_settings("picky", {"grid": "bad"}, stage, "osc")
    assert log == [
        ("picky", "unconfigure", None),
        ("picky", "configure", {"grid": "bad", "folder": "out"}),
        ("picky", "unconfigure", None),  # what it opened half-way is released
        ("picky", "configure", {"grid": "4x3", "folder": "out"}),
    ]
    assert host.active == ["picky"] and host.settings_of("picky") == {
        "grid": "4x3",
        "folder": "out",
    }
    log.clear()
    with pytest.raises(SceneError, match="folder cannot be changed live"):
        host.update_settings("picky", {"folder": "/tmp/elsewhere"}, stage, "osc")
    assert log == []


def test_pose_thread_failures_while_main_thread_draws(host, log):
    """frame() on a worker thread, draw() on this one: a crash-disable mid-way breaks nothing."""
    host.register(LogCollector("a", log))
    host.register(LogCrasher(log))
    host.activate([PluginUse("a"), PluginUse("crasher")], context())

    def pose_thread():
        for i in range(2000):
            host.frame(make_frame(i))

    t = threading.Thread(target=pose_thread)
    t.start()
    draws = 0
    while True:
        canvas = pygame.Surface((640, 480))
        host.draw(canvas, make_frame())
        draws += 1
        if not t.is_alive():
            break
    t.join()
    assert host.active == ["a"]
    assert [x for x in log if x[0] == "a" and x[1] == "frame"][-1] == ("a", "frame", 1999)
    assert draws > 0


# ---------------------------------------------------------------- discovery on a real sys.path


def write_distribution(root, dist, module, source, ep_name):
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[posestage]\n{ep_name} = {module}\n")


THIRD_PARTY = """
    from posestage.hookspecs import hookimpl

    @hookimpl
    def posestage_frame(frame):
        pass
"""


@pytest.fixture
def third_party(tmp_path, monkeypatch):
    write_distribution(
        tmp_path, "posestage-thirdparty", "thirdparty_plugin", THIRD_PARTY, "thirdparty"
    )
    write_distribution(
        tmp_path, "posestage-broken", "broken_plugin", "import no_such_module_here\n", "broken"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("thirdparty_plugin", "broken_plugin"):
        sys.modules.pop(name, None)


def test_entry_points_safe_mode_disable_and_broken(third_party):
    host = PluginHost.load()
    info = host.plugins["thirdparty"]
    assert (info.loaded, info.version, info.distribution, info.builtin, info.origin) == (
        True, "1.2.3", "posestage-thirdparty", False, "entry point",
    )  # fmt: skip
    assert info.hooks == ("posestage_frame",)
    broken = host.plugins["broken"]
    assert not broken.loaded
    assert (
        broken.error == "failed to load: ModuleNotFoundError: No module named 'no_such_module_here'"
    )
    assert "broken: failed to load: ModuleNotFoundError" in host.errors[0]
    problems = host.activate([PluginUse("broken", {}, "scenes/x.toml: plugins.broken")], context())
    assert problems == [
        "scenes/x.toml: plugins.broken: failed to load: ModuleNotFoundError: No module named 'no_such_module_here'; skipped"
    ]

    safe = PluginHost.load(safe=True)
    assert safe.plugins["thirdparty"].error == "not loaded in --safe mode"
    assert not safe.plugins["thirdparty"].loaded
    assert all(i.builtin for i in safe.plugins.values() if i.loaded)

    off = PluginHost.load(disable=["thirdparty"])
    assert off.plugins["thirdparty"].error == "disabled (--disable)"
    assert off.activate([PluginUse("thirdparty")], context()) == [
        "plugins.thirdparty: disabled (--disable); skipped"
    ]
    assert (
        off.errors[-1] != "plugins.thirdparty: disabled (--disable); skipped"
    )  # asked for: not an error


def test_builtin_allow_list_names_the_repository_plugins():
    from pathlib import Path

    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    root = Path(__file__).resolve().parents[1] / "plugins"
    names = {tomllib.loads(p.read_text())["project"]["name"] for p in root.glob("*/pyproject.toml")}
    assert names <= BUILTIN_DISTRIBUTIONS


def test_dash_p_plugin_from_a_file_is_active_in_every_scene(tmp_path, log):
    path = tmp_path / "posestage_wobble.py"
    path.write_text(
        textwrap.dedent(
            """
            from posestage.hookspecs import hookimpl
            from posestage.config.schema import Setting

            seen = []

            @hookimpl
            def posestage_settings():
                return [Setting("speed", float, 1.5)]

            @hookimpl
            def posestage_configure(settings):
                seen.append(dict(settings))
            """
        )
    )
    host = PluginHost.load(enable=[str(path)], entry_points=False)
    assert host.extra == ["wobble"] and host.plugins["wobble"].origin == "-p"
    host.register(LogCollector("a", log))
    host.activate([PluginUse("a")], context())
    assert host.active == ["a", "wobble"]
    assert sys.modules["posestage_wobble"].seen == [{"speed": 1.5}]
    sys.modules.pop("posestage_wobble", None)
    with pytest.raises(
        PluginError,
        match=r"^-p no_such_plugin_mod: no installed plugin or module named 'no_such_plugin_mod'; installed: \(none\); or give a module",
    ):
        PluginHost.load(enable=["no_such_plugin_mod"], entry_points=False)
    with pytest.raises(PluginError, match=r"^-p .*missing\.py: no such file"):
        import_plugin(str(tmp_path / "missing.py"))


def test_plugins_command_lists_plugins_and_scene_state(third_party, tmp_path, capsys):
    from posestage.commands import plugins as command

    scene = tmp_path / "s.toml"
    scene.write_text("[plugins.thirdparty]\n")
    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["plugins", "--scene", str(scene)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert f"scene: {scene}" in out
    assert "on  thirdparty  1.2.3    posestage-thirdparty" in out
    assert "      hooks: frame" in out
    assert "off broken" in out and "not loaded: failed to load" in out
    scene.write_text("[plugins.thirdpart]\n")
    args = parser.parse_args(["plugins", "--scene", str(scene), "--json"])
    assert args.func(args) == 2
    import json

    doc = json.loads(capsys.readouterr().out)
    assert doc["problem"].startswith(
        f"{scene}: plugins.thirdpart: unknown plugin (did you mean 'thirdparty'?)"
    )
    assert {p["name"] for p in doc["plugins"]} >= {"thirdparty", "broken"}


def test_every_hook_is_documented_with_a_docstring():
    """Each hook has a docstring and a section in the plugin author guide (datasette style)."""
    from pathlib import Path

    from posestage import hookspecs

    guide = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    hooks = PluginHost().hook_names()
    assert len(hooks) >= 12
    for name in hooks:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name
        assert f"### {name}(" in guide, f"docs/plugins.md has no section for {name}"


def test_installed_plugins_add_cli_commands(tmp_path, monkeypatch):
    from posestage.host import add_plugin_commands

    source = """
        from posestage.hookspecs import hookimpl

        @hookimpl
        def posestage_commands(subparsers):
            p = subparsers.add_parser("hello", help="say hello")
            p.add_argument("who")
            p.set_defaults(func=lambda args: len(args.who))
    """
    write_distribution(tmp_path, "posestage-hello", "hello_plugin", source, "hello")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        parser = argparse.ArgumentParser()
        add_plugin_commands(parser.add_subparsers())
        args = parser.parse_args(["hello", "stage"])
        assert args.func(args) == 5
    finally:
        sys.modules.pop("hello_plugin", None)


def test_privacy_answers_latch_privacy_and_only_room_wants_the_room(host, log):
    """The host no longer hands pixels to anyone (the pose thread builds private frames
    without an image); it latches privacy on True, "room" or any odd answer, and wants the
    room only while a healthy plugin answered "room"."""
    answers = {"answer": True}

    class Asking:
        PLUGIN_NAME = "anonymizer"

        @hookimpl
        def posestage_privacy(self):
            return answers["answer"]

    host.register(Asking())
    for answer, asks, room in (
        (True, True, False),
        ("room", True, True),
        ("yes please", True, False),  # an odd answer (or a failure) asks: fails closed
        (None, False, False),
    ):
        answers["answer"] = answer
        host.activate([], context())  # a scene without it: privacy off
        assert not host.privacy
        host.activate([PluginUse("anonymizer")], context())
        assert host.privacy_requested is asks and host.room_wanted is room, answer
        assert host.privacy is (answer is not None), answer
        assert host.privacy_asking == ({"anonymizer"} if asks else set())
    assert not hasattr(host, "pixels_for") and not hasattr(host.dispatcher, "pixels_for")


WRONG_TYPES = {
    "badsources": """
        from posestage.hookspecs import hookimpl

        @hookimpl
        def posestage_sources():
            return ["ndi"]  # not a {scheme: opener} dict
    """,
    "badsettings": """
        from posestage.hookspecs import hookimpl
        from posestage.config.schema import Setting

        @hookimpl
        def posestage_settings():
            return Setting("gain", float, 1.0)  # one Setting, not a list
    """,
    "badcommands": """
        from posestage.hookspecs import hookimpl

        @hookimpl
        def posestage_commands(subparsers):
            raise SystemExit("no commands today")
    """,
    "badschemes": """
        from posestage.hookspecs import hookimpl

        @hookimpl
        def posestage_sources():
            return {"ndi": "not callable", 3: print}
    """,
}


def test_plugins_answering_the_wrong_type_are_refused_and_run_still_works(
    tmp_path, monkeypatch, capsys
):
    from fakes import write_stream

    from posestage.cli import main

    for name, source in WRONG_TYPES.items():
        write_distribution(tmp_path, f"posestage-{name}", f"{name}_plugin", source, name)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        host = PluginHost.load()
        assert "ndi" not in host.sources()  # refused (built-in plugins' own schemes stay)
        assert (
            "plugin 'badsources': posestage_sources() must return a dict {scheme: opener}, got list; ignored"
            in host.errors
        )
        assert "badschemes: source scheme 'ndi': opener is not callable; ignored" in host.errors
        assert "plugin 'badschemes': source scheme 3 is not a plain name; ignored" in host.errors
        settings_error = host.plugins["badsettings"].error
        assert settings_error == (
            "plugin 'badsettings': posestage_settings() must return a list of Setting objects, "
            "got Setting"
        )
        write_stream(tmp_path / "s.jsonl", 5)
        capsys.readouterr()
        status = main(
            ["run", "--source", f"replay:{tmp_path / 's.jsonl'}", "--pace", "fast", "--headless"]
        )
        err = capsys.readouterr().err
        assert status == 0, err
        assert "5 frames" in err
        refused = [line for line in err.splitlines() if "badsources" in line]
        assert len(refused) == 1 and refused[0].startswith("posestage: plugin 'badsources'")
        # plugins' commands are added only for a command that is not built in
        status = main(["no-such-command"])
        err = capsys.readouterr().err
        assert status == 2
        assert "badcommands: could not add its commands: no commands today" in err
    finally:
        for name in WRONG_TYPES:
            sys.modules.pop(f"{name}_plugin", None)
