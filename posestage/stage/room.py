"""The empty background: a camera frame taken once nobody has been in view for a while.

For plugins that ask for privacy mode (``posestage_privacy``) and so receive ``frame.image``:
the anonymizer shows skeletons over it, the footfall map writes its heat map over it. Feed
every frame to :meth:`EmptyBackground.update`; once the frames have had nobody in them
(``frame.people`` empty, people in a tracking dropout count as present) for ``wait`` seconds
of *frame time* (``frame.timestamp``, so a replay or a test is deterministic), the newest such
frame is copied and kept — in memory only — until :meth:`EmptyBackground.reset`, or until a
frame comes without pixels (strict privacy: then nothing of the camera is kept at all).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Slack on the wait (s): frame times near 1.7e9 s carry rounding of a few 1e-7 s.
TOLERANCE = 1e-4


@dataclass
class EmptyBackground:
    """Locks an empty frame as the background. ``wait``: seconds of frame time with nobody."""

    wait: float = 2.0
    image: np.ndarray | None = None  # (H, W, 3) uint8 RGB once locked, a private copy
    empty_since: float | None = None  # frame time of the first empty frame of this stretch
    locked_at: float | None = None  # frame time of the frame that became the background
    mirrored: bool = False  # whether the locked frame was mirrored (``frame.mirrored``)

    @property
    def locked(self) -> bool:
        return self.image is not None

    def reset(self) -> None:
        """Forget the background and wait for an empty stretch again (recapture)."""
        self.image = None
        self.empty_since = None
        self.locked_at = None

    def update(self, frame) -> bool:
        """Look at one frame; True when it has just been locked as the background."""
        image = frame.image
        if image is None:
            # no pixels for the plugin that asked: strict privacy (``[stage] privacy = true``)
            # or a source without images. Nothing of the camera is kept then, not even this.
            self.reset()
            return False
        if self.image is not None:
            mirrored = bool(getattr(frame, "mirrored", False))
            if image.shape != self.image.shape or mirrored != self.mirrored:
                self.reset()  # another size, or the mirror switched: the old one no longer fits
            else:
                return False
        if frame.people:
            self.empty_since = None
            return False
        now = float(frame.timestamp)
        if self.empty_since is None or now < self.empty_since:  # (a looping replay restarts)
            self.empty_since = now
        if now - self.empty_since < self.wait - TOLERANCE:
            return False
        self.image = np.array(image, dtype=np.uint8, order="C", copy=True)
        self.locked_at = now
        self.mirrored = bool(getattr(frame, "mirrored", False))
        return True

    def waited(self, frame) -> float:
        """Seconds of frame time nobody has been in view, as of ``frame`` (0 if someone is)."""
        if self.empty_since is None:
            return 0.0
        return max(0.0, float(frame.timestamp) - self.empty_since)
