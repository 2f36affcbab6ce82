"""What MQTT tests need: a private Mosquitto on 127.0.0.1 (:class:`Mosquitto`), and a
subscriber that keeps what it hears (:class:`Listener`) — for this plugin's tests and yours.

::

    with Mosquitto(tmp_path) as broker:          # plain, anonymous, a free port
        run(..., {"broker": broker.url})
    with Mosquitto(tmp_path, users={"stage": "secret"}, tls=True) as broker:
        broker.url                                # mqtts://127.0.0.1:PORT?ca=…/ca.pem

It writes its own configuration file (a listener on 127.0.0.1 only, no persistence), a
password file (``mosquitto_passwd``) when ``users`` are given, and with ``tls`` a certificate
authority and a server certificate for 127.0.0.1, made on the spot with ``openssl``.
:meth:`restart` stops it and starts it again on the same port (retained messages are lost, as
with a broker that restarted without persistence). Needs the ``mosquitto`` program (Debian:
``apt install mosquitto``); :func:`mosquitto_program` says where it is, or None.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posestage_mqtt.connection import KEEPALIVE, make_client, parse_broker

__all__ = ["Heard", "Listener", "Mosquitto", "free_port", "mosquitto_program", "self_signed"]

START_SECONDS = 10.0


def mosquitto_program() -> str | None:
    """The ``mosquitto`` executable (also looked for in /usr/sbin), or None."""
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/bin")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """A certificate authority and a server certificate for ``host`` signed by it, made with
    ``openssl``: ``(ca.pem, server.pem, server.key)`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca = folder / "ca.key", folder / "ca.pem"
    key, csr, cert = folder / "server.key", folder / "server.csr", folder / "server.pem"
    ext = folder / "server.ext"
    ext.write_text(f"subjectAltName=IP:{host}\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key),
            "-out", str(ca), "-days", "2", "-subj", "/CN=posestage test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
            "-subj", f"/CN={host}")  # fmt: skip
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
            "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))  # fmt: skip
    return ca, cert, key


class Mosquitto:
    """A Mosquitto process of our own (see the module docstring)."""

    def __init__(
        self,
        folder: Path,
        *,
        users: dict[str, str] | None = None,
        tls: bool = False,
        port: int | None = None,
    ) -> None:
        program = mosquitto_program()
        if program is None:
            raise RuntimeError("no mosquitto program: apt install mosquitto")
        self.program = program
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.tls = tls
        self.ca: Path | None = None
        self.process: subprocess.Popen | None = None
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "log_dest stderr"]
        lines.append("log_type error")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # as root (CI) mosquitto would become the user "mosquitto", who cannot read the
            # files it needs under the test's private temporary folder
            lines.append("user root")
        if users:
            passwords = self.folder / "passwords"
            passwords.write_text("")
            passwd = shutil.which("mosquitto_passwd", path=f"{os.environ.get('PATH')}:/usr/bin")
            for name, word in users.items():
                subprocess.run([passwd or "mosquitto_passwd", "-b", str(passwords), name, word],
                               check=True, capture_output=True, timeout=30)  # fmt: skip
            os.chmod(passwords, 0o600)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if tls:
            self.ca, cert, key = self_signed(self.folder / "tls")
            lines += [f"cafile {self.ca}", f"certfile {cert}", f"keyfile {key}"]
        self.config = self.folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.log = self.folder / "mosquitto.log"

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:PORT`` (``mqtts://…?ca=…`` with TLS)."""
        if self.tls:
            return f"mqtts://127.0.0.1:{self.port}?ca={self.ca}"
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        """Start it and wait until it takes connections."""
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [self.program, "-c", str(self.config)], stdout=log, stderr=log
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto ended at start: {self.log.read_text()[-400:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port} in {START_SECONDS:g} s")

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def restart(self, pause: float = 0.0) -> None:
        """Stop, wait ``pause`` seconds, start again on the same port."""
        self.stop()
        time.sleep(pause)
        self.start()

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass(frozen=True)
class Heard:
    """One message a :class:`Listener` got."""

    topic: str
    payload: bytes
    retain: bool
    at: float  #: ``time.time()`` when it arrived

    def json(self) -> Any:
        return json.loads(self.payload)


class Listener:
    """Subscribes to ``topics`` (``#`` by default) on ``url`` and keeps every message::

    with Listener(broker.url) as heard:
        ...
        heard.wait(lambda m: len(m) >= 10)
        [m.json() for m in heard.on("posestage/hall/left/frame")]
    """

    def __init__(self, url: str, topics: tuple[str, ...] = ("#",)) -> None:
        self.broker = parse_broker(url, "Listener")
        self.topics = topics
        self.messages: list[Heard] = []
        self._changed = threading.Condition()
        self._ready = threading.Event()
        self.client = make_client(self.broker, f"posestage-listener-{os.getpid()}-{id(self)}")
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if not reason_code.is_failure:
            client.subscribe([(t, 1) for t in self.topics])

    def _on_message(self, client, userdata, message) -> None:
        heard = Heard(message.topic, bytes(message.payload), bool(message.retain), time.time())
        with self._changed:
            self.messages.append(heard)
            self._changed.notify_all()

    def on(self, topic: str) -> list[Heard]:
        """The messages heard on ``topic``, in order."""
        with self._changed:
            return [m for m in self.messages if m.topic == topic]

    def wait(self, condition, timeout: float = 20.0) -> bool:
        """Wait until ``condition(messages)`` is true (False after ``timeout`` seconds)."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(list(self.messages)), timeout)

    def start(self) -> Listener:
        self.client.on_subscribe = lambda *args: self._ready.set()
        self.client.connect(self.broker.host, self.broker.port, KEEPALIVE)
        self.client.loop_start()
        if not self._ready.wait(10):
            raise RuntimeError(f"Listener: no subscription on {self.broker} in 10 s")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Listener:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
