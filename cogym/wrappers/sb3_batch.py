"""SB3 actors acting together: one forward pass for many observations, each actor drawing
from its own random stream, and one loaded model shared by the actors that load the same file.

The rule that makes a batch act as its actors would one by one: a deterministic actor's action
is what the model's ``predict(..., deterministic=True)`` gives; a stochastic actor samples the
policy's action distribution with a ``torch.Generator`` of its own, seeded by the trial (not
torch's global random state, which the trials of one process would share). Both are computed
by :func:`act_together`, the same way for one observation and for many, so a trial's actions
do not depend on whether its actors were batched with other trials'. The one difference a
batch can make is in the last bit of a float: a matrix product over many rows adds in another
order than over one, so continuous (Box) actions agree to float32 rounding, and discrete
actions, argmax or sampled, are the same.

Where the observations carry an ``action_mask`` (PettingZoo's classic games) and the actions
are discrete, the distribution is restricted to the allowed actions first, as sb3-contrib's
``MaskablePPO`` does when it acts, so an SB3 opponent never plays an illegal move (a policy
trained without masks included).
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from cogym.errors import ImplementationError

__all__ = ["act_together", "content_key", "shared_model", "stack_observations"]

_SHARED: weakref.WeakValueDictionary[Hashable, Any] = weakref.WeakValueDictionary()


def shared_model(key: Hashable, load: Callable[[], Any]) -> Any:
    """The model loaded under ``key`` in this process (while some actor holds it), or
    ``load()``. Actors only predict, so the actors of one model file share one copy: it is
    loaded once, and the lockstep batches them together."""
    model = _SHARED.get(key)
    if model is None:
        model = load()
        _SHARED[key] = model
    return model


def content_key(data: bytes, *parts: Hashable) -> tuple[Hashable, ...]:
    """A :func:`shared_model` key for a model file's bytes (its sha256) and how it is loaded."""
    return (hashlib.sha256(data).hexdigest(), *parts)


def stack_observations(space: spaces.Space, observations: Sequence[Any]) -> Any:
    """Observations of ``space`` as one batch: an array, or a dict of arrays for Dict spaces."""
    if isinstance(space, spaces.Dict):
        return {
            key: stack_observations(sub, [o[key] for o in observations])
            for key, sub in space.spaces.items()
        }
    return np.array(observations)  # (np.stack, the same array, takes twice as long)


def act_together(
    model: Any, observations: Sequence[Any], generators: Sequence[Any] | None
) -> np.ndarray:
    """The actions for the observations at once, as SB3's ``predict`` computes them: the
    mode of the policy's action distribution (``generators=None``) or a sample of it, row
    ``i`` drawn with ``generators[i]``; clipped to a Box or unscaled as ``predict`` does. A
    policy without a distribution (DQN, SAC, TD3) answers through ``predict``, deterministic
    only."""
    import torch

    policy = getattr(model, "policy", model)
    if not callable(getattr(policy, "get_distribution", None)):
        if generators is None:
            batch = stack_observations(model.observation_space, observations)
            return model.predict(batch, deterministic=True)[0]
        raise ImplementationError(
            f"{type(model).__name__} has no action distribution to sample with the trial's "
            "seed (SB3's DQN, SAC and TD3 explore through the global random state); give the "
            "actor config: {deterministic: true}"
        )
    if policy.training:
        policy.set_training_mode(False)
    batch = stack_observations(policy.observation_space, observations)
    tensor, _ = policy.obs_to_tensor(batch)
    with torch.inference_mode():  # (cheaper than no_grad; nothing here is trained)
        if _plain_categorical(policy):
            return _categorical_actions(policy, tensor, observations, generators)
        distribution = policy.get_distribution(tensor)
        masks = _action_masks(policy, observations)
        if masks is not None:
            _mask(distribution, torch.as_tensor(masks))
        drawn = (distribution.mode() if generators is None
                 else _draw(distribution, generators, policy))  # fmt: skip
    space = policy.action_space
    actions = drawn.cpu().numpy().reshape((-1, *space.shape))
    if isinstance(space, spaces.Box):
        if getattr(policy, "squash_output", False):
            actions = policy.unscale_action(actions)
        else:
            actions = np.clip(actions, space.low, space.high)
    return actions


_PLAIN: dict[tuple[type, type], bool] = {}


def _plain_categorical(policy: Any) -> bool:
    """Whether ``policy`` is one of SB3's (or sb3-contrib's maskable) actor-critic policies as
    they ship, with a Categorical action distribution (Discrete actions), whose distribution
    :func:`_categorical_actions` computes without building it (a policy class that changes how
    it is built is asked as any other)."""
    kind = (type(policy), type(getattr(policy, "action_dist", None)))
    plain = _PLAIN.get(kind)
    if plain is None:
        plain = False
        if kind[1].__name__ in _CATEGORICAL:
            for base in kind[0].__mro__:
                stock = _STOCK_POLICIES.get(f"{base.__module__}:{base.__qualname__}")
                if stock is not None:
                    plain = all(getattr(kind[0], m) is getattr(base, m) for m in stock)
                    break
        _PLAIN[kind] = plain
    return plain


_STOCK_POLICIES = {
    "stable_baselines3.common.policies:ActorCriticPolicy": (
        "get_distribution", "_get_action_dist_from_latent", "extract_features",
    ),
    "sb3_contrib.common.maskable.policies:MaskableActorCriticPolicy": (
        "get_distribution", "_get_action_dist_from_latent", "extract_features",
    ),
}  # fmt: skip
"""The policy classes whose ``get_distribution`` :func:`_categorical_actions` follows, and
the methods a subclass must not have changed for it to."""

