"""Train Stable-Baselines3 PPO against a trial, then use the trained policy as an actor.

The trial is CartPole with one external actor, the agent that PPO drives through
``TrialGymEnv``. Afterwards the policy plays trials of its own as ``sb3:<file>``.

    python examples/train_sb3_on_trial.py --timesteps 100000
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env import DummyVecEnv

from cogym import Orchestrator, TrialSpec
from cogym.summary import RunSummary
from cogym.wrappers import TrialGymEnv

SPEC = TrialSpec.from_dict(
    {
        "environment": {"implementation": "gym:CartPole-v1"},
        "actors": [{"name": "player", "implementation": "external"}],
        "seed": 0,
    }
)


def train(timesteps: int, seed: int = 0) -> PPO:
    """PPO with the RL Zoo's CartPole-v1 settings, on 8 trials at a time."""
    torch.set_num_threads(1)
    env = DummyVecEnv([lambda: TrialGymEnv(SPEC) for _ in range(8)])
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=32,
        batch_size=256,
        gae_lambda=0.8,
        gamma=0.98,
        n_epochs=20,
        ent_coef=0.0,
        learning_rate=LinearSchedule(1e-3, 0.0, 1.0),
        clip_range=LinearSchedule(0.2, 0.0, 1.0),
        seed=seed,
        device="cpu",
        verbose=0,
    )
    model.learn(timesteps)
    env.close()
    return model


def evaluate(model_file: Path, trials: int = 20, seed: int = 10_000) -> RunSummary:
    """Run the saved policy as an actor in fresh trials (new seeds)."""
    spec = SPEC.replace_actor("player", implementation=f"sb3:{model_file}").replace(seed=seed)
    with Orchestrator() as orchestrator:
        results = orchestrator.run_many(spec, trials)
    return RunSummary.of(results, sum(r.duration for r in results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="where to save the model zip")
    args = parser.parse_args()
    model = train(args.timesteps)
    out = args.out or Path(tempfile.mkdtemp()) / "cartpole-ppo.zip"
    model.save(out)
    summary = evaluate(out, args.trials)
    player = summary.actor("player")
    print(f"saved {out}")
    print(
        f"mean return over {player.trials} evaluation trials: {player.mean:.1f} "
        f"(min {player.minimum:.0f})"
    )


if __name__ == "__main__":
    main()
