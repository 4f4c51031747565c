"""A small Cogment app written with the SDK (cogment-lab's cog_settings and conventions): one
environment, two actors, and a way to serve them on 127.0.0.1, in a thread or a process.

The environment ``duel`` has two ``player`` actors; each observes ``[tick, other's last
action]`` (Box(0, 100, (2,))) and plays Discrete(3). Every tick it rewards each actor twice: its
action (confidence 1) and 10 to ``player.*`` (confidence 0.5); it sends actor ``a`` a message
and counts the messages it got, which it puts back in ``a``'s next message. It ends itself at
tick ``end_at`` (``reset_args``) or lets the orchestrator end it (``end_at`` 0).
Actor ``a`` (:func:`chatty`) answers each message of the environment with one, and rewards ``b``
by 1 with confidence 0.25 every tick; both actors play ``(tick + offset) % 3``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading

import cogment
import gymnasium as gym
import numpy as np
from cogment_lab.actors.simple import RandomActor
from cogment_lab.envs.gymnasium import GymEnvironment
from cogment_lab.envs.pettingzoo import AECEnvironment
from cogment_lab.generated import cog_settings
from cogment_lab.generated import data_pb2 as data
from cogment_lab.specs.ndarray_serialization import deserialize_ndarray, serialize_ndarray
from google.protobuf import struct_pb2

from cogym.cogment import Codec, serving
from cogym.spaces import space_to_dict

OBSERVATION = gym.spaces.Box(0, 100, (2,), np.float32)
ACTION = gym.spaces.Discrete(3)
SPACES = {"observation_space": space_to_dict(OBSERVATION), "action_space": space_to_dict(ACTION)}
SETTINGS = "cogment_lab.generated.cog_settings"
logging.getLogger("cogment.sdk").addHandler(logging.NullHandler())


def _observation(tick: int, other: int) -> data.Observation:
    value = np.array([tick, other], dtype=np.float32)
    return data.Observation(value=serialize_ndarray(value), active=True, alive=True)


def _text(text: str) -> struct_pb2.Value:
    return struct_pb2.Value(string_value=text)


async def duel(session):
    config = session.config
    end_at = config.reset_args["end_at"].int_value if "end_at" in config.reset_args else 0
    names = [actor.actor_name for actor in session.get_active_actors()]
    last = dict.fromkeys(names, 0)
    received = 0
    session.start([("*", _observation(0, 0))])
    ENDINGS[session.get_trial_id()] = "running"
    async for event in session.all_events():
        ENDINGS[session.get_trial_id()] = event.type.name
        received += len(event.messages)
        if not event.actions:
            continue
        tick = event.actions[0].tick_id
        unavailable = []
        for recv in event.actions:
            if recv.status == cogment.ActorStatus.UNAVAILABLE:
                unavailable.append(names[recv.actor_index])
                continue
            flat = deserialize_ndarray(recv.action.value)
            last[names[recv.actor_index]] = int(gym.spaces.unflatten(ACTION, flat))
        for name in names:
            session.add_reward(value=float(last[name]), confidence=1.0, to=[name])
        session.add_reward(value=10.0, confidence=0.5, to=["player.*"])
        news = f"tick {tick}, got {received}" + (f", unavailable {unavailable}" * bool(unavailable))
        session.send_message(_text(news), to=[names[0]])
        observations = [
            (name, _observation(tick + 1, last[names[1 - i]])) for i, name in enumerate(names)
        ]
        if end_at and tick + 1 >= end_at:
            session.end(observations)
        else:
            session.produce_observations(observations)


ENDINGS: dict[str, str] = {}
"""The type of the last event each trial's ``duel`` session got (``FINAL`` after a soft end)."""


def _player(offset: int, chat: bool):
    async def impl(session):
        session.start()
        async for event in session.all_events():
            for message in event.messages:
                if chat and message.sender_name == "env":
                    session.send_message(_text("thanks"), to=["env"])
            if event.observation and event.type == cogment.EventType.ACTIVE:
                tick = event.observation.tick_id
                choice = (tick + offset) % 3
                flat = gym.spaces.flatten(ACTION, choice)
                session.do_action(data.PlayerAction(value=serialize_ndarray(flat)))
                if chat:
                    session.add_reward(value=1.0, confidence=0.25, to=["b"])

    return impl


chatty = _player(0, chat=True)
quiet = _player(1, chat=False)


async def watching(session):
    """Plays as :data:`quiet` does and notes, in :data:`SEEN_AT_END`, the events its session
    gets once the trial ends."""
    session.start()
    seen = SEEN_AT_END.setdefault(session.get_trial_id(), [])
    async for event in session.all_events():
        if event.type == cogment.EventType.ACTIVE:
            if event.observation:
                flat = gym.spaces.flatten(ACTION, (event.observation.tick_id + 1) % 3)
                session.do_action(data.PlayerAction(value=serialize_ndarray(flat)))
            continue
        observed = None
        if event.observation:
            value = deserialize_ndarray(event.observation.observation.value)
            observed = (event.observation.tick_id, value.tolist())
        seen.append((event.type.name, observed))


