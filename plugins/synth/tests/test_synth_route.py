"""Where the sound goes, for real: ``driver = "auto"`` finds the private JACK server the tests
start, FluidSynth's ports are connected to its playback ports, and ``jack_rec`` hears the note
on them; no audio server at all is one line; ``doctor`` plays a note and says where it went;
the libraries' own chatter stays off the terminal unless ``--verbose``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import posestage_synth
import pytest
from posestage_synth import Synth, route

from posestage import KEYPOINT_INDEX, PluginError, validate
from posestage import testing as kit

ROOT = Path(__file__).resolve().parents[3]
RIGHT = KEYPOINT_INDEX["right_wrist"]


def settings(**values):
    return validate(values, posestage_synth.SETTINGS, "test: plugins.synth")


def stage():
    return kit.context(640, 480)


def playing_frame(index: int = 0):
    """One person, right hand high: the first voice plays."""
    stamp = 1000.0 + index / 30
    person = kit.person(1, 0, x=320.0, feet=460.0, tall=400.0, right_wrist=(None, 150.0),
                        left_wrist=(None, 100.0))  # fmt: skip
    return kit.frame(index, (person,), timestamp=stamp, captured=stamp)


def connections() -> dict[str, list[str]]:
    """``jack_lsp -c``: every port with the ports it is connected to."""
    out = subprocess.run(["jack_lsp", "-c"], capture_output=True, text=True, timeout=10).stdout
    found: dict[str, list[str]] = {}
    port = ""
    for line in out.splitlines():
        if line.startswith((" ", "\t")):
            found[port].append(line.strip())
        elif line.strip():
            port = line.strip()
            found[port] = []
    return found


@pytest.fixture
def no_audio_server(monkeypatch, tmp_path):
    """This process sees no JACK server, no PipeWire or PulseAudio socket."""
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"posestage-nobody-{os.getpid()}")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    for name in ("PULSE_SERVER", "PIPEWIRE_REMOTE"):
        monkeypatch.delenv(name, raising=False)
    if route.sound_cards():
        pytest.skip("this machine has a sound card: auto would rightly choose ALSA")


def test_auto_plays_into_the_running_jack_server_and_reaches_its_playback_ports(jack, tmp_path):
    if shutil.which("jack_rec") is None:
        pytest.skip("jack_rec is not installed (apt install jackd2)")
    synth = Synth()
    synth.posestage_configure(stage(), settings())  # driver = "auto"
    try:
        assert "JACK" in synth.out.name and synth.out.raw.driver == "jack"
        ports = connections()
        ours = sorted(p for p in ports if p.startswith(route.JACK_CLIENT))
        assert len(ours) == 2, ports
        for port in ours:  # each to a playback port of the server
            assert any(p.startswith("system:playback_") for p in ports[port]), ports
        assert len(synth.out.raw.outputs()) == 2
        wav = tmp_path / "heard.wav"
        recorder = subprocess.Popen(
            ["jack_rec", "-f", str(wav), "-d", "2", "-b", "16", *ours],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(20):  # the note held while the recorder listens
            synth.posestage_frame(playing_frame(i))
        assert synth.voices[0].note is not None
        recorder.wait(timeout=60)
    finally:
        synth.posestage_unconfigure(stage())
    with wave.open(str(wav)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    assert samples.size and np.abs(samples).max() > 1000  # a note, not silence


def test_the_scenes_jack_driver_is_connected_to_the_playback_ports_too(jack):
    synth = Synth()
    synth.posestage_configure(stage(), settings(driver="jack"))
    try:
        reached = synth.out.raw.outputs()
        assert [r.split(" → ")[1].startswith("system:playback_") for r in reached] == [True] * 2
    finally:
        synth.posestage_unconfigure(stage())


def test_no_audio_server_at_all_is_one_line(no_audio_server):
    synth = Synth()
    with pytest.raises(PluginError, match="no audio server or sound card here") as err:
        synth.posestage_configure(stage(), settings())
    assert "\n" not in str(err.value) and 'output = "midi"' in str(err.value)


def test_auto_prefers_jack_then_pipewire_then_pulseaudio(no_audio_server, tmp_path):
    drivers = ("alsa", "file", "jack", "pulseaudio", "sdl2")
    assert route.choose(drivers) is None
    (tmp_path / "pulse").mkdir()
    (tmp_path / "pulse" / "native").touch()
    assert route.choose(drivers).driver == "pulseaudio"
    (tmp_path / "pipewire-0").touch()  # PipeWire serving PulseAudio clients
    chosen = route.choose(drivers)
    assert chosen.driver == "pulseaudio" and chosen.server.startswith("PipeWire")
    assert route.choose((*drivers, "pipewire")).driver == "pipewire"


def test_doctor_plays_a_note_and_says_it_reached_the_playback_ports(jack, capsys):
    kit.run_cli("doctor")
    line = next(x for x in capsys.readouterr().out.splitlines() if x.split()[1:2] == ["sound"])
    assert line.split()[0] == "ok", line
    assert "JACK" in line and f"{route.JACK_CLIENT}:left → system:playback_" in line


def test_doctor_without_an_audio_server_says_what_to_start(no_audio_server, capsys):
    kit.run_cli("doctor")
    lines = capsys.readouterr().out.splitlines()
    i = next(i for i, x in enumerate(lines) if x.split()[1:2] == ["sound"])
    assert lines[i].split()[0] == "missing" and "no audio server" in lines[i]
    assert "fix: start one" in lines[i + 1]


def _run_synth_scene(*options: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, JACK_DEFAULT_SERVER=f"posestage-nobody-{os.getpid()}",
               XDG_RUNTIME_DIR=str(tmp_path), SDL_VIDEODRIVER="dummy")  # fmt: skip
    for name in ("PULSE_SERVER", "PIPEWIRE_REMOTE"):
        env.pop(name, None)
    command = [sys.executable, "-m", "posestage", *options, "run",
               str(ROOT / "scenes" / "synth.toml"), "--headless", "--frames", "3"]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_a_run_whose_synth_is_refused_ends_with_status_1_and_only_posestage_lines(
    no_audio_server, tmp_path
):
    done = _run_synth_scene(tmp_path=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert lines and all(line.startswith("posestage: ") for line in lines), lines
    assert any("no audio server or sound card here" in line for line in lines)
    assert "never ran" in lines[-1]
    verbose = _run_synth_scene("--verbose", tmp_path=tmp_path)
    assert verbose.returncode == 1
    assert "jack server is not running" in verbose.stderr  # JACK's own words, asked for


@pytest.fixture
def pulse(tmp_path, monkeypatch):
    """A private PulseAudio server with one null sink, ``posestage_test``, on a socket of its
    own; this process sees it (``PULSE_SERVER``) and no JACK server."""
    if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
        if os.environ.get("POSESTAGE_REQUIRE_JACK") == "1":  # CI: every sound server tested
            pytest.fail("pulseaudio is not installed (apt install pulseaudio pulseaudio-utils)")
        pytest.skip("pulseaudio is not installed (apt install pulseaudio pulseaudio-utils)")
    socket = tmp_path / "native"
    (tmp_path / "run").mkdir()
    env = dict(os.environ, HOME=str(tmp_path), XDG_RUNTIME_DIR=str(tmp_path / "run"))
    server = subprocess.Popen(
        ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
         "-F", "/dev/null",
         f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1",
         "--load=module-null-sink sink_name=posestage_test"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    monkeypatch.setenv("PULSE_SERVER", f"unix:{socket}")
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"posestage-nobody-{os.getpid()}")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    try:
        for _ in range(200):
            done = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True,
                                  text=True, timeout=10)  # fmt: skip
            if "posestage_test" in done.stdout:
                break
            if server.poll() is not None:
                pytest.fail(f"pulseaudio exited with status {server.returncode}")
            time.sleep(0.05)
        else:
            pytest.fail("the private pulseaudio never showed its sink")
        yield "posestage_test"
    finally:
        server.terminate()
        server.wait(10)


def test_auto_plays_into_a_running_pulseaudio_and_the_sink_hears_it(pulse, tmp_path):
    synth = Synth()
    synth.posestage_configure(stage(), settings())  # driver = "auto"
    heard = tmp_path / "heard.raw"
    try:
        assert synth.out.raw.driver == "pulseaudio" and "PulseAudio" in synth.out.name
        assert synth.out.raw.outputs() == [f"FluidSynth → {pulse}"]
        with heard.open("wb") as sink:
            recorder = subprocess.Popen(
                ["parec", "-d", f"{pulse}.monitor", "--raw", "--format=s16le", "--channels=2"],
                stdout=sink, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                for i in range(20):
                    synth.posestage_frame(playing_frame(i))
                    time.sleep(0.05)
                assert synth.voices[0].note is not None
                time.sleep(1.0)
            finally:
                recorder.terminate()
                recorder.wait(10)
    finally:
        synth.posestage_unconfigure(stage())
    samples = np.frombuffer(heard.read_bytes()[: heard.stat().st_size // 2 * 2], np.int16)
    assert samples.size and np.abs(samples).max() > 1000  # the note came out of the sink
