"""The publisher for real: a private Mosquitto on 127.0.0.1, the real stage headless
(posestage.testing) with the plugin, a subscriber hearing what a TouchDesigner or Node-RED
would hear: every frame's people, the retained health, the last will; never a pixel."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from posestage_mqtt import SETTINGS, plugin
from posestage_mqtt.testing import Listener, Mosquitto, mosquitto_program

from posestage import validate
from posestage.testing import PosedImages, SyntheticPeople, check_plugin, run_plugin

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    mosquitto_program() is None and not os.environ.get("CI"),
    reason="no mosquitto (apt install mosquitto)",
)

FRAME_KEYS = {"v", "stage", "session", "seq", "index", "t", "sent", "width", "height",
              "mirrored", "people"}  # fmt: skip
PERSON_KEYS = {"id", "slot", "score", "missing", "floor", "keypoints"}


@pytest.fixture
def broker(tmp_path):
    with Mosquitto(tmp_path / "broker") as running:
        yield running


def test_entry_point_settings_and_hooks():
    project = tomllib.loads((PLUGIN_DIR / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["posestage"] == {"mqtt": "posestage_mqtt:plugin"}
    check_plugin(plugin, "mqtt")
    assert set(plugin.posestage_sources()) == {"mqtt", "mqtts"}
    with pytest.raises(Exception, match="mqtt.broker"):
        validated = validate({"broker": "http://x"}, SETTINGS, "scene.toml: plugins.mqtt")
        plugin.posestage_configure(stage=None, settings=validated)


def test_each_frame_its_people_and_the_health_retained(broker):
    settings = {"broker": broker.url, "room": "hall", "stage": "left"}
    with Listener(broker.url) as heard:
        run = run_plugin(plugin, settings, source=SyntheticPeople(2, frames=40))
        assert run.errors == []
        assert heard.wait(lambda m: sum(x.topic.endswith("/frame") for x in m) >= 40)
        assert heard.wait(lambda m: any(b"stopped" in x.payload for x in m))
    frames = [m.json() for m in heard.on("posestage/hall/left/frame")]
    assert len(frames) == 40 and not any(m.retain for m in heard.on("posestage/hall/left/frame"))
    assert [f["seq"] for f in frames] == list(range(1, 41))
    assert len({f["session"] for f in frames}) == 1
    for f, sent in zip(frames, run.frames):
        assert set(f) == FRAME_KEYS and f["stage"] == "left" and f["v"] == 1
        assert f["t"] == pytest.approx(sent.timestamp, abs=1e-6) and f["index"] == sent.index
        assert [(p["id"], p["slot"]) for p in f["people"]] == [(p.id, p.slot) for p in sent.people]
        for p, person in zip(f["people"], sent.people):
            assert set(p) == PERSON_KEYS and p["floor"] is None  # no calibration here
            keypoints = np.array(p["keypoints"])
            assert keypoints.shape == (17, 3)
            assert np.abs(keypoints[:, :2] - person.xy).max() <= 0.051
    health = [m for m in heard.on("posestage/hall/left/health")]
    assert health[0].json()["state"] == "online"
    assert health[-1].json()["state"] == "offline"
    assert health[-1].json()["why"] == "stopped"
    # retained: a subscriber that comes later hears the stage's last word at once
    with Listener(broker.url, ("posestage/hall/+/health",)) as later:
        assert later.wait(lambda m: len(m) == 1)
        assert later.messages[0].retain and later.messages[0].json()["state"] == "offline"


def test_only_poses_leave_never_a_pixel_whatever_the_scene(broker):
    rng = np.random.default_rng(5)
    images = [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8) for _ in range(3)]
    source = PosedImages(images, [2] * 12)
    settings = {"broker": broker.url, "room": "shop", "stage": "door"}
    with Listener(broker.url) as heard:
        run = run_plugin(plugin, settings, source=source, privacy=False)
        assert run.errors == [] and run.frames[0].image is not None  # the scene gives pixels
        assert heard.wait(lambda m: len(m) >= 13)
    for message in heard.messages:
        body = message.json()
        assert set(body) <= FRAME_KEYS | {"state", "time", "frames", "fps", "people", "floor",
                                          "unsent", "why"}  # fmt: skip
        assert len(message.payload) < 4000  # 2 people's numbers; 160x120 pixels are 57600 B
        for person in body.get("people", []) if isinstance(body.get("people"), list) else []:
            assert set(person) == PERSON_KEYS


STAGE_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from posestage import validate
    from posestage.testing import context, frame, person
    from posestage_mqtt import SETTINGS, plugin
    settings = validate({"broker": sys.argv[1], "room": "hall", "stage": "pi3"}, SETTINGS, "t")
    plugin.posestage_configure(stage=context(), settings=settings)
    assert plugin.publisher.wait_connected(10)
    for i in range(5):
        plugin.posestage_frame(frame=frame(i, [person(1, 0)]))
    print("published", flush=True)
    time.sleep(60)
    """
)


def test_a_stage_that_dies_is_seen_at_once_by_its_last_will(broker, tmp_path):
    script = tmp_path / "stage.py"
    script.write_text(STAGE_SCRIPT)
    with Listener(broker.url, ("posestage/hall/pi3/health",)) as heard:
        stage = subprocess.Popen(
            [sys.executable, str(script), broker.url], stdout=subprocess.PIPE, text=True
        )
        try:
            assert stage.stdout.readline().strip() == "published"
            assert heard.wait(lambda m: any(x.json()["state"] == "online" for x in m))
            stage.send_signal(signal.SIGKILL)  # no goodbye: the broker speaks its will
            stage.wait(10)
            assert heard.wait(lambda m: m[-1].json()["state"] == "offline", timeout=30)
        finally:
            stage.kill()
            stage.wait(10)
    last = heard.messages[-1].json()
    assert last["why"] == "lost" and last["stage"] == "pi3"


def test_no_broker_yet_the_show_goes_on_and_unsent_frames_are_counted(tmp_path):
    broker = Mosquitto(tmp_path / "later")  # configured, not started: nobody listens there
    settings = {"broker": broker.url, "room": "hall", "stage": "left"}
    run = run_plugin(plugin, settings, source=SyntheticPeople(1, frames=20))
    assert run.errors == [] and len(run.frames) == 20
    finished = plugin.finished
    assert (finished.seq, finished.sent, finished.unsent) == (20, 0, 20)
    assert "20 not sent (no connection to the broker)" in finished.summary()
