"""The broker connection both ends use: an address, user and password, TLS, reconnection.

An address is a URL::

    mqtt://HOST[:PORT]                  plain TCP (port 1883)
    mqtts://HOST[:PORT]                 TLS (port 8883), the server checked against the system's
                                        certificate authorities, or ?ca=FILE (a PEM bundle)
    mqtts://USER@HOST/...               a user; the password from POSESTAGE_MQTT_PASSWORD
    mqtt://USER:PASSWORD@HOST/...       (works, but a password on a command line is seen by
                                        every user of the machine: prefer the variable)

``?cert=FILE&key=FILE`` add a client certificate (brokers that ask for one). The host name
must match the broker's certificate: there is no switch to skip the check.

The client (paho-mqtt) runs its own network thread, connects in the background, and when the
connection drops (the broker restarted, the network gone) reconnects on its own, waiting
:data:`RECONNECT_MIN`, doubling up to :data:`RECONNECT_MAX` seconds between tries; whoever
uses it (re)subscribes and republishes its health in ``on_connect``. :data:`KEEPALIVE` says
how soon the broker notices a stage that vanished without a word (its last will goes out after
one and a half times that).
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from paho.mqtt import client as mqtt

__all__ = [
    "KEEPALIVE",
    "PASSWORD_VARIABLE",
    "RECONNECT_MAX",
    "RECONNECT_MIN",
    "Broker",
    "BrokerError",
    "make_client",
    "parse_broker",
]

KEEPALIVE = 5
RECONNECT_MIN, RECONNECT_MAX = 0.25, 2.0
PASSWORD_VARIABLE = "POSESTAGE_MQTT_PASSWORD"
SCHEMES = {"mqtt": 1883, "mqtts": 8883}


class BrokerError(ValueError):
    """A broker address that cannot be used: one line saying what to write instead."""


@dataclass(frozen=True)
class Broker:
    """Where and how to connect."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    path: str = ""  #: what follows the host (the merger's room)
    query: dict[str, str] = field(default_factory=dict)  #: other ``?key=value`` pairs

    def __str__(self) -> str:  # never the password
        user = f"{self.username}@" if self.username else ""
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_broker(url: str, what: str, allowed: tuple[str, ...] = ()) -> Broker:
    """``url`` as a :class:`Broker`; ``what`` names it in errors (``--source``, a setting).
    ``allowed``: query keys the caller reads besides ``ca``, ``cert`` and ``key``."""
    example = "e.g. mqtt://192.168.1.10 or mqtts://stage@broker.local:8883"
    try:
        parts = urlsplit(str(url).strip())
        port = parts.port
    except ValueError as err:
        raise BrokerError(f"{what} {url!r}: {err}; {example}") from None
    if parts.scheme not in SCHEMES:
        raise BrokerError(f"{what} {url!r}: not mqtt:// or mqtts://; {example}")
    if not parts.hostname:
        raise BrokerError(f"{what} {url!r}: no broker host; {example}")
    query: dict[str, str] = {}
    for key, values in parse_qs(parts.query, keep_blank_values=True).items():
        if key not in ("ca", "cert", "key", *allowed):
            known = ", ".join(("ca", "cert", "key", *allowed))
            raise BrokerError(f"{what} {url!r}: unknown option {key!r} (known: {known})")
        query[key] = values[-1]
    tls = parts.scheme == "mqtts"
    for key in ("ca", "cert", "key"):
        if key in query:
            if not tls:
                raise BrokerError(f"{what} {url!r}: ?{key}= needs mqtts:// (TLS)")
            if not Path(query[key]).expanduser().is_file():
                raise BrokerError(f"{what} {url!r}: ?{key}={query[key]} is not a file")
    if ("cert" in query) != ("key" in query):
        raise BrokerError(f"{what} {url!r}: a client certificate needs both ?cert= and ?key=")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if username and password is None:
        password = os.environ.get(PASSWORD_VARIABLE) or None
    return Broker(
        host=parts.hostname,
        port=port or SCHEMES[parts.scheme],
        tls=tls,
        username=username,
        password=password,
        ca=query.pop("ca", None),
        cert=query.pop("cert", None),
        key=query.pop("key", None),
        path=parts.path.strip("/"),
        query=query,
    )


def make_client(
    broker: Broker, client_id: str, will: tuple[str, bytes] | None = None
) -> mqtt.Client:
    """A paho client for ``broker``, not yet connected: user, TLS, last will (retained, QoS 1)
    and reconnection set. Call ``connect_async(broker.host, broker.port, KEEPALIVE)`` and
    ``loop_start()`` after setting its callbacks."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv311,
        clean_session=True,
    )
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(
            ca_certs=broker.ca and str(Path(broker.ca).expanduser()),
            certfile=broker.cert and str(Path(broker.cert).expanduser()),
            keyfile=broker.key and str(Path(broker.key).expanduser()),
            cert_reqs=ssl.CERT_REQUIRED,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)
    client.reconnect_delay_set(RECONNECT_MIN, RECONNECT_MAX)
    client.max_queued_messages_set(1000)
    return client
