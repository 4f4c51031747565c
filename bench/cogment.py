"""Benchmarks of Cogment participants: ticks/s of a trivial one-actor Cogment environment
served over gRPC on loopback (in another process) and run in-process, against the same logic
as a native cogym environment; PPO wall time on cogment-lab's CartPole served against PPO on
the raw env.

``python -m bench --only cogment``; needs the Cogment SDK and cogment-lab (see the README).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gymnasium as gym
import numpy as np

from bench.harness import Figure, Stopwatch, alternate, median
from cogym import Orchestrator, TrialSpec
from cogym.environment import ActorClass, Environment
from cogym.spaces import space_to_dict

EPISODE = 1000
"""Ticks of one episode of the counter."""
OBSERVATION = gym.spaces.Box(0, EPISODE, (1,), np.float32)
ACTION = gym.spaces.Discrete(2)
SETTINGS = "cogment_lab.generated.cog_settings"
GRPC_TARGET = 2000.0
"""Ticks/s the served counter must reach."""


# -- the counter, as a Cogment environment (SDK) and as a cogym one ------------------------


async def counter(session):
    """Counts ticks; rewards the action; ends after :data:`EPISODE` ticks."""
    from cogment_lab.generated import data_pb2
    from cogment_lab.specs.ndarray_serialization import deserialize_ndarray, serialize_ndarray

    def observe(tick: int):
        value = serialize_ndarray(np.array([tick], dtype=np.float32))
        return [("*", data_pb2.Observation(value=value, active=True, alive=True))]

    session.start(observe(0))
    async for event in session.all_events():
        if not event.actions:
            continue
        tick = event.actions[0].tick_id
        action = int(np.argmax(deserialize_ndarray(event.actions[0].action.value)))
        session.add_reward(value=float(action), confidence=1.0, to=["player"])
        if tick + 1 >= EPISODE:
            session.end(observe(tick + 1))
        else:
            session.produce_observations(observe(tick + 1))


class Counter(Environment):
    """:func:`counter` as a native cogym environment."""

    def bind(self, actors):
        self.name = actors[0].name
        return {self.name: ActorClass("player", OBSERVATION, ACTION)}

    def reset(self, seed=None, options=None):
        self.tick = 0
        return {self.name: np.array([0], dtype=np.float32)}, {self.name: {}}

    def step(self, actions):
        self.tick += 1
        done = {self.name: True} if self.tick >= EPISODE else {}
        observation = np.array([self.tick], dtype=np.float32)
        return {self.name: observation}, {self.name: float(actions[self.name])}, done, {}, {}


def make_counter() -> Counter:
    return Counter()


# -- serving in another process -----------------------------------------------------------


def _echo_servicer() -> Any:
    """An ``EnvironmentSP`` that answers each message with a reward and an observation set, as
    the counter does per tick, with no SDK: the gRPC round trip alone."""
    from cogment.api import common_pb2, environment_pb2, environment_pb2_grpc

    class Echo(environment_pb2_grpc.EnvironmentSPServicer):
        async def RunTrial(self, request_iterator, context):
            import grpc

            reward = environment_pb2.EnvRunTrialOutput(reward=common_pb2.Reward(value=1.0))
            observations = environment_pb2.EnvRunTrialOutput(
                observation_set=environment_pb2.ObservationSet(tick_id=1)
            )
            while await context.read() is not grpc.aio.EOF:
                await context.write(reward)
                await context.write(observations)

    return Echo()


async def _serve(port_file: str) -> None:
    import grpc
    from cogment.api import environment_pb2_grpc
    from cogment.env_service import EnvironmentServicer
    from cogment_lab.envs.gymnasium import GymEnvironment
    from cogment_lab.generated import cog_settings

    cartpole = GymEnvironment("CartPole-v1", reinitialize=True)
    server, echo = grpc.aio.server(), grpc.aio.server()
    impls = {
        "counter": SimpleNamespace(impl=counter, properties={}),
        "cartpole": SimpleNamespace(impl=cartpole.impl, properties={}),
    }
    servicer = EnvironmentServicer(impls, cog_settings, None)
    environment_pb2_grpc.add_EnvironmentSPServicer_to_server(servicer, server)
    environment_pb2_grpc.add_EnvironmentSPServicer_to_server(_echo_servicer(), echo)
    ports = [s.add_insecure_port("127.0.0.1:0") for s in (server, echo)]
    await server.start()
    await echo.start()
    Path(port_file + ".tmp").write_text(" ".join(map(str, ports)))
    os.replace(port_file + ".tmp", port_file)
    await server.wait_for_termination()


class _Served:
    """The benchmark's environments served by ``python -m bench.cogment PORT_FILE``."""

    def __enter__(self) -> str:
        self._dir = tempfile.TemporaryDirectory()
        port_file = Path(self._dir.name) / "port"
        root = Path(__file__).resolve().parents[1]  # this checkout's bench, whatever the cwd
        command = [sys.executable, "-m", "bench.cogment", str(port_file)]
        self._process = subprocess.Popen(command, cwd=root)
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("the Cogment benchmark service did not start")
            time.sleep(0.05)
        port, echo = port_file.read_text().split()
        self.echo_port = int(echo)
        return f"cogment:grpc://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.wait(10)
        self._dir.cleanup()


