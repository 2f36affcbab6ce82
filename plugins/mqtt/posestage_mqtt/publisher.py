"""The publishing half: a stage sends each frame's people to the broker, and its health.

Each frame hook encodes the frame's people (:mod:`.wire`, numbers only — never the image,
whatever the scene's privacy) and hands the message to paho's network thread: the hook never
waits on the network. While the broker is out of reach nothing queues up to burst out later:
a frame that could not be sent is counted (:attr:`Publisher.unsent`) and the next one is the
newest; ``seq`` still counts up, so the merger sees the gap as loss. The health message is
published (retained) when the connection is made and every ``health_seconds``; the broker
holds the last will (retained ``offline``, ``why: lost``) and sends it when the stage dies or
its network goes; a stage that stops publishes ``offline``, ``why: stopped`` itself.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from paho.mqtt import client as mqtt

from posestage_mqtt.connection import KEEPALIVE, Broker, make_client
from posestage_mqtt.wire import encode_frame, encode_health, topic

__all__ = ["Publisher", "default_stage_name"]

log = logging.getLogger("posestage.mqtt")

#: How long stopping waits for the offline message to reach the broker.
STOP_SECONDS = 2.0


def default_stage_name() -> str:
    """This machine's host name, as a topic level (``left-pi`` from ``left-pi.local``)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname().split(".")[0]) or "stage"
    return name[:64]


class Publisher:
    """One stage's connection to the broker while the plugin is configured."""

    def __init__(
        self,
        broker: Broker,
        room: str,
        stage: str,
        health_seconds: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.broker, self.room, self.stage = broker, room, stage
        self.clock = clock  #: the stage's wall clock (``sent``; tests give a skewed one)
        self.session = f"{clock():.6f}"
        self.health_seconds = float(health_seconds)
        self.frame_topic = topic(room, stage, "frame")
        self.health_topic = topic(room, stage, "health")
        self.seq = 0  #: frames handed to :meth:`publish` (sent or not)
        self.sent = 0  #: frames paho took to send
        self.unsent = 0  #: frames not sent: no connection, or the client's queue was full
        self.connects = 0  #: connections made (1 + reconnections)
        self._connected = threading.Event()
        self._stopping = False
        self._last_health = 0.0
        self._facts: dict[str, Any] = {"frames": 0, "fps": 0.0, "people": 0, "floor": False}
        will = encode_health(stage, self.session, "offline", why="lost")
        self.client = make_client(
            broker, f"posestage-{room}-{stage}-{os.getpid()}", will=(self.health_topic, will)
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        """Connect in the background (the show starts whether the broker is there or not)."""
        self.client.connect_async(self.broker.host, self.broker.port, KEEPALIVE)
        self.client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def publish(self, frame: Any) -> None:
        """Send one frame's people (never waits on the network)."""
        self.seq += 1
        now = self.clock()
        self._facts.update(
            frames=self.seq,
            fps=round(float(getattr(frame, "fps", 0.0)), 2),
            people=len(frame.people),
            floor=any(p.floor is not None for p in frame.people),
        )
        if not self._connected.is_set():
            self.unsent += 1
            return
        payload = encode_frame(frame, self.stage, self.session, self.seq, now)
        info = self.client.publish(self.frame_topic, payload, qos=0)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            self.sent += 1
        else:
            self.unsent += 1
        if now - self._last_health >= self.health_seconds:
            self._health()

    def stop(self) -> None:
        """Say ``offline`` (retained), then disconnect; never raises, never hangs."""
        self._stopping = True
        try:
            if self._connected.is_set():
                info = self.client.publish(
                    self.health_topic,
                    encode_health(self.stage, self.session, "offline", why="stopped"),
                    qos=1,
                    retain=True,
                )
                info.wait_for_publish(STOP_SECONDS)
            self.client.disconnect()
        except Exception as err:  # noqa: BLE001 - stopping goes on
            log.warning("mqtt: stopping: %s", err)
        finally:
            self.client.loop_stop()

    def summary(self) -> str:
        line = f"mqtt: {self.sent} frames sent to {self.broker} as {self.room}/{self.stage}"
        if self.unsent:
            line += f", {self.unsent} not sent (no connection to the broker)"
        if self.connects > 1:
            line += f", {self.connects - 1} reconnections"
        return line

    # -- paho's network thread ---------------------------------------------------------------

    def _health(self) -> None:
        self._last_health = self.clock()
        payload = encode_health(
            self.stage,
            self.session,
            "online",
            time=round(self._last_health, 3),
            unsent=self.unsent,
            **self._facts,
        )
        self.client.publish(self.health_topic, payload, qos=1, retain=True)

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if reason_code.is_failure:
            log.error("mqtt: %s refused the connection: %s", self.broker, reason_code)
            return
        self.connects += 1
        self._connected.set()
        if self.connects > 1:
            log.warning("mqtt: connected to %s again", self.broker)
        else:
            log.info("mqtt: publishing to %s as %s/%s", self.broker, self.room, self.stage)
        self._health()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if self._connected.is_set() and not self._stopping:
            log.warning("mqtt: lost the broker %s (%s); reconnecting", self.broker, reason_code)
        self._connected.clear()
