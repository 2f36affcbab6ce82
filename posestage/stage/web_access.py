"""Who may use the stage's web server: :class:`WebAccess`, the control port's authority on HTTP.

The same rules as the control port (:mod:`posestage.stage.authority`): on 127.0.0.1 (the
default) this computer only; beyond it an allow-list (``[stage] control_allow``) and/or a
token — the control port's own token when it has one, so one token opens both. A browser
brings the token once (``/?token=…``, what the QR code on the stage window opens): it gets a
cookie (HttpOnly, SameSite=Strict) and the address bar loses the token. Tools send it as
``Authorization: Bearer <token>`` or ``?token=``. Without it: nothing but a page asking for it.

Requests that could come from another web site in the operator's own browser are refused too:
a POST or a WebSocket that can steer (OSCQuery's, which takes OSC) whose ``Origin`` is not this
server, and, on 127.0.0.1, any request whose ``Host`` is not a loopback name (DNS rebinding).
The pose stream, numbers that steer nothing, may be read from any page (a sketch in the p5.js
web editor, a file opened in the browser) — with the token, off 127.0.0.1.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from posestage.stage.authority import Authority

__all__ = ["COOKIE", "TOKEN_PAGE", "WebAccess"]

#: The cookie a browser keeps the token in.
COOKIE = "posestage_token"

TOKEN_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>posestage</title>
<style>body{font:18px system-ui,sans-serif;background:#111;color:#eee;margin:2em}
input,button{font:inherit;padding:.4em}</style></head><body>
<h1>posestage</h1><p>This stage needs its token: scan the QR code on the stage window, or type
the token it printed when it started.</p>
<form method="get" action="/"><input name="token" autocomplete="off" autofocus>
<button>Open</button></form></body></html>
"""

_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]", "::1")


def _host_name(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _loopback_name(name: str) -> bool:
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


class WebAccess:
    """Decides per request: ``refusal(...)`` is None to serve it, else (status, why)."""

    def __init__(self, authority: Authority) -> None:
        self.authority = authority

    @property
    def token(self) -> str | None:
        return self.authority.token

    def token_ok(self, given: Any) -> bool:
        token = self.authority.token
        if token is None or not isinstance(given, str) or not given:
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))

    def refusal(
        self,
        *,
        peer: str,
        host: str,
        origin: str | None,
        unsafe: bool,
        given: tuple[str | None, ...],
    ) -> tuple[int, str] | None:
        """``peer``: the client's address; ``host``: its Host header; ``origin``: its Origin
        header (None: not sent); ``unsafe``: a POST or a WebSocket; ``given``: tokens it
        brought (query, header, cookie)."""
        if not self.authority.admits((peer, 0)):
            return 403, "not on control_allow"
        if self.authority.loopback and not _loopback_name(_host_name(host)):
            return 403, "this server answers only to 127.0.0.1 and localhost"
        if unsafe and origin is not None and origin.lower() not in self.origins(host):
            return 403, "another site's page may not steer the stage"
        if self.authority.token is not None and not any(self.token_ok(t) for t in given):
            return 401, "token required"
        return None

    @staticmethod
    def origins(host: str) -> tuple[str, ...]:
        host = host.strip().lower()
        return (f"http://{host}", f"https://{host}")
