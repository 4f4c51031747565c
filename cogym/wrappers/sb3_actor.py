"""Stable-Baselines3 policy -> actor."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
from gymnasium import spaces

from cogym.directory import import_object
from cogym.errors import ImplementationError, SpaceMismatchError
from cogym.lockstep import ask
from cogym.spaces import sb3_observes
from cogym.trust import PICKLE_WARNING, warn_pickled_code
from cogym.wrappers.sb3_batch import act_together, content_key, shared_model

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
    path: str | Path | BinaryIO,
    algorithm: str | None = None,
    device: str = "cpu",
    *,
    source: str | None = None,
) -> Any:
    """Load an SB3 model from a file (or a seekable binary file object such as ``BytesIO``),
    finding its algorithm if not given; ``source`` names it in messages."""
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
    try:
        return algorithm_class(algorithm).load(path, device=device)
    except (pickle.UnpicklingError, ImportError, ValueError, KeyError) as exc:
        if not _unpickling_failed(exc):
            raise
        raise ImplementationError(
            f"the SB3 model {source or path} cannot be loaded here: the Python objects pickled "
            f"in it do not unpickle ({type(exc).__name__}: {str(exc)[:200]}). It was saved with "
            f"{_saved_with(path)}; this is {_versions_here()}. Load it with the versions it was "
            "saved with and save it again here, or install those versions"
        ) from exc


def _unpickling_failed(exc: Exception) -> bool:
    """Whether SB3's load failed on the pickled objects of the file (spaces, schedules)."""
    if isinstance(exc, (pickle.UnpicklingError, ImportError)):
        return True
    if isinstance(exc, KeyError):  # SB3 warned that a space did not unpickle, then lacks it
        return "were not given" in str(exc)
    return "pickle" in str(exc)


def _saved_with(path: Path | BinaryIO) -> str:
    """The versions in the file's system_info.txt (what SB3 saved with it)."""
    try:
        if not isinstance(path, Path):
            path.seek(0)
        with zipfile.ZipFile(path) as archive:
            text = archive.read("system_info.txt").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return "versions it does not record"
    wanted = ("Python", "Stable-Baselines3", "Gymnasium", "Cloudpickle")
    found = dict(line.lstrip("- ").split(": ", 1) for line in text.splitlines() if ": " in line)
    return ", ".join(f"{k} {found[k].strip()}" for k in wanted if k in found) or "unknown versions"


def _versions_here() -> str:
    import platform

    import cloudpickle
    import gymnasium
    import stable_baselines3

    return (
        f"Python {platform.python_version()}, Stable-Baselines3 {stable_baselines3.__version__}, "
        f"Gymnasium {gymnasium.__version__}, Cloudpickle {cloudpickle.__version__}"
    )


class SB3Actor:
    """An SB3 model (or policy) acting in a trial through its ``predict``.

    ``deterministic=False`` samples from the policy's action distribution with a random
    stream of the actor's own, seeded by the trial (the actor's seed), so a trial's actions
    depend on its seed only. In a :class:`~cogym.lockstep.Lockstep` (``TrialVecEnv``,
    ``Orchestrator.run_many(..., batch=K)``) the actors of one model act in one batched
    forward pass per tick, with the same actions (see :mod:`cogym.wrappers.sb3_batch`).

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
        self._generator: Any = None
        self.batch_key = (id(model), self.deterministic)
        """Actors of the same model object and the same ``deterministic`` act together."""

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
        path = Path(path)
        if not path.is_file():
            raise ImplementationError(f"no SB3 model file at {path}")
        key = content_key(path.read_bytes(), algorithm, device)
        model = shared_model(key, lambda: load_sb3_model(path, algorithm, device))
        return cls(model, deterministic=deterministic, source=str(path))

    def check_spaces(self, actor_class: ActorClass) -> None:
        """Raise :class:`~cogym.errors.SpaceMismatchError` unless the model fits the actor class."""
        where = f" (model {self.source})" if self.source else ""
        if not sb3_observes(self.observation_space, actor_class.observation_space):
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
        if not self.deterministic:
            self._generator = _generator(context.seed)

    def act(self, observation: Any) -> Any:
        return ask(self, observation)

    def act_together(self, actors: list[SB3Actor], observations: list[Any]) -> list[Any]:
        """The actions of ``actors`` (all of this actor's ``batch_key``) for their
        observations, from one forward pass of the model."""
        generators = None
        if not self.deterministic:
            generators = []
            for actor in actors:
                if actor._generator is None:
                    actor._generator = _generator(None)
                generators.append(actor._generator)
        actions = act_together(self.model, observations, generators)
        if self._scalar:
            return list(np.asarray(actions, dtype=np.int64).reshape(-1))
        return list(actions)

    def __repr__(self) -> str:
        what = self.source or type(self.model).__name__
        return f"SB3Actor({what}, deterministic={self.deterministic})"


def _generator(seed: int | None) -> Any:
    """A CPU ``torch.Generator`` seeded with ``seed`` (from the OS without one)."""
    import torch

    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator
