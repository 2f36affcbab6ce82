"""A known room for the several-cameras tests: a floor 12 m × 6 m, three cameras with known
views (homographies, floor metres → image pixels) that overlap by a metre and more, and
walkers whose floor position is a known function of time.

Camera ``a`` sees x in 0–5.2 m, ``b`` 3.8–9.2 m, ``c`` 7.8–12 m (all of y 0–6 m). Each camera
looks down the room at an angle: far rows are smaller and narrower (a real perspective).
"""

from __future__ import annotations

import math

import numpy as np

SIZE = (640, 480)
FLOOR_Y = (0.0, 6.0)
VIEWS = {"a": (0.0, 5.2), "b": (3.8, 9.2), "c": (7.8, 12.0)}


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3 × 3 homography taking four ``src`` points to four ``dst`` points (DLT)."""
    rows = []
    for (x, y), (u, v) in zip(src, dst):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    _, _, vt = np.linalg.svd(np.array(rows, float))
    h = vt[-1].reshape(3, 3)
    return h / h[2, 2]


def camera(name: str) -> np.ndarray:
    """Camera ``name``'s floor → image homography: its view's near edge (y = 0) spans the
    image's bottom, the far edge (y = 6) a narrower line higher up."""
    x0, x1 = VIEWS[name]
    src = np.array([[x0, 0.0], [x1, 0.0], [x1, 6.0], [x0, 6.0]])
    dst = np.array([[20.0, 470.0], [620.0, 470.0], [500.0, 170.0], [140.0, 170.0]])
    return homography(src, dst)


def project(h: np.ndarray, x: float, y: float) -> tuple[float, float]:
    p = h @ np.array([x, y, 1.0])
    return float(p[0] / p[2]), float(p[1] / p[2])


def sees(name: str, x: float, y: float) -> bool:
    x0, x1 = VIEWS[name]
    return x0 <= x <= x1 and FLOOR_Y[0] <= y <= FLOOR_Y[1]


def _bounce(t: float, start: float, low: float, high: float, speed: float) -> float:
    """Back and forth between ``low`` and ``high`` at ``speed`` m/s, from ``start``."""
    span = high - low
    d = (start - low + speed * t) % (2 * span)
    return low + (d if d <= span else 2 * span - d)


#: name → position (x, y) in metres at world time t (seconds since the start).
WALKERS = {
    # from camera a through b and back: hand-overs a → b → a, across the 3.8–5.2 m overlap
    "ann": lambda t: (_bounce(t, 1.0, 1.0, 8.6, 1.1), 2.0),
    # the other way, further back in the room
    "bob": lambda t: (_bounce(t, 8.4, 1.2, 8.4, 0.9), 4.2),
    # only camera c sees her (x in 9.6–11.6): she leaves the show when c dies
    "cid": lambda t: (_bounce(t, 10.0, 9.6, 11.6, 0.6), 3.0 + 0.8 * math.sin(t / 2)),
}


def truth(t: float) -> dict[str, tuple[float, float]]:
    return {name: walk(t) for name, walk in WALKERS.items()}
