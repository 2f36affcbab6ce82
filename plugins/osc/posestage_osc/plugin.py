"""posestage plugin ``osc``: every person's pose, every frame, as OSC bundles over UDP.

One receiver::

    [plugins.osc]
    target = "127.0.0.1:10000"
    layout = "values"

Several, each with its own layout and options (a table inherits every key it does not set
from ``[plugins.osc]``)::

    [plugins.osc]
    min_score = 0.3
    [[plugins.osc.targets]]
    target = "127.0.0.1:10000"
    layout = "values"
    y_up = true
    [[plugins.osc.targets]]
    target = "192.168.1.255:9527"
    layout = "poseosc"
    broadcast = true

Layouts, addresses and types: :mod:`posestage_osc.layouts` and ``docs/osc.md``. The frame
hook encodes (precompiled templates, :mod:`posestage_osc.encoder`) and hands the datagrams to
a non-blocking socket: a full socket buffer drops datagrams (counted, logged once) rather than
stalling the pose thread.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from posestage import PluginError, PoseFrame, Setting, hookimpl

from .encoder import FrameEncoder, Options
from .layouts import LAYOUTS

log = logging.getLogger("posestage.osc")

#: Defaults for the per-target options (a setting left unset falls back to these).
DEFAULTS = {
    "layout": "values",
    "prefix": None,  # the layout's own (/pose, /posestage)
    "coords": None,  # the layout's own (normalized; pixels for poseosc)
    "y_up": False,
    "address_by": "slot",
    "slots": 6,
    "min_score": 0.2,
    "below": "zero",
    "health": False,
    "max_datagram": 1472,  # one Ethernet frame, under oscP5's 1536-byte receive buffer
    "broadcast": False,
    "ttl": 1,
}
DEFAULT_HOST = "127.0.0.1"


def parse_target(text: str) -> tuple[str, int | None]:
    """``"host:port"``, ``"host"`` (the layout's port), ``"[::1]:9000"`` → (host, port)."""
    text = text.strip()
    host, port = text, None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f'expected "host:port" such as "[::1]:9000", got {text!r}')
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f'expected "host:port", got {text!r}')
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host:
        raise ValueError(f'expected "host:port" such as "127.0.0.1:9000", got {text!r}')
    if port is None:
        return host, None
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f'the port in {text!r} is not a number; use "host:9000"') from None
    if not 1 <= number <= 65535:
        raise ValueError(f"the port in {text!r} is out of range; use 1 to 65535")
    return host, number


def checked_target(text: str) -> str:
    """A ``parse`` hook that only checks: scene settings are validated more than once, so the
    value stays text (:func:`parse_target` splits it at configure)."""
    parse_target(text)
    return text


def _target_settings() -> list[Setting]:
    layouts = tuple(LAYOUTS)
    return [
        Setting(
            "target", str, None,
            f'receiver "host:port" (default {DEFAULT_HOST}, port per layout: 9000, PoseOSC 9527)',
            parse=checked_target, live=False,
        ),
        Setting("layout", str, None, "message layout (default values)", choices=layouts),
        Setting("prefix", str, None, "address prefix (default /pose; PoseOSC extras /posestage)"),
        Setting(
            "coords", str, None, "coordinates (default normalized 0..1; PoseOSC pixels)",
            choices=("normalized", "pixels"),
        ),
        Setting("y_up", bool, None, "y grows upwards, as in TouchDesigner (default false)"),
        Setting(
            "address_by", str, None, "address people by slot or by id (default slot)",
            choices=("slot", "id"),
        ),
        Setting("slots", int, None, "presence is sent for slots 0..slots-1 (default 6)",
                min=0, max=64),
        Setting("min_score", float, None, "keypoints below this score are sent with score 0 or "
                "left out (default 0.2)", min=0.0, max=1.0),
        Setting("below", str, None, "keypoints below min_score: zero (score 0) or omit "
                "(default zero)", choices=("zero", "omit")),
        Setting("health", bool, None, "also send inference time, dropped frames, device"),
        Setting("max_datagram", int, None, "split bundles larger than this many bytes "
                "(default 1472)", min=128, max=65507),
        Setting("broadcast", bool, None, "allow a broadcast target such as 192.168.1.255",
                live=False),
        Setting("ttl", int, None, "multicast time-to-live / hops (default 1: this network)",
                min=1, max=255, live=False),
    ]  # fmt: skip


