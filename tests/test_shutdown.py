"""The real command line in a real subprocess: SIGTERM / SIGHUP stop the show cleanly (every
dispatched frame recorded), and plugins' log lines reach stderr in the one-line format."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fakes import write_stream
from posestage_midi.fixtures import jack  # noqa: F401 - a private jackd -d dummy, the fixture

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


# -- a stuck plugin, a plugin's thread and a sounding note at SIGTERM ---------------------------

STUCK_PLUGIN = """\
import threading
import time
from posestage import hookimpl

@hookimpl
def posestage_frame(frame):
    if frame.index == 10:
        print("stuck: blocking for ever", flush=True)
        threading.Event().wait()  # never returns
"""

THREAD_PLUGIN = """\
import threading
import time
from posestage import hookimpl

@hookimpl
def posestage_configure():
    # not a daemon, never stopped: it would keep the process alive after the show
    threading.Thread(target=threading.Event().wait, name="forgotten", daemon=False).start()
"""


@pytest.fixture
def port_name():
    return f"posestage-shutdown-{os.getpid()}"


@pytest.mark.slow
@pytest.mark.usefixtures("jack")
def test_sigterm_ends_the_process_with_a_stuck_plugin_and_a_thread_and_no_note_held(
    tmp_path, port_name
):
    from posestage_midi.jack import Listener, all_notes_off

    from posestage import KEYPOINT_INDEX
    from posestage import testing as kit

    right = KEYPOINT_INDEX["right_wrist"]
    figures = []
    for _ in range(300):  # the right hand above the head all along: note 60 sounds
        xy = kit.standing_xy(320.0, 460.0, 400.0)
        xy[right, 1] = 40.0
        figures.append([xy])
    kit.write_stream(tmp_path / "s.jsonl", figures, size=(640, 480))
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "stuck.py").write_text(STUCK_PLUGIN)
    (plugins / "forgets.py").write_text(THREAD_PLUGIN)
    scene = tmp_path / "show.toml"
    scene.write_text(
        f'[stage]\nsource = "replay:{tmp_path / "s.jsonl"}"\npace = "realtime"\nloop = true\n'
        "[plugins.stuck]\n[plugins.forgets]\n"  # before the midi plugin in scene order
        f'[plugins.midi]\napi = "jack"\nport = "{port_name}"\n'
        '[[plugins.midi.notes]]\nvalue = "above_head(right_wrist)"\nnote = 60\n'
    )
    with Listener(port_name, virtual=True) as listener:
        args = ["run", str(scene), "--headless", "--plugin-dir", str(plugins)]
        proc = start(args, tmp_path)
        err = Lines(proc.stderr)
        try:
            assert err.wait_for("midi:"), err.text()  # configured: its port is open
            out = proc.stdout.readline()  # the stuck plugin got stuck (note 60 sounds)
            assert "stuck: blocking for ever" in out, err.text()
            proc.send_signal(signal.SIGTERM)
            proc.wait(WAIT)  # a hang guard: it ends within seconds
        finally:
            if proc.poll() is None:
                proc.kill()
        got = listener.take(until=all_notes_off(0))
    text = err.text()
    assert proc.returncode == 0, text
    assert [0x90, 60, 100] in got and got[-2:] == [[0x80, 60, 0], [0xB0, 123, 0]], got
    assert "stopped by signal SIGTERM" in text
    assert "threads still running" in text and "forgotten" in text  # named, then ended


SLOW_IMPORT = """\
import pathlib, time
pathlib.Path(__file__).with_suffix(".imported").touch()
time.sleep(1.0)  # a heavy import: the command line is still starting
"""


@pytest.mark.slow
def test_a_signal_during_start_up_stops_the_show_cleanly_instead_of_killing_it(tmp_path):
    """SIGTERM while the command line is still loading plugins (before any stage exists): the
    handlers are in from the first line of main, the stage takes the signal over and stops
    at once — exit 0 and the usual last line, not death by the signal's default action."""
    write_stream(tmp_path / "s.jsonl", 30)
    plugin = tmp_path / "posestage_heavy.py"
    plugin.write_text(SLOW_IMPORT)
    marker = plugin.with_suffix(".imported")
    args = ["-p", str(plugin), "run", "--source", f"replay:{tmp_path / 's.jsonl'}"]
    proc = start([*args, "--loop", "--headless"], tmp_path)
    err = Lines(proc.stderr)
    try:
        deadline = time.monotonic() + WAIT
        while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        assert marker.exists(), err.text()
        proc.send_signal(signal.SIGTERM)  # the plugin's import is still sleeping
        proc.wait(WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = err.text()
    assert proc.returncode == 0, (proc.returncode, text)
    assert "stopped by signal SIGTERM" in text
