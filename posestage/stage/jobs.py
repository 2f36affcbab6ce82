"""The control thread: one thread running jobs in order (scene switches, plugin lifecycle)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from posestage.host.dispatch import real_interrupt

__all__ = ["ControlThread"]

log = logging.getLogger("posestage.stage")


class ControlThread:
    """One thread running jobs in order: scene switches and the plugin lifecycle calls.

    Before :meth:`start` (and after :meth:`stop`) :meth:`submit` runs the job at once on the
    calling thread.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._pending = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="posestage-control", daemon=True)
            self._thread.start()

    def submit(self, fn: Callable[[], Any]) -> Future:
        future: Future = Future()
        thread = self._thread
        if thread is None or not thread.is_alive() or thread is threading.current_thread():
            self._execute(fn, future)
            return future
        with self._lock:
            self._pending += 1
        self._jobs.put((fn, future))
        return future

    @property
    def busy(self) -> bool:
        """Jobs are waiting or running."""
        return self._pending > 0

    def stop(self, timeout: float) -> None:
        thread = self._thread
        if thread is None:
            return
        self._jobs.put(None)
        thread.join(timeout)
        if thread.is_alive():
            log.warning("posestage-control did not stop within %g s", timeout)
        self._thread = None
        while True:  # anything left (the thread hung): run it here, in order
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                self._execute(*job)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                self._execute(*job)
            finally:
                with self._lock:
                    self._pending -= 1

    @staticmethod
    def _execute(fn: Callable[[], Any], future: Future) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn())
        except BaseException as err:  # noqa: BLE001 - handed to whoever waits on the future
            if isinstance(err, KeyboardInterrupt) and real_interrupt():
                future.set_exception(err)
                raise
            log.error("stage: control job failed", exc_info=err)
            future.set_exception(err)
