"""The web server's OSCQuery side: :class:`OscQueryService` (HTTP queries, the WebSocket's
``LISTEN``/``IGNORE``, ``PATH_CHANGED``, binary OSC in) and :class:`Tap`, the UDP socket the osc
plugin's twins send to (see :mod:`posestage.stage.web`). The tree itself is
:mod:`posestage.stage.oscquery`'s.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from typing import Any

from posestage.model import osc_wire as wire
from posestage.stage import oscquery
from posestage.stage.control_port import to_control
from posestage.stage.messages import REMOTE

__all__ = ["TREE_POLL_SECONDS", "OscQueryService", "Tap"]

log = logging.getLogger("posestage.web")

#: How often the server looks for a changed tree (scene switch, settings) in seconds.
TREE_POLL_SECONDS = 0.5
#: OSCQuery WebSocket clients at once; more are turned away.
MAX_LISTENERS = 32


class OscQueryService:
    """What the web ``server`` answers as an OSCQuery server."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.clients: dict = {}  # ws → set of listened paths
        self._values: dict[str, tuple] = {}
        self._raw: deque[bytes] = deque(maxlen=16)
        self._paths: set[str] = set()

    def settings(self) -> list[tuple[str, tuple, dict]]:
        host = self.server.stage.host
        out = []
        for name in list(host.active):
            info = host.registry.plugins.get(name)
            current = host.settings_of(name)
            if info is not None and current is not None:
                out.append((name, tuple(info.settings), dict(current)))
        return out

    def _published(self) -> list[dict]:
        host = self.server.stage.host
        out: list[dict] = []
        for name in list(host.active):
            current = host.settings_of(name)
            if current is not None:
                out += host.registry.osc_addresses(name, current)
        return out

    def _tree(self) -> dict:
        facts = self.server.stage.context
        self._decode_raw()
        return oscquery.build_tree(
            self._published(), self.settings(), tuple(facts.scenes), facts.scene, self._values
        )

    async def query(self, request: Any) -> Any:
        from aiohttp import web

        path = "/" + request.match_info["path"].strip("/")
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._query_socket(request)
        if path == "/" and self.server._wants_html(request) and not request.query_string:
            return await self.server._page_named("index.html")
        query = request.query_string
        facts = self.server.stage.context
        if query == "HOST_INFO":
            port = self.server.stage.control_port
            osc = tuple(port.address[:2]) if port is not None else None
            return web.json_response(oscquery.host_info("posestage", osc, self.server.address))
        node = oscquery.find(self._tree(), path)
        if node is None or facts is None:
            return web.json_response({"error": f"no such path {path}"}, status=404)
        if query and "=" not in query:
            if query not in node:
                return web.Response(status=204)
            return web.json_response({query: node[query]})
        return web.json_response(node)

    async def _query_socket(self, request: Any) -> Any:
        from aiohttp import WSMsgType, web

        if len(self.clients) >= MAX_LISTENERS:
            return web.json_response({"error": "too many listeners"}, status=503)
        ws = web.WebSocketResponse(max_msg_size=65536, heartbeat=20)
        await ws.prepare(request)
        self.server.served["websockets"] += 1
        peer = request.transport.get_extra_info("peername") if request.transport else None
        origin = f"{REMOTE}web:{peer[0]}:{peer[1]}" if peer else f"{REMOTE}web"
        listened: set[str] = set()
        self.clients[ws] = listened
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._command(msg.data, listened)
                elif msg.type == WSMsgType.BINARY:
                    await self._osc_in(msg.data, origin)
        finally:
            self.clients.pop(ws, None)
        return ws

    def _command(self, text: str, listened: set[str]) -> None:
        try:
            command = json.loads(text)
            word, path = command.get("COMMAND"), command.get("DATA")
        except (ValueError, AttributeError):
            return
        if not isinstance(path, str) or len(path) > 1024 or len(listened) > 4096:
            return
        if word == "LISTEN":
            listened.add(path)
        elif word == "IGNORE":
            listened.discard(path)

    async def _osc_in(self, data: bytes, origin: str) -> None:
        try:
            messages = wire.decode(data)
        except wire.OscError:
            return
        for message in messages[:16]:
            try:
                control = to_control(message, origin)
            except ValueError:
                continue
            await self.server._post(control)

    def _decode_raw(self) -> None:
        while self._raw:
            self._note(self._raw.popleft())

    def _note(self, data: bytes) -> list:
        try:
            messages = wire.decode(data)
        except wire.OscError:
            return []
        for m in messages:
            self._values[m.address] = m.args
        return messages

    def tapped(self, data: bytes) -> None:
        """A datagram the osc plugin sent to the tap (server thread)."""
        if not any(self.clients.values()):
            self._raw.append(data)
            return
        self._decode_raw()
        for m in self._note(data):
            for ws, listened in list(self.clients.items()):
                if m.address in listened and not ws.closed:
                    asyncio.ensure_future(_send(ws, wire.message(m.address, list(m.args))))

    async def watch_tree(self) -> None:
        """PATH_CHANGED to every OSCQuery client when the tree's paths change."""
        while True:
            await asyncio.sleep(TREE_POLL_SECONDS)
            try:
                paths = oscquery.paths(self._tree())
            except Exception as err:  # noqa: BLE001 - a bad plugin answer must not end this
                log.warning("web: the OSCQuery tree could not be built: %s", err)
                continue
            if self._paths and paths != self._paths:
                note = json.dumps({"COMMAND": "PATH_CHANGED", "DATA": "/"})
                for ws in list(self.clients):
                    await _send(ws, note)
            self._paths = paths


async def _send(ws: Any, data: bytes | str) -> None:
    try:
        if isinstance(data, str):
            await ws.send_str(data)
        else:
            await ws.send_bytes(data)
    except (ConnectionError, RuntimeError):
        pass


class Tap(asyncio.DatagramProtocol):
    """The tap: datagrams the osc plugin's twins send, handed to the service."""

    def __init__(self, service: OscQueryService) -> None:
        self.service = service

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.service.tapped(data)
