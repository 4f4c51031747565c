"""The model registry: numbered versions of trained models, with metadata and aliases.

    >>> from cogym.registry import ModelRegistry
    >>> registry = ModelRegistry("models/")                     # doctest: +SKIP
    >>> registry.save("cartpole-ppo", model, metrics={"mean_return": 500.0})  # doctest: +SKIP
    >>> model = registry.load("cartpole-ppo@latest")           # doctest: +SKIP

Trials use a version with ``implementation: sb3:cartpole-ppo@latest`` (or ``@3``,
``@champion``); see :mod:`cogym.registry.store` for the layout and its guarantees.
"""

from __future__ import annotations

from typing import Any

from cogym.registry.aliases import AliasChange
from cogym.registry.meta import FORMAT_VERSION, ModelVersion
from cogym.registry.names import LATEST, ModelRef, parse_ref
from cogym.registry.store import ModelRegistry, as_registry

__all__ = [
    "FORMAT_VERSION",
    "LATEST",
    "AliasChange",
    "ModelRef",
    "ModelRegistry",
    "ModelVersion",
    "RegistryCheckpointCallback",
    "as_registry",
    "parse_ref",
]


def __getattr__(name: str) -> Any:
    # the callback imports Stable-Baselines3 (and torch): only when asked for
    if name == "RegistryCheckpointCallback":
        from cogym.registry.callback import RegistryCheckpointCallback

        return RegistryCheckpointCallback
    raise AttributeError(f"module 'cogym.registry' has no attribute {name!r}")
