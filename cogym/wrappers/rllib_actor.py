"""RLlib policy -> actor, and the ``rllib:`` implementation scheme.

``rllib:<checkpoint dir>#<policy>`` is the policy (RLModule) ``<policy>`` of a checkpoint
that ``algo.save_to_path(dir)`` wrote; ``#<policy>`` may be left out when the checkpoint holds
one policy.
The directory may also be the checkpoint of a ``MultiRLModule`` or of one ``RLModule``::

    actors:
      - name: walker_0
        implementation: rllib:checkpoints/rendezvous#shared
        config: {deterministic: true}

Config keys: ``deterministic`` (default true: the most likely action; false samples from
the policy's distribution with a stream seeded by the trial) and ``normalize_actions``
(default true, as RLlib's: a Box action comes out of the policy in [-1, 1] and is scaled to
the space's bounds). RLlib checkpoints hold pickled code; load them only from places you trust.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from gymnasium import spaces

from cogym.directory import ActorScheme, BuiltActor
from cogym.errors import ConfigError, ImplementationError, MissingExtraError, SpaceMismatchError

if TYPE_CHECKING:
    from cogym.environment import ActorClass
    from cogym.trial.context import TrialContext

__all__ = ["RLLIB_SCHEME", "RLlibActor", "make_rllib_actor", "policy_ids"]

_OPTIONS = {"deterministic", "normalize_actions"}
_MODULES = Path("learner_group", "learner", "rl_module")
"""Where an algorithm checkpoint keeps its MultiRLModule."""
_METADATA = "class_and_ctor_args.pkl"


def _import_rllib() -> Any:
    try:
        import torch
        from ray.rllib.core.rl_module.rl_module import RLModule
    except ImportError as exc:
        raise MissingExtraError("rllib: actors", "rllib", "ray[rllib]") from exc
    return torch, RLModule


def _modules_dir(checkpoint: Path) -> Path | None:
    """The MultiRLModule directory of an algorithm or MultiRLModule checkpoint, else None."""
    if (checkpoint / _MODULES).is_dir():
        return checkpoint / _MODULES
    if any((child / _METADATA).is_file() for child in checkpoint.iterdir() if child.is_dir()):
        return checkpoint
    return None


def policy_ids(checkpoint: str | Path) -> list[str]:
    """The policies (RLModule ids) an RLlib checkpoint holds, sorted."""
    checkpoint = Path(checkpoint).expanduser()
    if not checkpoint.is_dir():
        raise ImplementationError(
            f"rllib:{checkpoint}: no checkpoint directory at {str(checkpoint.absolute())!r}; give "
            "the directory that algo.save_to_path(...) wrote"
        )
    modules = _modules_dir(checkpoint)
    if modules is None:
        return []
    return sorted(child.name for child in modules.iterdir() if (child / _METADATA).is_file())


def _module_path(checkpoint: Path, policy: str | None) -> tuple[Path, str | None]:
    found = policy_ids(checkpoint)
    if not found:
        if policy is not None:
            raise ImplementationError(
                f"rllib:{checkpoint}#{policy}: the checkpoint holds one RLModule, not policies by "
                "name; leave out '#<policy>'"
            )
        if not (checkpoint / _METADATA).is_file():
            raise ImplementationError(
                f"rllib:{checkpoint}: {str(checkpoint)!r} is not an RLlib checkpoint (no "
                f"{_MODULES.as_posix()}/ and no {_METADATA}); give the directory that "
                "algo.save_to_path wrote"
            )
        return checkpoint, None
    if policy is None:
        if len(found) > 1:
            raise ImplementationError(
                f"rllib:{checkpoint} holds {len(found)} policies ({', '.join(found)}); name one: "
                f"rllib:{checkpoint}#{found[0]}"
            )
        policy = found[0]
    if policy not in found:
        from cogym.errors import suggest

        raise ImplementationError(
            f"rllib:{checkpoint}#{policy}: no policy {policy!r} in the checkpoint."
            f"{suggest(policy, found)} It holds: {', '.join(found)}"
        )
    return _modules_dir(checkpoint) / policy, policy


class RLlibActor:
    """A trained RLlib policy (an ``RLModule`` of the new API stack) acting in trials.

    ``act`` runs the module's ``forward_inference`` on a batch of one observation and takes
    the action from its inference distribution (``deterministic=True``: the most likely one).
    When the module's observation space is exactly ``gymnasium.spaces.flatten_space`` of the
    seat's, observations are flattened with ``gymnasium.spaces.flatten`` first.

    >>> # actor = RLlibActor.from_checkpoint("checkpoints/rendezvous", policy="shared")
    >>> # actor.act(observation)
    """

    def __init__(
        self,
        module: Any,
        *,
        deterministic: bool = True,
        normalize_actions: bool = True,
        source: str | None = None,
    ) -> None:
        if not callable(getattr(module, "forward_inference", None)):
            raise TypeError(f"RLlibActor needs an RLlib RLModule, got {type(module).__name__}")
        self.module = module
        self.deterministic = bool(deterministic)
        self.normalize_actions = bool(normalize_actions)
        self.source = source
        self.observation_space: spaces.Space = module.observation_space
        self.action_space: spaces.Space = module.action_space
        self._flatten_from: spaces.Space | None = None
        self._rng_state: Any = None
        self._dist = module.get_inference_action_dist_cls()

    @classmethod
    def from_checkpoint(
        cls,
        checkpoint: str | Path,
        *,
        policy: str | None = None,
        deterministic: bool = True,
        normalize_actions: bool = True,
    ) -> RLlibActor:
        """The policy ``policy`` of an RLlib checkpoint (the only one when not given)."""
        _, rl_module = _import_rllib()
        checkpoint = Path(checkpoint).expanduser()
        path, policy = _module_path(checkpoint, policy)
        module = rl_module.from_checkpoint(path.absolute())
        module.eval()
        source = f"{checkpoint}#{policy}" if policy else str(checkpoint)
        return cls(
            module,
            deterministic=deterministic,
            normalize_actions=normalize_actions,
            source=source,
        )

    def check_spaces(self, actor_class: ActorClass) -> None:
        """Raise :class:`~cogym.errors.SpaceMismatchError` unless the policy fits the actor
        class (an observation space whose flattening is the policy's fits too)."""
        where = f" (rllib:{self.source})" if self.source else ""
        observed = actor_class.observation_space
        if observed != self.observation_space:
            flat = _flat(observed)
            if flat is None or flat != self.observation_space:
                raise SpaceMismatchError(
                    f"the RLlib policy{where} observes {self.observation_space}, but actor class "
                    f"{actor_class.name!r} observes {observed}; train it on a spec whose "
                    "actor observes what this one does"
                )
            self._flatten_from = observed
        if actor_class.action_space != self.action_space:
            raise SpaceMismatchError(
                f"the RLlib policy{where} acts in {self.action_space}, but actor class "
                f"{actor_class.name!r} acts in {actor_class.action_space}"
            )

    def reset(self, context: TrialContext) -> None:
        if not self.deterministic:
            torch, _ = _import_rllib()
            generator = torch.Generator()
            if context.seed is None:
                generator.seed()
            else:
                generator.manual_seed(int(context.seed))
            self._rng_state = generator.get_state()

    def act(self, observation: Any) -> Any:
        torch, _ = _import_rllib()
        if self._flatten_from is not None:
            observation = spaces.flatten(self._flatten_from, observation)
        batch = {"obs": _batched(torch, observation)}
        with torch.no_grad():
            out = self.module.forward_inference(batch)
            distribution = self._dist.from_logits(out["action_dist_inputs"])
            if self.deterministic:
                action = distribution.to_deterministic().sample()
            else:
                action = self._sample(torch, distribution)
        return self._to_space(_unbatched(action))

    def _sample(self, torch: Any, distribution: Any) -> Any:
        if self._rng_state is None:
            self.reset(_NoSeed())
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self._rng_state)
            action = distribution.sample()
            self._rng_state = torch.get_rng_state()
        return action

    def _to_space(self, action: Any) -> Any:
        space = self.action_space
        if isinstance(space, spaces.Discrete):
            return np.int64(int(action) + int(space.start))
        if isinstance(space, spaces.MultiDiscrete):
            return (np.asarray(action, dtype=np.int64) + space.start).astype(space.dtype)
        if isinstance(space, spaces.MultiBinary):
            return np.asarray(action, dtype=space.dtype)
        if isinstance(space, spaces.Box):
            action = np.asarray(action, dtype=np.float64).reshape(space.shape)
            if self.normalize_actions and space.is_bounded():
                low, high = space.low.astype(np.float64), space.high.astype(np.float64)
                action = low + (np.clip(action, -1.0, 1.0) + 1.0) * (high - low) / 2.0
            return np.clip(action, space.low, space.high).astype(space.dtype)
        return action

    def __repr__(self) -> str:
        return (
            f"RLlibActor({self.source or type(self.module).__name__}, "
            f"deterministic={self.deterministic})"
        )


