"""The merging source on the command line and in a scene, its one-line errors, and the broker
connection with a user, a password and TLS (a certificate authority made in the test)."""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest
from posestage_mqtt import merger as merger_module
from posestage_mqtt import plugin
from posestage_mqtt.merger import MqttSource, open_merger
from posestage_mqtt.testing import Mosquitto, mosquitto_program

from posestage import SourceError, SourceOptions, read_posestream
from posestage.testing import SyntheticPeople, run_cli, run_plugin

pytestmark = pytest.mark.skipif(
    mosquitto_program() is None and not os.environ.get("CI"),
    reason="no mosquitto (apt install mosquitto)",
)


def publish_in_background(url: str, stage: str = "left", frames: int = 90, people: int = 2):
    """A stage publishing synthetic people in real time (30 fps) on a thread of its own."""
    done = {}
    settings = {"broker": url, "room": "hall", "stage": stage}
    source = SyntheticPeople(people, frames=frames, realtime=True)
    thread = threading.Thread(target=lambda: done.update(run=run_plugin(plugin, settings,
                                                                        source=source)))  # fmt: skip
    thread.start()
    return thread, done


def merged_people(source: MqttSource, wanted: int, timeout: float = 20.0) -> list:
    """Read merged frames until one has ``wanted`` people."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = source.read()
        if frame is not None and len(frame.people) >= wanted:
            return frame.people
    return []


@pytest.mark.parametrize(
    "spec, says",
    [
        ("mqtt://127.0.0.1", "name the room"),
        ("mqtt://127.0.0.1/a/b", "name the room"),
        ("mqtt://127.0.0.1/hall?gate=far", "?gate= must be a number"),
        ("mqtt://127.0.0.1/hall?gate=100", "?gate= must be a number in 0.05..10"),
        ("mqtt://127.0.0.1/hall?colour=red", "unknown option 'colour'"),
        ("mqtt://127.0.0.1/hall?ca=/nowhere.pem", "needs mqtts://"),
        ("mqtts://127.0.0.1/hall?ca=/nowhere.pem", "is not a file"),
        ("mqtt://127.0.0.1:99999/hall", "Port out of range"),
    ],
)
def test_a_bad_source_is_one_line_naming_it(spec, says):
    with pytest.raises(SourceError) as err:
        open_merger(spec, SourceOptions())
    assert says in str(err.value)
    assert "\n" not in str(err.value) and str(err.value).startswith("--source")


def test_bad_source_on_the_command_line_exits_2_with_one_line(capsys):
    status = run_cli("run", "--headless", "--frames", "1", "--source", "mqtt://127.0.0.1")
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "name the room" in err[0]


def test_posestage_run_with_the_merged_source_and_the_recorder(tmp_path):
    """``posestage run --source mqtt://BROKER/ROOM``: the recorder runs on the merged people."""
    with Mosquitto(tmp_path / "broker") as broker:
        thread, _ = publish_in_background(broker.url, frames=150)
        recording = tmp_path / "merged.jsonl"
        scene = tmp_path / "merged.toml"
        scene.write_text(
            f'[stage]\nsource = "{broker.url}/hall"\n\n[plugins.recorder]\npath = "{recording}"\n'
        )
        status = run_cli("run", str(scene), "--headless", "--frames", "40")
        thread.join(30)
    assert status == 0
    header, frames = read_posestream(recording)
    assert header.source == "mqtt:127.0.0.1/hall" and len(frames) == 40
    ids = {p.id for f in frames for p in f.people}
    assert 2 <= len(ids) <= 3 and max(len(f.people) for f in frames) == 2


def test_user_password_and_tls(tmp_path, monkeypatch, caplog):
    users = {"stage": "s3cret-stage", "show": "s3cret-show"}
    with Mosquitto(tmp_path / "broker", users=users, tls=True) as broker:
        ca = broker.ca
        assert broker.url.startswith("mqtts://")
        at = f"127.0.0.1:{broker.port}"
        # the stage: user in the URL, password from the environment
        monkeypatch.setenv("POSESTAGE_MQTT_PASSWORD", "s3cret-stage")
        thread, done = publish_in_background(f"mqtts://stage@{at}?ca={ca}", frames=120)
        merger = open_merger(f"mqtts://show:s3cret-show@{at}/hall?ca={ca}", SourceOptions())
        try:
            people = merged_people(merger, 2)
        finally:
            merger.close()
        assert len(people) == 2 and merger.counts["frames"] > 0
        # a wrong password and a plain connection to the TLS port get nothing
        caplog.set_level(logging.ERROR, "posestage.mqtt")
        monkeypatch.setattr(merger_module, "OPEN_WAIT", 1.0)  # opening waits this long
        wrong = open_merger(f"mqtts://show:guess@{at}/hall?ca={ca}", SourceOptions())
        plain = open_merger(f"mqtt://show:s3cret-show@{at}/hall", SourceOptions())
        for source in (wrong, plain):
            assert not source._connected.is_set()
            source.close()
            assert source.counts["frames"] == 0
        assert any("refused the merger" in r.getMessage() for r in caplog.records)
        # a server certificate from another authority is refused (no switch to skip the check)
        other = Mosquitto(tmp_path / "other", tls=True)
        stranger = open_merger(f"mqtts://show:s3cret-show@{at}/hall?ca={other.ca}", SourceOptions())
        assert not stranger._connected.is_set()
        stranger.close()
        thread.join(30)
    run = done["run"]
    assert run.errors == [] and plugin.finished.sent > 0
