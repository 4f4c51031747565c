"""Behaviour cloning: an SB3 policy trained by supervised learning on recorded trials.

    >>> from cogym.learn import behavior_cloning
    >>> # model = behavior_cloning("trials/", actor="player", tags={"who": "expert"}, epochs=30)
    >>> # model.save("clone.zip"); model.set_env(env); model.learn(50_000)   # fine-tune with PPO

The policy is an SB3 actor-critic policy (the one PPO and A2C train) chosen for the actor's
spaces: ``MlpPolicy`` or ``MultiInputPolicy`` for Dict observations, with a categorical,
multi-categorical, Bernoulli or Gaussian action head. Training minimises the negative
log-likelihood of the recorded actions, on a shuffled split of the rows; a held-out share of
the trials measures validation loss and accuracy (or mean squared error for continuous
actions), and training stops early when the validation loss stops improving, keeping the best
weights.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from cogym.errors import InputError, SpaceMismatchError
from cogym.learn.rows import Rows, recorded_rows, take

__all__ = ["ALGORITHMS", "EpochStats", "behavior_cloning", "check_policy_spaces", "fit_policy"]

ALGORITHMS = ("ppo", "a2c")


@dataclass(frozen=True)
class EpochStats:
    """What one epoch of cloning measured."""

    epoch: int
    train_loss: float
    validation_loss: float
    validation_score: float
    """Accuracy of the policy's deterministic action (discrete actions), or its mean squared
    error against the recorded action (continuous actions)."""
    score_name: str
    seconds: float
    best: bool


class _Spaces(gym.Env):
    """An env that only carries spaces, so that an SB3 algorithm can be built without one."""

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space) -> None:
        self.observation_space = observation_space
        self.action_space = action_space

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        raise RuntimeError("this env only carries spaces; give the model a real env with set_env()")

    def step(self, action: Any):
        raise RuntimeError("this env only carries spaces; give the model a real env with set_env()")


def check_policy_spaces(
    observation_space: spaces.Space, action_space: spaces.Space, actor: str
) -> None:
    """Raise :class:`~cogym.errors.SpaceMismatchError` unless an SB3 policy fits the spaces."""
    supported = (spaces.Discrete, spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)
    if not isinstance(action_space, supported):
        raise SpaceMismatchError(
            f"actor {actor!r} acts in {action_space}; SB3 policies need Discrete, Box, "
            "MultiDiscrete or MultiBinary actions"
        )
    starts = getattr(action_space, "start", 0)
    if np.any(np.asarray(starts) != 0):
        raise SpaceMismatchError(
            f"actor {actor!r} acts in {action_space}, which starts at {starts}; SB3 policies "
            "only produce actions starting at 0"
        )
    if isinstance(observation_space, spaces.Tuple) or (
        isinstance(observation_space, spaces.Dict)
        and any(
            isinstance(s, (spaces.Dict, spaces.Tuple)) for s in observation_space.spaces.values()
        )
    ):
        raise SpaceMismatchError(
            f"actor {actor!r} observes {observation_space}; SB3 policies take Box, Discrete, "
            "MultiDiscrete, MultiBinary or a flat Dict of those"
        )
    parts = (observation_space.spaces.items() if isinstance(observation_space, spaces.Dict)
             else [(None, observation_space)])  # fmt: skip
    for key, part in parts:
        if isinstance(part, (spaces.Discrete, spaces.MultiDiscrete)) and np.any(part.start != 0):
            where = "" if key is None else f" (its {key!r}: {part})"
            raise SpaceMismatchError(
                f"actor {actor!r} observes {observation_space}{where}, which starts at "
                f"{part.start}; SB3 policies one-hot such observations from 0 (a value of n or "
                "more fails), so shift them to start at 0 in the environment (a Gymnasium "
                "ObservationWrapper) before recording"
            )


def _split(trial_count: int, validation: float, seed: int | None) -> np.ndarray:
    """Which trials are held out (a boolean per trial)."""
    held = np.zeros(trial_count, dtype=bool)
    if validation <= 0 or trial_count < 2:
        return held
    count = max(1, round(validation * trial_count))
    count = min(count, trial_count - 1)
    order = np.random.default_rng(seed).permutation(trial_count)
    held[order[:count]] = True
    return held


def _rows(offsets: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    return np.concatenate(
        [np.arange(offsets[k], offsets[k + 1]) for k in np.flatnonzero(chosen)]
        or [np.zeros(0, dtype=np.int64)]
    )


def behavior_cloning(
    datastore: Any,
    actor: str,
    filter: Any = None,
    *,
    algo: str = "ppo",
    epochs: int = 30,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    validation: float = 0.1,
    patience: int = 5,
    entropy_weight: float = 0.0,
    policy_kwargs: Mapping[str, Any] | None = None,
    seed: int | None = 0,
    device: str = "cpu",
    on_epoch: Callable[[EpochStats], None] | None = None,
    notes: Mapping[str, Any] | None = None,
    labels: str | None = None,
    **criteria: Any,
) -> Any:
    """Train an SB3 ``algo`` model to act as ``actor`` did in the recorded trials.

    ``datastore`` is an :class:`~cogym.datastore.HDF5Datastore` or its directory; ``filter``
    and ``criteria`` choose trials as in :meth:`HDF5Datastore.trials` (tags, returns,
    implementation, ...). ``notes`` keeps only the ticks the actor annotated with a note holding
    those values: ``notes={"by": "human"}`` learns from a person's corrections in teacher mode.
    ``labels`` learns, instead of the action taken, the action each tick's note holds under
    that key, and keeps only the ticks whose note has one: ``labels="label"`` learns the
    teacher's labels of :func:`~cogym.learn.dagger` trials.
    ``on_epoch`` receives an :class:`EpochStats` after every epoch.
    Returns the SB3 model (``model.cogym_trial_ids`` names the trials it learnt from and
    ``model.cogym_rows`` counts the rows);
    give it an env with ``set_env`` to fine-tune it with ``learn``.
    """
    _check_options(algo, epochs, batch_size, patience, validation)
    from cogym.datastore import HDF5Datastore
    from cogym.datastore.read.query import as_filter

    store = datastore if isinstance(datastore, HDF5Datastore) else HDF5Datastore(datastore)
    data = recorded_rows(store, actor, as_filter(filter, criteria), notes, labels)
    return fit_policy(
        data,
        actor=actor,
        algo=algo,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        validation=validation,
        patience=patience,
        entropy_weight=entropy_weight,
        policy_kwargs=policy_kwargs,
        seed=seed,
        device=device,
        on_epoch=on_epoch,
    )


def fit_policy(
    rows: Rows,
    *,
    actor: str = "actor",
    algo: str = "ppo",
    epochs: int = 30,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    validation: float = 0.1,
    patience: int = 5,
    entropy_weight: float = 0.0,
    policy_kwargs: Mapping[str, Any] | None = None,
    seed: int | None = 0,
    device: str = "cpu",
    on_epoch: Callable[[EpochStats], None] | None = None,
    min_updates: int = 0,
) -> Any:
    """Train an SB3 ``algo`` model to give ``rows.actions`` for ``rows.observations``.

    What :func:`behavior_cloning` does once it has read its rows; call it directly to learn
    from rows gathered otherwise (:func:`cogym.learn.rows.concatenate` joins several sets).
    Options are those of :func:`behavior_cloning`; ``actor`` names the rows in messages.
    ``min_updates`` raises the number of epochs so that training makes at least that many
    minibatch updates (small data sets need more epochs); early stopping still applies.
    """
    _check_options(algo, epochs, batch_size, patience, validation)
    if isinstance(min_updates, bool) or not isinstance(min_updates, int) or min_updates < 0:
        raise InputError(f"min_updates must be an integer >= 0, got {min_updates!r}")
    check_policy_spaces(rows.observation_space, rows.action_space, actor)

    import torch

    threads = torch.get_num_threads()
    validating = torch.distributions.Distribution._validate_args
    # small networks and batches: one thread is fastest, and fair to others
    torch.set_num_threads(1)
    # the targets were checked against their space when recorded: skip torch's checks
    torch.distributions.Distribution.set_default_validate_args(False)
    try:
        return _train(
            torch,
            rows,
            algo,
            epochs,
            batch_size,
            learning_rate,
            validation,
            patience,
            entropy_weight,
            policy_kwargs,
            seed,
            device,
            on_epoch,
            min_updates,
        )
    finally:
        torch.set_num_threads(threads)
        torch.distributions.Distribution.set_default_validate_args(validating)


def _check_options(
    algo: str, epochs: Any, batch_size: Any, patience: Any, validation: float
) -> None:
    if algo.lower() not in ALGORITHMS:
        raise InputError(
            f"algo {algo!r} is not supported for cloning; use one of {', '.join(ALGORITHMS)}"
        )
    for name, value, low in (
        ("epochs", epochs, 1),
        ("batch_size", batch_size, 1),
        ("patience", patience, 1),
    ):
        if not isinstance(value, int) or value < low:
            raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
    if not 0 <= validation < 1:
        raise InputError(f"validation must be a share in [0, 1), got {validation!r}")


def _new_model(
    data: Rows,
    algo: str,
    learning_rate: float,
    policy_kwargs: Mapping[str, Any] | None,
    seed: int | None,
    device: str,
) -> Any:
    """A fresh SB3 ``algo`` model for the rows' spaces."""
    from stable_baselines3 import A2C, PPO
    from stable_baselines3.common.utils import set_random_seed

    if seed is not None:
        set_random_seed(seed)
    policy = "MultiInputPolicy" if isinstance(data.observation_space, spaces.Dict) else "MlpPolicy"
    cls = {"ppo": PPO, "a2c": A2C}[algo.lower()]
    return cls(
        policy,
        _Spaces(data.observation_space, data.action_space),
        policy_kwargs=dict(policy_kwargs or {}),
        learning_rate=learning_rate,
        seed=seed,
        device=device,
        verbose=0,
    )