class _NoSeed:
    seed = None


def _flat(space: spaces.Space) -> spaces.Space | None:
    try:
        return spaces.flatten_space(space)
    except NotImplementedError:
        return None


def _batched(torch: Any, observation: Any) -> Any:
    if isinstance(observation, dict):
        return {key: _batched(torch, value) for key, value in observation.items()}
    if isinstance(observation, tuple):
        return tuple(_batched(torch, value) for value in observation)
    array = np.asarray(observation)[None]
    if array.dtype == np.float64:  # as RLlib's NumpyToTensor: its modules compute in float32
        array = array.astype(np.float32)
    return torch.as_tensor(array)


def _unbatched(action: Any) -> Any:
    if isinstance(action, dict):
        return {key: _unbatched(value) for key, value in action.items()}
    if isinstance(action, (tuple, list)):
        return tuple(_unbatched(value) for value in action)
    return action[0].cpu().numpy()


def make_rllib_actor(
    rest: str, actor_class: ActorClass, config: dict[str, Any], registry: Any
) -> BuiltActor:
    """Build the actor ``rllib:<checkpoint dir>[#<policy>]``; its spaces must be the class's."""
    unknown = sorted(set(config) - _OPTIONS)
    if unknown:
        raise ConfigError(
            f"rllib:{rest}: unknown config key(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(_OPTIONS))}"
        )
    checkpoint, _, policy = rest.partition("#")
    actor = RLlibActor.from_checkpoint(
        checkpoint,
        policy=policy or None,
        deterministic=config.get("deterministic", True),
        normalize_actions=config.get("normalize_actions", True),
    )
    actor.check_spaces(actor_class)
    return BuiltActor(actor, f"rllib:{rest}")


RLLIB_SCHEME = ActorScheme(make_rllib_actor)
"""``rllib:<checkpoint dir>[#<policy>]``: an RLlib policy from a checkpoint."""
