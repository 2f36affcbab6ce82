"""The stage's control port: OSC in over UDP, obeying only its operator (:class:`ControlPort`).

Control is the stage's, not a scene's: ``posestage run --control [HOST:]PORT`` or ``[stage]
control`` (the command line wins; the first scene's ``[stage]`` is read, as for ``source``). The
port opens before the first frame and stays open for the whole run, across every scene switch.
A server thread reads OSC messages (or bundles; time tags are ignored) and posts
:class:`~posestage.hookspecs.ControlMessage` to the stage (``source`` is ``remote:osc:HOST:PORT``,
set here, never by the sender — see :func:`~posestage.stage.messages.is_remote`):

- ``/posestage/scene <n|name>`` → ``scene``;
- ``/posestage/plugin/<name>/<setting> <value>`` → ``set`` (validated like a scene file, live);
- ``/posestage/plugin/<name>/enable`` / ``disable`` → ``enable`` / ``disable``;
- ``/posestage/plugin/<name>/<word>`` without a value → action ``word`` for plugin ``name``;
- ``/posestage/<action> [args]`` and any other address ``/a/b [args]`` → action ``<action>`` /
  ``a/b`` for the plugins' ``posestage_event``;
- ``/posestage/auth <token>``: authorises the sender (see :mod:`.authority`).

**Who is answered.** Only senders the :class:`~posestage.stage.authority.Authority` allows;
anything else is dropped unread and counted. **Replies** (``/posestage/reply "ok"|"error"
<text>``) are one per datagram — a bundle of N requests gets one reply, ``ok`` when every
request was, else ``error`` with the first refusal — and never more bytes than the datagram
(the text is shortened; a datagram too short for the shortest reply gets none). **One rate**:
:data:`RATE` requests a second, a bundle costing one per message; a datagram over it is
dropped unanswered, so errors cannot be reflected faster than anything else. Datagrams that are
not OSC are counted, never answered. **Counts, not lines**: each kind of refusal is logged the
first time, then counted; a line every :data:`SUMMARY_SECONDS` says how many more there were,
and the counts go into the report (:attr:`StageReport.remote`).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from posestage.errors import PosestageError
from posestage.hookspecs import ControlMessage
from posestage.model import osc_wire as wire
from posestage.stage.authority import Authority
from posestage.stage.messages import REMOTE

__all__ = [
    "AUTH",
    "MAX_PENDING",
    "RATE",
    "REPLY",
    "SUMMARY_SECONDS",
    "ControlPort",
    "open_control_port",
    "to_control",
]

log = logging.getLogger("posestage.control")

REPLY = "/posestage/reply"
AUTH = "/posestage/auth"
#: Requests per second carried out (a token bucket with as many in reserve), every sender
#: together; a datagram over it is dropped unanswered.
RATE = 200.0
#: Requests posted to the stage and not yet answered; more are refused ("busy").
MAX_PENDING = 64
#: How often a line sums up the refusals counted since the last one (seconds).
SUMMARY_SECONDS = 60.0


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


def reply_datagram(ok: bool, text: str, limit: int) -> bytes | None:
    """``/posestage/reply`` with ``ok``/``error`` and as much of ``text`` as fits in ``limit``
    bytes (never more); None when not even the verdict fits."""
    word = "ok" if ok else "error"
    text = " ".join(str(text).split())
    full = wire.message(REPLY, [word, text])
    if len(full) <= limit:
        return full
    bare = wire.message(REPLY, [word, ""])
    room = limit - len(bare)  # bytes of text that fit (the padding may take up to 3 more)
    if room >= 4:
        cut = text.encode("utf-8")[: room - 3].decode("utf-8", "ignore")
        data = wire.message(REPLY, [word, cut])
        if len(data) <= limit:
            return data
    if len(bare) <= limit:
        return bare
    alone = wire.message(REPLY, [word])
    return alone if len(alone) <= limit else None


class _Datagram:
    """One datagram's requests in flight: one reply when the last is answered."""

    def __init__(self, sender: Any, size: int, count: int) -> None:
        self.sender, self.size, self.waiting = sender, size, count
        self.answers: list[tuple[bool, str]] = []
        self.lock = threading.Lock()

    def verdict(self) -> tuple[bool, str]:
        refused = [text for ok, text in self.answers if not ok]
        if len(self.answers) == 1:
            return self.answers[0]
        if refused:
            return False, f"{len(refused)} of {len(self.answers)} refused; first: {refused[0]}"
        return True, f"{len(self.answers)} requests done; last: {self.answers[-1][1]}"


