"""Observations and actions of any recordable space as rows of float features, for networks.

Box and MultiBinary values are flattened; Discrete and MultiDiscrete values become one-hot
vectors; Dict and Tuple spaces concatenate their parts in the order of
:func:`cogym.datastore.format.spaces.leaves`. Values come nested as ``datastore.arrays()`` gives
them (arrays, or dicts of arrays for Dict and Tuple spaces), many rows at once.

    >>> from gymnasium import spaces
    >>> import numpy as np
    >>> features(spaces.Discrete(3), np.array([0, 2])).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from cogym.datastore.format import spaces as leafs
from cogym.errors import InputError

__all__ = ["feature_size", "features", "row_features", "stacked"]


def feature_size(space: spaces.Space) -> int:
    """How many features a value of ``space`` becomes."""
    if isinstance(space, spaces.Dict):
        return sum(feature_size(s) for s in space.spaces.values())
    if isinstance(space, spaces.Tuple):
        return sum(feature_size(s) for s in space.spaces)
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.MultiDiscrete):
        return int(np.sum(space.nvec))
    if isinstance(space, (spaces.Box, spaces.MultiBinary)):
        return int(np.prod(space.shape))
    raise InputError(
        f"cannot learn from values of {space}: features are made of Box, Discrete, "
        "MultiDiscrete, MultiBinary, and Dict and Tuple of those"
    )


def features(space: spaces.Space, values: Any) -> np.ndarray:
    """``values`` (rows of ``space``, nested as ``arrays()`` gives them) as a float32 matrix."""
    parts = list(_parts(space, values))
    return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]


def stacked(space: spaces.Space, values: Sequence[Any]) -> Any:
    """Single values of ``space`` (as an env gives them) nested as ``arrays()`` gives rows."""
    return leafs.nest(space, leafs.stack(space, values))


def row_features(space: spaces.Space) -> Callable[[Any], np.ndarray]:
    """A function of one value of ``space`` (as an env gives it) to its features, a float32
    vector equal to ``features(space, stacked(space, [value]))[0]``, quick for Box, MultiBinary
    and Discrete spaces (a network rating one tick at a time calls it every tick)."""
    if isinstance(space, (spaces.Box, spaces.MultiBinary)):
        return lambda value: np.asarray(value, np.float32).reshape(-1)
    if isinstance(space, spaces.Discrete):
        n, start = int(space.n), int(space.start)

        def one_hot(value: Any) -> np.ndarray:
            out = np.zeros(n, np.float32)
            out[int(value) - start] = 1.0
            return out

        return one_hot
    feature_size(space)  # refuses spaces without features now
    return lambda value: features(space, stacked(space, [value]))[0]


def _parts(space: spaces.Space, values: Any) -> Any:
    if isinstance(space, spaces.Dict):
        for key, sub in space.spaces.items():
            yield from _parts(sub, values[key])
        return
    if isinstance(space, spaces.Tuple):
        for i, sub in enumerate(space.spaces):
            yield from _parts(sub, values[i])
        return
    array = np.asarray(values)
    rows = array.shape[0] if array.ndim else 1
    if isinstance(space, spaces.Discrete):
        out = np.zeros((rows, int(space.n)), np.float32)
        out[np.arange(rows), array.reshape(rows).astype(np.int64) - int(space.start)] = 1.0
        yield out
    elif isinstance(space, spaces.MultiDiscrete):
        flat = array.reshape(rows, -1).astype(np.int64) - np.asarray(space.start).reshape(1, -1)
        nvec = np.asarray(space.nvec).reshape(-1)
        blocks = []
        for k, n in enumerate(nvec.tolist()):
            block = np.zeros((rows, int(n)), np.float32)
            block[np.arange(rows), flat[:, k]] = 1.0
            blocks.append(block)
        yield np.concatenate(blocks, axis=1)
    else:
        feature_size(space)  # refuses spaces without features
        yield array.reshape(rows, -1).astype(np.float32)
