"""Hypothesis strategies for Gymnasium spaces (every kind, nested)."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from hypothesis import strategies as st

BOX_DTYPES = [
    np.float16,
    np.float32,
    np.float64,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
]

shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


@st.composite
def boxes(draw) -> spaces.Box:
    dtype = np.dtype(draw(st.sampled_from(BOX_DTYPES)))
    shape = draw(shapes)
    if dtype.kind == "f":
        low = draw(st.floats(-100, 0, allow_nan=False, width=16))
        high = low + draw(st.floats(0.5, 100, allow_nan=False, width=16))
    else:
        info = np.iinfo(dtype)
        low = draw(st.integers(max(int(info.min), -100), 0))
        high = low + draw(st.integers(1, 100))
    return spaces.Box(low=low, high=high, shape=shape, dtype=dtype)


discretes = st.builds(
    lambda n, start: spaces.Discrete(n, start=start), st.integers(1, 10), st.integers(-5, 5)
)
multi_discretes = st.builds(
    lambda nvec, start: spaces.MultiDiscrete(nvec, start=[start] * len(nvec)),
    st.lists(st.integers(1, 6), min_size=1, max_size=4),
    st.integers(-3, 3),
)
multi_binaries = st.one_of(
    st.integers(1, 6), st.lists(st.integers(1, 3), min_size=1, max_size=2)
).map(spaces.MultiBinary)
leaves = st.one_of(boxes(), discretes, multi_discretes, multi_binaries)
keys = st.text("abcdefgh", min_size=1, max_size=4)


def _nest(children):
    return st.one_of(
        st.dictionaries(keys, children, min_size=1, max_size=3).map(spaces.Dict),
        st.lists(children, min_size=1, max_size=3).map(spaces.Tuple),
    )


any_space = st.recursive(leaves, _nest, max_leaves=6)
"""Every space kind: Box of each dtype, Discrete with a start, MultiDiscrete, MultiBinary,
Dict, Tuple, nested."""
