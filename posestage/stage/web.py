"""The stage's HTTP and WebSocket server (aiohttp): :class:`WebServer`, opened by ``posestage
run --web [HOST:]PORT`` or ``[stage] web`` (127.0.0.1 when no host is given), for the whole run.

One port serves:

- ``/`` in a browser: the control page (scenes, every plugin's settings as controls, health,
  live skeletons from the pose stream — never camera pixels); ``/_/page/<file>`` its files and
  the p5.js example (``/_/page/p5.html``);
- OSCQuery (:mod:`posestage.stage.oscquery`): ``GET /any/path`` the node's JSON,
  ``?HOST_INFO``, ``?VALUE`` and the other attributes; a WebSocket on ``/`` takes ``LISTEN`` /
  ``IGNORE`` (``{"COMMAND": "LISTEN", "DATA": "/pose/0/nose/x"}``) and streams what is sent to
  those addresses as binary OSC, tells ``PATH_CHANGED`` when a scene switch changes the tree,
  and takes binary OSC as control messages;
- ``/_/poses``: the JSON pose stream (:mod:`posestage.stage.pose_json`), one message a frame;
- ``/_/state`` (GET) and ``/_/control`` (POST ``{"action", "target", "name", "value"}``): what
  the page shows and does — a control message like the control port's, marked remote; the
  room's calibration and zones too (``{"action": "room", "value": {…the [room] table…}}``,
  ``{"action": "room", "name": "save"}``: :mod:`posestage.stage.room_edit`).

Who may: :class:`~posestage.stage.web_access.WebAccess` (the control port's authority). The
values OSCQuery streams are the osc plugin's own datagrams: every target of the running scene
has a twin sending to this server's tap, a UDP socket on 127.0.0.1
(:func:`posestage.stage.osc_targets.tapped`). The pose thread only hands the newest frame over
(no JSON is made while nobody watches); a slow browser skips frames, holding up nobody.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from importlib import resources
from typing import Any

from posestage.errors import PosestageError
from posestage.hookspecs import ControlMessage
from posestage.stage import oscquery, pose_json
from posestage.stage.authority import Authority
from posestage.stage.messages import REMOTE
from posestage.stage.room_edit import room_state
from posestage.stage.web_access import COOKIE, TOKEN_PAGE, WebAccess
from posestage.stage.web_mdns import Announcement
from posestage.stage.web_oscquery import OscQueryService, Tap

__all__ = ["MAX_CLIENTS", "PAGES", "WebServer", "open_web"]

log = logging.getLogger("posestage.web")

#: WebSocket clients at once (pose stream and OSCQuery each); more are turned away.
MAX_CLIENTS = 32
#: The files the page folder serves, with their content types.
PAGES = {
    "index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css",
    "p5.html": "text/html", "p5-sketch.js": "text/javascript", "room.js": "text/javascript",
}  # fmt: skip
_CONTROL_WORDS = ("scene", "set", "enable", "disable", "recapture", "room")


def _reachable() -> str:
    """This computer's address on its network (no packet is sent), else 127.0.0.1."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


