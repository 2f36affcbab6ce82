"""The merging source: ``--source mqtt://BROKER/ROOM`` — every stage of a room, one show.

It subscribes to ``posestage/ROOM/+/frame`` and ``posestage/ROOM/+/health`` and hands the
stage finished people (``SourceFrame.people``: global ids, slots, fused floor positions), so
the stage runs no model and no tracker and every plugin runs on it as on a camera.

Lining up: each stage's capture times are put on the merger's clock (:mod:`.clocks`). A
merged frame is made for time ``T`` as soon as a stage's frame brings news: by default ``T``
is that newest capture time, and from each other stage the frame captured nearest it (at
most one of its frame periods older: 3 cm for a walker at 30 fps) — the lowest latency.
With ``wait`` (seconds) the merger waits, up to that long, until *every* live stage has
reached ``T`` — strict alignment, for a stage frame period (about 20 ms at 30 fps) more
latency. :class:`~posestage_mqtt.fusion.Fusion` then makes the frames one set of people. The merged frame's
``timestamp`` is ``T`` and its ``captured`` the same instant on this process's
``perf_counter``, so ``latency_ms`` is capture (on the stage) → dispatch (here).

A stage is *live* while its frames arrive: one silent for ``timeout`` seconds (killed,
unplugged, its broker link gone) or whose health says offline (its last will) stops holding
``T`` back at once; its people are no longer observed and leave after the ``grace``, unless
another camera sees them. With no live stage the merger still makes a frame every
:data:`IDLE_SECONDS`, so people leave and plugins hear it.

Refused and counted (:attr:`MqttSource.counts`, logged the first time and every 100th, and
summed up at the end): ``garbage`` (not a posestage message: bad JSON, wrong fields, wrong
topic), ``duplicate`` (a ``seq`` seen already), ``out_of_order`` (older than one already
taken), ``late`` (captured more than :data:`LATE_SECONDS` before the last merged frame).
``lost`` counts the gaps in a stage's ``seq`` (frames the stage made that never came: the
broker restarted, the network dropped); ``reconnects`` the merger's own reconnections.

Options after ``?``: ``gate`` (metres, default 0.8), ``grace`` (seconds, 1.0), ``timeout``
(seconds, 1.0), ``wait`` (seconds, 0); and the connection's (``ca``, ``cert``, ``key``; see :mod:`.connection`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from posestage import Source, SourceError, SourceFrame, SourceOptions
from posestage_mqtt.clocks import StageClock
from posestage_mqtt.connection import KEEPALIVE, Broker, BrokerError, make_client, parse_broker
from posestage_mqtt.fusion import Fusion, Observation
from posestage_mqtt.wire import (
    NAME,
    StageFrame,
    WireError,
    decode_frame,
    decode_health,
    split_topic,
    topic,
)

__all__ = ["IDLE_SECONDS", "LATE_SECONDS", "MqttSource", "open_merger"]

log = logging.getLogger("posestage.mqtt")

#: With no live stage, a merged frame this often (s), so people leave on time.
IDLE_SECONDS = 0.1
#: A frame captured this long before the last merged frame is refused as late.
LATE_SECONDS = 0.5
#: Frames kept per stage to pick the one nearest the merged time.
KEEP = 16
#: A capture time more than this after the message's own ``sent`` is refused (garbage).
FUTURE_SECONDS = 1.0
#: How long opening waits for the broker before going on (it keeps trying after).
OPEN_WAIT = 3.0
OPTIONS = {
    "gate": (0.05, 10.0, 0.8),
    "grace": (0.0, 30.0, 1.0),
    "timeout": (0.1, 30.0, 1.0),
    "wait": (0.0, 1.0, 0.0),
}


@dataclass
class _Stage:
    name: str
    session: str = ""
    clock: StageClock = field(default_factory=StageClock)
    seq: int = 0
    seqs: deque[int] = field(default_factory=lambda: deque(maxlen=64))
    frames: deque[tuple[float, StageFrame]] = field(default_factory=lambda: deque(maxlen=KEEP))
    arrived: float = 0.0  # merger wall clock of its last frame
    offline: bool = False


class MqttSource(Source):
    """Every stage of ``room`` on ``broker``, merged (see the module docstring)."""

    live = True
    gives_poses = True
    gives_floor = True  # the stages' floor: the scene's zones are in metres
    continuous = True
    mirror_by_default = False

    def __init__(self, broker: Broker, room: str, options: SourceOptions, **opts: float):
        super().__init__()
        self.broker, self.room = broker, room
        self.name = f"mqtt:{broker.host}/{room}"
        self.width, self.height = options.res or (640, 480)
        self.gate, self.grace, self.timeout = opts["gate"], opts["grace"], opts["timeout"]
        self.wait = opts["wait"]
        self.fusion = Fusion(self.gate, self.grace)
        self.counts: Counter[str] = Counter()
        self.stages: dict[str, _Stage] = {}
        self._state = threading.Lock()
        self._news = threading.Event()
        self._connected = threading.Event()
        self.merged = 0  #: merged frames handed to the stage
        self._merged_t = 0.0  # T of the last merged frame (merger clock)
        self._merged_wall = 0.0
        self._connects = 0
        self.client = make_client(broker, f"posestage-merger-{room}-{os.getpid()}")
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.connect_async(broker.host, broker.port, KEEPALIVE)
        self.client.loop_start()
        if not self._connected.wait(OPEN_WAIT):
            log.warning("mqtt: %s not reached yet; the merger keeps trying", broker)

    # -- the stage's capture thread ----------------------------------------------------------

    def _read(self) -> SourceFrame | None:
        while not self.closed:
            with self._state:
                merged = self._merge(time.time())
            if merged is not None:
                return merged
            self._news.wait(0.02)
            self._news.clear()
        return None

    def _merge(self, now: float) -> SourceFrame | None:
        live = [
            st for st in self.stages.values()
            if st.frames and not st.offline and now - st.arrived < self.timeout
        ]  # fmt: skip
        if live:
            newest = [st.frames[-1][0] for st in live]
            t = max(min(newest), max(newest) - self.wait)
            if t <= self._merged_t:
                return None
        elif now - self._merged_wall >= IDLE_SECONDS:
            t = max(now, self._merged_t + 1e-6)
        else:
            return None
        observations = []
        for st in live:
            aligned, frame = min(st.frames, key=lambda item: abs(item[0] - t))
            if aligned < t - LATE_SECONDS:
                continue
            observations += [
                Observation(st.name, frame.session, p, frame.width, frame.height)
                for p in frame.people
            ]
        people, _ = self.fusion.update(observations, t)
        self._merged_t, self._merged_wall = t, now
        self.merged += 1
        captured = time.perf_counter() - (time.time() - t)
        return SourceFrame(None, t, captured, self.width, self.height, people=people)

    def _close(self) -> None:
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
        line = self.summary()
        log.log(logging.WARNING if "refused" in line or "lost" in line else logging.INFO, line)

    def summary(self) -> str:
        c = self.counts
        line = (
            f"mqtt: {c['frames']} frames from {len(self.stages)} stages merged into {self.merged}"
        )
        refused = [f"{c[k]} {k.replace('_', '-')}" for k in
                   ("garbage", "duplicate", "out_of_order", "late") if c[k]]  # fmt: skip
        if refused:
            line += f"; refused: {', '.join(refused)}"
        if c["lost"]:
            line += f"; {c['lost']} lost on the way"
        clocks = [f"{st.name} {st.clock.describe()}" for st in self.stages.values()]
        if clocks:
            line += "; " + ", ".join(clocks)
        return line

    # -- paho's network thread ---------------------------------------------------------------

    def _refuse(self, kind: str, why: str) -> None:
        self.counts[kind] += 1
        n = self.counts[kind]
        if n == 1 or n % 100 == 0:
            log.warning("mqtt: refused a %s message (%d so far): %s", kind.replace("_", "-"),
                        n, why)  # fmt: skip

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if reason_code.is_failure:
            log.error("mqtt: %s refused the merger: %s", self.broker, reason_code)
            return
        self._connects += 1
        if self._connects > 1:
            self.counts["reconnects"] += 1
            log.warning("mqtt: the merger is connected to %s again", self.broker)
        client.subscribe([(topic(self.room, "+", "frame"), 0),
                          (topic(self.room, "+", "health"), 1)])  # fmt: skip
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if self._connected.is_set() and not self.closed:  # not our own goodbye
            log.warning("mqtt: the merger lost %s (%s); reconnecting", self.broker, reason_code)
        self._connected.clear()

    def _on_message(self, client, userdata, message) -> None:
        # Whatever arrives, this returns: an exception here would end paho's network thread
        # and with it the show. A message that makes the code fail is counted as garbage.
        try:
            self._take(message, time.time())
        except Exception as err:  # noqa: BLE001 - counted and logged
            self._refuse("garbage", f"{message.topic[:80]}: {type(err).__name__}: {err}"[:200])
        self._news.set()

    def _take(self, message, arrived: float) -> None:
        parts = split_topic(message.topic)
        if parts is None or parts[0] != self.room or not NAME.fullmatch(parts[1]):
            return self._refuse("garbage", f"topic {message.topic[:80]!r}")
        _, name, kind = parts
        try:
            if kind == "frame":
                frame = decode_frame(message.payload, name)
            elif kind == "health":
                health = decode_health(message.payload, name)
            else:
                return self._refuse("garbage", f"topic {message.topic[:80]!r}")
        except WireError as err:
            return self._refuse("garbage", f"{message.topic}: {err}")
        with self._state:
            if kind == "health":
                self._health(name, health)
            else:
                self._frame(frame, arrived)

    def _health(self, name: str, health: dict) -> None:
        st = self.stages.get(name)
        if st is None or health["session"] != st.session:
            return  # an old session's retained word, or a stage not seen yet
        if health["state"] == "offline" and not st.offline:
            st.offline = True
            st.frames.clear()
            self.counts["stages_lost" if health.get("why") == "lost" else "stages_stopped"] += 1
            log.warning("mqtt: stage %s is offline (%s)", name, health.get("why", "?"))

    def _frame(self, frame: StageFrame, arrived: float) -> None:
        if frame.t > frame.sent + FUTURE_SECONDS:
            return self._refuse("garbage", f"{frame.stage}: captured after it was sent")
        st = self.stages.get(frame.stage)
        if st is None:
            st = self.stages[frame.stage] = _Stage(frame.stage)
            log.info("mqtt: stage %s joined", frame.stage)
        if frame.session != st.session:  # a new stage, or the stage restarted
            st.session, st.seq, st.clock, st.offline = frame.session, 0, StageClock(), False
            st.seqs.clear()
            st.frames.clear()
        elif frame.seq in st.seqs:
            return self._refuse("duplicate", f"{frame.stage} seq {frame.seq}")
        elif frame.seq < st.seq:
            return self._refuse("out_of_order", f"{frame.stage} seq {frame.seq} after {st.seq}")
        aligned = frame.t + st.clock.observe(frame.sent, arrived)
        if self._merged_t and aligned < self._merged_t - LATE_SECONDS:
            st.seqs.append(frame.seq)
            return self._refuse(
                "late", f"{frame.stage} seq {frame.seq}, {self._merged_t - aligned:.2f} s late"
            )
        if st.seq and frame.seq > st.seq + 1:
            self.counts["lost"] += frame.seq - st.seq - 1
        st.seq = frame.seq
        st.seqs.append(frame.seq)
        st.frames.append((aligned, frame))
        st.arrived, st.offline = arrived, False
        self.counts["frames"] += 1


def open_merger(spec: str, options: SourceOptions) -> MqttSource:
    """The ``posestage_sources`` opener of ``mqtt://BROKER/ROOM`` and ``mqtts://…``."""
    try:
        broker = parse_broker(spec, "--source", allowed=tuple(OPTIONS))
    except BrokerError as err:
        raise SourceError(str(err)) from None
    room = broker.path
    if not NAME.fullmatch(room):
        raise SourceError(
            f"--source {spec}: name the room after the broker, e.g. mqtt://{broker.host}/hall "
            "(letters, digits, '-', '_', '.')"
        )
    opts = {}
    for key, (low, high, default) in OPTIONS.items():
        text = broker.query.get(key)
        try:
            value = default if text is None else float(text)
        except ValueError:
            value = float("nan")  # refused below
        if not low <= value <= high:
            raise SourceError(f"--source {spec}: ?{key}= must be a number in {low:g}..{high:g}")
        opts[key] = value
    return MqttSource(broker, room, options, **opts)