# -- the figures ----------------------------------------------------------------------------


def _counter_spec(implementation: str) -> TrialSpec:
    config = {}
    if implementation.startswith("cogment"):
        config = {
            "cog_settings": SETTINGS,
            "observation_space": space_to_dict(OBSERVATION),
            "action_space": space_to_dict(ACTION),
        }
    return TrialSpec.from_dict({
        "environment": {"implementation": implementation, "config": config},
        "actors": [{"name": "player", "implementation": "random"}],
        "seed": 0,
    })


def _ticks_per_second(orchestrator: Orchestrator, spec: TrialSpec, ticks: int) -> float:
    done = 0
    with Stopwatch() as watch:
        for result in orchestrator.iter_run(spec, trials=10**9):
            if result.error:
                raise RuntimeError(result.error)
            done += result.ticks
            if done >= ticks:
                break
    return done / watch.seconds


def _sdk_ticks_per_second(ticks: int, where: str = "bench.cogment:counter") -> float:
    """The counter (in-process, or served: ``grpc://HOST:PORT/counter``) stepped by a coroutine
    on its participant's own loop, through cogym's protocol link, with nothing of the tick loop
    and no thread crossing: what the SDK's session and servicer (and, served, gRPC) alone cost
    per tick, the ceiling of any bridge that runs the SDK's code."""
    from cogment.api import environment_pb2

    from cogym.cogment.schemes import make_cogment_environment
    from cogym.spec import ActorSpec

    config = _counter_spec(f"cogment:{where}").environment.config
    environment = make_cogment_environment(where, dict(config))
    environment.bind([ActorSpec(name="player")])
    action = environment.cog_settings.actor_classes["player"].action_space()
    environment.codec.encode_action("player", "player", 1, action)
    encoded = action.SerializeToString()

    async def episode(link: Any, steps: int) -> None:
        for tick in range(steps):
            action_set = environment_pb2.ActionSet(tick_id=tick, actions=[encoded])
            await link.step(action_set, False)

    done = 0
    with Stopwatch() as watch:
        while done < ticks:
            environment.reset(seed=0)
            steps = min(EPISODE - 1, ticks - done)
            environment.loop.call(episode(environment.link, steps), 600.0, "the counter")
            done += steps
    environment.close()
    return done / watch.seconds


def _round_trips_per_second(port: int, ticks: int) -> float:
    """Round trips of the echo service (one message out, a reward and an observation set back)
    over one aio stream, on the Cogment loop: the gRPC part of a served tick, nothing else."""
    import grpc
    from cogment.api import environment_pb2, environment_pb2_grpc

    from cogym.cogment.runtime import background_loop

    async def run() -> float:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = environment_pb2_grpc.EnvironmentSPStub(channel).RunTrial()
            message = environment_pb2.EnvRunTrialInput(action_set=environment_pb2.ActionSet())
            with Stopwatch() as watch:
                for _ in range(ticks):
                    await call.write(message)
                    await call.read()
                    await call.read()
            await call.done_writing()
        return ticks / watch.seconds

    return background_loop().call(run(), 600.0, "the echo service")


