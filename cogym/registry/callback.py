"""An SB3 callback that saves the model being trained into a registry every N steps."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from cogym.errors import InputError
from cogym.registry.meta import ModelVersion
from cogym.registry.names import check_name
from cogym.registry.store import ModelRegistry, as_registry

__all__ = ["RegistryCheckpointCallback"]


class RegistryCheckpointCallback(BaseCallback):
    """Save the model into ``registry`` as a new version of ``name`` every ``every`` steps.

    Each version's metrics hold ``num_timesteps`` and, once episodes have ended, the mean
    return and length of the recent ones (``episode_return_mean``, ``episode_length_mean``),
    plus whatever ``metrics(model)`` returns. A final version is saved when training ends
    (``save_at_end=False`` turns it off); ``keep_last`` prunes older versions as it goes.

    >>> from stable_baselines3 import PPO
    >>> registry = ModelRegistry("memory://doc-checkpoints")
    >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64)
    >>> callback = RegistryCheckpointCallback(registry, "cartpole-ppo", every=64)
    >>> _ = model.learn(128, callback=callback)
    >>> [v.metrics["num_timesteps"] for v in callback.saved]
    [64, 128]
    """

    def __init__(
        self,
        registry: ModelRegistry | str | os.PathLike[str],
        name: str,
        every: int,
        *,
        metrics: Callable[[Any], Mapping[str, Any]] | None = None,
        properties: Mapping[str, Any] | None = None,
        lineage: Mapping[str, Any] | None = None,
        keep_last: int | None = None,
        save_at_end: bool = True,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise InputError(f"every must be a whole number of steps, at least 1, got {every!r}")
        models = as_registry(registry)
        if models is None:
            raise InputError(
                "RegistryCheckpointCallback needs a registry (a ModelRegistry, directory or URL)"
            )
        self.registry = models
        self.name = check_name(name)
        self.every = every
        self.extra_metrics = metrics
        self.properties = dict(properties or {})
        self.lineage = dict(lineage or {})
        self.keep_last = keep_last
        self.save_at_end = save_at_end
        self.saved: list[ModelVersion] = []
        """The versions saved so far, oldest first."""
        self._saved_at = 0

    def _on_training_start(self) -> None:
        self._saved_at = self.num_timesteps

    def _on_step(self) -> bool:
        if self.num_timesteps // self.every > self._saved_at // self.every:
            self.save_now()
        return True

    def _on_training_end(self) -> None:
        if self.save_at_end and self.num_timesteps > self._saved_at:
            self.save_now()

    def save_now(self) -> ModelVersion:
        """Save the model as it is now; returns the new version."""
        metrics: dict[str, Any] = {"num_timesteps": int(self.num_timesteps)}
        episodes = getattr(self.model, "ep_info_buffer", None) or []
        if episodes:
            metrics["episode_return_mean"] = float(np.mean([e["r"] for e in episodes]))
            metrics["episode_length_mean"] = float(np.mean([e["l"] for e in episodes]))
        if self.extra_metrics is not None:
            metrics.update(self.extra_metrics(self.model))
        version = self.registry.save(
            self.name,
            self.model,
            metrics=metrics,
            properties=self.properties,
            lineage=self.lineage,
        )
        self.saved.append(version)
        self._saved_at = self.num_timesteps
        if self.keep_last is not None:
            self.registry.prune(self.name, self.keep_last)
        if self.verbose:
            print(f"saved {version.ref} at {self.num_timesteps} steps")
        return version