class _Objective:
    """The loss of the policy ``net`` on rows of ``data``, and its validation score."""

    def __init__(self, torch: Any, net: Any, data: Rows, entropy_weight: float) -> None:
        from stable_baselines3.common.utils import obs_as_tensor

        self.torch = torch
        self.net = net
        self.action_space = data.action_space
        self.entropy_weight = entropy_weight
        self.observations = obs_as_tensor(data.observations, net.device)
        actions = torch.as_tensor(data.actions, device=net.device)
        if isinstance(data.action_space, (spaces.Box, spaces.MultiBinary)):
            self.actions = actions.float()
        else:
            self.actions = actions.long()
        self.discrete = not isinstance(data.action_space, spaces.Box)
        self.categorical = isinstance(data.action_space, spaces.Discrete)
        self.score_name = "accuracy" if self.discrete else "mse"

    def loss(self, index: Any) -> tuple[Any, Any]:
        """Negative log-likelihood of the target actions (minus an entropy bonus if asked).

        Only the action head runs: the value head plays no part in cloning. For a categorical
        head that is the cross-entropy of its logits, computed without a distribution object.
        """
        torch, net = self.torch, self.net
        obs = take(self.observations, index)
        if self.categorical:
            features = net.extract_features(obs, net.pi_features_extractor)
            logits = net.action_net(net.mlp_extractor.forward_actor(features))
            loss = torch.nn.functional.cross_entropy(logits, self.actions[index])
            if self.entropy_weight:
                log_p = torch.log_softmax(logits, dim=-1)
                loss = loss + self.entropy_weight * (log_p.exp() * log_p).sum(-1).mean()
            return loss, logits
        distribution = net.get_distribution(obs)
        loss = -distribution.log_prob(self.actions[index]).mean()
        if self.entropy_weight:
            entropy = distribution.entropy()
            if entropy is not None:
                loss = loss - self.entropy_weight * entropy.mean()
        return loss, distribution

    def validate(self, index: Any) -> tuple[float, float]:
        """Loss and score (accuracy, or mean squared error) on the held-out rows ``index``."""
        if len(index) == 0:
            return math.nan, math.nan
        torch, net = self.torch, self.net
        net.set_training_mode(False)
        with torch.no_grad():
            loss, head = self.loss(index)
            if self.categorical:
                predicted = head.argmax(dim=-1)
            else:
                predicted = head.get_actions(deterministic=True)
            target = self.actions[index]
            if self.discrete:
                score = (predicted.reshape(target.shape) == target).float().mean().item()
            else:
                low = torch.as_tensor(self.action_space.low, device=net.device)
                high = torch.as_tensor(self.action_space.high, device=net.device)
                clipped = torch.clamp(predicted.reshape(target.shape), low, high)
                score = ((clipped - target) ** 2).mean().item()
        return loss.item(), score


