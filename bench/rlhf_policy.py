"""PPO on a reward learnt from K oracle preferences (``cogym.learn.rlhf``) against PPO on the
true reward, for the same environment steps and seed: the true return of each, as a share of
what PPO on the true reward gains over a random policy, averaged over seeds (one run of RL says
little), and a plot of true return against K; and (``rlhf_selection``) at one K per env, the
same return with the preferences chosen where the reward ensemble disagrees against at random."""

from __future__ import annotations

import dataclasses
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
    seeds: tuple[int, ...] = (0, 1, 2)
    """Each K is run once per seed, as is PPO on the true reward."""
    trials_per_iteration: int = 8
    extra: dict[str, Any] = field(default_factory=dict)


# rl-baselines3-zoo's PPO settings for each env (CartPole with gamma 0.99, as its rlhf test:
# with 0.98 a policy can trade survival for the states a learnt reward rates higher; and over
# six iterations: with three, one seed in three learns to exploit an early model's errors)
CARTPOLE = Setting(
    "CartPole-v1",
    {"n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.99, "n_epochs": 20,
     "ent_coef": 0.0, "learning_rate": 1e-3},
    n_envs=8, timesteps=60_000, iterations=6, segment=50, preferences=(66, 132, 198),
)  # fmt: skip
PENDULUM = Setting(
    "Pendulum-v1",
    {"n_steps": 1024, "gae_lambda": 0.95, "gamma": 0.9, "n_epochs": 10, "ent_coef": 0.0,
     "learning_rate": 1e-3, "clip_range": 0.2, "use_sde": True, "sde_sample_freq": 4},
    n_envs=4, timesteps=100_000, iterations=4, segment=25, preferences=(100, 200, 400),
    seeds=(0, 1, 2, 3, 4),
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


def _learnt_reward_ppo(
    setting: Setting, preferences: int, seed: int, select: str = "random"
) -> float:
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
            algorithm_options=setting.ppo, n_envs=setting.n_envs, seed=seed, select=select,
        )  # fmt: skip
        return _evaluate(policy, setting.env_id)


def _progress(line: str) -> None:
    print(f"rlhf_policy: {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Curve:
    """One env's runs: ``learnt[k][i]`` is the true return of PPO on the reward from ``ks[k]``
    preferences with ``setting.seeds[i]``, ``true[i]`` that of PPO on the true reward."""

    setting: Setting
    ks: list[int]
    learnt: list[list[float]]
    true: list[float]
    random: float


def _plot(curves: dict[str, Curve], quick: bool) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    FIGURES.mkdir(exist_ok=True)
    figure, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.8), squeeze=False)
    for ax, (env_id, curve) in zip(axes[0], curves.items(), strict=True):
        means = [float(np.mean(r)) for r in curve.learnt]
        for k, runs in zip(curve.ks, curve.learnt, strict=True):
            ax.scatter([k] * len(runs), runs, s=12, color="tab:blue", alpha=0.4)
        ax.plot(curve.ks, means, marker="o",
                label=f"PPO on the learnt reward (mean of {len(curve.setting.seeds)} seeds)")
        ax.axhline(float(np.mean(curve.true)), linestyle="--", color="tab:green",
                   label="PPO on the true reward (mean)")
        ax.axhline(curve.random, linestyle=":", color="tab:gray", label="random policy")
        ax.set_xlabel("oracle preferences K")
        ax.set_ylabel(f"true return ({EVALUATION_EPISODES} episodes)")
        steps = _steps_per_iteration(curve.setting) * curve.setting.iterations
        ax.set_title(f"{env_id}, {steps:,} steps")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    figure.suptitle("rlhf(): true return against preferences" + (" (quick)" if quick else ""))
    path = FIGURES / "rlhf_return.png"
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _figure(curve: Curve, k: int, learnt: list[float], seconds: float) -> Figure:
    setting, random = curve.setting, curve.random
    ratios = [(a - random) / (b - random) for a, b in zip(learnt, curve.true, strict=True)]
    per_seed = ", ".join(f"{s}: {a:.1f} vs {b:.1f}" for s, a, b
                         in zip(setting.seeds, learnt, curve.true, strict=True))  # fmt: skip
    return Figure(
        f"{setting.env_id}: PPO on the reward from {k} oracle preferences vs PPO on the true "
        f"reward, {_steps_per_iteration(setting) * setting.iterations:,} steps each, mean of "
        f"{len(setting.seeds)} seeds (true return above random)",
        "return", "PPO on the true reward (plain SB3)",
        float(np.mean(curve.true)) - random, float(np.mean(learnt)) - random, True,
        target=0.9 if setting.env_id == PENDULUM.env_id else None,
        note=(f"true returns by seed (learnt vs true): {per_seed}; random {random:.1f}; "
              f"ratio by seed {min(ratios):.3f} to {max(ratios):.3f}; {seconds:.0f} s"),
        samples={"baseline": [b - random for b in curve.true],
                 "cogym": [a - random for a in learnt]},
    )  # fmt: skip


