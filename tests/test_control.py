"""Control messages and scene switches on a running stage: replies, hostile input, scene_changed.

Real stages on real replays (headless); messages go through ``post()`` and the tests wait on
the futures it returns (no sleeps to guess when something happened).
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from fakes import Collector, host_with, scene_of, write_stream

from posestage.config.schema import Setting
from posestage.hookspecs import ControlMessage, ControlReply, hookimpl
from posestage.sources import SourceOptions, open_source
from posestage.stage import Stage, StageOptions

WAIT = 10.0  # seconds a future may take on a loaded machine (never reached when it works)


class Tunable(Collector):
    """A collector with a setting; it records every configure's settings and scene change."""

    def __init__(self, name, log=None):
        super().__init__(name, log)
        self.settings_seen: list = []
        self.scene_changes: list = []

    @hookimpl
    def posestage_settings(self):
        return [Setting("gain", float, 1.0, min=0.0, max=2.0)]

    @hookimpl
    def posestage_configure(self, stage, settings):
        self.configured += 1
        self.settings_seen.append(dict(settings))

    @hookimpl
    def posestage_scene_changed(self, stage, old, new):
        self.scene_changes.append((old, new, threading.current_thread().name, stage.scene))


def live_stage(tmp_path, scenes_of, *plugins, **options):
    """A stage on an endless realtime replay; ``scenes_of(host)`` gives its scenes."""
    write_stream(tmp_path / "s.jsonl", 30)
    host = host_with(*plugins)
    source = open_source(
        f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="realtime", loop=True)
    )
    options.setdefault("headless", True)
    options.setdefault("duration", 60.0)  # a safety net: every test stops the stage itself
    return Stage(scenes_of(host), StageOptions(**options), host=host, source=source), host


def drive(st, script):
    """Run ``script()`` on a thread while the stage runs; stop the stage when it returns."""
    failure = []

    def run():
        try:
            script()
        except BaseException as err:  # re-raised in the test below
            failure.append(err)
        finally:
            st.stop("quit")

    thread = threading.Thread(target=run)
    thread.start()
    report = st.run()
    thread.join()
    if failure:
        raise failure[0]
    return report


class RaisingAttributes:
    """Not a ControlMessage: every attribute access raises."""

    def __getattribute__(self, name):
        raise RuntimeError(f"no {name} for you")


class HostileAction(ControlMessage):
    def __getattribute__(self, name):
        if name == "action":
            raise ValueError("action unavailable")
        return super().__getattribute__(name)


class HostileValue:
    def __repr__(self):
        raise RuntimeError("no repr")

    def __str__(self):
        raise RuntimeError("no str")

    def __float__(self):
        raise RuntimeError("no float")

    def __eq__(self, other):
        raise RuntimeError("no eq")

    __hash__ = object.__hash__


HOSTILE = [
    ControlMessage("scene", value="²"),  # a digit to str.isdigit(), not to int()
    ControlMessage("scene", value="9" * 5000),  # beyond int()'s digit limit
    ControlMessage("scene", value=10**5000),  # an int whose repr() raises
    ControlMessage("scene", value=float("nan")),
    ControlMessage("scene", value=float("-inf")),
    ControlMessage("scene", value=True),
    ControlMessage("scene", value=None),
    ControlMessage("scene", value=["1"]),
    ControlMessage("enable", target=None),
    ControlMessage("disable", target=3),
    ControlMessage("enable", target="nobody"),
    ControlMessage("set", target="tune", name=None, value=1),
    ControlMessage("set", target="tune", name="gain", value=HostileValue()),
    ControlMessage("set", target="tune", name="gain", value="9" * 5000),
    ControlMessage("set", target="tune", name="nope", value=1),
    ControlMessage("set", target=None, name="gain", value=1),
    ControlMessage(None),
    ControlMessage(action="x" * 10_000),
    ControlMessage("scene", value=1, source=RaisingAttributes()),
    HostileAction("scene"),
    RaisingAttributes(),
    SimpleNamespace(action="scene", value=1),
    "scene 1",
    None,
]


