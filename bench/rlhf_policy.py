"""PPO on a reward learnt from K oracle preferences (``cogym.learn.rlhf``) against PPO on the
true reward, for the same environment steps: the true return of each, as a share of what PPO
on the true reward gains over a random policy, and a plot of true return against K."""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import Figure

FIGURES = Path(__file__).parent / "figures"
EVALUATION_EPISODES = 10


@dataclass(frozen=True)
class Setting:
    env_id: str
    ppo: dict[str, Any]
    n_envs: int
    timesteps: int
    iterations: int
    segment: int
    preferences: tuple[int, ...]
    """The Ks measured (total preferences over the run, split evenly over the iterations)."""
    trials_per_iteration: int = 8
    extra: dict[str, Any] = field(default_factory=dict)


# rl-baselines3-zoo's PPO settings for each env (CartPole with gamma 0.99, as its rlhf test:
# with 0.98 a policy can trade survival for the states a learnt reward rates higher)
CARTPOLE = Setting(
    "CartPole-v1",
    {"n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.99, "n_epochs": 20,
     "ent_coef": 0.0, "learning_rate": 1e-3},
    n_envs=8, timesteps=60_000, iterations=3, segment=50, preferences=(66, 132, 198),
)  # fmt: skip
PENDULUM = Setting(
    "Pendulum-v1",
    {"n_steps": 1024, "gae_lambda": 0.95, "gamma": 0.9, "n_epochs": 10, "ent_coef": 0.0,
     "learning_rate": 1e-3, "clip_range": 0.2, "use_sde": True, "sde_sample_freq": 4},
    n_envs=4, timesteps=100_000, iterations=4, segment=25, preferences=(100, 200, 400),
)  # fmt: skip


def _steps_per_iteration(setting: Setting) -> int:
    """The iteration's share of the steps, whole rollouts of every env (as PPO takes them), so
    that both learners take exactly ``iterations`` times as many."""
    rollout = setting.ppo["n_steps"] * setting.n_envs
    return -(-setting.timesteps // setting.iterations // rollout) * rollout


def _evaluate(model: Any, env_id: str) -> float:
    import gymnasium as gym
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor

    env = Monitor(gym.make(env_id))
    env.reset(seed=10_000)
    mean, _ = evaluate_policy(model, env, n_eval_episodes=EVALUATION_EPISODES, deterministic=True)
    env.close()
    return float(mean)


def _random_return(env_id: str) -> float:
    import gymnasium as gym

    env = gym.make(env_id)
    env.action_space.seed(0)
    returns = []
    for episode in range(EVALUATION_EPISODES):
        env.reset(seed=10_000 + episode)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total, done = total + float(reward), terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))


def _true_reward_ppo(setting: Setting, seed: int) -> float:
    """Plain Stable-Baselines3: PPO on the environment's own reward."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    env = make_vec_env(setting.env_id, n_envs=setting.n_envs, seed=seed)
    model = PPO("MlpPolicy", env, seed=seed, verbose=0, **setting.ppo)
    model.learn(_steps_per_iteration(setting) * setting.iterations)
    env.close()
    return _evaluate(model, setting.env_id)


def _learnt_reward_ppo(setting: Setting, preferences: int, seed: int) -> float:
    from cogym import TrialSpec
    from cogym.learn import oracle, rlhf

    spec = TrialSpec.from_dict({
        "environment": {"implementation": f"gym:{setting.env_id}"},
        "actors": [{"name": "player"}], "seed": seed,
    })  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        policy, _ = rlhf(
            spec, "player", oracle(seed=seed), iterations=setting.iterations,
            queries_per_iteration=preferences // setting.iterations,
            timesteps_per_iteration=_steps_per_iteration(setting),
            trials_per_iteration=setting.trials_per_iteration, segment=setting.segment,
            registry=Path(tmp) / "models", model="policy", datastore=Path(tmp) / "trials",
            algorithm_options=setting.ppo, n_envs=setting.n_envs, seed=seed,
        )  # fmt: skip
        return _evaluate(policy, setting.env_id)


def _progress(line: str) -> None:
    print(f"rlhf_policy: {line}", file=sys.stderr, flush=True)


Curve = tuple[Setting, list[int], list[float], float, float]
"""``(setting, Ks, true returns of PPO on the learnt reward, on the true reward, random)``."""


def _plot(curves: dict[str, Curve], quick: bool) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    FIGURES.mkdir(exist_ok=True)
    figure, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.8), squeeze=False)
    for ax, (env_id, (setting, ks, returns, true, random)) in zip(axes[0], curves.items(),
                                                                  strict=True):  # fmt: skip
        ax.plot(ks, returns, marker="o", label="PPO on the learnt reward")
        ax.axhline(true, linestyle="--", color="tab:green", label="PPO on the true reward")
        ax.axhline(random, linestyle=":", color="tab:gray", label="random policy")
        ax.set_xlabel("oracle preferences K")
        ax.set_ylabel(f"true return ({EVALUATION_EPISODES} episodes)")
        ax.set_title(f"{env_id}, {_steps_per_iteration(setting) * setting.iterations:,} steps")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    figure.suptitle("rlhf(): true return against preferences" + (" (quick)" if quick else ""))
    path = FIGURES / "rlhf_return.png"
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def policy_on_learnt_reward(quick: bool) -> list[Figure]:
    """Both envs; ``quick``: only the largest K of each."""
    figures: list[Figure] = []
    curves: dict[str, Curve] = {}
    for setting in (CARTPOLE, PENDULUM):
        ks = setting.preferences[-1:] if quick else setting.preferences
        started = time.perf_counter()
        random = _random_return(setting.env_id)
        true = _true_reward_ppo(setting, seed=0)
        _progress(f"{setting.env_id}: random {random:.1f}, PPO on the true reward {true:.1f}")
        returns = []
        for k in ks:
            returns.append(_learnt_reward_ppo(setting, k, seed=0))
            _progress(f"{setting.env_id}: PPO on the reward from {k} preferences {returns[-1]:.1f}"
                      f" ({time.perf_counter() - started:.0f} s)")  # fmt: skip
        curves[setting.env_id] = (setting, list(ks), returns, true, random)
        for k, value in zip(ks, returns, strict=True):
            figures.append(Figure(
                f"{setting.env_id}: PPO on the reward from {k} oracle preferences vs PPO on the "
                f"true reward, {_steps_per_iteration(setting) * setting.iterations:,} steps each "
                "(true return above random)",
                "return", "PPO on the true reward (plain SB3)", true - random, value - random,
                True, target=0.9 if setting is PENDULUM else None,
                note=(f"true returns: learnt {value:.1f}, true {true:.1f}, random {random:.1f}; "
                      f"{time.perf_counter() - started:.0f} s for this env"),
            ))  # fmt: skip
    _plot(curves, quick)
    return figures


BENCHMARKS = {"rlhf_policy": policy_on_learnt_reward}
