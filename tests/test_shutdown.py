"""The real command line in a real subprocess: SIGTERM / SIGHUP stop the show cleanly (every
dispatched frame recorded), and plugins' log lines reach stderr in the one-line format."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fakes import write_stream

from posestage.model.posestream import read_posestream

ROOT = Path(__file__).resolve().parents[1]
WAIT = 60.0


def start(args, tmp_path):
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    return subprocess.Popen(
        [sys.executable, "-m", "posestage", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class Lines:
    """stderr of a running process, read on a thread; ``wait_for`` a line matching a text."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._new = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            with self._new:
                self.lines.append(line.rstrip("\n"))
                self._new.notify_all()
        with self._new:
            self.lines.append(None)  # end of stream
            self._new.notify_all()

    def wait_for(self, text: str) -> bool:
        with self._new:
            return self._new.wait_for(
                lambda: any(line is None or text in line for line in self.lines), WAIT
            ) and any(line is not None and text in line for line in self.lines)

    def text(self) -> str:
        self._thread.join(WAIT)
        return "\n".join(line for line in self.lines if line is not None)


@pytest.mark.slow
@pytest.mark.parametrize(
    "signame, mode",
    [
        ("SIGTERM", "--headless"),
        ("SIGHUP", "--headless"),
        ("SIGINT", "--headless"),
        ("SIGTERM", ""),
    ],
)
def test_a_signal_stops_the_show_cleanly_and_the_recorder_keeps_every_frame(
    tmp_path, signame, mode
):
    write_stream(tmp_path / "s.jsonl", 30)
    recording = tmp_path / "rec.jsonl"
    scene = tmp_path / "show.toml"
    scene.write_text(
        f'[stage]\nsource = "replay:{tmp_path / "s.jsonl"}"\nloop = true\npace = "realtime"\n'
        # flush only at the end: a recording cut short by the signal would lose frames
        f'[plugins.recorder]\npath = "{recording}"\nflush_seconds = 60.0\n'
    )
    # mode "": the window, on SDL's dummy driver
    proc = start(["run", str(scene), "--safe", *([mode] if mode else [])], tmp_path)
    err = Lines(proc.stderr)
    try:
        assert err.wait_for("recorder: recording poses to"), err.text()
        # let frames flow: the recorder's frame hook queues them (none written yet)
        threading.Event().wait(1.0)
        proc.send_signal(getattr(signal, signame))
        proc.wait(WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = err.text()
    assert proc.returncode == 0, text
    summary = re.search(r"posestage: (\d+) frames in .* stopped by (.+)$", text, re.M)
    assert summary, text
    dispatched = int(summary.group(1))
    # Ctrl-C is the performer quitting; the others say which signal came
    assert summary.group(2) == ("quit" if signame == "SIGINT" else f"signal {signame}")
    assert dispatched > 0
    header, frames = read_posestream(recording)
    assert len(frames) == dispatched  # every dispatched frame is in the file
    indices = [f.index for f in frames]  # stage frame numbers: a live source may skip some
    assert indices == sorted(set(indices))
    assert f"recorder: {dispatched} frames written to" in text


def test_plugin_log_lines_reach_stderr_in_one_format(tmp_path):
    write_stream(tmp_path / "s.jsonl", 5)
    plugin = tmp_path / "posestage_chatty.py"
    plugin.write_text(
        "import logging\n"
        "from posestage import hookimpl\n"
        "log = logging.getLogger('chatty_synth')\n"
        "@hookimpl\n"
        "def posestage_configure():\n"
        "    log.warning('port 9000 is busy, using 9001')\n"
        "@hookimpl\n"
        "def posestage_frame(frame):\n"
        "    if frame.index == 2:\n"
        "        raise RuntimeError('note off failed')\n"
    )
    args = ["run", "--source", f"replay:{tmp_path / 's.jsonl'}", "--pace", "fast"]
    proc = start([*args, "--headless", "--safe", "-p", str(plugin)], tmp_path)
    out, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 0, err
    lines = err.splitlines()
    assert "posestage: chatty_synth: port 9000 is busy, using 9001" in lines
    assert "posestage: plugin chatty: posestage_frame failed" in lines
    assert lines[-1].startswith("posestage: 5 frames in")
    assert err.count("Traceback (most recent call last)") == 1