def test_any_message_any_field_any_type_is_refused_with_one_line_and_counted(tmp_path):
    tune, other = Tunable("tune"), Collector("other")
    st, host = live_stage(
        tmp_path, lambda h: [scene_of(h, "tune", "other"), scene_of(h, "other")], tune, other
    )
    replies = {}

    def script():
        futures = [st.post(message) for message in HOSTILE]
        replies["bad"] = [f.result(WAIT) for f in futures]
        frames = replies["frames before"] = len(other.frames)
        replies["good"] = st.post(ControlMessage("scene", value="2", source="osc")).result(WAIT)
        deadline = time.monotonic() + WAIT
        while len(other.frames) <= frames + 3 and time.monotonic() < deadline:
            time.sleep(0.01)

    report = drive(st, script)
    bad = replies["bad"]
    assert all(isinstance(r, ControlReply) and r.ok is False for r in bad), bad
    assert all(r.text and "\n" not in r.text for r in bad)
    assert report.rejected == len(HOSTILE)
    assert replies["good"] == ControlReply(True, "scene 2: scene")
    assert report.error is None and report.stopped_by == "quit"
    assert len(other.frames) > replies["frames before"]  # the show went on throughout
    # refusals are counted, not each reported: the first one, then a line now and then
    reported = [e for e in report.errors if "control message refused" in e]
    assert 1 <= len(reported) < len(HOSTILE) and all("\n" not in e for e in reported)
    assert f"({len(HOSTILE)} so far)" not in " ".join(reported[:1])
    lines = [r.text for r in bad]  # each sender is told what was wrong
    assert any("no scene '²'" in e for e in lines)
    assert any("no __class__ for you" in e for e in lines)  # RaisingAttributes
    assert any("not a ControlMessage but a SimpleNamespace" in e for e in lines)
    assert any("action unavailable" in e for e in lines)
    assert any("target None is not valid" in e for e in lines)
    assert all(len(e) < 300 for e in lines)  # a 5000-digit value is not echoed whole
    assert any("nobody" in e for e in lines)


def test_replies_say_what_was_done(tmp_path):
    tune = Tunable("tune")
    st, host = live_stage(tmp_path, lambda h: [scene_of(h, "tune"), scene_of(h)], tune)
    got = {}

    def script():
        post = st.context.post  # what a plugin has
        got["set"] = post(ControlMessage("set", "tune", "gain", "0.5", "osc")).result(WAIT)
        got["same scene"] = post(ControlMessage("scene", value=1)).result(WAIT)
        got["disable"] = post(ControlMessage("disable", "tune")).result(WAIT)
        got["disable again"] = post(ControlMessage("disable", "tune")).result(WAIT)
        got["enable"] = post(ControlMessage("enable", "tune")).result(WAIT)
        got["cue"] = post(ControlMessage("cue", value=3)).result(WAIT)

    drive(st, script)
    assert got["set"] == ControlReply(True, "tune.gain = 0.5")
    assert got["same scene"] == ControlReply(True, "scene 1: scene (already running)")
    assert got["disable"] == ControlReply(True, "tune disabled")
    assert got["disable again"].ok is False and "not active" in got["disable again"].text
    assert got["enable"] == ControlReply(True, "tune enabled")
    assert got["cue"] == ControlReply(True, "cue: passed to the plugins")
    # after the stage stopped, a post is answered at once
    late = st.context.post(ControlMessage("scene", value=2)).result(WAIT)
    assert late == ControlReply(False, "the stage has stopped")


def test_enable_leaves_the_other_plugins_and_their_live_settings_alone(tmp_path):
    a, b = Tunable("a"), Collector("b")
    st, host = live_stage(tmp_path, lambda h: [scene_of(h, "a", "b")], a, b)
    seen = {}

    def script():
        post = st.post
        assert post(ControlMessage("set", "a", "gain", 0.5)).result(WAIT).ok
        assert post(ControlMessage("disable", "b")).result(WAIT).ok
        assert post(ControlMessage("enable", "b")).result(WAIT).ok
        seen["active"] = host.active
        seen["a settings"] = dict(host.settings_of("a"))

    drive(st, script)
    assert seen == {"active": ["a", "b"], "a settings": {"gain": 0.5}}
    # a: the scene's configure, then the reconfigure for gain 0.5 — and nothing for b's enable
    assert a.settings_seen == [{"gain": 1.0}, {"gain": 0.5}]
    assert (b.configured, b.unconfigured) == (2, 2)


def test_plugins_kept_across_a_switch_are_told_old_and_new_scene(tmp_path):
    from posestage.config.scenes import parse_scene

    keep, gone, new = Tunable("keep"), Tunable("gone"), Tunable("new")

    def scenes(h):
        first = parse_scene("[plugins.keep]\n[plugins.gone]\n", None, h)
        second = parse_scene("[plugins.keep]\n[plugins.new]\n", None, h)
        first.name, second.name = "opening", "finale"
        return [first, second]

    st, host = live_stage(tmp_path, scenes, keep, gone, new)

    def script():
        assert st.post(ControlMessage("scene", value="finale")).result(WAIT).ok
        assert st.post(ControlMessage("scene", value=1)).result(WAIT).ok

    drive(st, script)
    assert [c[:2] for c in keep.scene_changes] == [("opening", "finale"), ("finale", "opening")]
    assert [c[3] for c in keep.scene_changes] == ["finale", "opening"]  # the context is new
    assert keep.configured == 1 and keep.unconfigured == 1  # kept, never reconfigured
    assert gone.scene_changes == [] and gone.configured == 2  # dropped, then back
    assert new.scene_changes == [] and new.configured == 1


class Retunable(Tunable):
    """Applies new settings live when ``accept``; records what it was offered."""

    def __init__(self, name, accept):
        super().__init__(name)
        self.accept = accept
        self.offered: list = []

    @hookimpl
    def posestage_settings_changed(self, stage, settings, changed):
        self.offered.append((dict(settings), list(changed), stage.scene))
        return self.accept


