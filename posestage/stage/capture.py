"""The capture thread: ``source.read()`` into the :class:`Mailbox`, a failing live source reopened."""

from __future__ import annotations

import logging
import threading

from posestage.errors import PosestageError, describe_error
from posestage.sources import Source
from posestage.stage.mailbox import Mailbox
from posestage.stage.report import StageReport
from posestage.stage.show import Show

__all__ = ["AWAY_PIN", "SOURCE_RETRY_SECONDS", "Capture"]

log = logging.getLogger("posestage.stage")


#: After a live source's read fails, wait this long before reopening it and reading again.
SOURCE_RETRY_SECONDS = 1.0
#: The key of the line kept on screen while a live source is away (``Show.pin``).
AWAY_PIN = "source away"


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
                    show.pin(AWAY_PIN, None)
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
        """One failed read of a live source: report the drop once (then a log line now and
        then), keep a line on screen while the source is away, wait
        :data:`SOURCE_RETRY_SECONDS`, and let the source reopen its device. People leave
        through the tracker's dropout grace meanwhile; plugins keep running."""
        why = err if isinstance(err, PosestageError) else describe_error(err)
        every = f"{SOURCE_RETRY_SECONDS:g} s"
        if failures == 1:
            self.show.report(f"{why} (read failed {failures}x; retrying every {every})")
        elif failures % 30 == 0:
            log.warning("%s (read failed %dx; retrying every %s)", why, failures, every)
        self.show.pin(AWAY_PIN, f"{self.source.name} is away: {why}; retrying every {every}")
        if self.show.stopping.wait(SOURCE_RETRY_SECONDS):
            return
        try:
            self.source.recover()
        except Exception as again:  # not back yet: the next read fails and we come back here
            log.debug("source recover failed: %s", again)