def policy_on_learnt_reward(quick: bool) -> list[Figure]:
    """Both envs, every K and seed; ``quick``: only the largest K of each, on the first seed."""
    figures: list[Figure] = []
    curves: dict[str, Curve] = {}
    for full in (CARTPOLE, PENDULUM):
        ks = list(full.preferences[-1:] if quick else full.preferences)
        setting = dataclasses.replace(full, seeds=full.seeds[:1]) if quick else full
        seeds = setting.seeds
        started = time.perf_counter()
        random = _random_return(setting.env_id)
        true = [_true_reward_ppo(setting, seed=s) for s in seeds]
        _progress(f"{setting.env_id}: random {random:.1f}, PPO on the true reward {true}")
        learnt = []
        for k in ks:
            learnt.append([_learnt_reward_ppo(setting, k, seed=s) for s in seeds])
            _progress(f"{setting.env_id}: PPO on the reward from {k} preferences {learnt[-1]}"
                      f" ({time.perf_counter() - started:.0f} s)")  # fmt: skip
        curve = Curve(setting, ks, learnt, true, random)
        curves[setting.env_id] = curve
        seconds = time.perf_counter() - started
        figures += [_figure(curve, k, runs, seconds) for k, runs in zip(ks, learnt, strict=True)]
    _plot(curves, quick)
    return figures


SELECTION_K = {"CartPole-v1": 132, "Pendulum-v1": 200}
"""The K at which the two selections are compared: the middle of each env's curve."""


def selection(quick: bool) -> list[Figure]:
    """Random against disagreement selection at equal K, by the true return of PPO on the
    reward learnt from each (the first iteration asks at random either way: there is no
    reward model yet to disagree)."""
    figures = []
    for setting in (CARTPOLE, PENDULUM):
        k = SELECTION_K[setting.env_id]
        seeds = setting.seeds[:1] if quick else setting.seeds
        started = time.perf_counter()
        random = _random_return(setting.env_id)
        drawn = {select: [_learnt_reward_ppo(setting, k, s, select) for s in seeds]
                 for select in ("random", "disagreement")}  # fmt: skip
        _progress(f"{setting.env_id}, K = {k}: {drawn}")
        by_seed = ", ".join(f"{s}: {a:.1f} vs {b:.1f}" for s, a, b
                            in zip(seeds, drawn["disagreement"], drawn["random"], strict=True))
        figures.append(Figure(
            f"{setting.env_id}: PPO on the reward from {k} oracle preferences chosen where the "
            f"ensemble disagrees, against chosen at random, mean of {len(seeds)} seeds (true "
            "return above random)",
            "return", "random selection", float(np.mean(drawn["random"])) - random,
            float(np.mean(drawn["disagreement"])) - random, True,
            note=(f"true returns by seed (disagreement vs random): {by_seed}; random policy "
                  f"{random:.1f}; {time.perf_counter() - started:.0f} s"),
            samples={"baseline": [v - random for v in drawn["random"]],
                     "cogym": [v - random for v in drawn["disagreement"]]},
        ))  # fmt: skip
    return figures


BENCHMARKS = {"rlhf_policy": policy_on_learnt_reward, "rlhf_selection": selection}
