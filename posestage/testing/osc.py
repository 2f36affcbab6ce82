"""A real OSC receiver for tests: a UDP socket on 127.0.0.1 that decodes what a plugin sent.

::

    from posestage.testing import OscReceiver, run_plugin

    with OscReceiver() as rx:
        run_plugin("osc", {"host": "127.0.0.1", "port": rx.port}, frames=20)
        messages = rx.wait(count=1)          # waits (up to a timeout) for what is in flight
    assert messages[0].address == "/pose/0/nose"

A thread of its own reads datagrams as they come (so nothing is lost to a full socket buffer
during a long run) and decodes them with python-osc; bundles are flattened into their
messages, each carrying its bundle's time tag. Needs python-osc (``pip install python-osc``),
imported when a receiver is created.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from dataclasses import dataclass

#: Receive buffer asked for (the kernel may cap it at ``net.core.rmem_max``).
RECEIVE_BUFFER = 8 * 1024 * 1024
#: How long :meth:`OscReceiver.wait` waits by default, seconds.
WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class OscMessage:
    """One decoded OSC message.

    ``address`` (``"/pose/0/nose"``), ``args`` (a tuple of ints, floats, strings, bytes,
    booleans… as python-osc decodes them), ``timetag``: the enclosing bundle's time tag as
    seconds since the epoch (None for a message sent on its own or with the "immediately" tag),
    ``received``: ``time.time()`` when the datagram arrived, ``datagram``: its index (messages
    of one bundle share it).
    """

    address: str
    args: tuple
    timetag: float | None = None
    received: float = 0.0
    datagram: int = 0


def _osc():
    try:
        from pythonosc import osc_bundle, osc_message
    except ImportError:
        raise ImportError(
            "posestage.testing.OscReceiver needs python-osc: pip install python-osc"
        ) from None
    return osc_bundle, osc_message


def decode(datagram: bytes, index: int = 0, received: float = 0.0) -> list[OscMessage]:
    """The messages in one datagram (a message or a bundle, nested bundles flattened)."""
    osc_bundle, osc_message = _osc()
    out: list[OscMessage] = []

    def walk(item, tag):
        if isinstance(item, osc_bundle.OscBundle):
            stamp = item.timestamp
            inner = float(stamp) if stamp else None  # 0: "immediately"
            for content in item:
                walk(content, inner)
        else:
            out.append(OscMessage(item.address, tuple(item.params), tag, received, index))

    if osc_bundle.OscBundle.dgram_is_bundle(datagram):
        walk(osc_bundle.OscBundle(datagram), None)
    else:
        walk(osc_message.OscMessage(datagram), None)
    return out


class OscReceiver:
    """A UDP socket bound to ``host`` (127.0.0.1) on a free ``port`` (or the one given).

    ``messages`` (decoded so far, in arrival order), :meth:`wait`, :meth:`clear`,
    ``datagrams`` (raw count), ``raw`` (every datagram's bytes, in arrival order: compare
    them byte for byte), :meth:`wait_quiet`, ``bad`` (datagrams that were not OSC, kept as
    bytes), ``buffer`` (the socket's receive buffer, bytes). Close it (or use ``with``).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        _osc()  # fail now, with the install hint, rather than in the reader thread
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for option in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            if option is None:
                continue
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)
                break
            except OSError:  # SO_RCVBUFFORCE needs CAP_NET_ADMIN
                continue
        self.sock.bind((host, port))
        self.sock.setblocking(False)
        self.host, self.port = self.sock.getsockname()[:2]
        self.buffer = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        self._messages: list[OscMessage] = []
        self.bad: list[bytes] = []
        self.raw: list[bytes] = []
        self.datagrams = 0
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="osc-receiver", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self.sock], [], [], 0.05)
            except (OSError, ValueError):  # closed
                return
            if ready:
                self._drain()

    def _drain(self) -> None:
        with self._lock:
            while True:
                try:
                    data = self.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                now = time.time()
                self.raw.append(data)
                try:
                    got = decode(data, self.datagrams, now)
                except Exception:  # noqa: BLE001 - not OSC: kept for the test to look at
                    self.bad.append(data)
                    got = []
                self.datagrams += 1
                self._messages.extend(got)
            self._arrived.notify_all()

    @property
    def messages(self) -> list[OscMessage]:
        """Everything decoded so far (including datagrams waiting in the socket right now)."""
        if not self._stop.is_set():
            self._drain()
        with self._lock:
            return list(self._messages)

    def wait(
        self, count: int = 1, timeout: float = WAIT_SECONDS, address: str | None = None
    ) -> list[OscMessage]:
        """Wait until ``count`` messages (with ``address``, if given) arrived or ``timeout``
        passed; returns all messages (with that address) — check the count in the test."""
        deadline = time.monotonic() + timeout

        def matching():
            return [m for m in self._messages if address is None or m.address == address]

        while True:
            if not self._stop.is_set():
                self._drain()
            with self._lock:
                found = matching()
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._arrived.wait(min(left, 0.05))

    def wait_quiet(self, quiet: float = 0.3, limit: float = 10.0) -> list[bytes]:
        """Wait until nothing arrived for ``quiet`` seconds (at most ``limit``); every
        datagram so far, as bytes (:attr:`raw`)."""
        deadline = time.monotonic() + limit
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            if not self._stop.is_set():
                self._drain()
            if self.datagrams != seen:
                seen, since = self.datagrams, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
            time.sleep(0.02)
        with self._lock:
            return list(self.raw)

    def clear(self) -> None:
        """Forget what arrived so far."""
        with self._lock:
            self._messages.clear()
            self.bad.clear()
            self.raw.clear()

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._drain()
        self._stop.set()
        self._thread.join(1.0)
        self.sock.close()

    def __enter__(self) -> OscReceiver:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<OscReceiver {self.host}:{self.port} {len(self._messages)} messages>"
