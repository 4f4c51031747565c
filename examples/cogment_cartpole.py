"""A Cogment environment served in one terminal, trained on with PPO from another.

The environment is cogment-lab's published ``GymEnvironment`` (CartPole), written with the
Cogment SDK; cogym dials it, runs trials over Cogment's protocol, and PPO trains through
``TrialGymEnv``. The trained policy then plays the served environment as an ``sb3:`` actor,
next to cogment-lab's random actor for comparison::

    python examples/cogment_cartpole.py serve --port 9001          # terminal 1
    python examples/cogment_cartpole.py train --port 9001          # terminal 2

``serve`` registers the implementations on an SDK ``Context`` and serves them on 127.0.0.1
(``cogym.cogment.serving.serve``; the SDK's own ``context.serve_all_registered`` works the same,
on every interface).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
from pathlib import Path

SETTINGS = "cogment_lab.generated.cog_settings"


def spec_dict(port: int, actor: str) -> dict:
    """A trial of the served CartPole; ``actor`` plays it (``external`` for PPO)."""
    player_config = {"cog_settings": SETTINGS} if actor.startswith("cogment") else {}
    return {
        "environment": {
            "implementation": f"cogment:grpc://127.0.0.1:{port}/cartpole",
            "config": {"cog_settings": SETTINGS, "spaces_from": "CartPole-v1"},
        },
        # cogment-lab's GymEnvironment names its player "gym"
        "actors": [{"name": "gym", "implementation": actor, "config": player_config}],
        "max_ticks": 500,
        "seed": 0,
    }


def serve(port: int) -> None:
    import cogment
    import gymnasium as gym
    from cogment_lab.actors.simple import RandomActor
    from cogment_lab.envs.gymnasium import GymEnvironment
    from cogment_lab.generated import cog_settings

    from cogym.cogment.serving import serve as serve_context

    logging.basicConfig(level=logging.WARNING)

    async def main() -> None:
        context = cogment.Context(cog_settings=cog_settings, user_id="cogym-example")
        # reinitialize: a CartPole per trial, so that concurrent trials do not share one
        cartpole = GymEnvironment("CartPole-v1", reinitialize=True)
        context.register_environment(cartpole.impl, "cartpole")
        random_actor = RandomActor(gym.spaces.Discrete(2))
        context.register_actor(random_actor.impl, "random", ["player"])
        await serve_context(
            context, port=port, ready=lambda p: print(f"serving on 127.0.0.1:{p}", flush=True)
        )

    asyncio.run(main())


def train(port: int, timesteps: int, trials: int) -> None:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.utils import LinearSchedule
    from stable_baselines3.common.vec_env import DummyVecEnv

    from cogym import Orchestrator, TrialSpec
    from cogym.wrappers import TrialGymEnv

    torch.set_num_threads(1)
    spec = TrialSpec.from_dict(spec_dict(port, "external"))
    env = DummyVecEnv([lambda: TrialGymEnv(spec) for _ in range(8)])
    model = PPO(
        "MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
        ent_coef=0.0, learning_rate=LinearSchedule(1e-3, 0.0, 1.0),
        clip_range=LinearSchedule(0.2, 0.0, 1.0), seed=0, device="cpu",
    )
    model.learn(timesteps)
    env.close()
    path = Path(tempfile.mkdtemp()) / "cogment-cartpole-ppo.zip"
    model.save(path)
    with Orchestrator() as orchestrator:
        for name, actor in (
            ("PPO", f"sb3:{path}"),
            ("cogment-lab random actor", f"cogment:grpc://127.0.0.1:{port}/random"),
        ):
            evaluation = TrialSpec.from_dict(spec_dict(port, actor)).replace(seed=10_000)
            results = orchestrator.run_many(evaluation, trials)
            returns = [r.returns["gym"] for r in results]
            print(f"{name}: mean return over {trials} trials {sum(returns) / len(returns):.1f}")
    print(f"saved {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serving = commands.add_parser("serve", help="serve the Cogment implementations")
    serving.add_argument("--port", type=int, default=9001)
    training = commands.add_parser("train", help="PPO on the served environment")
    training.add_argument("--port", type=int, default=9001)
    training.add_argument("--timesteps", type=int, default=100_000)
    training.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.port)
    else:
        train(args.port, args.timesteps, args.trials)


if __name__ == "__main__":
    main()
