"""A recorded pose stream (:mod:`posestage.model.posestream`) replayed: frames carry ``poses`` and no
image, so the stage runs no model at all."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from posestage.errors import SourceError
from posestage.model.posestream import PoseStreamReader, StreamFrame
from posestage.sources import base
from posestage.sources.base import MediaClock, Source, SourceFrame, SourceOptions


class ReplaySource(Source):
    """A recorded pose stream: frames with ``poses`` (and the ``recorded`` frame) but no image.

    Realtime pace waits for each frame's recorded time; fast pace hands frames over as the
    consumer asks. A frame's ``timestamp`` is when it was read, on this machine's wall clock
    (the OSC time tag, also at ``fast`` pace); its ``media`` time is the wall clock when the
    replay started plus the time since the first recorded frame, so the tracker sees the
    recorded time steps and reproduces the recorded people; ``recorded.timestamp`` is the
    recorded wall time. A gap longer than :data:`~posestage.sources.base.MAX_WAIT_SECONDS` between two
    recorded frames (a recording across a break) is shortened to that, in the pacing and in the
    timestamps, so a replay never stalls for the length of the break. A stream without any
    frame is refused when it is opened; a bad line further on is skipped and counted
    (:attr:`skipped`, logged) and the replay goes on, also when it loops.
    """

    gives_poses = True  # the stage needs no model for this source

    def __init__(self, path: Path, options: SourceOptions):
        super().__init__()
        self.path = path
        self.options = options
        self.live = options.pace == "realtime"
        self.name = f"replay:{path.name}"
        self._reader = PoseStreamReader(path, strict=False)
        self.header = self._reader.header
        self.mirror_by_default = str(self.header.source).startswith("camera")
        self._frames = iter(self._reader)
        try:
            self._pending: StreamFrame | None = next(self._frames, None)
        except BaseException:
            self._close()
            raise
        if self._pending is None:
            skipped, first = self._reader.skipped, self._reader.first_skipped
            self._close()
            if skipped:
                raise SourceError(
                    f"--source replay:{path}: no frame could be read ({skipped} bad "
                    f"line{'s' * (skipped > 1)}; the first: {first})"
                )
            raise SourceError(
                f"--source replay:{path}: the pose stream has no frames (an empty recording); "
                "record one with the recorder plugin, or pick another file"
            )
        if not (self.header.width > 0 and self.header.height > 0):
            self.header.width, self.header.height = self._pending.width, self._pending.height
        self.width, self.height = options.res or (self.header.width, self.header.height)
        self._clock = MediaClock()
        self._start_wall: float | None = None  # wall clock at the first frame of this run
        self._time: float | None = None  # replay time of the last frame (s since the first)
        self._last_recorded: float | None = None  # its recorded timestamp (None after a loop)
        self._step = 1.0 / 30.0  # last time step seen, used between loops

    def _next_record(self) -> StreamFrame | None:
        if self._pending is not None:
            record, self._pending = self._pending, None
            return record
        return next(self._frames, None)

    def _advance(self, recorded: float) -> float:
        """Replay time of a frame recorded at ``recorded``: steps as recorded, gaps capped."""
        if self._time is None:
            t = 0.0
        elif self._last_recorded is None:  # first frame after a loop: one step on
            t = self._time + self._step
        else:
            step = min(max(recorded - self._last_recorded, 0.0), base.MAX_WAIT_SECONDS)
            if step > 0:
                self._step = step
            t = self._time + step
        self._time, self._last_recorded = t, recorded
        return t

    def _read(self) -> SourceFrame | None:
        record = self._next_record()
        if record is None:
            if not self.options.loop or self._time is None:
                return None
            self._last_recorded = None
            self._reader.close()
            self._reader = PoseStreamReader(self.path, strict=False)
            self._frames = iter(self._reader)
            record = self._next_record()
            if record is None:
                return None
        t = self._advance(record.timestamp)
        if self.live and not self._sleep(self._clock.delay(t)):
            return None
        now = time.time()  # the capture time of a replayed frame: when it was read
        if self._start_wall is None:
            self._start_wall = now
        poses = record.poses()
        if self.options.res is not None and (record.width, record.height) != self.options.res:
            scale = np.array(
                [self.width / record.width, self.height / record.height], dtype=np.float32
            )
            for pose in poses:
                pose.xy = pose.xy * scale
            width, height = self.width, self.height
        else:
            width, height = record.width, record.height
        return SourceFrame(
            None,
            now,
            time.perf_counter(),
            width,
            height,
            poses=poses,
            recorded=record,
            media=self._start_wall + t,
        )

    @property
    def skipped(self) -> int:
        """Bad lines skipped so far (this pass of the file)."""
        return self._reader.skipped

    def _close(self) -> None:
        self._reader.close()