def test_a_switch_offers_new_settings_live_before_reconfiguring(tmp_path):
    from posestage.config.scenes import parse_scene

    live, stubborn = Retunable("live", True), Retunable("stubborn", False)

    def scenes(h):
        first = parse_scene("[plugins.live]\n[plugins.stubborn]\n", None, h)
        second = parse_scene(
            "[plugins.live]\ngain = 0.5\n[plugins.stubborn]\ngain = 0.5\n", None, h
        )
        first.name, second.name = "opening", "finale"
        return [first, second]

    st, host = live_stage(tmp_path, scenes, live, stubborn)
    seen = {}

    def script():
        assert st.post(ControlMessage("scene", value="finale")).result(WAIT).ok
        seen["settings"] = {n: dict(host.settings_of(n)) for n in host.active}

    drive(st, script)
    assert seen["settings"] == {"live": {"gain": 0.5}, "stubborn": {"gain": 0.5}}
    # both were offered gain 0.5, the context already showing the new scene
    offer = ({"gain": 0.5}, ["gain"], "finale")
    assert live.offered == [offer] and stubborn.offered == [offer]
    # live applied it: never reconfigured, told of the scene change like a plugin kept as is
    assert live.configured == 1 and live.unconfigured == 1
    assert [c[:2] for c in live.scene_changes] == [("opening", "finale")]
    # stubborn declined: unconfigured and configured again with the new settings
    assert stubborn.settings_seen == [{"gain": 1.0}, {"gain": 0.5}]
    assert (stubborn.configured, stubborn.unconfigured) == (2, 2)
    assert stubborn.scene_changes == []


def test_a_scene_file_reload_tells_the_plugins_kept(tmp_path):
    from posestage.config.scenes import load_scene

    keep = Tunable("keep")
    other = Collector("other")
    path = tmp_path / "show.toml"
    path.write_text("[plugins.keep]\n")
    st, host = live_stage(tmp_path, lambda h: [load_scene(path, h)], keep, other)

    def script():
        time.sleep(0.6)  # the watcher compares modification times: let the clock move on
        path.write_text("[plugins.keep]\n[plugins.other]\n")
        deadline = time.monotonic() + WAIT
        while not keep.scene_changes and time.monotonic() < deadline:
            time.sleep(0.02)

    drive(st, script)
    assert [c[:2] for c in keep.scene_changes] == [("show", "show")]
    assert other.configured == 1 and keep.configured == 1


def test_at_shutdown_people_leave_before_any_plugin_is_unconfigured(tmp_path):
    order: list = []

    class Witness(Collector):
        @hookimpl
        def posestage_person_leave(self, person, frame):
            order.append((self.name, "leave"))

        @hookimpl
        def posestage_unconfigure(self, stage):
            order.append((self.name, "unconfigure"))

    write_stream(tmp_path / "s.jsonl", 10, people=2)
    a, b = Witness("a"), Witness("b")
    host = host_with(a, b)
    source = open_source(f"replay:{tmp_path / 's.jsonl'}", SourceOptions(pace="fast"))
    Stage([scene_of(host, "a", "b")], StageOptions(headless=True), host=host, source=source).run()
    # each plugin on its own lane: its leaves, then its unconfigure (the plugins side by side)
    for name in ("a", "b"):
        mine = [what for who, what in order if who == name]
        assert mine == ["leave", "leave", "unconfigure"], order


def test_a_slow_configure_holds_up_neither_the_frames_nor_the_window(tmp_path):
    started, finish = threading.Event(), threading.Event()

    class SlowStart(Collector):
        @hookimpl
        def posestage_configure(self, stage, settings):
            self.configured += 1
            started.set()
            assert finish.wait(WAIT)  # loading a soundfont, opening a MIDI port...

    running, slow = Collector("running"), SlowStart("slow")
    st, host = live_stage(tmp_path, lambda h: [scene_of(h, "running")], running, slow)
    seen = {}

    def script():
        reply = st.post(ControlMessage("enable", target="slow"))
        assert started.wait(WAIT)
        frames, ticks = len(running.frames), st.ticks
        deadline = time.monotonic() + WAIT
        while (len(running.frames) < frames + 5 or st.ticks < ticks + 5) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.01)
        seen["frames went on"] = len(running.frames) >= frames + 5
        seen["main loop went on"] = st.ticks >= ticks + 5
        seen["slow frames while configuring"] = len(slow.frames)
        finish.set()
        seen["reply"] = reply.result(WAIT)
        while not slow.frames and time.monotonic() < deadline:
            time.sleep(0.01)
        seen["joined"] = bool(slow.frames)

    drive(st, script)
    assert seen == {
        "frames went on": True,
        "main loop went on": True,
        "slow frames while configuring": 0,
        "reply": ControlReply(True, "slow enabled"),
        "joined": True,
    }
