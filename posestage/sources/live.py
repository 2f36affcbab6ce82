"""What the live PyAV readers share — cameras (:mod:`posestage.sources.camera`) and network
streams (:mod:`posestage.sources.stream`): the next decoded frame or one line saying why there is
none, the picture at the asked size, and a close that never raises."""

from __future__ import annotations

import time
from typing import Any

from posestage.errors import SourceError, one_line
from posestage.sources.base import SourceFrame

__all__ = ["LiveReader"]


class LiveReader:
    """Mixed into a :class:`~posestage.sources.base.Source` that keeps an open PyAV container
    in ``_container`` and a generator of decoded items (a frame first) in ``_frames``."""

    _container: Any = None
    _frames: Any = None
    width: int
    height: int

    def _next_item(self, away: str, failed: str, ended: str) -> tuple | None:
        """The next decoded item; None once the source is closed. Raises :class:`SourceError`
        (``away`` while nothing is open, ``failed`` + FFmpeg's reason when reading fails,
        ``ended`` at the end) after closing the container, so ``recover`` starts clean."""
        import av

        if self._frames is None:
            raise SourceError(f"{self.name}: {away}")
        try:
            item = next(self._frames, None)
        except (av.FFmpegError, OSError) as err:
            self._close()
            if self.closed:
                return None
            raise SourceError(f"{self.name}: {failed} ({one_line(err)})") from None
        if item is None:
            self._close()
            if self.closed:
                return None
            raise SourceError(f"{self.name}: {ended}")
        return item

    def _picture(self, frame: Any, arrived: float) -> SourceFrame:
        """``frame`` as RGB at the source's size, captured at ``arrived`` (wall clock)."""
        image = frame.to_ndarray(format="rgb24", width=self.width, height=self.height)
        return SourceFrame(image, arrived, time.perf_counter(), self.width, self.height)

    def _close(self) -> None:
        container, self._container, self._frames = self._container, None, None
        if container is not None:
            try:
                container.close()
            except Exception:  # noqa: BLE001 - a gone device or dropped link may fail to close
                pass
