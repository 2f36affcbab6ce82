"""posestage plugin ``psn``: PosiStageNet out — people on the floor as PSN trackers.

Lighting desks, media servers and TouchDesigner's PosiStageNet CHOP take positions over
PosiStageNet (PSN 2.0): UDP, by default multicast to 236.10.10.10:56565. Every person with a
floor position (a scene with a calibrated ``[room]``) is one tracker: its id is the person's
id (PSN ids are 16 bits: ids above 65535 wrap), its position and speed in metres and metres per
second, its status (validity) the floor position's score (0 while the person is held through a
dropout), its timestamp the frame's time since the plugin started, in microseconds.

Two kinds of packets, at the protocol's rates:

- **DATA** (chunk 0x6755) every frame, at most ``data_hz`` times a second (PSN's 60 Hz by
  default): header, then per tracker position, speed, status and timestamp;
- **INFO** (chunk 0x6756) every ``1 / info_hz`` seconds (1 Hz): header, the system name and
  every tracker's name (``"person 7 (slot 0)"``).

A packet holds at most :data:`MAX_PACKET` bytes; more trackers go into further packets of the
same frame (same frame id, the header saying how many). Axes: the floor's x and y with z up
(``up = "z"``, the default), or with y up (``up = "y"``: floor y becomes z, for receivers
whose y is the height). Times are frame times (``frame.timestamp``), so a replay sends what the
live show sent. The plugin reads numbers only: no image, no keypoint leaves the machine.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import struct

from posestage import PluginError, Setting, hookimpl

__version__ = "0.1.0"
log = logging.getLogger("posestage.psn")

#: The PosiStageNet multicast group and port.
GROUP, PORT = "236.10.10.10", 56565
#: PSN 2.0 chunk ids.
INFO_PACKET, DATA_PACKET = 0x6756, 0x6755
PACKET_HEADER = 0x0000
INFO_SYSTEM_NAME, INFO_TRACKER_LIST, INFO_TRACKER_NAME = 0x0001, 0x0002, 0x0000
DATA_TRACKER_LIST = 0x0001
TRACKER_POS, TRACKER_SPEED, TRACKER_STATUS, TRACKER_TIMESTAMP = 0x0000, 0x0001, 0x0003, 0x0006
#: Largest packet sent (a UDP payload within a 1500-byte Ethernet frame).
MAX_PACKET = 1472
#: Smoothing of the speed computed from successive floor positions (weight of the newest).
SPEED_GAIN = 0.5

SETTINGS = (
    Setting(
        "target",
        str,
        f"{GROUP}:{PORT}",
        "HOST:PORT the packets go to (PSN's multicast group by default)",
        live=False,
    ),
    Setting("system_name", str, "posestage", "the system name in INFO packets", max_length=64),
    Setting("data_hz", float, 60.0, "at most this many DATA packets a second", min=1, max=240),
    Setting("info_hz", float, 1.0, "INFO packets a second", min=0.1, max=10),
    Setting("up", str, "z", "the axis that is the height", choices=("z", "y")),
    Setting("ttl", int, 1, "multicast time-to-live (1: this network)", min=1, max=255),
)


def chunk(kind: int, data: bytes, subchunks: bool = False) -> bytes:
    """One PSN chunk: 16-bit id, 15-bit data length and the has-subchunks bit, then data."""
    if len(data) > 0x7FFF:
        raise ValueError("a PSN chunk holds at most 32767 bytes")
    return struct.pack("<HH", kind, len(data) | (0x8000 if subchunks else 0)) + data


def header(timestamp_us: int, frame_id: int, packets: int) -> bytes:
    """The packet header chunk: timestamp (µs), version 2.0, frame id, packets in the frame."""
    data = struct.pack("<QBBBB", timestamp_us & (2**64 - 1), 2, 0, frame_id & 0xFF, packets)
    return chunk(PACKET_HEADER, data)


def tracker_data(tid: int, pos, speed, status: float, timestamp_us: int) -> bytes:
    """One tracker of a DATA packet: position, speed, status and timestamp sub-chunks."""
    body = (
        chunk(TRACKER_POS, struct.pack("<fff", *pos))
        + chunk(TRACKER_SPEED, struct.pack("<fff", *speed))
        + chunk(TRACKER_STATUS, struct.pack("<f", status))
        + chunk(TRACKER_TIMESTAMP, struct.pack("<Q", timestamp_us & (2**64 - 1)))
    )
    return chunk(tid & 0xFFFF, body, subchunks=True)


def tracker_info(tid: int, name: str) -> bytes:
    """One tracker of an INFO packet: its name."""
    return chunk(tid & 0xFFFF, chunk(INFO_TRACKER_NAME, name.encode()[:64]), subchunks=True)


def packets(kind: int, first: bytes, trackers: list[bytes], stamp_us: int, frame_id: int):
    """The packets of one frame: ``first`` (the system name of INFO; b"" for DATA) and the
    tracker chunks, split so no packet is over :data:`MAX_PACKET` bytes."""
    list_id = INFO_TRACKER_LIST if kind == INFO_PACKET else DATA_TRACKER_LIST
    room = MAX_PACKET - 4 - 16 - len(first) - 4  # packet, header and list chunk heads
    groups: list[list[bytes]] = [[]]
    size = 0
    for t in trackers:
        if groups[-1] and size + len(t) > room:
            groups.append([])
            size = 0
        groups[-1].append(t)
        size += len(t)
    out = []
    for group in groups:
        body = header(stamp_us, frame_id, len(groups)) + first
        body += chunk(list_id, b"".join(group), subchunks=True)
        out.append(chunk(kind, body, subchunks=True))
    return out


def open_socket(target: str, ttl: int) -> tuple[socket.socket, tuple]:
    host, _, port = target.rpartition(":")
    where = f"psn.target {target}"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise PluginError(f"{where}: expected HOST:PORT, e.g. {GROUP}:{PORT}")
    try:
        family, _, _, _, address = socket.getaddrinfo(host, int(port), type=socket.SOCK_DGRAM)[0]
    except OSError as err:
        raise PluginError(f"{where}: cannot resolve {host!r} ({err}); check the host") from None
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)
    try:
        if family == socket.AF_INET and ipaddress.ip_address(address[0]).is_multicast:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    except (OSError, ValueError) as err:
        sock.close()
        raise PluginError(f"{where}: {err}") from None
    return sock, address


class PsnOut:
    """The ``psn`` plugin."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.address: tuple | None = None
        self.sent = 0  # packets
        self.errors = 0

    @hookimpl
    def posestage_settings(self):
        return list(SETTINGS)

    @hookimpl
    def posestage_configure(self, stage, settings):
        self.sock, self.address = open_socket(settings["target"], int(settings["ttl"]))
        self._take(settings)
        self.start = None  # frame time of the first frame
        self.frame_id = 0
        self.next_data = self.next_info = -1.0
        self.last: dict[int, tuple[float, float, float]] = {}  # id → (t, x, y)
        self.speed: dict[int, tuple[float, float]] = {}
        self.said = False  # the no-floor line, said once (a source may bring floor positions)

    def _take(self, settings) -> None:
        self.name = settings["system_name"].encode()
        self.data_every = 1.0 / float(settings["data_hz"])
        self.info_every = 1.0 / float(settings["info_hz"])
        self.up = settings["up"]

    @hookimpl
    def posestage_settings_changed(self, settings, changed):
        if "target" in changed or "ttl" in changed:
            return False
        self._take(settings)
        return True

    @hookimpl
    def posestage_frame(self, frame):
        now = float(frame.clock)  # the content's time: speeds right at any replay pace
        if self.start is None:
            self.start = now
        stamp = int(round((now - self.start) * 1e6))
        people = [p for p in frame.people if p.floor is not None]
        if frame.people and not people and not self.said:
            self.said = True
            log.warning("psn: people without floor positions (the scene has no calibrated "
                        "[room]; docs/room.md): no tracker is sent for them")  # fmt: skip
        seen = set()
        for p in people:
            seen.add(p.id)
            self._follow(p.id, now, p.floor.x, p.floor.y)
        for gone in set(self.last) - seen:
            del self.last[gone]
            self.speed.pop(gone, None)
        out = []
        if now >= self.next_info:
            self.next_info = now + self.info_every - 1e-6
            names = [tracker_info(p.id, f"person {p.id} (slot {p.slot})") for p in people]
            first = chunk(INFO_SYSTEM_NAME, self.name)
            out += packets(INFO_PACKET, first, names, stamp, self.frame_id)
        if now >= self.next_data:
            self.next_data = now + self.data_every - 1e-6
            data = [
                tracker_data(p.id, self._axes(p.floor.x, p.floor.y), self._axes(*self.speed[p.id]),
                             0.0 if p.missing else float(p.floor.score), stamp)
                for p in people
            ]  # fmt: skip
            out += packets(DATA_PACKET, b"", data, stamp, self.frame_id)
            self.frame_id = (self.frame_id + 1) & 0xFF
        for packet in out:
            self._send(packet)

    def _follow(self, pid: int, now: float, x: float, y: float) -> None:
        """The walking speed from successive positions (m/s), smoothed."""
        prev = self.last.get(pid)
        vx, vy = self.speed.get(pid, (0.0, 0.0))
        if prev is not None and now > prev[0]:
            dt = now - prev[0]
            vx += SPEED_GAIN * ((x - prev[1]) / dt - vx)
            vy += SPEED_GAIN * ((y - prev[2]) / dt - vy)
        self.last[pid] = (now, x, y)
        self.speed[pid] = (vx, vy)

    def _axes(self, x: float, y: float) -> tuple[float, float, float]:
        return (x, 0.0, y) if self.up == "y" else (x, y, 0.0)

    def _send(self, packet: bytes) -> None:
        try:
            self.sock.sendto(packet, self.address)
            self.sent += 1
        except OSError as err:  # a full buffer, no route: this packet is lost, the show goes on
            self.errors += 1
            if self.errors in (1, 10, 100, 1000):
                log.warning(
                    "psn: cannot send to %s (%s), %d so far", self.address, err, self.errors
                )

    @hookimpl
    def posestage_unconfigure(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None


plugin = PsnOut()
