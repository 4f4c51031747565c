"""cogym: humans and AI agents acting together in trials, in the Gymnasium / PettingZoo /
Stable-Baselines3 world.

>>> from cogym import TrialSpec, Orchestrator
"""

from __future__ import annotations

from cogym.orchestrator import Orchestrator
from cogym.registry import ModelRegistry
from cogym.spec import ActorSpec, EnvironmentSpec, TrialSpec
from cogym.trial import Message, Reward, TrialResult, TrialState

__version__ = "0.1.0"

__all__ = [
    "ActorSpec",
    "EnvironmentSpec",
    "Message",
    "ModelRegistry",
    "Orchestrator",
    "Reward",
    "TrialResult",
    "TrialSpec",
    "TrialState",
    "__version__",
]