def _listen_socket(host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as err:
        raise PosestageError(f"web {host}:{port}: {err}; give [HOST:]PORT") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError as err:
        sock.close()
        raise PosestageError(
            f"web {host}:{port}: {err.strerror or err}; choose another port"
        ) from None
    return sock


class WebServer:
    """Binds at construction (a port in use is one line before anything runs); serves from
    :meth:`start` (its own thread and event loop) until :meth:`close`."""

    def __init__(self, host: str, port: int, *, allow: Any = None, token: bool | None = None):
        self.sock = _listen_socket(host, port)
        self.address = self.sock.getsockname()[:2]
        self.tap = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tap.bind(("127.0.0.1", 0))
        self.tap.setblocking(False)
        self.tap_port = self.tap.getsockname()[1]
        self.access = WebAccess(Authority(str(self.address[0]), allow, token, where="web"))
        self.stage: Any = None
        self.announcement: Announcement | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None
        self._ready = threading.Event()
        self._pose_clients: set = set()
        self.oscquery = OscQueryService(self)
        self._frame: Any = None
        self._frame_scene: tuple[int, str] = (-1, "")  # (index, the scene it was made under)
        self._encoded: tuple[int, str] = (-1, "")
        self._frame_event: asyncio.Event | None = None
        self.served = {"http": 0, "refused": 0, "websockets": 0}

    # -- what the stage calls ----------------------------------------------------------------

    def share_token(self, authority: Any) -> None:
        """One token for both: the control port's, when both need one."""
        theirs = getattr(authority, "token", None)
        if theirs is not None and self.access.authority.token is not None:
            self.access.authority.token = theirs

    @property
    def url(self) -> str:
        """Where a browser opens the page (this computer's address on the network when the
        server listens on every interface), with the token when there is one."""
        host, port = self.address
        shown = _reachable() if host in ("0.0.0.0", "::") else host
        shown = f"[{shown}]" if ":" in shown else shown
        token = self.access.token
        return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")

    def start(self, stage: Any) -> None:
        """Serve ``stage``: its token is the control port's when both need one; the window
        shows the address (with the token) as a QR code."""
        self.stage = stage
        self.share_token(getattr(stage.control_port, "authority", None))
        stage.show.qr = self.url if self.access.token else None
        if not self.access.authority.loopback:  # found by OSCQuery clients on the network
            port = stage.control_port
            osc = int(port.address[1]) if port is not None else None
            self.announcement = Announcement(self.url.split("/")[2].rsplit(":", 1)[0].strip("[]"),
                                             int(self.address[1]), osc)  # fmt: skip
        stage.pipeline.watchers.append(self._on_frame)
        self._thread = threading.Thread(target=self._serve, name="posestage-web", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        log.info("web: control page, OSCQuery and pose stream on %s", self.url.split("?")[0])
        if self.access.token is not None:
            log.warning("web: token %s — open %s", self.access.token, self.url)

    def close(self, timeout: float = 3.0) -> None:
        if self.announcement is not None:
            self.announcement.close()
        loop = self.loop
        if loop is not None and self._thread is not None and self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
            except Exception as err:  # noqa: BLE001 - closing must finish
                log.warning("web: closing: %s", err)
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout)
        self.sock.close()
        self.tap.close()

    def fill(self, report: Any) -> None:
        report.web = dict(self.served)

    # -- the pose thread hands over ------------------------------------------------------------

    def _on_frame(self, frame: Any) -> None:
        """Pose thread: keep the newest frame; wake the loop only when someone watches."""
        self._frame_scene = (frame.index, self.stage.pipeline.frame_scene)  # before the frame
        self._frame = frame
        if self._pose_clients and self.loop is not None:
            try:
                self.loop.call_soon_threadsafe(self._wake_watchers)
            except RuntimeError:  # the loop closed under us at shutdown
                pass

    def _wake_watchers(self) -> None:
        if self._frame_event is not None:
            self._frame_event.set()

    # -- the server thread ---------------------------------------------------------------------

    def _serve(self) -> None:
        from aiohttp import web

        # a malformed request is answered 400 and counted, not logged with a traceback each
        logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
        self.loop = loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        app = web.Application(middlewares=[self._guard], client_max_size=64 * 1024)
        app.router.add_get("/_/page/{name}", self._page)
        app.router.add_get("/_/state", self._state)
        app.router.add_post("/_/control", self._control)
        app.router.add_get("/_/poses", self._poses)
        app.router.add_get("/{path:.*}", self.oscquery.query)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        loop.run_until_complete(self._runner.setup())
        loop.run_until_complete(web.SockSite(self._runner, self.sock).start())
        loop.run_until_complete(
            loop.create_datagram_endpoint(lambda: Tap(self.oscquery), sock=self.tap)
        )
        self._frame_event = asyncio.Event()
        tasks = [loop.create_task(self.oscquery.watch_tree())]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    async def _shutdown(self) -> None:
        for ws in [*self._pose_clients, *self.oscquery.clients]:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- who may -------------------------------------------------------------------------------

    def _wants_html(self, request: Any) -> bool:
        accept = request.headers.get("Accept", "")
        return "text/html" in accept and request.method == "GET"

    async def _guard_request(self, request: Any, handler: Any) -> Any:
        from aiohttp import web

        self.served["http"] += 1
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        given = (
            request.query.get("token"),
            request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or None,
            request.cookies.get(COOKIE),
        )
        peer = (
            (request.transport.get_extra_info("peername") or ("?", 0))[0]
            if request.transport
            else "?"
        )
        refusal = self.access.refusal(
            peer=str(peer), host=request.headers.get("Host", ""),
            origin=request.headers.get("Origin"),
            unsafe=(upgrade and request.path != "/_/poses") or request.method != "GET",
            given=given,
        )  # fmt: skip
        if refusal is not None:
            self.served["refused"] += 1
            status, why = refusal
            if status == 401 and self._wants_html(request) and not upgrade:
                return web.Response(status=401, text=TOKEN_PAGE, content_type="text/html")
            return web.json_response({"error": why}, status=status)
        if given[0] and self.access.token_ok(given[0]) and self._wants_html(request):
            response = web.HTTPSeeOther(request.rel_url.path)  # the token leaves the address bar
            response.set_cookie(COOKIE, given[0], httponly=True, samesite="Strict")
            raise response
        response = await handler(request)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @property
    def _guard(self) -> Any:
        from aiohttp import web

        @web.middleware
        async def guard(request: Any, handler: Any) -> Any:
            return await self._guard_request(request, handler)

        return guard

    # -- pages and state -----------------------------------------------------------------------

    async def _page(self, request: Any) -> Any:
        from aiohttp import web

        name = request.match_info["name"]
        if name not in PAGES:
            raise web.HTTPNotFound()
        text = resources.files("posestage.stage").joinpath("page", name).read_text("utf-8")
        return web.Response(text=text, content_type=PAGES[name])

    async def _page_named(self, name: str) -> Any:
        from aiohttp import web

        text = resources.files("posestage.stage").joinpath("page", name).read_text("utf-8")
        return web.Response(text=text, content_type=PAGES[name])

    async def _state(self, request: Any) -> Any:
        from aiohttp import web

        facts, frame = self.stage.context, self._frame
        plugins = []
        for name, declared, current in self.oscquery.settings():
            settings = []
            for s in declared:
                node = oscquery.setting_node(s, current.get(s.name))
                if node is not None:
                    settings.append({"name": s.name, "type": node["TYPE"], "help": s.help,
                                     "live": s.live, "value": current.get(s.name),
                                     "min": s.min, "max": s.max,
                                     "choices": list(s.choices) if s.choices else None})  # fmt: skip
            plugins.append({"name": name, "settings": settings})
        errors = self.stage.show.errors
        running = self.stage.control.current_scene if self.stage.control is not None else None
        room = None if running is None else room_state(running, bool(facts.mirror))
        return web.json_response({
            "room": room,
            "scene": facts.scene, "scenes": list(facts.scenes), "plugins": plugins,
            "privacy": bool(facts.privacy), "source": facts.source, "device": facts.device,
            "health": {
                "fps": round(float(getattr(frame, "fps", 0.0)), 2),
                "latency_ms": round(float(getattr(frame, "latency_ms", 0.0)), 2),
                "inference_ms": round(float(getattr(frame, "inference_ms", 0.0)), 2),
                "dropped": int(facts.dropped), "errors": len(errors), "last_errors": errors[-3:],
            },
        })  # fmt: skip

    async def _control(self, request: Any) -> Any:
        from aiohttp import web

        try:
            body = await request.json()
        except Exception:  # noqa: BLE001 - any bad body is the same refusal
            body = None
        if not isinstance(body, dict) or body.get("action") not in _CONTROL_WORDS:
            return web.json_response(
                {"ok": False, "text": f"expected JSON with an action: {', '.join(_CONTROL_WORDS)}"},
                status=400,
            )
        peer = request.transport.get_extra_info("peername") if request.transport else None
        origin = f"{REMOTE}web:{peer[0]}:{peer[1]}" if peer else f"{REMOTE}web"
        fields = {k: body.get(k) for k in ("target", "name") if isinstance(body.get(k), str)}
        message = ControlMessage(body["action"], value=body.get("value"), source=origin, **fields)
        reply = await self._post(message)
        return web.json_response({"ok": reply[0], "text": reply[1]})

    async def _post(self, message: ControlMessage) -> tuple[bool, str]:
        try:
            future = self.stage.post(message)
            reply = await asyncio.wait_for(asyncio.wrap_future(future), 15.0)
            return bool(reply.ok), str(reply.text)
        except Exception as err:  # noqa: BLE001 - the stage stopping, a timeout
            return False, f"not done: {err or type(err).__name__}"

    # -- the pose stream -----------------------------------------------------------------------

    async def _poses(self, request: Any) -> Any:
        from aiohttp import web

        if len(self._pose_clients) >= MAX_CLIENTS:
            return web.json_response({"error": "too many watchers"}, status=503)
        ws = web.WebSocketResponse(max_msg_size=4096, heartbeat=20)
        await ws.prepare(request)
        self.served["websockets"] += 1
        facts = self.stage.context
        await ws.send_str(pose_json.hello(facts.scene, tuple(facts.scenes)))
        self._pose_clients.add(ws)
        reader = asyncio.ensure_future(self._drain(ws))
        try:
            sent = -1
            while not ws.closed and not reader.done():
                await self._next_frame(sent)
                frame = self._frame
                if frame is None or frame.index == sent:
                    continue
                await ws.send_str(self._encode(frame))
                sent = frame.index
        except (ConnectionError, RuntimeError):
            pass
        finally:
            self._pose_clients.discard(ws)
            reader.cancel()
        return ws

    async def _next_frame(self, sent: int) -> None:
        frame = self._frame
        if frame is not None and frame.index != sent:
            return
        event = self._frame_event
        event.clear()
        try:
            await asyncio.wait_for(event.wait(), 1.0)
        except asyncio.TimeoutError:
            pass

    def _encode(self, frame: Any) -> str:
        index, text = self._encoded
        if index != frame.index:
            index, scene = self._frame_scene
            scene = scene if index == frame.index and scene else self.stage.context.scene
            text = pose_json.frame_message(frame, scene)
            self._encoded = (frame.index, text)
        return text

    @staticmethod
    async def _drain(ws: Any) -> None:
        async for _ in ws:  # the stream is one way: whatever a watcher sends is read and dropped
            pass

    # -- OSCQuery ------------------------------------------------------------------------------


def open_web(options: Any, scene: Any) -> WebServer | None:
    """The web server ``--web`` (or the first scene's ``[stage] web``) asks for, bound now; the
    control port's allow-list and token rules apply to it."""
    listen = options.web or scene.stage_value("web")
    if listen is None:
        return None
    host, port = listen
    return WebServer(host, port, allow=scene.stage_value("control_allow"),
                     token=scene.stage_value("control_token"))  # fmt: skip
