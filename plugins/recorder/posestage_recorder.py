"""posestage plugin ``recorder``: writes every frame's people to a pose stream (JSON Lines).

Enable it in a scene::

    [plugins.recorder]
    path = "recordings/show-{time}.jsonl"

and replay the file later, with no camera and no model::

    posestage run --source replay:recordings/show-20250101-203000.jsonl

What is recorded (see :mod:`posestage.model.posestream`): a header (source, size, model, start time),
then per frame its index, timestamp, size and people — id, slot, score, the *raw* keypoints
(x, y, score) in camera coordinates. Never pixels, so it is allowed in privacy mode.

The frame hook only copies the people (a few microseconds); a writer thread of the plugin's own
encodes and writes them, buffered, flushed every ``flush_seconds``. If the disk stalls, frames
queue up to :data:`QUEUE_FRAMES`, then are dropped (counted, logged) rather than slowing the
show. If the disk refuses a write (full), the next frame hook raises that one line (the stage
shows it; after a few the recorder is switched off) and the file keeps what it has.

The count is honest: :attr:`Recorder.frames` is the frames that reached the file — whose
every byte the operating system took — never the frames handed on. The line at the end says
``N frames written to PATH``, and how many were dropped (the disk was too slow) and how many
were not written (the disk refused them, with why). An existing file is never overwritten: ``-2``, ``-3``… is added to the name. The plugin
uses only what the stage context offers (:class:`posestage.context.StageContext`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any

from posestage import (
    PluginError,
    PosestageError,
    PoseStreamWriter,
    Setting,
    StreamFrame,
    StreamHeader,
    hookimpl,
)

log = logging.getLogger("posestage.recorder")

#: Frames waiting for the writer thread before new ones are dropped (~30 s at 30 fps).
QUEUE_FRAMES = 1000
#: How long unconfigure waits for the writer thread to write what is queued.
CLOSE_SECONDS = 5.0
DEFAULT_PATH = "recordings/poses-{time}.jsonl"

SETTINGS = [
    Setting(
        "path",
        str,
        DEFAULT_PATH,
        help="pose stream file to write; {time} becomes the start time, e.g. 20250101-203000",
        live=False,
        max_length=1024,
    ),
    Setting(
        "flush_seconds",
        float,
        1.0,
        help="write buffered frames to disk at least this often (a crash loses at most this)",
        min=0.0,
        max=60.0,
    ),
]


def expand_path(template: str, when: float | None = None) -> Path:
    """``template`` with ``{time}`` filled in and ``~`` expanded; never an existing file
    (``-2``, ``-3``… is added). A FIFO or device (e.g. ``/dev/stdout``) is written as it is.

    A :class:`PluginError` names the setting when the template has another placeholder.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    try:
        text = template.format(time=stamp)
    except (KeyError, IndexError, ValueError) as err:
        raise PluginError(
            f"recorder.path {template!r}: bad placeholder ({err}); the only one is {{time}}"
        ) from None
    if not text.strip():
        raise PluginError(
            "recorder.path is empty; give a file such as recordings/poses-{time}.jsonl"
        )
    path = Path(text).expanduser()
    candidate, n = path, 1
    while candidate.is_file():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


