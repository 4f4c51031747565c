"""The ``reward:<model>@<ref>`` actor: an observer that sends a learnt reward to another actor.

Each tick, once the environment has stepped, it computes the reward model's r(observation,
action) of its *receiver* (config ``receiver``, by default the only other actor) and sends it
to the receiver with a confidence that says how much the ensemble agrees: ``1 / (1 + std)``,
the standard deviation of its members' rewards (or a fixed ``confidence`` from the config).
The trial then aggregates it with the environment's reward as every reward is aggregated (the
confidence-weighted mean), or, with ``replace_env_reward: true``, the receiver's share of the
environment's reward is dropped (:meth:`cogym.trial.TrialContext.replace_env_reward`) and the
learnt reward is all it receives. The environment's reward is still recorded apart, so a judge
can compare clips by their true return.

.. code-block:: yaml

    actors:
      - {name: player, implementation: external}
      - name: critic
        actor_class: observer
        implementation: reward:cartpole-reward@latest
        config: {receiver: player, replace_env_reward: true}

The model's spaces must be the receiver's: a trial whose receiver observes or acts in other
spaces fails at its start with a :class:`~cogym.errors.SpaceMismatchError` naming both.
:data:`REWARD_SCHEME` is what the ``reward`` entry point of ``cogym.actor_schemes`` names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cogym.directory import ActorScheme, BuiltActor
from cogym.errors import ConfigError, ImplementationError, InputError, SpaceMismatchError
from cogym.spaces import spaces_equal

if TYPE_CHECKING:
    from cogym.environment import ActorClass
    from cogym.learn.reward_model import RewardModel
    from cogym.model_source import RegistryLike
    from cogym.trial.context import TrialContext

__all__ = ["REWARD_SCHEME", "LearnedRewardActor", "make_reward_actor", "pin_reward"]

_OPTIONS = {"receiver", "replace_env_reward", "confidence"}


class LearnedRewardActor:
    """Sends ``model``'s reward of ``receiver``'s observation and action each tick.

    >>> # actor = LearnedRewardActor(load_reward_model("models/", "rm@1"), receiver="player")
    """

    def __init__(
        self,
        model: RewardModel,
        receiver: str | None = None,
        replace_env_reward: bool = False,
        confidence: float | None = None,
    ) -> None:
        if receiver is not None and (not isinstance(receiver, str) or not receiver):
            raise ConfigError(f"receiver {receiver!r}: give the name of the actor to reward")
        if not isinstance(replace_env_reward, bool):
            raise ConfigError(
                f"replace_env_reward {replace_env_reward!r}: give true or false"
            )
        if confidence is not None and (
            isinstance(confidence, bool)
            or not isinstance(confidence, (int, float))
            or not confidence > 0
        ):
            raise ConfigError(
                f"confidence {confidence!r}: give a number above 0, or leave it out to use the "
                "ensemble's agreement"
            )
        self.model = model
        self.receiver = receiver
        self.replace_env_reward = replace_env_reward
        self.confidence = confidence
        self._context: TrialContext | None = None
        self._to: str = receiver or ""

    def reset(self, context: TrialContext) -> None:
        """Find the receiver, check its spaces against the model's, and drop its share of the
        environment's reward if asked to."""
        classes = context.actor_classes
        self._to = self._find_receiver(context.name, classes)
        receiver_class = classes[self._to]
        self._check_spaces(receiver_class)
        self._context = context
        if self.replace_env_reward:
            context.replace_env_reward(self._to)

    def _find_receiver(self, me: str, classes: Mapping[str, ActorClass]) -> str:
        others = [n for n in classes if n != me]
        if self.receiver is None:
            acting = [n for n in others if classes[n].action_space is not None]
            if len(acting) != 1:
                raise ConfigError(
                    f"observer {me!r}: the trial has {len(acting)} acting actors besides it "
                    f"({', '.join(map(repr, acting)) or 'none'}); say which one it rewards with "
                    "config: {receiver: <actor name>}"
                )
            return acting[0]
        if self.receiver not in others:
            raise ConfigError(
                f"observer {me!r}: receiver {self.receiver!r} is not another actor of the trial "
                f"(actors: {', '.join(map(repr, others))})"
            )
        if classes[self.receiver].action_space is None:
            raise ConfigError(
                f"observer {me!r}: receiver {self.receiver!r} is an observer itself; a learnt "
                "reward r(observation, action) rewards an actor that acts"
            )
        return self.receiver

    def _check_spaces(self, receiver_class: ActorClass) -> None:
        model, name = self.model, self.model.ref or "the reward model"
        if not spaces_equal(model.observation_space, receiver_class.observation_space):
            raise SpaceMismatchError(
                f"reward model {name} observes {model.observation_space}, but receiver "
                f"{self._to!r} observes {receiver_class.observation_space}; use a reward model "
                "learnt on this actor's environment"
            )
        if not spaces_equal(model.action_space, receiver_class.action_space):
            raise SpaceMismatchError(
                f"reward model {name} rates actions in {model.action_space}, but receiver "
                f"{self._to!r} acts in {receiver_class.action_space}; use a reward model "
                "learnt on this actor's environment"
            )

    def act(self, observation: Any) -> None:
        """An observer's act: nothing (the reward is sent once the tick has been played)."""

    def observe_tick(
        self,
        tick: int,
        observations: Mapping[str, Any],
        actions: Mapping[str, Any],
        rewards: Mapping[str, float],
    ) -> None:
        """Send the receiver the learnt reward of what it saw and did on ``tick`` (nothing on a
        tick it did not act on)."""
        to = self._to
        if to not in actions or self._context is None:
            return
        mean, std = self.model.rate(observations[to], actions[to])
        self._context.send_reward(to, mean, self.confidence or 1.0 / (1.0 + std))

    def __repr__(self) -> str:
        return (
            f"LearnedRewardActor({self.model.ref or 'model'}, receiver={self.receiver!r}, "
            f"replace_env_reward={self.replace_env_reward})"
        )


