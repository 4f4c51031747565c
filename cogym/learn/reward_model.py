"""A reward learnt from people: an ensemble of small networks r(observation, action).

:func:`reward_model` fits it from the preferences stored in a datastore (the Bradley-Terry
loss over segment sums of Christiano et al., 2017: the probability that the left segment is
preferred is the logistic of the difference of their predicted returns; ``equal`` is a target
of 0.5, ``unknown`` is skipped) and from the good/bad rewards people sent during trials (a
regression on each value at the tick it was given for, weighted by its confidence, as TAMER
does). Inputs are the observation's and the action's features (:mod:`cogym.learn.features`),
normalised by the mean and standard deviation of the rows trained on, which the model keeps.

In the registry a reward model is its own kind (``reward_model``): ``reward_model.pt`` is a
torch state dict (loaded with ``weights_only=True``) and ``meta.json`` holds the spaces, the
ensemble's size and layers, the normalisation, and the lineage (the preferences' query ids and
count, the trials). Nothing is pickled.

    >>> # reward = reward_model("trials/", "player", registry="models/", model="cartpole-reward")
    >>> # mean, std = reward.predict(observations, actions)
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from gymnasium import spaces

from cogym.errors import InputError
from cogym.learn.features import feature_size, features, row_features

if TYPE_CHECKING:
    import torch

    from cogym.datastore import HDF5Datastore
    from cogym.registry import ModelRegistry

__all__ = [
    "RewardModel", "learnt_returns", "load_reward_model", "ranking_agreement", "reward_model"
]

ALGORITHM = "RewardModel"


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Torch on one thread inside: the networks and batches here are small, for which one
    thread is fastest, and fair to the other processes of a shared machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _ensemble_module(members: int, inputs: int, hidden: Sequence[int]) -> torch.nn.Module:
    import torch
    from torch import nn

    class Ensemble(nn.Module):
        """``members`` MLPs (ReLU between layers) of the same inputs; outputs (members, rows)."""

        def __init__(self) -> None:
            super().__init__()
            sizes = [inputs, *hidden, 1]
            self.members = nn.ModuleList()
            for _ in range(members):
                layers: list[nn.Module] = []
                for a, b in zip(sizes, sizes[1:], strict=False):
                    layers += [nn.Linear(a, b), nn.ReLU()]
                self.members.append(nn.Sequential(*layers[:-1]))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.stack([member(x).squeeze(-1) for member in self.members])

    return Ensemble()


@dataclass(frozen=True)
class RewardModel:
    """A learnt reward: ``predict(observations, actions)`` gives the ensemble's mean and spread.

    ``observations`` and ``actions`` are rows nested as ``datastore.arrays()`` gives them (use
    :func:`cogym.learn.features.stacked` for single values). ``ref`` is the registry version it
    was saved as, if any.
    """

    observation_space: spaces.Space
    action_space: spaces.Space
    ensemble: int
    hidden: tuple[int, ...]
    mean: np.ndarray = field(repr=False)
    std: np.ndarray = field(repr=False)
    network: Any = field(repr=False, compare=False)
    lineage: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    ref: str | None = None

    def inputs(self, observations: Any, actions: Any) -> np.ndarray:
        x = np.concatenate(
            [features(self.observation_space, observations), features(self.action_space, actions)],
            axis=1,
        )
        return (x - self.mean) / self.std

    def members(self, observations: Any, actions: Any) -> np.ndarray:
        """Each member's reward for each row: shape (ensemble, rows)."""
        import torch

        with torch.no_grad():
            x = torch.as_tensor(self.inputs(observations, actions), dtype=torch.float32)
            return self.network(x).numpy().astype(np.float64)

    def predict(self, observations: Any, actions: Any) -> tuple[np.ndarray, np.ndarray]:
        """The ensemble's mean reward per row, and the standard deviation of its members."""
        values = self.members(observations, actions)
        return values.mean(axis=0), values.std(axis=0)

    def rate(self, observation: Any, action: Any) -> tuple[float, float]:
        """:meth:`predict` of one observation and action (as an env gives them), computed with
        NumPy from the network's weights (a copy made at the first call): what a trial's
        learnt-reward observer calls each tick."""
        encode_observation, encode_action, scale, layers = self._rater()
        x = np.concatenate([encode_observation(observation), encode_action(action)])
        x = ((x - self.mean) * scale)[None, None]
        last = len(layers) - 1
        for k, (weight, bias) in enumerate(layers):
            x = x @ weight + bias
            if k < last:
                np.maximum(x, 0.0, out=x)
        values = x.ravel().tolist()
        mean = sum(values) / len(values)
        return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))

    def _rater(self) -> tuple[Any, Any, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """What :meth:`rate` needs, made once: the encoders of one observation and action, the
        inverse of the normalisation's scale, and each layer's weights stacked over the
        members (``(members, in, out)`` and ``(members, 1, out)``)."""
        cached = self.__dict__.get("_numpy_rater")
        if cached is None:
            from torch import nn

            linear = [[m for m in member if isinstance(m, nn.Linear)]
                      for member in self.network.members]  # fmt: skip
            layers = [
                (np.stack([member[k].weight.detach().numpy().T for member in linear]),
                 np.stack([member[k].bias.detach().numpy()[None] for member in linear]))
                for k in range(len(linear[0]))
            ]  # fmt: skip
            cached = (row_features(self.observation_space), row_features(self.action_space),
                      (1.0 / self.std).astype(np.float32), layers)  # fmt: skip
            object.__setattr__(self, "_numpy_rater", cached)
        return cached

    def state(self) -> bytes:
        import torch

        buffer = io.BytesIO()
        torch.save(self.network.state_dict(), buffer)
        return buffer.getvalue()

    def properties(self) -> dict[str, Any]:
        return {
            "ensemble": self.ensemble,
            "hidden": list(self.hidden),
            "normalisation": {"mean": self.mean.tolist(), "std": self.std.tolist()},
        }


def _segment_rows(arrays: Any) -> dict[str, tuple[int, np.ndarray]]:
    ticks = arrays["tick"]
    return {
        trial: (int(arrays.offsets[k]), ticks[arrays.offsets[k] : arrays.offsets[k + 1]])
        for k, trial in enumerate(arrays.trial_ids)
    }


def _rows(index: dict[str, tuple[int, np.ndarray]], segment: Any) -> np.ndarray:
    start, ticks = index[segment.trial_id]
    inside = np.flatnonzero((ticks >= segment.first) & (ticks <= segment.last))
    return start + inside


def ranking_agreement(
    model: RewardModel, datastore: HDF5Datastore, queries: Sequence[Any], actor: str = "player"
) -> float:
    """The share of ``queries`` whose two segments the learnt reward of ``model`` ranks as the
    environment's recorded rewards do (ties count as a ranking of their own)."""
    from cogym.learn.judges import segment_returns

    segments = [s for q in queries for s in (q.left, q.right)]
    truth = segment_returns(datastore, segments)
    arrays = datastore.arrays(actor, ("observations", "actions", "tick"))
    mean, _ = model.predict(arrays["observations"], arrays["actions"])
    index = _segment_rows(arrays)
    learnt = np.array([mean[_rows(index, s)].sum() for s in segments])
    same = np.sign(learnt[0::2] - learnt[1::2]) == np.sign(truth[0::2] - truth[1::2])
    return float(np.mean(same))


def learnt_returns(
    model: RewardModel, datastore: HDF5Datastore, actor: str, trial_ids: Sequence[str]
) -> dict[str, float]:
    """The return ``model`` gives each trial of ``trial_ids``: the sum over ``actor``'s
    recorded ticks of the ensemble's mean reward (one ``arrays()`` read). Trials without a
    recorded tick of ``actor`` are left out; an actor of other spaces than the model's is a
    :class:`~cogym.errors.SpaceMismatchError` naming both."""
    from cogym.errors import SpaceMismatchError
    from cogym.spaces import spaces_equal

    wanted = list(trial_ids)
    if not wanted:
        return {}
    arrays = datastore.arrays(actor, ("observations", "actions"), ids=wanted)
    name = model.ref or "the reward model"
    for what, mine, theirs in (("observes", model.observation_space, arrays.observation_space),
                               ("rates actions in", model.action_space, arrays.action_space)):
        if not spaces_equal(mine, theirs):
            raise SpaceMismatchError(
                f"reward model {name} {what} {mine}, but actor {actor!r} of the recorded trials "
                f"has {theirs}; score with a reward model learnt on this actor's environment"
            )  # fmt: skip
    mean, _ = model.predict(arrays["observations"], arrays["actions"])
    cumulative = np.concatenate([[0.0], np.cumsum(mean)])
    offsets = np.asarray(arrays.offsets)
    sums = cumulative[offsets[1:]] - cumulative[offsets[:-1]]
    return {t: float(sums[k]) for k, t in enumerate(arrays.trial_ids)}


def reward_model(
    datastore: HDF5Datastore | str,
    actor: str = "player",
    *,
    preferences: bool = True,
    feedback: bool = True,
    ensemble: int = 3,
    hidden: Sequence[int] = (64, 64),
    epochs: int = 50,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    weight_decay: float = 1e-4,
    registry: ModelRegistry | str | None = None,
    model: str | None = None,
    seed: int | None = None,
    trial_ids: Sequence[str] | None = None,
    lineage: dict[str, Any] | None = None,
) -> RewardModel:
    """Fit a reward model to ``actor``'s preferences and feedback in ``datastore``.

    Preferences are those stored for ``actor`` (both segments its own; with ``trial_ids``, in
    those trials); feedback is every reward sent to ``actor`` during its trials by a sender
    that is not itself a learnt reward (``reward:`` actor). With ``registry`` and ``model``
    the result is saved there as the next version of ``model`` (its ``ref`` then says which).
    Raises :class:`InputError` when there is nothing to learn from.
    """
    import torch

    from cogym.datastore import HDF5Datastore
    from cogym.registry.store import as_registry

    store = datastore if isinstance(datastore, HDF5Datastore) else HDF5Datastore(datastore)
    if ensemble < 1 or epochs < 1 or batch_size < 1:
        raise InputError("ensemble, epochs and batch_size must be at least 1")
    if (registry is None) != (model is None):
        raise InputError("give both registry and model to save the reward model, or neither")
    prefs = [p for p in store.preferences(trial_ids, actor) if p.answer != "unknown"]
    prefs = prefs if preferences else []
    recorded = {s.trial_id for s in store.trials()}
    ids = sorted({s.trial_id for p in prefs for s in (p.query.left, p.query.right)} & recorded)
    prefs = [p for p in prefs if {p.query.left.trial_id, p.query.right.trial_id} <= set(ids)]
    feedback_trials = list(trial_ids) if trial_ids is not None else None
    fb_rows: list[tuple[str, int, float, float]] = []
    if feedback:
        summaries = store.trials(ids=feedback_trials) if feedback_trials else store.trials()
        for summary in summaries:
            if actor not in summary.actor_classes:
                continue
            learnt = {a.name for a in summary.spec.actors
                      if str(a.implementation or "").startswith("reward:")}  # fmt: skip
            for sent in store.trial(summary.trial_id).rewards_sent:
                if sent.receiver == actor and sent.sender not in learnt:
                    fb_rows.append((summary.trial_id, sent.tick, sent.value, sent.confidence))
    ids = sorted(set(ids) | {r[0] for r in fb_rows})
    if not prefs and not fb_rows:
        raise InputError(
            f"nothing to learn a reward from in {store.path}: no preferences about actor "
            f"{actor!r} (other than 'unknown') and no feedback sent to it. Answer queries with "
            "`cogym prefer` or record trials in which people send rewards"
        )
    arrays = store.arrays(actor, ("observations", "actions", "tick"), ids=ids)
    x = np.concatenate(
        [features(arrays.observation_space, arrays["observations"]),
         features(arrays.action_space, arrays["actions"])], axis=1,
    )  # fmt: skip
    mean = x.mean(axis=0)
    std = np.where(x.std(axis=0) > 1e-6, x.std(axis=0), 1.0)
    x = ((x - mean) / std).astype(np.float32)
    index = _segment_rows(arrays)
    pairs = [(_rows(index, p.query.left), _rows(index, p.query.right),
              {"left": 1.0, "right": 0.0, "equal": 0.5}[p.answer]) for p in prefs]  # fmt: skip
    fb_index = np.array([_rows(index, _Tick(t, tick))[0] for t, tick, _, _ in fb_rows
                         if len(_rows(index, _Tick(t, tick)))], dtype=np.int64)  # fmt: skip
    fb_kept = [r for r in fb_rows if len(_rows(index, _Tick(r[0], r[1])))]
    fb_value = torch.tensor([r[2] for r in fb_kept], dtype=torch.float32)
    fb_weight = torch.tensor([r[3] for r in fb_kept], dtype=torch.float32)
    if seed is not None:
        torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    sizes = (feature_size(arrays.observation_space), feature_size(arrays.action_space))
    network = _ensemble_module(ensemble, sum(sizes), tuple(hidden))
    with one_thread():
        fit(network, torch.as_tensor(x), pairs, (fb_index, fb_value, fb_weight), epochs=epochs,
            batch_size=batch_size, learning_rate=learning_rate, weight_decay=weight_decay,
            rng=rng)  # fmt: skip
    network.eval()
    trained = RewardModel(
        arrays.observation_space, arrays.action_space, ensemble, tuple(int(h) for h in hidden),
        mean.astype(np.float32), std.astype(np.float32), network,
        {"datastore": str(store.path), "actor": actor, "preference_count": len(prefs),
         "preference_ids": [p.query.query_id for p in prefs], "feedback_count": len(fb_kept),
         "trial_ids": ids, **(lineage or {})},
    )  # fmt: skip
    reg = as_registry(registry)
    if reg is None or model is None:
        return trained
    info = reg.save_file(
        model, trained.state(), kind="reward_model", algorithm=ALGORITHM,
        observation_space=trained.observation_space, action_space=trained.action_space,
        properties=trained.properties(), lineage=trained.lineage,
    )  # fmt: skip
    return RewardModel(**{**trained.__dict__, "ref": info.ref})


@dataclass(frozen=True)
class _Tick:
    trial_id: str
    first: int

    @property
    def last(self) -> int:
        return self.first


def fit(
    network: torch.nn.Module,
    x: torch.Tensor,
    pairs: list[tuple[np.ndarray, np.ndarray, float]],
    feedback: tuple[np.ndarray, torch.Tensor, torch.Tensor],
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    rng: np.random.Generator,
) -> None:
    """Train ``network`` on the Bradley-Terry loss of ``pairs`` (left rows, right rows, target
    probability that left is better) plus the confidence-weighted squared error on the
    feedback rows (row index, value, confidence), in minibatches of ``batch_size`` pairs."""
    import torch

    optimizer = torch.optim.Adam(network.parameters(), lr=learning_rate, weight_decay=weight_decay)
    fb_rows, fb_value, fb_weight = feedback
    fb_rows_t = torch.as_tensor(fb_rows)
    batches = max(1, -(-len(pairs) // batch_size))
    fb_per_batch = -(-len(fb_rows) // batches) if len(fb_rows) else 0
    for _ in range(epochs):
        order = rng.permutation(len(pairs))
        fb_order = torch.as_tensor(rng.permutation(len(fb_rows)))
        for b in range(batches):
            loss = torch.zeros(())
            chosen = order[b * batch_size : (b + 1) * batch_size]
            if len(chosen):
                rows = [pairs[i][side] for i in chosen for side in (0, 1)]
                flat = torch.as_tensor(np.concatenate(rows))
                owner = torch.as_tensor(np.repeat(np.arange(len(rows)), [len(r) for r in rows]))
                values = network(x[flat])
                sums = torch.zeros(values.shape[0], len(rows)).index_add_(1, owner, values)
                logits = sums[:, 0::2] - sums[:, 1::2]
                target = torch.tensor([pairs[i][2] for i in chosen], dtype=torch.float32)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, target.expand_as(logits)
                )
            if fb_per_batch:
                pick = fb_order[b * fb_per_batch : (b + 1) * fb_per_batch]
                if len(pick):
                    predicted = network(x[fb_rows_t[pick]])
                    error = (predicted - fb_value[pick]) ** 2 * fb_weight[pick]
                    loss = loss + error.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def load_reward_model(registry: ModelRegistry | str, reference: str) -> RewardModel:
    """The reward model saved as ``reference`` (``name@version`` or ``name@alias``)."""
    import torch

    from cogym.registry.store import as_registry

    reg = as_registry(registry)
    if reg is None:
        raise InputError("load_reward_model needs a registry (a directory or a ModelRegistry)")
    info = reg.info(reference)
    if info.kind != "reward_model":
        raise InputError(
            f"{info.ref} is a {info.kind} model, not a reward model; train one with "
            "`cogym reward train` or cogym.learn.reward_model"
        )
    props = info.properties
    state = torch.load(io.BytesIO(reg.read_model(info)), weights_only=True, map_location="cpu")
    inputs = feature_size(info.observation_space) + feature_size(info.action_space)
    network = _ensemble_module(int(props["ensemble"]), inputs, tuple(props["hidden"]))
    network.load_state_dict(state)
    network.eval()
    norm = props["normalisation"]
    return RewardModel(
        info.observation_space, info.action_space, int(props["ensemble"]),
        tuple(props["hidden"]), np.asarray(norm["mean"], np.float32),
        np.asarray(norm["std"], np.float32), network, dict(info.lineage), info.ref,
    )  # fmt: skip
