"""The capture thread: ``source.read()`` into the :class:`Mailbox`, a failing live source reopened."""

from __future__ import annotations

import logging
import threading

from posestage.errors import PosestageError, describe_error
from posestage.sources import Source
from posestage.stage.mailbox import Mailbox
from posestage.stage.report import StageReport
from posestage.stage.show import Show

__all__ = ["SOURCE_RETRY_SECONDS", "Capture"]

log = logging.getLogger("posestage.stage")


#: After a live source's read fails, wait this long before reopening it and reading again.
SOURCE_RETRY_SECONDS = 1.0


class Capture:
    """The capture thread: reads ``source`` and puts each frame into ``mailbox``.

    A live source's frame replaces one not yet taken; any other source waits for the pose
    thread to take it. The frame's ``index`` is the source's (:meth:`Source.read` numbers its
    frames): the capture thread only counts them (:attr:`read`). The end of the source (or its
    failure) closes the mailbox: the pose thread finishes the frame left, then stops the show.
    """

    def __init__(self, source: Source, mailbox: Mailbox, show: Show) -> None:
        self.source = source
        self.mailbox = mailbox
        self.show = show
        self.read = 0  #: frames read from the source
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._loop, name="posestage-capture", daemon=True)
        self.thread.start()

    def fill(self, report: StageReport) -> None:
        report.read = self.read

    def _loop(self) -> None:
        source, box, show = self.source, self.mailbox, self.show
        live = source.live
        failures = 0
        try:
            while not show.stopped:
                try:
                    frame = source.read()
                except Exception as err:
                    if not live:
                        raise
                    # A live source (camera) failing mid-show: report it, wait, reopen, go on.
                    failures += 1
                    self._failed(err, failures)
                    continue
                if failures:
                    show.report(f"source {source.name}: back after {failures} failed read(s)")
                    failures = 0
                if frame is None:
                    if source.end_note:  # e.g. a video that stopped early
                        show.report(str(source.end_note))
                    if not show.stopped:
                        show.ending("source ended")
                    break
                self.read += 1
                if not box.put(frame, wait=not live):
                    break
        except PosestageError as err:
            show.report(str(err))
            show.ending("source error")
            show.fail(err)
        except Exception as err:
            show.report(f"source {source.name}: {describe_error(err)}")
            show.ending("source error")
        finally:
            box.close()

    def _failed(self, err: BaseException, failures: int) -> None:
        """One failed read of a live source: report it (the first few times, then now and
        then), wait :data:`SOURCE_RETRY_SECONDS`, and let the source reopen its device. People
        leave through the tracker's dropout grace meanwhile; plugins keep running."""
        if failures <= 3 or failures % 30 == 0:
            why = err if isinstance(err, PosestageError) else describe_error(err)
            every = f"{SOURCE_RETRY_SECONDS:g} s"
            self.show.report(f"{why} (read failed {failures}x; retrying every {every})")
        if self.show.stopping.wait(SOURCE_RETRY_SECONDS):
            return
        try:
            self.source.recover()
        except Exception as again:  # not back yet: the next read fails and we come back here
            log.debug("source recover failed: %s", again)
