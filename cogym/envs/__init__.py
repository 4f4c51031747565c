"""Small environments of cogym's own, for examples, tests and benchmarks.

- :mod:`cogym.envs.rendezvous_v0`: PettingZoo parallel env; walkers that reach home leave.
- :mod:`cogym.envs.nim_v0`: PettingZoo AEC env; two players take turns, with an action mask.
- :class:`cogym.envs.probe.ProbeEnv`: Gymnasium env with configurable spaces, step cost and
  failure tick, registered as ``cogym/Probe-v0``.
"""

from __future__ import annotations

import gymnasium as gym

from cogym.envs.probe import ProbeEnv

if "cogym/Probe-v0" not in gym.registry:
    gym.register("cogym/Probe-v0", entry_point="cogym.envs.probe:ProbeEnv")

__all__ = ["ProbeEnv"]
