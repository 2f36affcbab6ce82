"""Who may steer the show over the control port: :class:`Authority`.

The control port listens on 127.0.0.1 unless told otherwise (this computer only). Beyond this
computer it needs one of two things, and may have both:

- an **allow-list** (``[stage] control_allow = ["192.168.1.20", "10.0.0.0/24"]``): datagrams from
  any other address are dropped unread;
- a **token** (``[stage] control_token = true``, and on by itself when the port listens beyond
  this computer without an allow-list): a random text made at start (or the
  ``POSESTAGE_CONTROL_TOKEN`` environment variable, 16 characters or more), printed on stderr
  and shown on the stage window. A sender sends ``/posestage/auth <token>`` once; from then on
  its address (host and port) may steer the show for the rest of the run. Until then nothing
  it sends is read, and a wrong token gets no answer.

A sender that is not allowed never gets anything back — no reply, no error — so the port can
neither be probed nor used to reflect traffic at a forged source address.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from posestage.errors import PosestageError

__all__ = ["MAX_SENDERS", "TOKEN_ENV", "Authority", "is_loopback"]

#: The environment variable that fixes the token (so a patch need not change every run).
TOKEN_ENV = "POSESTAGE_CONTROL_TOKEN"
#: Senders authorised by token at once; the one heard from least recently is forgotten first.
MAX_SENDERS = 64

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)  # "::ffff:10.0.0.5" from a socket bound to "::"
    return mapped if mapped is not None else ip


def is_loopback(host: str) -> bool:
    """True when ``host`` (a bound address) reaches this computer only."""
    ip = _address(host)
    return ip is not None and ip.is_loopback


class Authority:
    """Decides, per sender address, whether the control port reads and answers it.

    ``bound``: the address the port is bound to (its host part); ``allow``: addresses and
    networks (text, already checked); ``token``: True to require one, False never, None: only
    when bound beyond this computer without ``allow``.
    """

    def __init__(
        self,
        bound: str,
        allow: Sequence[str] | None = None,
        token: bool | None = None,
        *,
        where: str = "control",
    ) -> None:
        self.loopback = is_loopback(bound)
        self.networks: list[Network] = [ipaddress.ip_network(a, strict=False) for a in allow or ()]
        need = token if token is not None else (not self.loopback and not self.networks)
        self.token: str | None = None
        if need:
            fixed = os.environ.get(TOKEN_ENV, "")
            if fixed and len(fixed) < 16:
                raise PosestageError(
                    f"{where}: {TOKEN_ENV} is {len(fixed)} characters; give 16 or more (or unset "
                    "it for a random token)"
                )
            self.token = fixed or secrets.token_urlsafe(12)
        self._senders: OrderedDict[tuple[str, int], None] = OrderedDict()

    def describe(self) -> str:
        """Who may steer, in words (for the start-up line)."""
        parts = []
        if self.networks:
            parts.append("from " + ", ".join(str(n) for n in self.networks))
        elif self.loopback:
            parts.append("from this computer")
        else:
            parts.append("from anywhere")
        if self.token is not None:
            parts.append("after /posestage/auth <token>")
        return " ".join(parts)

    def admits(self, sender: Any) -> bool:
        """The sender's address may talk to the port at all (the allow-list)."""
        if not self.networks:
            return True
        ip = _address(str(sender[0]))
        return ip is not None and any(ip.version == n.version and ip in n for n in self.networks)

    def authorised(self, sender: Any) -> bool:
        """The sender may steer: admitted, and authorised by token when one is required."""
        if not self.admits(sender):
            return False
        if self.token is None:
            return True
        key = (str(sender[0]), int(sender[1]))
        if key in self._senders:
            self._senders.move_to_end(key)
            return True
        return False

    def authorise(self, sender: Any, given: Any) -> bool:
        """``/posestage/auth <given>`` from ``sender``: True when it is the token (the sender
        may then steer for the rest of the run)."""
        if self.token is None or not isinstance(given, str) or not self.admits(sender):
            return False
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self.token.encode("utf-8")):
            return False
        self._senders[(str(sender[0]), int(sender[1]))] = None
        self._senders.move_to_end((str(sender[0]), int(sender[1])))
        while len(self._senders) > MAX_SENDERS:
            self._senders.popitem(last=False)
        return True