class Recorder:
    """The recorder plugin: one pose stream file per configure/unconfigure."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.frames = 0  # frames that reached the file (the operating system took them whole)
        self.queued = 0  # frames handed to the writer thread
        self.dropped = 0  # frames dropped because the writer fell behind
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._writer: PoseStreamWriter | None = None
        self._error: str | None = None
        self._done = threading.Event()

    @hookimpl
    def posestage_settings(self) -> list[Setting]:
        return list(SETTINGS)

    @hookimpl
    def posestage_configure(self, stage: Any, settings: Any) -> None:
        self._stop()  # configured twice without unconfigure: finish the previous file
        started = time.time()
        path = expand_path(str(settings["path"]), started)
        header = StreamHeader(  # only what the stage context says (no pixels there)
            source=str(stage.source),
            width=int(stage.width),
            height=int(stage.height),
            model=str(stage.model),
            start_time=started,
        )
        try:
            writer = PoseStreamWriter(path, header, flush_seconds=float(settings["flush_seconds"]))
        except PosestageError as err:
            raise PluginError(f"recorder.path: {err}") from None
        self.path, self.frames, self.queued, self.dropped = path, 0, 0, 0
        self._error = None
        self._writer = writer
        self._queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._write_loop,
            args=(writer, self._queue, self._done),
            name="posestage-recorder",
            daemon=True,
        )
        self._thread.start()
        log.info("recorder: recording poses to %s", path)

    @hookimpl
    def posestage_frame(self, frame: Any) -> None:
        q = self._queue
        if q is None:
            return
        if self._error is not None:
            raise PluginError(f"recorder: {self._error}")
        try:
            q.put_nowait(StreamFrame.from_pose_frame(frame))
            self.queued += 1
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("recorder: the disk is too slow, %d frames dropped", self.dropped)

    @hookimpl
    def posestage_unconfigure(self, stage: Any) -> None:
        try:
            self._stop()
        except Exception:  # unconfigure must never raise
            log.exception("recorder: closing %s failed", self.path)

    # -- internals ---------------------------------------------------------------------------

    def _write_loop(self, writer: PoseStreamWriter, q: queue.Queue, done: threading.Event) -> None:
        """Writer thread: encode and write queued frames; once ``done`` is set, write what is
        left in the queue and close the file."""
        failed = False
        while True:
            try:
                item = q.get(timeout=0.05 if done.is_set() else max(writer.flush_seconds, 0.05))
            except queue.Empty:
                if done.is_set():
                    break
                item = False  # nothing new: flush what is buffered
            if item is None:
                break
            if failed:
                continue  # keep draining so the frame hook never blocks
            try:
                if item is False:
                    writer.flush()
                else:
                    writer.write(item)
            except Exception as err:
                failed = True
                if self._writer is writer:  # still this recording: the frame hook reports it
                    self._error = str(err)
                log.error("recorder: %s", err)
            if self._writer is writer:
                self.frames = writer.frames_on_disk
        try:
            writer.close()
        except Exception as err:
            self._error = self._error or str(err)
            if not failed:
                log.error("recorder: %s", err)

    def _stop(self) -> None:
        q, thread, writer = self._queue, self._thread, self._writer
        self._queue = self._thread = self._writer = None
        if q is not None:
            self._done.set()  # the writer thread writes what is queued, then closes the file
            try:
                q.put_nowait(None)  # wakes it now (when the queue is full it is busy anyway)
            except queue.Full:
                pass
        if thread is not None:
            thread.join(CLOSE_SECONDS)
            if thread.is_alive():
                log.error(
                    "recorder: %s is still being written after %g s; it is closed when done",
                    self.path,
                    CLOSE_SECONDS,
                )
                return
        if writer is not None and not writer.closed:
            try:
                writer.close()
            except Exception as err:  # noqa: BLE001 - said in the line below
                self._error = self._error or str(err)
        if writer is not None:
            self.frames = writer.frames_on_disk  # only what reached the file
        if self.path is not None and q is not None:
            level, line = self.summary()
            log.log(level, "%s", line)

    def summary(self) -> tuple[int, str]:
        """The recording's last line (and its log level): frames written — only those that
        reached the file — then how many were dropped and how many the disk refused."""
        line = f"recorder: {self.frames} frames written to {self.path}"
        level = logging.INFO
        if self.dropped:
            line += f", {self.dropped} dropped (the disk was too slow)"
            level = logging.WARNING
        lost = self.queued - self.frames
        if lost > 0:
            why = f": {self._error}" if self._error else ""
            line += f"; {lost} not written (the disk refused them{why})"
            level = logging.WARNING
        return level, line


#: The object the ``posestage`` entry point names: one recorder per process.
plugin = Recorder()
