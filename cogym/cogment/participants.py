"""Cogment participants as cogym ones: :class:`CogmentEnvironment` and :class:`CogmentActor`.

Both are built by the ``cogment:`` scheme (:mod:`cogym.cogment.schemes`) and work with any other
participant: a Cogment environment with cogym actors (``external`` for SB3, ``random``, ``sb3:``,
``human``), a cogym environment with Cogment actors, or Cogment on both sides. Rewards a Cogment
participant sends (to a name, ``*``, ``class.*`` or ``class.name``) become the trial's rewards,
aggregated per tick and receiver as the confidence-weighted mean of their sources, as Cogment's
orchestrator does; messages carry their ``google.protobuf.Any`` payload as JSON (see
:func:`~cogym.cogment.codecs.any_to_payload`) and are recorded as any other.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cogym.cogment.codecs import Codec, any_to_payload, payload_to_any
from cogym.cogment.protocol import ActorLink, Delivery, EnvironmentLink
from cogym.cogment.runtime import DrivenLoop, background_loop
from cogym.cogment.services import InProcessService
from cogym.environment import ActorClass, Environment, StepResult
from cogym.errors import BindingError, CogmentDecodeError, CogmentError
from cogym.trial.values import BROADCAST, ENVIRONMENT, Message, Reward

if TYPE_CHECKING:
    from cogym.spec import ActorSpec
    from cogym.trial.context import TrialContext

__all__ = ["CogmentActor", "CogmentEnvironment", "receivers"]

DEFAULT_TIMEOUT = 30.0
"""Seconds cogym waits for a Cogment participant's answer, unless its config says otherwise."""


def receivers(pattern: str, classes: Mapping[str, str | None]) -> list[str]:
    """The actors a Cogment receiver pattern names (``name``, ``*``, ``class.*``,
    ``class.name``), given each actor's class; ``env`` stays itself."""
    if pattern in classes or pattern == ENVIRONMENT:
        return [pattern]
    if pattern in (BROADCAST, "*.*"):
        return list(classes)
    class_name, dot, name = pattern.partition(".")
    if dot:
        if name == "*":
            return [n for n, c in classes.items() if c == class_name]
        if classes.get(name) == class_name:
            return [name]
    return []


def _timestamp() -> int:
    return time.time_ns()


class _Participant:
    """What a Cogment environment and actor share: the service, codec and deadlines."""

    def __init__(
        self,
        service: Any,
        cog_settings: Any,
        codec: Codec,
        config_message: Any,
        timeout: float,
    ) -> None:
        self.service = service
        self.cog_settings = cog_settings
        self.codec = codec
        self.config_message = config_message
        self.timeout = timeout
        self.link: Any = None
        self.loop = DrivenLoop() if isinstance(service, InProcessService) else background_loop()

    def _call(self, coroutine: Any, what: str, tick: int | None) -> Any:
        at = f" at tick {tick}" if tick is not None else ""
        try:
            return self.loop.call(coroutine, self.timeout, f"{self.service.where}{at} ({what})")
        except CogmentError as exc:
            text = str(exc)
            if at and at not in text:
                raise type(exc)(f"{text} (tick {tick}, {what})") from exc.__cause__
            raise

    def _end_stream(self, details: str) -> None:
        link, self.link = self.link, None
        if link is not None and not link.ended:
            try:
                self.loop.call(link.end(details), 5.0, f"{self.service.where} (END)")
            except CogmentError:
                pass  # ending a participant that is already gone: nothing is left to tell it

    def _forward(
        self,
        context: TrialContext | None,
        delivery: Delivery,
        classes: Mapping[str, str | None],
        tick: int,
    ) -> None:
        """Hand the rewards and messages a participant sent to the trial."""
        if context is None:
            return
        for reward in delivery.rewards:
            names = receivers(reward.receiver_name, classes)
            if not names or names == [ENVIRONMENT]:
                raise CogmentError(
                    f"{self.service.where} at tick {tick} sent a reward to "
                    f"{reward.receiver_name!r}, which names no actor (actors: {sorted(classes)})"
                )
            past = None if reward.tick_id < 0 else int(reward.tick_id)
            sources = list(reward.sources) or [None]
            for name in names:
                for source in sources:
                    value = reward.value if source is None else source.value
                    confidence = 1.0 if source is None else source.confidence
                    # a NaN value is no reward: cogment-lab's environments send one to
                    # each actor that the step did not reward (the others' turn in a game)
                    if confidence >= 0 and not math.isnan(value):
                        context.send_reward(name, value, confidence, past)
        for message in delivery.messages:
            names = receivers(message.receiver_name, classes)
            if not names:
                raise CogmentError(
                    f"{self.service.where} at tick {tick} sent a message to "
                    f"{message.receiver_name!r}, which names no participant"
                )
            payload = any_to_payload(message.payload)
            for name in [BROADCAST] if message.receiver_name in (BROADCAST, "*.*") else names:
                context.send_message(name, payload)

    def close(self) -> None:
        self._end_stream("cogym closed this participant")
        try:
            self.loop.call(self.service.close(), 5.0, f"{self.service.where} (close)")
        except CogmentError:
            pass  # closing: a channel that does not close in time is dropped with the loop
        finally:
            self.loop.release()


