"""--trace-hooks records: every call with plugin, hook, thread and duration, text or JSON."""

from __future__ import annotations

import io
import json
import threading
import time

from posestage.host.trace import FIELDS, HookTrace


def test_text_lines_name_plugin_hook_thread_and_duration():
    out = io.StringIO()
    trace = HookTrace(stream=out)
    t0 = time.perf_counter()
    trace.record("skeleton", "posestage_draw", t0, t0 + 0.0012)
    worker = threading.Thread(
        target=lambda: trace.record("glow", "posestage_frame", t0, t0 + 0.02, failed=True),
        name="posestage-pose",
    )
    worker.start()
    worker.join()
    trace.close()
    first, second = out.getvalue().splitlines()
    assert first.split()[2:] == ["MainThread", "skeleton", "posestage_draw", "1.200", "ms"]
    assert second.split()[2:] == [
        "posestage-pose",
        "glow",
        "posestage_frame",
        "20.000",
        "ms",
        "FAILED",
    ]
    assert trace.calls == 2 and trace.dropped == 0


def test_json_lines_file(tmp_path):
    path = tmp_path / "trace.jsonl"
    trace = HookTrace(path)
    t0 = time.perf_counter()
    for i in range(100):
        trace.record("p", "posestage_frame", t0 + i, t0 + i + 0.001)
    trace.close()
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 100 and list(rows[0]) == list(FIELDS)
    assert rows[0]["plugin"] == "p" and abs(rows[0]["ms"] - 1.0) < 1e-6
    assert rows[99]["at"] > rows[0]["at"]


def test_run_trace_hooks_names_every_call_on_its_thread(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    from posestage.cli import main

    demo = Path(__file__).resolve().parents[1] / "scenes" / "demo.toml"
    monkeypatch.chdir(tmp_path)  # the recorder writes recordings/ here
    path = tmp_path / "trace.jsonl"
    args = ["run", str(demo), "-p", "recorder", "--headless", "--frames", "6", "--pace", "fast"]
    assert main([*args, "--trace-file", str(path)]) == 0
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    calls = {(r["plugin"], r["hook"]) for r in rows}
    assert {("skeleton", "posestage_configure"), ("skeleton", "posestage_draw")} <= calls
    assert ("recorder", "posestage_unconfigure") in calls
    frames = [r for r in rows if r["hook"] == "posestage_frame"]
    assert len(frames) == 6 and {r["thread"] for r in frames} == {"posestage-lane-recorder"}
    assert all(r["ms"] >= 0 and not r["failed"] for r in rows)

    assert main([*args, "--trace-hooks"]) == 0
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("trace ")]
    assert sum("posestage_frame" in x and "recorder" in x for x in lines) == 6
