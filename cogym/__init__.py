"""cogym: humans and AI agents acting together in trials, in the Gymnasium / PettingZoo /
Stable-Baselines3 world.

>>> from cogym import TrialSpec, Orchestrator
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cogym.orchestrator import Orchestrator
from cogym.spec import ActorSpec, EnvironmentSpec, TrialSpec
from cogym.trial import Message, Reward, TrialResult, TrialState

if TYPE_CHECKING:
    from cogym.datastore import HDF5Datastore
    from cogym.evaluation import evaluate
    from cogym.registry import ModelRegistry

__version__ = "0.1.0"

__all__ = [
    "ActorSpec",
    "EnvironmentSpec",
    "HDF5Datastore",
    "Message",
    "ModelRegistry",
    "Orchestrator",
    "Reward",
    "TrialResult",
    "TrialSpec",
    "TrialState",
    "__version__",
    "evaluate",
]


def __getattr__(name: str) -> Any:
    # imported on first use: running trials needs neither h5py nor the model registry
    if name == "HDF5Datastore":
        from cogym.datastore import HDF5Datastore

        return HDF5Datastore
    if name == "ModelRegistry":
        from cogym.registry import ModelRegistry

        return ModelRegistry
    if name == "evaluate":
        from cogym.evaluation import evaluate

        return evaluate
    raise AttributeError(f"module 'cogym' has no attribute {name!r}")
