"""The orchestrator's half of Cogment's ``RunTrial`` streams, as cogym plays it.

Per trial, with the environment (``EnvRunTrialInput`` / ``EnvRunTrialOutput``): ``init_input``
-> ``init_output`` and the first ``observation_set``; per tick an ``action_set`` -> the rewards
and messages the environment sends, then its next ``observation_set``. The trial ends either
way Cogment's orchestrator ends it:

- the environment ends it: it sends ``LAST``, its final observations and ``LAST_ACK``;
- the orchestrator ends it (``max_ticks``): ``LAST`` before the last ``action_set``; the
  environment answers with its final observations and ``LAST_ACK``;

then ``END`` closes the stream. An actor (``ActorRunTrialInput`` / ``ActorRunTrialOutput``)
gets ``init_input`` -> ``init_output``, then per tick the aggregated rewards of the ticks
before and an ``observation`` -> its ``action``; at the end ``LAST``, the final observation,
its ``LAST_ACK`` and ``END``. A ``HEARTBEAT`` from either is answered in kind; an ``END`` or a
closed stream in the middle of a trial is an error naming the participant.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from cogym.cogment.services import EOF, Stream
from cogym.errors import CogmentError

__all__ = ["ActorLink", "Delivery", "EnvironmentLink"]


def _states() -> Any:
    from cogment.api import common_pb2

    return common_pb2.CommunicationState


@dataclass
class Delivery:
    """What a participant sent until the awaited data came (or its stream ended)."""

    data: Any = None
    """The observation set (environment) or action (actor), ``None`` if none came."""
    rewards: list[Any] = field(default_factory=list)
    messages: list[Any] = field(default_factory=list)
    ending: bool = False
    """The environment sent ``LAST``: this is its final observation set."""


class _Failure:
    """What the reader puts in the inbox when the stream failed."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Link:
    """Reads a participant's stream until the data awaited, answering heartbeats."""

    output_type: Any
    input_type: Any

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.where = stream.where
        self.last_sent = False
        self.acked = False
        self.ended = False
        self._inbox: asyncio.Queue[Any] = asyncio.Queue()
        self._pump_task: asyncio.Task | None = None
        self._heartbeats = 0
        """Heartbeats sent whose answer has not come yet."""

    async def _pump(self) -> None:
        """Read the stream as data comes, answering heartbeats at once, into the inbox."""
        heartbeat = _states().HEARTBEAT
        try:
            while True:
                data = await self.stream.read()
                if data is not EOF and data.state == heartbeat:
                    if self._heartbeats > 0:
                        self._heartbeats -= 1  # the answer to cogym's
                    else:
                        await self.stream.write(self.input_type(state=heartbeat))
                    continue
                self._inbox.put_nowait(data)
                if data is EOF:
                    return
        except Exception as exc:
            self._inbox.put_nowait(_Failure(exc))

    async def _read(self) -> Any:
        if self._pump_task is None:
            self._pump_task = asyncio.get_running_loop().create_task(self._pump())
        data = await self._inbox.get()
        if isinstance(data, _Failure):
            self._inbox.put_nowait(data)
            raise data.error
        return data

    def drain(self) -> Delivery:
        """The rewards and messages that came since the last wait, without waiting."""
        delivery = Delivery()
        kept = []
        while not self._inbox.empty():
            data = self._inbox.get_nowait()
            if data is EOF or isinstance(data, _Failure) or data.state != _states().NORMAL:
                kept.append(data)
                break
            kind = data.WhichOneof("data")
            if kind == "reward":
                delivery.rewards.append(data.reward)
            elif kind == "message":
                delivery.messages.append(data.message)
            else:
                kept.append(data)
        while not self._inbox.empty():
            kept.append(self._inbox.get_nowait())
        for data in kept:
            self._inbox.put_nowait(data)
        return delivery

    async def _collect(self, awaited: str, delivery: Delivery, until_ack: bool = False) -> Delivery:
        states = _states()
        while True:
            data = await self._read()
            if data is EOF:
                raise CogmentError(
                    f"{self.where} closed its stream while cogym awaited its {awaited}"
                )
            state = data.state
            if state == states.NORMAL:
                kind = data.WhichOneof("data")
                if kind == "reward":
                    delivery.rewards.append(data.reward)
                elif kind == "message":
                    delivery.messages.append(data.message)
                elif kind == awaited and not until_ack:
                    delivery.data = getattr(data, kind)
                    if not (delivery.ending or self.last_sent):
                        return delivery
                    until_ack = True
                elif kind == awaited and until_ack and delivery.data is None:
                    delivery.data = getattr(data, kind)
                elif kind not in ("details", "init_output"):
                    raise CogmentError(
                        f"{self.where} sent {kind!r} while cogym awaited its {awaited}"
                    )
            elif state == states.LAST:
                delivery.ending = True
            elif state == states.LAST_ACK:
                self.acked = True
                return delivery
            elif state == states.END:
                self.ended = True
                details = data.details if data.HasField("details") else ""
                raise CogmentError(
                    f"{self.where} ended the trial abruptly (END) while cogym awaited its "
                    f"{awaited}{': ' + details if details else ''}"
                )
            else:
                raise CogmentError(f"{self.where} sent the invalid communication state {state}")

    async def _init(self, init: Any, awaited: str | None) -> Delivery:
        states = _states()
        self._heartbeats += 1
        await self.stream.write(self.input_type(state=states.HEARTBEAT))
        await self.stream.write(self.input_type(state=states.NORMAL, init_input=init))
        delivery = Delivery()
        while True:
            data = await self._read()
            if data is EOF:
                raise CogmentError(f"{self.where} closed its stream before starting the trial")
            if data.state == states.NORMAL and data.HasField("init_output"):
                break
            if data.state == states.NORMAL and data.HasField("reward"):
                delivery.rewards.append(data.reward)
            elif data.state == states.NORMAL and data.HasField("message"):
                delivery.messages.append(data.message)
            elif data.state not in (states.HEARTBEAT, states.NORMAL):
                raise CogmentError(
                    f"{self.where} answered the trial's start with communication state "
                    f"{data.state}"
                )
        if awaited is None:
            return delivery
        return await self._collect(awaited, delivery)

    async def send_message(self, message: Any) -> None:
        await self.stream.write(self.input_type(state=_states().NORMAL, message=message))

    async def end(self, details: str = "") -> None:
        """Send ``END`` (with ``details`` for an end without the ``LAST`` handshake) and close."""
        if self.ended:
            return
        self.ended = True
        states = _states()
        message = self.input_type(state=states.END)
        if details:
            message.details = details
        try:
            await self.stream.write(message)
        finally:
            await self.stream.close()
            if self._pump_task is not None:
                self._pump_task.cancel()


