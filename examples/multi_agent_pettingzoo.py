"""A multi-agent PettingZoo trial with mixed actors: a trained policy, a bot and a random walker.

1. PPO learns the rendezvous game with parameter sharing: every walker of a ``TrialParallelEnv``
   is an external agent, and SuperSuit turns the env into an SB3 vector env.
2. The trained policy then plays one walker as ``sb3:<file>``, next to a scripted bot and a
   random walker, in trials of their own.
3. A turn-based (AEC) game, nim, with a perfect player against a random one.

    python examples/multi_agent_pettingzoo.py --timesteps 30000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import supersuit as ss
import torch
from rich.console import Console
from stable_baselines3 import PPO

from cogym import Orchestrator, TrialSpec
from cogym.summary import RunSummary
from cogym.wrappers import TrialParallelEnv

RENDEZVOUS = "pettingzoo:cogym.envs.rendezvous_v0:parallel_env"
CONFIG = {"walkers": 3, "size": 5, "max_cycles": 30}


def train(timesteps: int) -> PPO:
    torch.set_num_threads(1)
    spec = TrialSpec.from_dict(
        {
            "environment": {
                "implementation": RENDEZVOUS,
                "config": {**CONFIG, "leave_home": False},
            },
            "actors": [{"name": f"walker_{i}", "implementation": "external"} for i in range(3)],
            "seed": 0,
        }
    )
    vec = ss.pettingzoo_env_to_vec_env_v1(TrialParallelEnv(spec))
    vec = ss.concat_vec_envs_v1(vec, 4, num_cpus=0, base_class="stable_baselines3")
    model = PPO("MlpPolicy", vec, n_steps=128, batch_size=256, n_epochs=4, device="cpu", verbose=0)
    model.learn(timesteps)
    vec.close()
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=30_000)
    parser.add_argument("--trials", type=int, default=50)
    args = parser.parse_args()
    console = Console()

    model_file = Path(tempfile.mkdtemp()) / "rendezvous-ppo.zip"
    train(args.timesteps).save(model_file)
    mixed = TrialSpec.from_dict(
        {
            "environment": {"implementation": RENDEZVOUS, "config": CONFIG},
            "actors": [
                {"name": "walker_0", "implementation": f"sb3:{model_file}"},
                {"name": "walker_1", "implementation": "python:cogym.bots:GreedyWalker"},
                {"name": "walker_2", "implementation": "random"},
            ],
            "seed": 100,
        }
    )
    nim = TrialSpec.from_dict(
        {
            "environment": {
                "implementation": "pettingzoo:cogym.envs.nim_v0:env",
                "config": {"stones": 21},
            },
            "actors": [
                {"name": "player_0", "implementation": "random"},
                {"name": "player_1", "implementation": "python:cogym.bots:NimExpert"},
            ],
            "seed": 0,
        }
    )
    with Orchestrator() as orchestrator:
        for title, spec in [
            ("rendezvous: PPO policy, bot, random", mixed),
            ("nim: random against perfect play", nim),
        ]:
            started = time.perf_counter()
            results = orchestrator.run_many(spec, args.trials)
            console.print(RunSummary.of(results, time.perf_counter() - started).table(title))


if __name__ == "__main__":
    main()