def counter_ticks(quick: bool) -> list[Figure]:
    """Ticks/s of the counter: native, in-process Cogment, served Cogment."""
    ticks = 2 * EPISODE if quick else 10 * EPISODE
    rounds = 3 if quick else 5
    native = _counter_spec("python:bench.cogment:make_counter")
    local = _counter_spec("cogment:bench.cogment:counter")
    service = _Served()
    with service as served, Orchestrator() as orchestrator:
        remote = _counter_spec(f"{served}/counter")

        def run(spec: TrialSpec):
            return lambda: _ticks_per_second(orchestrator, spec, ticks)

        base, in_process = alternate(run(native), run(local), rounds)
        base_again, over_grpc = alternate(run(native), run(remote), rounds)
        base_sdk, sdk_only = alternate(
            run(native), lambda: _sdk_ticks_per_second(ticks), rounds
        )
        served_link = [_sdk_ticks_per_second(ticks, served.removeprefix("cogment:") + "/counter")
                       for _ in range(rounds)]  # fmt: skip
        bare_grpc = [_round_trips_per_second(service.echo_port, ticks) for _ in range(rounds)]
    return [
        Figure(
            "ticks/s, trivial one-actor Cogment env run in-process (the SDK's servicer)",
            "ticks/s", "the same logic as a native cogym environment",
            median(base), median(in_process), True, target=0.3,
            samples={"baseline": base, "cogym": in_process},
        ),
        Figure(
            "the in-process env stepped on the Cogment loop itself, without the tick loop",
            "ticks/s", "the same logic as a native cogym environment",
            median(base_sdk), median(sdk_only), True,
            note="information: the SDK's own cost per tick bounds any in-process bridge",
            samples={"baseline": base_sdk, "cogym": sdk_only},
        ),
        Figure(
            "same env served over gRPC on loopback (another process)",
            "ticks/s", "the same logic as a native cogym environment",
            median(base_again), median(over_grpc), True,
            note="information: the ratio to native",
            samples={"baseline": base_again, "cogym": over_grpc},
        ),
        Figure(
            "the served env stepped on its gRPC loop itself, without the tick loop",
            "ticks/s", "2,000 ticks/s", GRPC_TARGET, median(served_link), True,
            note="information: the SDK's server and cogym's link alone, no thread crossing",
            samples={"cogym": served_link},
        ),
        Figure(
            "gRPC round trips alone on loopback (aio stream, 1 message out, 2 back, no SDK)",
            "ticks/s", "2,000 ticks/s", GRPC_TARGET, median(bare_grpc), True,
            note="information: the transport's own ceiling for the served figure",
            samples={"cogym": bare_grpc},
        ),
        Figure(
            "same env served over gRPC, against the 2,000 ticks/s target",
            "ticks/s", "2,000 ticks/s", GRPC_TARGET, median(over_grpc), True, target=1.0,
        ),
    ]


def ppo_on_served_cartpole(quick: bool) -> list[Figure]:
    """PPO wall time on cogment-lab's CartPole served over gRPC against PPO on the raw env."""
    import torch
    from stable_baselines3 import PPO

    from cogym.wrappers import TrialGymEnv

    steps = 2048 if quick else 16_384
    torch.set_num_threads(1)

    def train(make_env) -> float:
        model = PPO("MlpPolicy", make_env(), n_steps=512, batch_size=128, seed=0, device="cpu")
        with Stopwatch() as watch:
            model.learn(steps)
        model.get_env().close()
        return watch.seconds

    with _Served() as served:
        spec = TrialSpec.from_dict({
            "environment": {
                "implementation": f"{served}/cartpole",
                "config": {"cog_settings": SETTINGS, "spaces_from": "CartPole-v1"},
            },
            "actors": [{"name": "gym", "implementation": "external"}],
            "max_ticks": 500,
        })
        raw = [train(lambda: gym.make("CartPole-v1"))]
        ours = [train(lambda: TrialGymEnv(spec))]
    return [
        Figure(
            f"PPO wall time, {steps} steps, cogment-lab CartPole served over gRPC",
            "s", "PPO on the raw gym.make('CartPole-v1')",
            median(raw), median(ours), False,
            note="information: what a served environment costs a training run",
            samples={"baseline": raw, "cogym": ours},
        )
    ]


def _all(quick: bool) -> list[Figure]:
    return counter_ticks(quick) + ppo_on_served_cartpole(quick)


BENCHMARKS = {"cogment": _all}


if __name__ == "__main__":  # python -m bench.cogment PORT_FILE: serve the environments
    asyncio.run(_serve(sys.argv[1]))
