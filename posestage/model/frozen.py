"""Arrays nobody can write: :func:`frozen_array`, what :class:`Person` and :class:`PoseFrame`
hold.

A read-only numpy view of a writeable array is not enough: whoever keeps the array can still
write it, and ``setflags(write=True)`` makes a view writeable again when its owner is. An array
made here is a copy over immutable ``bytes``: ``flags.writeable`` is False and cannot be set
True again, ``np.asarray`` of it is itself, and nobody holds a writeable array sharing its
memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["frozen_array", "is_frozen"]


def is_frozen(array: Any) -> bool:
    """True when ``array`` is an ndarray over immutable bytes (nothing can write it)."""
    if not isinstance(array, np.ndarray) or array.flags.writeable:
        return False
    owner = array.base
    while isinstance(owner, np.ndarray):
        owner = owner.base
    return isinstance(owner, bytes)


def frozen_array(value: Any, dtype: Any = None) -> np.ndarray:
    """``value`` as an array nobody can write: itself when it already is one (of ``dtype``),
    else a copy over immutable bytes (same shape; ``dtype`` if given, else its own)."""
    if is_frozen(value) and (dtype is None or value.dtype == np.dtype(dtype)):
        return value
    array = np.asarray(value, dtype=dtype)
    if array.dtype.hasobject:
        raise TypeError(f"an array of Python objects cannot be frozen ({array.dtype})")
    return np.ndarray(array.shape, array.dtype, buffer=array.tobytes())
