"""Seeds: one integer per trial, from which every other seed of the trial is derived.

Derivation is a fixed integer hash, so the same spec seed gives the same trial seeds whatever
process or machine runs the trial.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

__all__ = ["derive_seed", "trial_seed", "seed_space"]

_MASK64 = (1 << 64) - 1
_SEED_LIMIT = 1 << 63


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def derive_seed(seed: int, *stream: int) -> int:
    """A seed in ``[0, 2**63)`` derived from ``seed`` and a stream of integers.

    >>> derive_seed(0, 1) == derive_seed(0, 1) != derive_seed(0, 2)
    True
    """
    x = seed & _MASK64
    for s in stream:
        x = _splitmix64(x ^ ((s * 0xD1B54A32D192ED03) & _MASK64))
    return x % _SEED_LIMIT


def trial_seed(spec_seed: int, index: int) -> int:
    """The seed of trial number ``index`` of a run whose spec has seed ``spec_seed``."""
    return derive_seed(spec_seed, 0x7431A1, index)


_INCREMENT = 0xDA3E39CB94B95BDB5851F42D4C957F2D | 1
_SIMPLE_SPACES = (
    spaces.Box,
    spaces.Discrete,
    spaces.MultiDiscrete,
    spaces.MultiBinary,
    spaces.Text,
)


def seed_space(space: spaces.Space, seed: int) -> None:
    """Seed a space's sampler, as ``space.seed(seed)`` but cheap enough to do every trial.

    Simple spaces get the state of their PCG64 generator set directly from ``seed``; composite
    spaces go through Gymnasium's own ``space.seed``.
    """
    if type(space) not in _SIMPLE_SPACES:
        space.seed(int(seed))
        return
    generator = space.np_random
    bit_generator = generator.bit_generator
    if not isinstance(bit_generator, np.random.PCG64):
        space.seed(int(seed))
        return
    # seeds reaching here come from derive_seed, already mixed: they place the generator in
    # one fixed stream, far apart
    state = ((seed & _MASK64) << 64) | ((seed * 0x9E3779B97F4A7C15) & _MASK64)
    increment = _INCREMENT
    bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": state, "inc": increment},
        "has_uint32": 0,
        "uinteger": 0,
    }
