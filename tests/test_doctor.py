"""``posestage doctor``: every probe on one screen, each missing piece with its fix."""

from __future__ import annotations

import re

from posestage.cli import main
from posestage.commands import doctor
from posestage.engine.decoding import available_kernels

NAMES = ("python", "runtime", "threads", "edge tpu", "decoder", "models", "cameras", "ndi",
         "midi", "fluidsynth", "soundfont", "audio", "sound")  # fmt: skip
LINE = re.compile(r"^  (ok|missing|-) +(\S+(?: \S+)?) {2,}(.+)$")


def report(capsys, *argv) -> tuple[int, dict[str, tuple[str, str]], list[str]]:
    code = main(["doctor", "--no-sound", *argv])  # no note from the machine's speakers
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "posestage doctor"
    found = {}
    for line in lines[1:]:
        match = LINE.match(line)
        if match:
            found.setdefault(match.group(2), (match.group(1), match.group(3)))
    return code, found, lines


def test_one_line_per_probe_with_fixes_for_what_is_missing(capsys, models_dir):
    code, found, lines = report(capsys)
    assert tuple(found) == NAMES
    assert code == 0  # a runtime and the shared models: poses can be detected
    assert found["runtime"][0] == "ok" and re.match(
        r"(ai-edge-litert|tflite_runtime) ", found["runtime"][1]
    )
    assert found["models"][0] == "ok" and "verified" in found["models"][1]
    assert found["decoder"][1].startswith(available_kernels()[0])
    for i, line in enumerate(lines):
        if line.startswith("  missing"):
            assert lines[i + 1].lstrip().startswith("fix: "), line


def test_no_models_is_essential_and_says_how_to_fetch(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("POSESTAGE_MODELS_PATH", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, found, lines = report(capsys)
    assert code == 1
    assert found["models"][0] == "missing"
    assert any("fix: posestage models fetch posenet-481x641" in line for line in lines)
    assert lines[-1] == "poses cannot be detected here until models is fixed"


def test_a_probe_that_fails_is_one_line_and_the_others_still_run():
    def probe_broken_thing():
        raise RuntimeError("device on fire\nsecond line")

    assert doctor.safely(probe_broken_thing) == [
        doctor.Check("broken thing", doctor.MISSING, "probe failed: device on fire")
    ]
    assert doctor.safely(doctor.probe_python)[0].status == doctor.OK
