"""Stable-Baselines3 policy -> actor."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
from gymnasium import spaces

from cogym.directory import import_object
from cogym.errors import ImplementationError, SpaceMismatchError
from cogym.trust import PICKLE_WARNING, warn_pickled_code

if TYPE_CHECKING:
    from cogym.environment import ActorClass
    from cogym.trial.context import TrialContext

__all__ = ["PICKLE_WARNING", "SB3Actor", "load_sb3_model"]

ALGORITHMS = ("PPO", "A2C", "DQN", "SAC", "TD3", "DDPG")


def detect_algorithm(path: str | Path | BinaryIO) -> str:
    """The SB3 algorithm that saved ``path``, read from the file's own JSON parameters."""
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise ImplementationError(f"{path} is not a Stable-Baselines3 model file: {exc}") from None
    keys = set(data)
    if "clip_range" in keys:
        return "PPO"
    if "exploration_final_eps" in keys:
        return "DQN"
    if "target_entropy" in keys:
        return "SAC"
    if "policy_delay" in keys:
        return "TD3"
    if "gae_lambda" in keys:
        return "A2C"
    raise ImplementationError(
        f"cannot tell which algorithm saved {path}; name it in the actor's config, for instance "
        "config: {algorithm: PPO} (or 'module:Class' for other libraries such as sb3_contrib)"
    )


def algorithm_class(name: str) -> Any:
    """The SB3 class for ``PPO``... or ``<module>:<Class>``."""
    if ":" in name:
        return import_object(name, "algorithm")
    import stable_baselines3

    if name.upper() not in ALGORITHMS:
        raise ImplementationError(
            f"unknown algorithm {name!r}; use one of {', '.join(ALGORITHMS)} or '<module>:<Class>'"
        )
    return getattr(stable_baselines3, name.upper())


def load_sb3_model(
    path: str | Path | BinaryIO, algorithm: str | None = None, device: str = "cpu"
) -> Any:
    """Load an SB3 model from a file (or a seekable binary file object such as ``BytesIO``),
    finding its algorithm if not given."""
    if isinstance(path, (str, os.PathLike)):
        path = Path(path)
        if not path.is_file():
            raise ImplementationError(f"no SB3 model file at {path}")
        warn_pickled_code(path.read_bytes())
    else:
        warn_pickled_code(path.getvalue() if isinstance(path, io.BytesIO) else None)
    if algorithm is None:
        algorithm = detect_algorithm(path)
        if not isinstance(path, Path):
            path.seek(0)
    return algorithm_class(algorithm).load(path, device=device)


class SB3Actor:
    """An SB3 model (or policy) acting in a trial through its ``predict``.

    ``deterministic=False`` samples from the policy, seeded by the trial.

    >>> from stable_baselines3 import PPO
    >>> actor = SB3Actor(PPO("MlpPolicy", "CartPole-v1"))
    >>> actor.act(np.zeros(4, dtype=np.float32)) in (0, 1)
    True
    """

    def __init__(
        self, model: Any, *, deterministic: bool = True, source: str | None = None
    ) -> None:
        if not callable(getattr(model, "predict", None)):
            raise TypeError(
                f"SB3Actor needs an SB3 model or policy with predict(), got {type(model).__name__}"
            )
        self.model = model
        self.deterministic = bool(deterministic)
        self.source = source
        self.observation_space: spaces.Space = model.observation_space
        self.action_space: spaces.Space = model.action_space
        self._scalar = isinstance(self.action_space, spaces.Discrete)

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        deterministic: bool = True,
        algorithm: str | None = None,
        device: str = "cpu",
    ) -> SB3Actor:
        """Load a model saved with ``model.save(path)``."""
        model = load_sb3_model(path, algorithm, device)
        return cls(model, deterministic=deterministic, source=str(path))

    def check_spaces(self, actor_class: ActorClass) -> None:
        """Raise :class:`~cogym.errors.SpaceMismatchError` unless the model fits the actor class."""
        where = f" (model {self.source})" if self.source else ""
        if actor_class.observation_space != self.observation_space:
            raise SpaceMismatchError(
                f"the SB3 model{where} observes {self.observation_space}, but actor class "
                f"{actor_class.name!r} observes {actor_class.observation_space}"
            )
        if actor_class.action_space != self.action_space:
            raise SpaceMismatchError(
                f"the SB3 model{where} acts in {self.action_space}, but actor class "
                f"{actor_class.name!r} acts in {actor_class.action_space}"
            )

    def reset(self, context: TrialContext) -> None:
        if not self.deterministic and context.seed is not None:
            import torch

            torch.manual_seed(context.seed)

    def act(self, observation: Any) -> Any:
        action, _ = self.model.predict(observation, deterministic=self.deterministic)
        if self._scalar:
            return np.int64(action)
        return action

    def __repr__(self) -> str:
        what = self.source or type(self.model).__name__
        return f"SB3Actor({what}, deterministic={self.deterministic})"
