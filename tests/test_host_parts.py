"""The host's parts alone: the registry without a dispatcher, the time-budget rule without a
plugin call (the composed PluginHost is tested in test_plugins, test_dispatch, test_privacy)."""

from __future__ import annotations

from posestage.hookspecs import hookimpl
from posestage.host.registry import Registry
from posestage.host.timings import OVERRUN_FACTOR, OVERRUN_LIMIT, OVERRUN_WINDOW, Overruns


class Sources:
    def __init__(self, answer):
        self.answer = answer

    @hookimpl
    def posestage_sources(self):
        return self.answer


def opener(spec, options):
    return None


def test_a_registry_alone_answers_sources_and_reports_a_bad_answer_to_whom_it_was_given():
    lines: list[str] = []
    registry = Registry(report=lines.append)
    registry.register(Sources({"good": opener}), "good")
    registry.register(Sources(["not", "a", "dict"]), "bad")
    assert registry.sources() == {"good": opener}
    assert lines == [
        "plugin 'bad': posestage_sources() must return a dict {scheme: opener}, got list; ignored"
    ]
    assert registry.plugins["good"].hooks == ("posestage_sources",)


def test_the_budget_rule_notes_a_slow_call_once_and_switches_off_only_a_stalling_plugin():
    rule = Overruns()
    budget = 20.0
    assert rule.check("p", "posestage_draw", 5.0, budget) == ("", "")
    note, off = rule.check("p", "posestage_draw", 25.0, budget)  # over budget: noted, goes on
    assert note == "p: posestage_draw took 25 ms (budget 20 ms)" and off == ""
    stall = budget * OVERRUN_FACTOR + 1
    answers = [rule.check("p", "posestage_draw", stall, budget) for _ in range(OVERRUN_LIMIT)]
    assert [note for note, _ in answers] == [""] * OVERRUN_LIMIT  # noted once only
    assert [bool(off) for _, off in answers] == [False] * (OVERRUN_LIMIT - 1) + [True]
    assert f"in {OVERRUN_LIMIT} of its last {OVERRUN_WINDOW} calls" in answers[-1][1]
    # stalls spread out among normal calls are a slow machine, not a stalling plugin
    other = Overruns()
    offs = []
    for _ in range(3 * OVERRUN_WINDOW):
        offs.append(other.check("q", "posestage_frame", 200.0 * 4 + 1, 200.0)[1])
        offs += [other.check("q", "posestage_frame", 1.0, 200.0)[1] for _ in range(2)]
    assert not any(offs)
