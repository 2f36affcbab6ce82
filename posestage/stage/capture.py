"""The capture thread: ``source.read()`` into the :class:`Mailbox`, a failing live source reopened."""

from __future__ import annotations

import logging
from typing import Any

from posestage.errors import PosestageError, describe_error

log = logging.getLogger("posestage.stage")


#: After a live source's read fails, wait this long before reopening it and reading again.
SOURCE_RETRY_SECONDS = 1.0


class Capture:
    """Part of :class:`~posestage.stage.Stage`: the capture thread."""

    def _capture_loop(self) -> None:
        source, box = self.source, self._mailbox
        live = bool(getattr(source, "live", False))
        index = 0
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    frame = source.read()
                except Exception as err:
                    if not live:
                        raise
                    # A live source (camera) failing mid-show: report it, wait, reopen, go on.
                    failures += 1
                    self._source_failed(source, err, failures)
                    continue
                if failures:
                    name = getattr(source, "name", "")
                    self._report(f"source {name}: back after {failures} failed read(s)")
                    failures = 0
                if frame is None:
                    if getattr(source, "end_note", ""):  # e.g. a video that stopped early
                        self._report(str(source.end_note))
                    if not self._stop.is_set():
                        self._stopped_by = self._stopped_by or "source ended"
                    break
                frame.index = index  # stage frame number: gaps = frames dropped as stale
                index += 1
                self._read = index
                if not box.put(frame, wait=not live):
                    break
        except PosestageError as err:
            self._report(str(err))
            self._stopped_by = self._stopped_by or "source error"
            self._fatal = self._fatal or err
        except Exception as err:
            self._report(f"source {getattr(source, 'name', '')}: {describe_error(err)}")
            self._stopped_by = self._stopped_by or "source error"
        finally:
            box.close()

    def _source_failed(self, source: Any, err: BaseException, failures: int) -> None:
        """One failed read of a live source: report it (the first few times, then now and
        then), wait :data:`SOURCE_RETRY_SECONDS`, and let the source reopen its device. People
        leave through the tracker's dropout grace meanwhile; plugins keep running."""
        if failures <= 3 or failures % 30 == 0:
            why = err if isinstance(err, PosestageError) else describe_error(err)
            every = f"{SOURCE_RETRY_SECONDS:g} s"
            self._report(f"{why} (read failed {failures}x; retrying every {every})")
        if self._stop.wait(SOURCE_RETRY_SECONDS):
            return
        try:
            source.recover()
        except Exception as again:  # not back yet: the next read fails and we come back here
            log.debug("source recover failed: %s", again)