class CogmentEnvironment(_Participant, Environment):
    """A Cogment environment (served, or an in-process ``async def impl(session)``) as the
    environment of a cogym trial. Built from ``cogment:grpc://HOST:PORT/IMPL`` or
    ``cogment:<module>:<impl>`` (see :mod:`cogym.cogment`)."""

    name = ENVIRONMENT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._order: list[str] = []
        self._classes: dict[str, str] = {}
        self._spaces: dict[str, ActorClass] = {}

    def __repr__(self) -> str:
        return f"CogmentEnvironment({self.service.where})"

    def bind(self, actors: Sequence[ActorSpec]) -> dict[str, ActorClass]:
        known = [c.name for c in self.cog_settings.actor_classes]
        problems = []
        bound: dict[str, ActorClass] = {}
        for i, actor in enumerate(actors):
            class_name = actor.actor_class
            if class_name is None and len(known) == 1:
                class_name = known[0]
            if class_name not in known:
                problems.append((
                    f"actors[{i}].actor_class",
                    f"actor {actor.name!r}: {self.service.where} knows the actor classes {known} "
                    f"(from its cog_settings); name one with actor_class",
                ))
                continue
            observation_space, action_space = self.codec.spaces(actor.name, class_name)
            bound[actor.name] = ActorClass(class_name, observation_space, action_space)
        if problems:
            raise BindingError(problems)
        self._order = [a.name for a in actors]
        self._classes = {name: c.name for name, c in bound.items()}
        self._spaces = bound
        return bound

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        from cogment.api import common_pb2, environment_pb2

        self._end_stream("a new trial started before this one ended")
        context = self.context
        trial_id = context.trial_id if context is not None else uuid.uuid4().hex
        config = self.config_message
        if config is not None:
            config = type(config).FromString(config.SerializeToString())
            self.codec.config_for_environment(config, seed)
        init = environment_pb2.EnvInitialInput(
            name=ENVIRONMENT,
            impl_name=self.service.impl_name,
            tick_id=0,
            actors_in_trial=[
                common_pb2.TrialActor(name=n, actor_class=self._classes[n]) for n in self._order
            ],
        )
        if config is not None:
            init.config.content = config.SerializeToString()

        async def start() -> tuple[EnvironmentLink, Delivery]:
            link = EnvironmentLink(await self.service.open(trial_id, ENVIRONMENT))
            return link, await link.start(init)

        self.link, delivery = self._call(start(), "start", 0)
        self._forward(context, delivery, self._classes, 0)
        observations = self._observations(delivery, 0)
        return observations, {name: {} for name in observations}

    def step(self, actions: dict[str, Any]) -> StepResult:
        from cogment.api import environment_pb2

        context = self.context
        tick = context.tick if context is not None else 0
        link = self.link
        if link is None:
            raise CogmentError(f"{self.service.where}: step() before reset()")
        action_set = environment_pb2.ActionSet(tick_id=tick, timestamp=_timestamp())
        for index, name in enumerate(self._order):
            class_name = self._classes[name]
            if name not in actions or actions[name] is None:
                action_set.actions.append(b"")
                action_set.unavailable_actors.append(index)
                continue
            message = self.cog_settings.actor_classes[class_name].action_space()
            try:
                self.codec.encode_action(name, class_name, actions[name], message)
            except Exception as exc:
                raise CogmentDecodeError(
                    f"{self.service.where} at tick {tick}: the action of actor {name!r} "
                    f"({actions[name]!r}) does not fit {type(message).__name__}: {exc}"
                ) from exc
            action_set.actions.append(message.SerializeToString())
        max_ticks = context.spec.max_ticks if context is not None else None
        last = max_ticks is not None and tick + 1 >= max_ticks
        delivery = self._call(link.step(action_set, last), "step", tick)
        self._forward(context, delivery, self._classes, tick)
        observations = self._observations(delivery, tick + 1)
        terminated: dict[str, bool] = {}
        if delivery.ending or last:
            self._call(link.end(), "end", tick)
            self.link = None
            if delivery.ending and not last:  # at max_ticks, the trial truncates them
                terminated = dict.fromkeys(observations, True)
        return observations, {}, terminated, {}, {name: {} for name in observations}

    def _observations(self, delivery: Delivery, tick: int) -> dict[str, Any]:
        observation_set = delivery.data
        if observation_set is None:
            raise CogmentError(
                f"{self.service.where} acknowledged the end at tick {tick} without its final "
                "observations"
            )
        decoded: dict[int, Any] = {}
        observations: dict[str, Any] = {}
        for index, name in enumerate(self._order):
            slot = observation_set.actors_map[index]
            if slot in decoded:
                observations[name] = decoded[slot]
                continue
            class_name = self._classes[name]
            message = self.cog_settings.actor_classes[class_name].observation_space()
            try:
                message.ParseFromString(observation_set.observations[slot])
                if _not_its_turn(message):
                    continue
                value = self.codec.decode_observation(name, class_name, message)
            except Exception as exc:
                raise CogmentDecodeError(
                    f"{self.service.where} at tick {tick}: the observation of actor {name!r} "
                    f"does not fit its space {self._spaces[name].observation_space}: {exc}"
                ) from exc
            observations[name] = decoded[slot] = value
        return observations

    def on_message(self, message: Message) -> None:
        if self.link is None:
            return
        from cogment.api import common_pb2

        cogment_message = common_pb2.Message(
            tick_id=message.tick, sender_name=message.sender, receiver_name=ENVIRONMENT
        )
        payload_to_any(message.payload, cogment_message.payload)
        self._call(self.link.send_message(cogment_message), "message", message.tick)