def make_reward_actor(
    rest: str, actor_class: ActorClass, config: dict[str, Any], registry: RegistryLike
) -> BuiltActor:
    """Build the observer ``reward:<model>@<ref>`` from the orchestrator's registry."""
    from cogym.learn.reward_model import load_reward_model
    from cogym.registry.store import as_registry

    unknown = sorted(set(config) - _OPTIONS)
    if unknown:
        raise ConfigError(
            f"reward:{rest}: unknown config key(s) {', '.join(map(repr, unknown))}; allowed: "
            f"{', '.join(sorted(_OPTIONS))}"
        )
    if actor_class.action_space is not None:
        raise ImplementationError(
            f"reward:{rest} is an observer (it sends rewards, it does not act), but this actor "
            f"has actor class {actor_class.name!r}, which acts; give it 'actor_class: observer'"
        )
    models = as_registry(registry)
    if models is None:
        raise ImplementationError(
            f"reward:{rest} names a reward model in a model registry, but none is configured: "
            "pass --registry DIR to cogym run, or Orchestrator(registry=...) in Python"
        )
    try:
        model = load_reward_model(models, rest)
    except InputError as exc:
        raise ImplementationError(f"reward:{rest}: {exc}") from None
    return BuiltActor(LearnedRewardActor(model, **config), f"reward:{model.ref}")


def pin_reward(rest: str, registry: RegistryLike) -> str:
    """``rest`` with ``@latest`` or an alias replaced by the version it means now."""
    from cogym.registry.store import as_registry

    models = as_registry(registry)
    return rest if models is None else str(models.resolve(rest))


REWARD_SCHEME = ActorScheme(make_reward_actor, pin=pin_reward)
"""``reward:<model>@<ref>``: a learnt reward from the registry, pinned before every trial."""
