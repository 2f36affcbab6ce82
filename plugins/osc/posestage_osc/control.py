"""posestage plugin ``control``: OSC in — switch scenes and change plugins live.

::

    [plugins.control]
    listen = "127.0.0.1:9001"     # "0.0.0.0:9001" to accept a tablet on the network

A UDP server on its own thread reads OSC messages (or bundles; their time tags are ignored)
and posts :class:`posestage.hookspecs.ControlMessage` to the stage:

- ``/posestage/scene <n|name>`` → ``scene`` (1-based number or scene / file name);
- ``/posestage/plugin/<name>/<setting> <value>`` → ``set`` (validated like a scene file);
- ``/posestage/plugin/<name>/enable`` / ``disable`` → ``enable`` / ``disable``;
- ``/posestage/plugin/<name>/<word>`` without a value → action ``word`` for plugin ``name``
  (``/posestage/plugin/anonymizer/recapture``);
- ``/posestage/<action> [args]`` and any other address ``/a/b [args]`` → action ``<action>`` /
  ``a/b`` for the plugins' ``posestage_event`` (value = the first argument, args = all).

Every request gets a reply to its sender: ``/posestage/reply`` with ``"ok"`` or ``"error"`` and
one line of text. Datagrams that are not OSC are counted per kind and logged once per kind,
never answered; requests beyond :data:`RATE` per second are answered ``error`` and not posted.
Keep the same ``[plugins.control]`` table in every scene so the port stays open across
switches (unchanged settings keep a plugin configured).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from posestage import ControlMessage, PluginError, Setting, hookimpl
from posestage import osc_wire as wire

from .plugin import parse_target

log = logging.getLogger("posestage.control")

REPLY = "/posestage/reply"
#: Requests per second accepted (a token bucket with as many in reserve); more are refused.
RATE = 200.0
#: Requests posted to the stage and not yet answered; more are refused ("busy").
MAX_PENDING = 64
#: Longest reply text, in characters.
REPLY_CHARS = 400
DEFAULT_LISTEN = "127.0.0.1:9001"


def parse_listen(text: str) -> tuple[str, int]:
    host, port = parse_target(text)
    if port is None:
        raise ValueError(f'expected "host:port" such as "{DEFAULT_LISTEN}", got {text!r}')
    return host, port


def _checked_listen(text: str) -> str:
    parse_listen(text)  # only checks: settings are validated more than once
    return text


SETTINGS = [
    Setting(
        "listen", str, DEFAULT_LISTEN,
        'where to receive OSC ("0.0.0.0:9001" for every interface)', parse=_checked_listen,
        live=False,
    ),
]  # fmt: skip


def to_control(message: wire.Message, origin: str) -> ControlMessage:
    """The :class:`ControlMessage` an OSC request stands for; ``ValueError`` (its text is the
    reply) when it cannot be one."""
    address, args = message.address, message.args
    for a in args:
        if isinstance(a, bytes):
            raise ValueError(f"{address}: blob arguments are not accepted")
    parts = [p for p in address.split("/") if p]
    if not parts:
        raise ValueError("an empty address is not a request")
    value = args[0] if len(args) == 1 else (list(args) if args else None)
    if parts[0] != "posestage":
        return ControlMessage("/".join(parts), value=value, source=origin, args=tuple(args))
    rest = parts[1:]
    if rest == ["scene"]:
        if len(args) != 1 or args[0] is None or isinstance(args[0], bool):
            raise ValueError("/posestage/scene takes one scene number or name")
        return ControlMessage("scene", value=args[0], source=origin)
    if rest and rest[0] == "plugin":
        if len(rest) != 3:
            raise ValueError(
                f"{address}: expected /posestage/plugin/<name>/<setting> <value>, "
                "or /posestage/plugin/<name>/enable|disable"
            )
        name, word = rest[1], rest[2]
        if word in ("enable", "disable") or not args:
            return ControlMessage(word, target=name, source=origin)
        return ControlMessage("set", target=name, name=word, value=value, source=origin)
    if not rest:
        raise ValueError("/posestage: expected /posestage/scene, /posestage/plugin/…")
    return ControlMessage("/".join(rest), value=value, source=origin, args=tuple(args))


class ControlServer:
    """The UDP server: ``post(ControlMessage)`` returns a ``Future`` of a ``ControlReply``
    (``ok``, ``text``)."""

    def __init__(self, post: Callable[[Any], Any], host: str = "127.0.0.1", port: int = 9001):
        self._post_to_stage = post
        try:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][0]
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
        except OSError as err:
            raise PluginError(f"control.listen {host}:{port}: {err}") from None
        try:
            self.sock.bind((host, port))
        except OSError as err:
            self.sock.close()
            raise PluginError(
                f"control.listen {host}:{port}: {err.strerror or err}; choose another port"
            ) from None
        self.sock.settimeout(0.1)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        except OSError:
            pass
        self.address = self.sock.getsockname()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._tokens, self._refill = RATE, time.monotonic()
        self.datagrams = 0  # received
        self.valid = 0  # datagrams that are OSC
        self.bad: dict[str, int] = {}  # datagrams that are not OSC, per kind
        self.problems: dict[str, int] = {}  # socket errors, replies that could not be sent
        self.requests = 0  # messages in valid datagrams
        self.ignored = 0  # replies from elsewhere (never answered: no reply loops)
        self.ok = 0
        self.errors = 0
        self.refused = 0  # over RATE or MAX_PENDING (also counted in errors)
        self.pending = 0
        self._thread = threading.Thread(target=self._serve, name="posestage-control", daemon=True)
        self._thread.start()

    def stats(self) -> dict:
        with self._lock:
            return {
                "datagrams": self.datagrams, "valid": self.valid, "bad": dict(self.bad),
                "problems": dict(self.problems), "requests": self.requests,
                "ignored": self.ignored, "ok": self.ok, "errors": self.errors,
                "refused": self.refused, "pending": self.pending,
            }  # fmt: skip

    def close(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self.sock.close()

    # -- the server thread ---------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, sender = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError as err:
                if self._stop.is_set():
                    break
                self._problem("socket error", str(err), None)  # e.g. ICMP errors on Windows
                continue
            try:
                self.handle(data, sender)
            except Exception:  # a bug here must not end the server
                log.exception("control: a datagram from %s could not be handled", sender)

    def handle(self, data: bytes, sender: Any) -> None:
        with self._lock:
            self.datagrams += 1
        try:
            messages = wire.decode(data)
        except wire.OscError as err:
            self._bad(err.kind, str(err), sender)
            return
        with self._lock:
            self.valid += 1
        origin = f"osc:{sender[0]}:{sender[1]}"
        for message in messages:
            with self._lock:
                self.requests += 1
            if message.address == REPLY:
                with self._lock:
                    self.ignored += 1
                continue
            try:
                control = to_control(message, origin)
            except ValueError as err:
                self._reply(sender, False, str(err))
                continue
            if not self._admit():
                with self._lock:
                    self.refused += 1
                self._reply(sender, False, "too many requests; slow down")
                continue
            self._post(control, sender)

    def _admit(self) -> bool:
        now = time.monotonic()
        self._tokens = min(RATE, self._tokens + (now - self._refill) * RATE)
        self._refill = now
        with self._lock:
            if self.pending >= MAX_PENDING:
                return False
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def _post(self, control: ControlMessage, sender: Any) -> None:
        try:
            future = self._post_to_stage(control)
        except Exception as err:
            self._reply(sender, False, f"the stage refused it: {err}")
            return
        with self._lock:
            self.pending += 1

        def done(fut: Any) -> None:
            with self._lock:
                self.pending -= 1
            try:
                reply = fut.result()
                ok, text = bool(getattr(reply, "ok", True)), str(getattr(reply, "text", ""))
            except BaseException as err:  # any failure is an error reply
                ok, text = False, str(err) or type(err).__name__
            self._reply(sender, ok, text or control.action)

        future.add_done_callback(done)

    def _reply(self, sender: Any, ok: bool, text: str) -> None:
        with self._lock:
            if ok:
                self.ok += 1
            else:
                self.errors += 1
        text = " ".join(str(text).split())[:REPLY_CHARS]
        try:
            self.sock.sendto(wire.message(REPLY, ["ok" if ok else "error", text]), sender)
        except OSError as err:
            self._problem("reply not sent", str(err), sender)

    def _bad(self, kind: str, detail: str, sender: Any) -> None:
        self._problem(kind, detail, sender, self.bad)

    def _problem(self, kind: str, detail: str, sender: Any, table: dict | None = None) -> None:
        table = self.problems if table is None else table
        with self._lock:
            count = table[kind] = table.get(kind, 0) + 1
        if count == 1:
            log.warning(
                "control: %s from %s (%s); further ones of this kind are only counted",
                kind, f"{sender[0]}:{sender[1]}" if sender else "?", detail,
            )  # fmt: skip


class Control:
    """The ``control`` plugin."""

    def __init__(self) -> None:
        self.server: ControlServer | None = None

    @hookimpl
    def posestage_settings(self) -> list[Setting]:
        return list(SETTINGS)

    @hookimpl
    def posestage_configure(self, stage: Any, settings: Any) -> None:
        self._close()
        host, port = parse_listen(settings["listen"])
        self.server = ControlServer(stage.post, host, port)
        log.info("control: listening for OSC on %s:%d", host, self.server.address[1])

    @hookimpl
    def posestage_unconfigure(self) -> None:
        try:
            self._close()
        except Exception:  # unconfigure must never raise
            log.exception("control: closing the server failed")

    def _close(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.close()
            s = server.stats()
            if s["bad"] or s["refused"]:
                log.info("control: %s", s)


#: The object the ``posestage`` entry point names.
plugin = Control()
