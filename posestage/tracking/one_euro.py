"""The One Euro filter (Casiez, Roussel & Vogel, CHI 2012): low jitter at rest, low lag in motion.

A first-order low-pass filter whose cutoff frequency rises with the signal's speed::

    cutoff = min_cutoff + beta * |speed|

At rest the cutoff is ``min_cutoff`` (Hz): jitter is smoothed away. When the signal moves fast
the cutoff goes up, so the output follows with little lag. ``d_cutoff`` (Hz) is the cutoff of
the low-pass filter applied to the speed estimate itself.

Tuning (from the paper): set ``beta = 0`` and lower ``min_cutoff`` until jitter at rest is
acceptable; then raise ``beta`` until fast movements no longer lag. ``beta`` is in units of
1 / (signal unit): the tracker filters keypoints in *image heights* (1.0 = the full image
height), so there a speed of 1 means one image height per second.

Time steps come from timestamps, never from frame counts, so a replayed pose stream with the
same timestamps gives exactly the same output, whatever the frame rate of the replay.
"""

from __future__ import annotations

import math

import numpy as np

#: The time step (s) used when a timestamp does not move forward and no earlier step is known.
DEFAULT_DT = 1.0 / 30.0


def smoothing_factor(dt: float, cutoff: float | np.ndarray) -> float | np.ndarray:
    """Exponential smoothing factor ``alpha`` of a first-order low-pass at ``cutoff`` Hz over ``dt`` s."""
    r = (2.0 * math.pi * dt) * cutoff
    return r / (r + 1.0)


class OneEuroFilter:
    """A One Euro filter over a numpy array of any shape, vectorised.

    Each call filters one sample ``x`` taken at time ``t`` (seconds) and returns the filtered
    array (float64, same shape). For arrays with two or more dimensions the last axis holds the
    coordinates of one point (e.g. keypoints ``(17, 2)``): the speed that opens the cutoff is
    the length of each point's velocity, so a point moving diagonally is treated like one
    moving along an axis. For 0-d and 1-d arrays every element is its own scalar signal.

    A timestamp that does not move forward (a repeated frame, a clock step back) reuses the
    previous time step instead of dividing by zero.
    """

    __slots__ = ("min_cutoff", "beta", "d_cutoff", "_x", "_dx", "_t", "_dt")

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0):
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        if not (self.min_cutoff > 0 and self.d_cutoff > 0 and self.beta >= 0):
            raise ValueError(
                "OneEuroFilter needs min_cutoff > 0, d_cutoff > 0 and beta >= 0 "
                f"(got min_cutoff={min_cutoff}, beta={beta}, d_cutoff={d_cutoff})"
            )
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t = 0.0
        self._dt = DEFAULT_DT

    @property
    def started(self) -> bool:
        """True once the filter has seen a sample (False again after :meth:`reset`)."""
        return self._x is not None

    def reset(self) -> None:
        """Forget the history: the next sample passes through unchanged."""
        self._x = None
        self._dx = None
        self._dt = DEFAULT_DT

    def __call__(self, x: np.ndarray | float, t: float) -> np.ndarray:
        """Filter sample ``x`` taken at time ``t`` (s); returns a new float64 array."""
        x = np.array(x, dtype=np.float64)  # a copy: the caller may reuse its buffer
        x_prev = self._x
        if x_prev is None or x_prev.shape != x.shape:
            self._x = x
            self._dx = np.zeros_like(x)
            self._t = float(t)
            return x.copy()

        dt = float(t) - self._t
        if dt > 0.0 and math.isfinite(dt):
            self._dt = dt
            self._t = float(t)
        else:
            dt = self._dt  # time did not advance: reuse the last step
        # Speed, itself low-passed at d_cutoff.
        a_d = smoothing_factor(dt, self.d_cutoff)
        dx = self._dx + a_d * ((x - x_prev) / dt - self._dx)
        if x.ndim >= 2:
            speed = np.sqrt(np.einsum("...i,...i->...", dx, dx))[..., None]
        else:
            speed = np.abs(dx)
        a = smoothing_factor(dt, self.min_cutoff + self.beta * speed)
        out = x_prev + a * (x - x_prev)
        self._x = out
        self._dx = dx
        return out.copy()