class EnvironmentLink(_Link):
    """The orchestrator side of one trial's stream with a Cogment environment."""

    def __init__(self, stream: Stream) -> None:
        from cogment.api import environment_pb2

        super().__init__(stream)
        self.input_type = environment_pb2.EnvRunTrialInput
        self.output_type = environment_pb2.EnvRunTrialOutput

    async def start(self, init: Any) -> Delivery:
        """Send ``init_input``; the first observation set and what came before it."""
        return await self._init(init, "observation_set")

    async def step(self, action_set: Any, last: bool) -> Delivery:
        """Send the tick's actions (after ``LAST`` when ``last``); the next observation set."""
        states = _states()
        if last:
            self.last_sent = True
            await self.stream.write(self.input_type(state=states.LAST))
        await self.stream.write(self.input_type(state=states.NORMAL, action_set=action_set))
        delivery = await self._collect("observation_set", Delivery())
        if (delivery.ending or last) and not self.acked:
            await self._collect("observation_set", delivery, until_ack=True)
        return delivery


class ActorLink(_Link):
    """The orchestrator side of one trial's stream with a Cogment service actor."""

    def __init__(self, stream: Stream) -> None:
        from cogment.api import common_pb2

        super().__init__(stream)
        self.input_type = common_pb2.ActorRunTrialInput
        self.output_type = common_pb2.ActorRunTrialOutput

    async def start(self, init: Any) -> Delivery:
        """Send ``init_input``; what the actor sent with its ``init_output``."""
        return await self._init(init, None)

    async def act(self, rewards: list[Any], observation: Any) -> tuple[Delivery, Delivery]:
        """Send the rewards of past ticks and the observation; what the actor sent after its
        last action (during the tick before), and what it sent up to its action."""
        leftover = self.drain()
        states = _states()
        write, make = self.stream.write, self.input_type
        for reward in rewards:
            await write(make(state=states.NORMAL, reward=reward))
        await write(make(state=states.NORMAL, observation=observation))
        return leftover, await self._collect("action", Delivery())

    async def finish(self, rewards: list[Any], observation: Any | None) -> Delivery:
        """End softly: the rewards, ``LAST``, the final observation, the actor's ``LAST_ACK``,
        ``END``."""
        states = _states()
        write, make = self.stream.write, self.input_type
        for reward in rewards:  # before LAST, as the orchestrator sends a tick's rewards
            await write(make(state=states.NORMAL, reward=reward))
        self.last_sent = True
        await write(make(state=states.LAST))
        delivery = Delivery()
        if observation is not None:
            await write(make(state=states.NORMAL, observation=observation))
            await self._collect("action", delivery, until_ack=True)
        await self.end()
        return delivery
