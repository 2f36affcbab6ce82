"""The README's scene table, kept true: every scene file is in it, each row says what it runs on
(a replay or a camera) as its scene file does, and each scene runs headless as the row says —
a replay scene as it is, with every plugin it names running (a refused plugin ends the run with
status 1); a camera scene with a replay in the camera's place. The sound and MIDI scenes get
what they say they need: the private JACK server the MIDI tests start."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from posestage_midi.fixtures import jack  # noqa: F401 - the fixture: a JACK server for MIDI/sound

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
HEADER = "| scene | runs on | what it does |"
KINDS = ("a replay", "a camera")


def table() -> dict[str, str]:
    """``{"scenes/max.toml": "a replay", …}`` from the README's scene table."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADER) + 2  # after the header and its --- row
    rows = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        names, kind = re.findall(r"`([^`]+\.toml)`", cells[0]), cells[1]
        assert kind in KINDS, f"README scene table: {line!r} runs on {kind!r}, not {KINDS}"
        for name in names:
            rows[name if "/" in name else f"scenes/{name}"] = kind
    return rows


def scene_source(name: str) -> str:
    from posestage.config.scenes import tomllib  # tomli before Python 3.11

    with (ROOT / name).open("rb") as f:
        return tomllib.load(f).get("stage", {}).get("source", "camera")


def test_every_scene_is_in_the_table_with_what_it_runs_on():
    rows = table()
    files = sorted(f"scenes/{p.name}" for p in (ROOT / "scenes").glob("*.toml"))
    assert sorted(rows) == files
    for name, kind in rows.items():
        source = scene_source(name)
        runs_on = "a camera" if source.startswith("camera") else "a replay"
        assert runs_on == kind, f"{name}: its source is {source!r}, the README says {kind}"


def run(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    command = [sys.executable, "-m", "posestage", "run", *argv, "--headless", "--frames", "20"]
    # footfall writes its snapshots where posestage runs: not into the checkout
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=180)  # fmt: skip


@pytest.mark.parametrize("name", sorted(table()))
def test_each_scene_runs_headless_as_the_table_says(name, jack, tmp_path):  # noqa: F811
    argv = [str(ROOT / name)]
    if table()[name] == "a camera":
        argv += ["--source", f"replay:{ROOT / 'scenes' / 'demo.jsonl'}"]
    done = run(tmp_path, *argv)
    assert done.returncode == 0, done.stderr  # 1: a plugin it names was refused
    assert "stopped by frames" in done.stderr, done.stderr


def test_the_whole_folder_runs_on_a_replay(jack, tmp_path):  # noqa: F811
    done = run(tmp_path, str(ROOT / "scenes"), "--source", f"replay:{ROOT / 'scenes/demo.jsonl'}")
    assert done.returncode == 0, done.stderr