_CATEGORICAL = ("CategoricalDistribution", "MaskableCategoricalDistribution")


def _categorical_actions(
    policy: Any, tensor: Any, observations: Sequence[Any], generators: Sequence[Any] | None
) -> np.ndarray:
    """What the general path of :func:`act_together` gives for a :func:`_plain_categorical`
    policy, with the same tensor operations (so the same bits) but without the
    ``torch.distributions.Categorical`` objects, whose construction and argument checks cost
    more than a small network's forward pass: ``get_distribution``'s features, latent and
    logits, normalised as ``Categorical(logits=...)`` does (masked as :func:`_mask` does), its
    ``probs``, then their argmax or one draw per row."""
    import torch
    from stable_baselines3.common.policies import BaseModel

    features = BaseModel.extract_features(policy, tensor, policy.pi_features_extractor)
    logits = policy.action_net(policy.mlp_extractor.forward_actor(features))
    if torch.isnan(logits).any():  # (what Categorical's argument check refuses)
        raise ValueError(f"{type(policy).__name__} gave NaN action logits: {logits}")
    logits = logits - logits.logsumexp(dim=-1, keepdim=True)
    masks = _action_masks(policy, observations)
    if masks is not None:
        masks = torch.as_tensor(masks)
        masks = masks | ~masks.any(dim=1, keepdim=True)
        logits = logits.masked_fill(~masks, float("-inf"))
        logits = logits - logits.logsumexp(dim=-1, keepdim=True)
    probs = torch.softmax(logits, dim=-1)
    if generators is None:
        drawn = torch.argmax(probs, dim=1)
    else:
        probs = probs.cpu()
        drawn = torch.cat(
            [torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(generators)]
        )
    return drawn.cpu().numpy().reshape(-1)


def _action_masks(policy: Any, observations: Sequence[Any]) -> np.ndarray | None:
    """The observations' ``action_mask`` entries (as PettingZoo's classic games give them),
    for a policy of Discrete actions whose observation space has one; else ``None``."""
    space = policy.observation_space
    if not (
        isinstance(space, spaces.Dict)
        and "action_mask" in space.spaces
        and isinstance(policy.action_space, spaces.Discrete)
    ):
        return None
    return np.array([np.asarray(o["action_mask"], dtype=bool) for o in observations])


def _mask(distribution: Any, masks: Any) -> None:
    """Restrict a categorical distribution to the allowed actions (a row allowing none is left
    whole, so that a mask of a seat whose turn it is not still gives an action)."""
    from torch.distributions import Categorical

    inner = distribution.distribution
    if not isinstance(inner, Categorical):
        return
    masks = masks | ~masks.any(dim=1, keepdim=True)
    logits = inner.logits.masked_fill(~masks, float("-inf"))
    distribution.distribution = Categorical(logits=logits)


def _draw(distribution: Any, generators: Sequence[Any], policy: Any) -> Any:
    """One sample per row of an SB3 distribution, row ``i`` from ``generators[i]``.

    gSDE's noise is the policy's latent features times a weight matrix drawn from N(0, std);
    SB3 keeps one matrix between ``reset_noise`` calls, drawn from the global random state, and
    here each row draws its own, from its generator, as ``sde_sample_freq=1`` would."""
    import torch
    from torch.distributions import Bernoulli, Categorical, Normal

    inner = distribution.distribution
    n = len(generators)
    # the generators live on the CPU: so do the draws
    if isinstance(inner, Categorical):
        probs = inner.probs.cpu()
        return torch.cat(
            [torch.multinomial(probs[i], 1, generator=generators[i]) for i in range(n)]
        )
    if isinstance(inner, list) and all(isinstance(c, Categorical) for c in inner):
        parts = [c.probs.cpu() for c in inner]
        rows = [
            torch.cat([torch.multinomial(p[i], 1, generator=generators[i]) for p in parts])
            for i in range(n)
        ]
        return torch.stack(rows)
    if isinstance(inner, Bernoulli):
        probs = inner.probs.cpu()
        return torch.stack([torch.bernoulli(probs[i], generator=generators[i]) for i in range(n)])
    if isinstance(inner, Normal) and not hasattr(distribution, "exploration_mat"):
        loc, scale = inner.loc.cpu(), inner.scale.cpu()
        noise = torch.stack(
            [
                torch.randn(loc.shape[1:], generator=generators[i], dtype=loc.dtype)
                for i in range(n)
            ]
        )
        sample = loc + scale * noise
        if type(distribution).__name__ == "SquashedDiagGaussianDistribution":
            sample = torch.tanh(sample)
        return sample
    if isinstance(inner, Normal) and hasattr(distribution, "get_noise"):
        std = distribution.get_std(policy.log_std).cpu()
        latent, mean = distribution._latent_sde.cpu(), inner.mean.cpu()
        noise = torch.stack(
            [
                latent[i] @ (torch.randn(std.shape, generator=generators[i], dtype=std.dtype) * std)
                for i in range(n)
            ]
        )
        sample = mean + noise
        bijector = getattr(distribution, "bijector", None)
        return sample if bijector is None else bijector.forward(sample)
    raise ImplementationError(
        f"cannot sample {type(distribution).__name__} with the trial's seed (custom "
        "distributions draw from the global random state); give the actor config: "
        "{deterministic: true}"
    )