def _train(
    torch: Any,
    data: Rows,
    algo: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    validation: float,
    patience: int,
    entropy_weight: float,
    policy_kwargs: Mapping[str, Any] | None,
    seed: int | None,
    device: str,
    on_epoch: Callable[[EpochStats], None] | None,
    min_updates: int = 0,
) -> Any:
    model = _new_model(data, algo, learning_rate, policy_kwargs, seed, device)
    net = model.policy
    held = _split(len(data.trial_ids), validation, seed)
    train_index = torch.as_tensor(_rows(data.offsets, ~held), device=net.device)
    val_index = torch.as_tensor(_rows(data.offsets, held), device=net.device)
    objective = _Objective(torch, net, data, entropy_weight)
    value_parts = ("value_net", "mlp_extractor.value_net")
    trained = [p for name, p in net.named_parameters() if not name.startswith(value_parts)]
    optimizer = torch.optim.Adam(trained, lr=learning_rate)
    generator = torch.Generator().manual_seed(seed if seed is not None else int(time.time()))
    if min_updates:
        per_epoch = max(1, math.ceil(len(train_index) / batch_size))
        epochs = max(epochs, math.ceil(min_updates / per_epoch))
    best_loss, best_state, waited = math.inf, None, 0
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        net.set_training_mode(True)
        order = train_index[torch.randperm(len(train_index), generator=generator).to(net.device)]
        total, batches = torch.zeros((), device=net.device), 0
        for start in range(0, len(order), batch_size):
            loss, _ = objective.loss(order[start : start + batch_size])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()
            batches += 1
        train_loss = total.item() / max(1, batches)
        val_loss, score = objective.validate(val_index)
        judged = val_loss if len(val_index) else train_loss
        improved = judged < best_loss - 1e-6
        if improved:
            best_loss, waited = judged, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            waited += 1
        if on_epoch is not None:
            on_epoch(
                EpochStats(
                    epoch=epoch,
                    train_loss=train_loss,
                    validation_loss=val_loss,
                    validation_score=score,
                    score_name=objective.score_name,
                    seconds=time.perf_counter() - started,
                    best=improved,
                )
            )
        if waited >= patience:
            break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.set_training_mode(False)
    model.cogym_trial_ids = tuple(data.trial_ids)
    model.cogym_rows = data.rows
    return model