TARGET_SETTINGS = _target_settings()
SETTINGS = [
    *TARGET_SETTINGS,
    Setting(
        "targets", list, None,
        "several receivers: a list of tables with the keys above (unset keys are inherited)",
        schema=TARGET_SETTINGS,
    ),
]  # fmt: skip


@dataclass
class Target:
    """One receiver: its address, socket, encoder and what went wrong sending to it."""

    label: str
    address: tuple
    sock: socket.socket
    encoder: FrameEncoder
    sent: int = 0
    dropped: int = 0
    errors: dict = field(default_factory=dict)


def resolve(settings: Any) -> list[tuple[str, int, Options, dict]]:
    """The targets a validated ``[plugins.osc]`` table describes: (host, port, Options, extra)
    with inheritance (table → ``[plugins.osc]`` → :data:`DEFAULTS`) applied."""
    tables = settings.get("targets") or [{}]
    out = []
    for table in tables:

        def pick(name: str, table: Any = table) -> Any:
            for source in (table, settings):
                value = source.get(name)
                if value is not None:
                    return value
            return DEFAULTS.get(name)

        layout = pick("layout")
        options = Options(
            layout=layout,
            prefix=pick("prefix"),
            coords=pick("coords"),
            y_up=pick("y_up"),
            address_by=pick("address_by"),
            slots=pick("slots"),
            min_score=pick("min_score"),
            below=pick("below"),
            health=pick("health"),
            max_datagram=pick("max_datagram"),
        )
        host, port = parse_target(pick("target") or DEFAULT_HOST)
        out.append((host, port or LAYOUTS[layout].port, options,
                    {"broadcast": pick("broadcast"), "ttl": pick("ttl")}))  # fmt: skip
    return out


def open_socket(host: str, port: int, broadcast: bool, ttl: int) -> tuple[socket.socket, tuple]:
    """A non-blocking UDP socket for ``host:port`` (unicast, broadcast or multicast)."""
    where = f"osc.target {host}:{port}"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as err:
        raise PluginError(
            f"{where}: cannot resolve {host!r} ({err}); check the host name"
        ) from None
    family, _, _, _, address = infos[0]
    try:
        ip = ipaddress.ip_address(address[0])
    except ValueError:
        ip = None
    if ip is not None and ip.version == 4 and ip == ipaddress.IPv4Address("255.255.255.255"):
        if not broadcast:
            raise PluginError(f"{where} is a broadcast address; add broadcast = true")
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        if broadcast:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if ip is not None and ip.is_multicast:
            if ip.version == 4:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
            else:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        except OSError:
            pass
    except OSError as err:
        sock.close()
        raise PluginError(f"{where}: {err}") from None
    return sock, address