def _not_its_turn(message: Any) -> bool:
    """An observation marked ``active: false`` without a value: cogment-lab's turn-based
    (PettingZoo AEC) environments send one to every actor but the one whose turn it is."""
    fields = message.DESCRIPTOR.fields_by_name
    return "active" in fields and not message.active and not message.HasField("value")


class CogmentActor(_Participant):
    """A Cogment service actor (served, or an in-process ``async def impl(session)``) as an
    actor of a cogym trial. Built from ``cogment:grpc://HOST:PORT/IMPL`` or
    ``cogment:<module>:<impl>`` (see :mod:`cogym.cogment`)."""

    def __init__(
        self, *args: Any, cogment_class: str, actor_class: ActorClass, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.cogment_class = cogment_class
        self.actor_class = actor_class
        self.context: TrialContext | None = None
        self._rewards: dict[int, list[Reward]] = {}
        self._classes: dict[str, str | None] = {}

    def __repr__(self) -> str:
        return f"CogmentActor({self.service.where})"

    def on_end(self, observation: Any | None) -> None:
        """End the trial's stream as Cogment's orchestrator does: where the trial ended (or was
        stopped), the rewards of its last ticks, ``LAST``, the final ``observation``, the actor's
        ``LAST_ACK`` and ``END`` (the SDK session sees ``ENDING`` with the observation, then
        ``FINAL``); where it failed, ``END`` alone, with the reason."""
        context, link = self.context, self.link
        if observation is None or context is None or link is None or link.ended:
            self._end_stream("cogym ended the trial without a last observation for this actor")
            return
        final = self._observation(observation, context.tick)
        self.link = None
        try:
            self.loop.call(
                link.finish(self._take_rewards(), final), 5.0, f"{self.service.where} (end)"
            )
        except CogmentError:
            self.link = link
            self._end_stream("it did not acknowledge the end of the trial")
            raise

    def reset(self, context: TrialContext) -> None:
        from cogment.api import common_pb2

        self._end_stream("a new trial started before this one ended")
        self.context = context
        self._rewards = {}
        self._classes = {a.name: a.actor_class for a in context.spec.actors}
        self._classes[context.name] = self.cogment_class
        config = self.config_message
        if config is not None:
            config = type(config).FromString(config.SerializeToString())
            self.codec.config_for_actor(
                config, self.actor_class.observation_space, self.actor_class.action_space,
                context.seed,
            )
        init = common_pb2.ActorInitialInput(
            actor_name=context.name,
            actor_class=self.cogment_class,
            impl_name=self.service.impl_name,
            env_name=ENVIRONMENT,
        )
        if config is not None:
            init.config.content = config.SerializeToString()

        async def start() -> tuple[ActorLink, Delivery]:
            link = ActorLink(await self.service.open(context.trial_id, context.name))
            return link, await link.start(init)

        self.link, delivery = self._call(start(), "start", 0)
        self._forward(context, delivery, self._classes, 0)

    def _observation(self, observation: Any, tick: int) -> Any:
        """``observation`` as the Cogment ``Observation`` of ``tick``."""
        from cogment.api import common_pb2

        name = self.context.name if self.context is not None else ""
        message = self.cog_settings.actor_classes[self.cogment_class].observation_space()
        try:
            self.codec.encode_observation(name, self.cogment_class, observation, message)
        except Exception as exc:
            raise CogmentDecodeError(
                f"{self.service.where} at tick {tick}: the observation of actor {name!r} does "
                f"not fit {type(message).__name__}: {exc}"
            ) from exc
        return common_pb2.Observation(
            tick_id=tick, timestamp=_timestamp(), content=message.SerializeToString()
        )

    def act(self, observation: Any) -> Any:
        context = self.context
        if context is None or self.link is None:
            raise CogmentError(f"{self.service.where}: act() before reset()")
        tick = context.tick
        name = context.name
        cogment_observation = self._observation(observation, tick)
        try:
            leftover, delivery = self._call(
                self.link.act(self._take_rewards(), cogment_observation), "act", tick
            )
        except CogmentError:
            # its stream is gone: an optional actor is unavailable from now on, and gets no
            # more rewards or messages, as Cogment's orchestrator disengages it
            self.link = None
            raise
        if tick > 0:
            # sent after its last action: on the tick before, as the orchestrator counts them
            self._forward_past(context, leftover, tick - 1)
        self._forward(context, delivery, self._classes, tick)
        action = self.cog_settings.actor_classes[self.cogment_class].action_space()
        try:
            action.ParseFromString(delivery.data.content)
            value = self.codec.decode_action(name, self.cogment_class, action)
        except Exception as exc:
            raise CogmentDecodeError(
                f"{self.service.where} at tick {tick}: the action of actor {name!r} does not "
                f"fit its space {self.actor_class.action_space}: {exc}"
            ) from exc
        if value is None and self.actor_class.action_space is not None:
            raise CogmentDecodeError(
                f"{self.service.where} at tick {tick}: actor {name!r} sent an empty action "
                f"(field value unset); its action space is {self.actor_class.action_space}"
            )
        return value

    def _forward_past(self, context: TrialContext, delivery: Delivery, tick: int) -> None:
        for reward in delivery.rewards:
            if reward.tick_id < 0:
                reward.tick_id = tick
        self._forward(context, delivery, self._classes, tick)

    def _take_rewards(self) -> list[Any]:
        """The rewards received since the last observation, one aggregated Reward per tick
        with its sources, as Cogment's orchestrator sends them."""
        from cogment.api import common_pb2

        pending, self._rewards = self._rewards, {}
        out = []
        for tick in sorted(pending):
            sources = pending[tick]
            weight = sum(r.confidence for r in sources if r.confidence > 0)
            total = sum(r.value * r.confidence for r in sources if r.confidence > 0)
            reward = common_pb2.Reward(
                tick_id=tick,
                receiver_name=self.context.name if self.context else "",
                value=total / weight if weight > 0 else 0.0,
            )
            for r in sources:
                reward.sources.add(sender_name=r.sender, value=r.value, confidence=r.confidence)
            out.append(reward)
        return out

    def on_reward(self, reward: Reward) -> None:
        self._rewards.setdefault(reward.tick, []).append(reward)

    def on_message(self, message: Message) -> None:
        if self.link is None:
            return
        from cogment.api import common_pb2

        cogment_message = common_pb2.Message(
            tick_id=message.tick, sender_name=message.sender, receiver_name=message.receiver
        )
        if self.context is not None:
            cogment_message.receiver_name = self.context.name
        payload_to_any(message.payload, cogment_message.payload)
        self._call(self.link.send_message(cogment_message), "message", message.tick)
