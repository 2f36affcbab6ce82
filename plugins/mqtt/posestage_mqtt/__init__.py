"""posestage plugin ``mqtt``: several cameras, one show.

On each stage (one camera each, maybe a Raspberry Pi), publish its people::

    [plugins.mqtt]
    broker = "mqtt://192.168.1.10"      # or mqtts://user@host:8883?ca=ca.pem
    room = "hall"
    stage = "left"                      # default: the host name

and on the machine that runs the show, merge every stage of the room into one stream of
people (global ids and slots, one person seen by two cameras fused by floor position)::

    posestage run --source mqtt://192.168.1.10/hall scenes/touchdesigner.toml

Every plugin runs on the merged stream as on a camera. The topics and payloads are in
docs/mqtt.md (:mod:`posestage_mqtt.wire`); the merging source in :mod:`posestage_mqtt.merger`.
Only numbers leave a stage — ids, slots, keypoints, floor positions, times — never a pixel.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from posestage import PluginError, Setting, hookimpl
from posestage_mqtt.connection import BrokerError, parse_broker
from posestage_mqtt.publisher import Publisher, default_stage_name
from posestage_mqtt.wire import NAME

__all__ = ["SETTINGS", "MqttPlugin", "plugin"]

log = logging.getLogger("posestage.mqtt")

SETTINGS = [
    Setting(
        "broker",
        str,
        "mqtt://127.0.0.1",
        help="the MQTT broker: mqtt://HOST[:PORT] or mqtts://[USER@]HOST[:PORT][?ca=FILE] "
        "(the password from POSESTAGE_MQTT_PASSWORD)",
        live=False,
        max_length=1024,
    ),
    Setting(
        "room",
        str,
        "room",
        help="the room's name: stages of one room are merged",
        live=False,
        max_length=64,
    ),  # fmt: skip
    Setting(
        "stage",
        str,
        "",
        help="this stage's name in the room (default: the host name)",
        live=False,
        max_length=64,
    ),  # fmt: skip
    Setting(
        "health_seconds",
        float,
        2.0,
        help="publish the retained health this often (s)",
        min=0.2,
        max=60.0,
    ),  # fmt: skip
]


def _name(value: str, key: str) -> str:
    if not NAME.fullmatch(value):
        raise PluginError(
            f"mqtt.{key} {value!r}: use letters, digits, '-', '_' or '.' (a topic level)"
        )
    return value


class MqttPlugin:
    """Publishes each frame's people (when enabled in a scene) and offers the ``mqtt://`` and
    ``mqtts://`` sources (always, once installed)."""

    def __init__(self) -> None:
        self.publisher: Publisher | None = None
        #: the publisher of the last configuration, once stopped (what it sent, what not)
        self.finished: Publisher | None = None
        #: this stage's wall clock (what ``sent`` is read from; tests give a skewed one)
        self.clock: Callable[[], float] = time.time

    @hookimpl
    def posestage_settings(self) -> list[Setting]:
        return list(SETTINGS)

    @hookimpl
    def posestage_sources(self) -> dict[str, Any]:
        from posestage_mqtt.merger import open_merger

        return {"mqtt": open_merger, "mqtts": open_merger}

    @hookimpl
    def posestage_configure(self, stage: Any, settings: Any) -> None:
        self._stop()
        try:
            broker = parse_broker(str(settings["broker"]), "mqtt.broker")
        except BrokerError as err:
            raise PluginError(str(err)) from None
        room = _name(str(settings["room"]), "room")
        name = _name(str(settings["stage"]) or default_stage_name(), "stage")
        self.publisher = Publisher(
            broker, room, name, float(settings["health_seconds"]), clock=self.clock
        )
        self.publisher.start()

    @hookimpl
    def posestage_frame(self, frame: Any) -> None:
        if self.publisher is not None:
            self.publisher.publish(frame)

    @hookimpl
    def posestage_unconfigure(self, stage: Any) -> None:
        self._stop()

    def _stop(self) -> None:
        publisher, self.publisher = self.publisher, None
        if publisher is not None:
            publisher.stop()
            self.finished = publisher
            log.info("%s", publisher.summary())


#: The object the ``posestage`` entry point names.
plugin = MqttPlugin()