class OscOut:
    """The ``osc`` plugin."""

    def __init__(self) -> None:
        self.targets: list[Target] = []
        self.stage: Any = None
        self._entered: list = []
        self._left: list = []
        self._people: list = []
        self._last = (-1, 1, 1)  # index, width, height of the last frame sent
        self._where: list = []  # (host, port, socket options) per target

    @hookimpl
    def posestage_settings(self) -> list[Setting]:
        return list(SETTINGS)

    @hookimpl
    def posestage_commands(self, subparsers: Any) -> None:
        from .commands import add_commands  # posestage osc patch / dump

        add_commands(subparsers)

    @hookimpl
    def posestage_osc_addresses(self, settings: Any) -> list[dict]:
        """Every address of every target, from the layout description (fixed slots)."""
        from .namespace import addresses

        room = getattr(self.stage, "floor", None)  # the scene's [room]: floor and zones
        zones = tuple(getattr(room, "zones", None) or ())
        floor = bool(getattr(room, "calibrated", False))
        out: dict[str, dict] = {}
        for _, _, options, _ in resolve(settings):
            for a in addresses(options, zones=zones, floor=floor):
                out.setdefault(a.path, {
                    "address": a.path, "types": a.types, "description": a.description,
                    "ranges": [[v.low, v.high] for v in a.values],
                    "units": [v.unit for v in a.values],
                })  # fmt: skip
        return list(out.values())

    @hookimpl
    def posestage_configure(self, stage: Any, settings: Any) -> None:
        self._close()
        self.stage = stage
        self._entered, self._left, self._people = [], [], []
        self._last = (
            -1,
            int(getattr(stage, "width", 0) or 1),
            int(getattr(stage, "height", 0) or 1),
        )
        targets = []
        resolved = resolve(settings)
        try:
            for host, port, options, extra in resolved:
                sock, address = open_socket(host, port, extra["broadcast"], extra["ttl"])
                label = f"{host}:{port} ({options.layout})"
                targets.append(Target(label, address, sock, FrameEncoder(options)))
        except BaseException:
            for t in targets:
                t.sock.close()
            raise
        self.targets = targets
        self._where = [(h, p, x) for h, p, _, x in resolved]
        log.info("osc: sending to %s", ", ".join(t.label for t in targets))

    @hookimpl
    def posestage_settings_changed(self, settings: Any) -> bool | None:
        """A live change (OSC control) that keeps every target's address and socket options
        only swaps the encoders: no farewell, nobody "leaves" because a slider moved."""
        resolved = resolve(settings)
        where = [(h, p, x) for h, p, _, x in resolved]
        if where != self._where or len(resolved) != len(self.targets):
            return None  # the host unconfigures and configures again
        for target, (host, port, options, _) in zip(self.targets, resolved):
            target.encoder = FrameEncoder(options)
            target.label = f"{host}:{port} ({options.layout})"
        return True

    @hookimpl
    def posestage_person_enter(self, person: Any) -> None:
        self._entered.append(person)

    @hookimpl
    def posestage_person_leave(self, person: Any) -> None:
        self._left.append(person)

    @hookimpl
    def posestage_frame(self, frame: Any) -> None:
        entered, left = self._entered, self._left
        self._entered, self._left = [], []
        self._people = list(frame.people)
        self._last = (frame.index, frame.width, frame.height)
        self._send(frame, entered, left)

    @hookimpl
    def posestage_unconfigure(self) -> None:
        try:
            self._farewell()
        except Exception:  # unconfigure must never raise
            log.exception("osc: the last bundle could not be sent")
        self._close()

    # -- internals ---------------------------------------------------------------------------

    def _send(self, frame: Any, entered: list, left: list) -> None:
        stage = self.stage
        dropped = getattr(stage, "dropped", 0)
        dropped = dropped if isinstance(dropped, int) else 0
        device = getattr(stage, "device", "")
        device = device if isinstance(device, str) else ""
        sent = getattr(stage, "sent", None)  # the stage's OSC monitor counts what went out
        for t in self.targets:
            for data in t.encoder.encode(frame, entered, left, dropped=dropped, device=device):
                try:
                    t.sock.sendto(data, t.address)
                    t.sent += 1
                    if sent is not None:
                        sent(t.label, data)
                except OSError as err:
                    t.dropped += 1
                    self._send_error(t, err)

    def _send_error(self, t: Target, err: OSError) -> None:
        kind = errno.errorcode.get(err.errno or 0, type(err).__name__)
        count = t.errors[kind] = t.errors.get(kind, 0) + 1
        if count == 1:
            hint = ""
            if err.errno == errno.EACCES:
                hint = "; a broadcast address needs broadcast = true"
            elif isinstance(err, BlockingIOError) or err.errno == errno.ENOBUFS:
                hint = "; the network is not keeping up (datagrams dropped)"
            elif err.errno == errno.EMSGSIZE:
                hint = "; lower max_datagram"
            log.warning(
                "osc: sending to %s failed: %s%s (counted, logged once)", t.label, err, hint
            )

    def _farewell(self) -> None:
        """One last bundle: nobody is tracked any more (presence 0, a leave for everyone)."""
        if not self.targets or self._last[0] < 0:
            return  # nothing was sent: nothing to take back
        index, width, height = self._last
        self._send(PoseFrame(index + 1, time.time(), time.perf_counter(), width, height), [],
                   self._people)  # fmt: skip

    def _close(self) -> None:
        for t in self.targets:
            if t.dropped:
                log.warning("osc: %s: %d of %d datagrams not sent", t.label, t.dropped,
                            t.sent + t.dropped)  # fmt: skip
            t.sock.close()
        self.targets = []


#: The object the ``posestage`` entry point names.
plugin = OscOut()