SEEN_AT_END: dict[str, list] = {}
"""By trial id, what :func:`watching` saw after the trial's end: ``(event type, (tick,
observation) or None)``."""


async def crashing(session):
    """An environment that dies at tick 3."""
    session.start([("*", _observation(0, 0))])
    async for event in session.all_events():
        if event.actions:
            if event.actions[0].tick_id == 3:
                raise RuntimeError("the duel service crashed")
            session.produce_observations([("*", _observation(event.actions[0].tick_id + 1, 0))])


async def stalling(session):
    """An environment that stops answering at tick 2 (it awaits forever)."""
    session.start([("*", _observation(0, 0))])
    async for event in session.all_events():
        if event.actions:
            tick = event.actions[0].tick_id
            if tick == 2:
                await asyncio.Event().wait()
            session.produce_observations([("*", _observation(tick + 1, 0))])


async def wrong_shape(session):
    """An environment whose observations have 3 numbers where its space says 2."""
    value = serialize_ndarray(np.zeros(3, dtype=np.float32))
    session.start([("*", data.Observation(value=value, active=True, alive=True))])
    async for _event in session.all_events():
        pass


async def dying_actor(session):
    """An actor that plays twice, then raises."""
    session.start()
    async for event in session.all_events():
        if event.observation and event.type == cogment.EventType.ACTIVE:
            if event.observation.tick_id == 2:
                raise RuntimeError("the actor service crashed")
            session.do_action(data.PlayerAction(value=serialize_ndarray(np.eye(3)[0])))


cartpole = GymEnvironment("CartPole-v1", reinitialize=True)
"""cogment-lab's published Gymnasium environment, unchanged (``reinitialize``: an env per
session, so that concurrent trials do not share one)."""
taxi = GymEnvironment("Taxi-v4", reinitialize=True)
"""The same, on Taxi (Discrete observations; the env's reward is a Cogment reward)."""
rock_paper_scissors = AECEnvironment("pettingzoo.classic.rps_v2.env", reinitialize=True)
"""cogment-lab's PettingZoo AEC environment on rock-paper-scissors (the players take turns)."""
random_player = RandomActor(gym.spaces.Discrete(2))
"""cogment-lab's published random actor, unchanged."""

IMPLEMENTATIONS = {
    "environments": {
        "duel": duel, "crashing": crashing, "stalling": stalling, "wrong_shape": wrong_shape,
        "cartpole": cartpole.impl, "taxi": taxi.impl,
        "rock_paper_scissors": rock_paper_scissors.impl,
    },
    "actors": {
        "chatty": chatty, "quiet": quiet, "watching": watching, "dying": dying_actor,
        "random": random_player.impl,
    },
}


async def serve(ready, stop, environments=None, actors=None):
    """Serve ``environments`` and ``actors`` (name -> impl), registered on an SDK context, on
    127.0.0.1 and a free port, with :func:`cogym.cogment.serving.serve`."""
    context = cogment.Context(cog_settings=cog_settings, user_id="cogym-tests")
    for name, impl in (environments or {}).items():
        context.register_environment(impl, name)
    for name, impl in (actors or {}).items():
        context.register_actor(impl, name, ["player"])
    await serving.serve(context, ready=ready, until=stop)


class ServedApp:
    """The app served in a thread of this process: ``port``, and ``stop()``."""

    def __init__(self, environments=None, actors=None):
        self._loop = asyncio.new_event_loop()
        self._stopped = asyncio.Event()
        started = threading.Event()
        self.port = 0

        def ready(port):
            self.port = port
            started.set()

        def run():
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(
                serve(ready, self._stopped.wait, environments, actors)
            )

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the Cogment test app did not start within 10 s")

    def stop(self):
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(10)


class DuelCodec(Codec):
    """A codec written for the duel (instead of the cogment-lab convention's): observations
    are the raw ``[tick, other]`` array, actions a one-hot of Discrete(3)."""

    def spaces(self, actor, actor_class):
        return OBSERVATION, ACTION

    def decode_observation(self, actor, actor_class, message):
        return deserialize_ndarray(message.value).astype(np.float32)

    def encode_observation(self, actor, actor_class, value, message):
        message.value.CopyFrom(serialize_ndarray(np.asarray(value, dtype=np.float32)))

    def decode_action(self, actor, actor_class, message):
        return np.int64(np.argmax(deserialize_ndarray(message.value)))

    def encode_action(self, actor, actor_class, value, message):
        message.value.CopyFrom(serialize_ndarray(np.eye(3, dtype=np.int64)[int(value)]))


if __name__ == "__main__":  # python -m tests.cogment.app PORT_FILE: serve all, until killed
    def write_port(port):
        with open(sys.argv[1] + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(sys.argv[1] + ".tmp", sys.argv[1])

    async def forever():
        await asyncio.Event().wait()

    asyncio.run(serve(write_port, forever, IMPLEMENTATIONS["environments"],
                      IMPLEMENTATIONS["actors"]))