class ControlPort:
    """The UDP server: ``post(ControlMessage)`` returns a ``Future`` of a ``ControlReply``."""

    def __init__(
        self,
        post: Callable[[Any], Any],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        allow: Any = None,
        token: bool | None = None,
        where: str = "control",
    ) -> None:
        self._post_to_stage = post
        self.where = where
        try:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][0]
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
        except OSError as err:
            raise PosestageError(f"{where} {host}:{port}: {err}; give [HOST:]PORT") from None
        try:
            self.sock.bind((host, port))
        except OSError as err:
            self.sock.close()
            raise PosestageError(
                f"{where} {host}:{port}: {err.strerror or err}; choose another port"
            ) from None
        self.sock.settimeout(0.1)
        self.address = self.sock.getsockname()
        self.authority = Authority(str(self.address[0]), allow, token, where=where)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._tokens, self._refill = RATE, time.monotonic()
        self.datagrams = 0  # received
        self.requests = 0  # messages in datagrams read
        self.replies = 0  # replies sent
        self.ok = 0
        self.errors = 0
        self.pending = 0
        self.refused: dict[str, int] = {}  # dropped unanswered, per reason (never logged each)
        self._summed: dict[str, int] = {}
        self._summary_at = time.monotonic() + SUMMARY_SECONDS
        self._thread = threading.Thread(target=self._serve, name="posestage-control", daemon=True)
        self._thread.start()

    def stats(self) -> dict:
        with self._lock:
            return {
                "datagrams": self.datagrams, "requests": self.requests, "replies": self.replies,
                "ok": self.ok, "errors": self.errors, "pending": self.pending,
                "refused": dict(self.refused),
            }  # fmt: skip

    def close(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self.sock.close()
        self._summary(final=True)

    def fill(self, report: Any) -> None:
        report.remote = self.stats()

    # -- the server thread ---------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            if time.monotonic() >= self._summary_at:
                self._summary()
            try:
                data, sender = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError as err:
                if self._stop.is_set():
                    break
                self._refuse("socket error", None, str(err))  # e.g. ICMP errors on Windows
                continue
            try:
                self.handle(data, sender)
            except Exception:  # a bug here must not end the server
                log.exception("control: a datagram from %s could not be handled", sender)

    def handle(self, data: bytes, sender: Any) -> None:
        with self._lock:
            self.datagrams += 1
        authority = self.authority
        if not authority.admits(sender):
            self._refuse("not on control_allow", sender)
            return
        try:
            messages = wire.decode(data)
        except wire.OscError as err:
            self._refuse(f"not OSC ({err.kind})", sender, str(err))
            return
        messages = [m for m in messages if m.address != REPLY]  # never answered: no loops
        if not messages:
            return
        if not authority.authorised(sender):  # strangers do not spend the operator's rate
            if len(messages) == 1 and messages[0].address == AUTH:
                if authority.authorise(sender, (messages[0].args or (None,))[0]):
                    log.info("control: %s authorised by token", _who(sender))
                    self._send(sender, len(data), True, "authorised")
                else:
                    self._refuse("wrong token", sender)
            else:
                self._refuse("no token", sender)
            return
        if not self._admit(len(messages)):
            self._refuse("over the rate", sender)
            return
        with self._lock:
            self.requests += len(messages)
        origin = f"{REMOTE}osc:{_who(sender)}"
        batch = _Datagram(sender, len(data), len(messages))
        for message in messages:
            if message.address == AUTH:
                self._answer(batch, True, "already authorised")
                continue
            try:
                control = to_control(message, origin)
            except ValueError as err:
                self._answer(batch, False, str(err))
                continue
            self._post(control, batch)

    def _admit(self, cost: int) -> bool:
        now = time.monotonic()
        self._tokens = min(RATE, self._tokens + (now - self._refill) * RATE)
        self._refill = now
        if self._tokens < cost:
            return False
        self._tokens -= cost
        return True

    def _post(self, control: ControlMessage, batch: _Datagram) -> None:
        with self._lock:
            busy = self.pending >= MAX_PENDING
            if not busy:
                self.pending += 1
        if busy:
            self._answer(batch, False, "busy; slow down")
            return
        try:
            future = self._post_to_stage(control)
        except Exception as err:
            with self._lock:
                self.pending -= 1
            self._answer(batch, False, f"the stage refused it: {err}")
            return

        def done(fut: Any) -> None:
            with self._lock:
                self.pending -= 1
            try:
                reply = fut.result()
                ok, text = bool(getattr(reply, "ok", True)), str(getattr(reply, "text", ""))
            except BaseException as err:  # any failure is an error reply
                ok, text = False, str(err) or type(err).__name__
            self._answer(batch, ok, text or control.action)

        future.add_done_callback(done)

    def _answer(self, batch: _Datagram, ok: bool, text: str) -> None:
        with batch.lock:
            batch.answers.append((ok, text))
            batch.waiting -= 1
            if batch.waiting:
                return
        ok, text = batch.verdict()
        self._send(batch.sender, batch.size, ok, text)

    def _send(self, sender: Any, limit: int, ok: bool, text: str) -> None:
        with self._lock:
            if ok:
                self.ok += 1
            else:
                self.errors += 1
        data = reply_datagram(ok, text, limit)
        if data is None:
            self._refuse("too short to answer", None)
            return
        try:
            self.sock.sendto(data, sender)
        except OSError as err:
            self._refuse("reply not sent", sender, str(err))
            return
        with self._lock:
            self.replies += 1

    # -- counting, not logging -----------------------------------------------------------------

    def _refuse(self, reason: str, sender: Any, detail: str = "") -> None:
        with self._lock:
            count = self.refused[reason] = self.refused.get(reason, 0) + 1
        if count == 1:
            more = f" ({detail})" if detail else ""
            log.warning(
                "control: %s from %s%s; further ones are counted, not logged each",
                reason, _who(sender) if sender else "?", more,
            )  # fmt: skip

    def _summary(self, final: bool = False) -> None:
        """One line with what was refused since the last one (nothing when nothing was)."""
        self._summary_at = time.monotonic() + SUMMARY_SECONDS
        with self._lock:
            now = dict(self.refused)
        grown = {
            k: n - self._summed.get(k, 0) for k, n in now.items() if n > self._summed.get(k, 0)
        }
        self._summed = now
        if grown:
            what = ", ".join(f"{n} {k}" for k, n in sorted(grown.items()))
            log.warning("control: refused %s: %s", "at the end" if final else "lately", what)


def _who(sender: Any) -> str:
    host, port = str(sender[0]), int(sender[1])
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def open_control_port(
    listen: tuple[str, int], allow: Any, token: bool | None, post: Callable[[Any], Any]
) -> ControlPort:
    """Open the port (a :class:`PosestageError` in one line when it cannot) and say where it
    listens and who may steer; with a token, print it (stderr) — the caller shows it too."""
    host, port = listen
    server = ControlPort(post, host, port, allow=allow, token=token)
    bound = f"{_who(server.address[:2])}"
    log.info("control: listening for OSC on %s, %s", bound, server.authority.describe())
    if server.authority.token is not None:
        log.warning(
            "control: token %s — send /posestage/auth %s to %s first",
            server.authority.token, server.authority.token, bound,
        )  # fmt: skip
    return server
