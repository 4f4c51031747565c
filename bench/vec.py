"""Batched trials: ticks per second of trials against one frozen SB3 opponent.

Two specs, each a PettingZoo parallel env where both agents act on every tick, the first
agent external and the second a frozen PPO MLP policy (SB3's default 64-64) loaded from a
model file: ``duel``, a chase on a ring whose step costs a few microseconds (so the figure shows
what batching saves), and cogym's two-walker rendezvous, whose NumPy step costs some 60 us
(what an env of that cost leaves to save). The baseline is what one does without cogym's
batching: SB3's ``DummyVecEnv`` of 16 ``TrialGymEnv``s, each opponent calling ``predict`` on
its one observation. cogym's figure: ``TrialVecEnv`` with 16 and 64 trials of the same spec,
whose opponents act in one batched ``predict`` per tick. Both in this process, torch on one
thread, the external actions drawn beforehand; a tick is one step of one trial (resets
included: episodes end every 50 ticks). Ticks are counted per second of this process's CPU
time: on a shared machine, wall-clock time mostly measures the other processes. A last figure
runs the duel trials with a random opponent instead (no model at all): the ceiling that
batching approaches, since what is left per tick is the trial's own step.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from pettingzoo import ParallelEnv

from bench.harness import Figure, alternate, median
from cogym import TrialSpec


class Duel(ParallelEnv):
    """``duel``: a chaser and a runner on a ring of 16 cells, 50 ticks an episode; each sees
    both positions (float32, in [0, 1)) and steps left, stays or steps right. The chaser
    gets +1 (the runner -1) on each tick they share a cell. Plain Python, a PettingZoo
    ``ParallelEnv``."""

    metadata = {"render_modes": [], "name": "duel_v0", "is_parallelizable": True}
    possible_agents = ["chaser", "runner"]
    SIZE, LENGTH = 16, 50

    def __init__(self) -> None:
        from gymnasium import spaces

        self._observation_space = spaces.Box(0.0, 1.0, (2,), np.float32)
        self._action_space = spaces.Discrete(3)
        table = np.arange(self.SIZE, dtype=np.float32) / self.SIZE
        self._seen = [[np.array([table[a], table[b]]) for b in range(self.SIZE)]
                      for a in range(self.SIZE)]  # fmt: skip
        self.agents: list[str] = []
        self.render_mode = None

    def observation_space(self, agent: str):  # noqa: ANN201
        return self._observation_space

    def action_space(self, agent: str):  # noqa: ANN201
        return self._action_space

    def reset(self, seed: int | None = None, options: dict | None = None):  # noqa: ANN201
        rng = np.random.default_rng(seed)
        self._chaser, self._runner = (int(x) for x in rng.integers(0, self.SIZE, 2))
        self._ticks = 0
        self.agents = list(self.possible_agents)
        return self._observations(), {"chaser": {}, "runner": {}}

    def step(self, actions: dict):  # noqa: ANN201
        size = self.SIZE
        self._chaser = (self._chaser + int(actions["chaser"]) - 1) % size
        self._runner = (self._runner + int(actions["runner"]) - 1) % size
        self._ticks += 1
        caught = 1.0 if self._chaser == self._runner else 0.0
        over = self._ticks >= self.LENGTH
        if over:
            self.agents = []
        flags = {"chaser": False, "runner": False}
        cut = {"chaser": over, "runner": over}
        rewards = {"chaser": caught, "runner": -caught}
        return self._observations(), rewards, flags, cut, {"chaser": {}, "runner": {}}

    def _observations(self) -> dict:
        seen = self._seen
        return {"chaser": seen[self._chaser][self._runner],
                "runner": seen[self._runner][self._chaser]}  # fmt: skip

    def render(self) -> None:
        return None

    def close(self) -> None:
        pass


def duel() -> Duel:
    """``pettingzoo:bench.vec:duel``."""
    return Duel()


SPECS = {
    "duel": ("pettingzoo:bench.vec:duel", {}, ("runner", "chaser")),
    "rendezvous": (
        "pettingzoo:cogym.envs.rendezvous_v0:parallel_env",
        {"walkers": 2, "leave_home": False},
        ("walker_0", "walker_1"),
    ),
}


def _spec(name: str, opponent: str) -> TrialSpec:
    implementation, config, (agent, other) = SPECS[name]
    return TrialSpec.from_dict(
        {
            "environment": {"implementation": implementation, "config": config},
            "actors": [
                {"name": agent, "implementation": "external"},
                {"name": other, "implementation": opponent},
            ],
            "seed": 0,
        }
    )


def _opponent(name: str, directory: Path) -> Path:
    """An (untrained) PPO MLP policy (64-64, SB3's default) for the second agent, saved."""
    from stable_baselines3 import PPO

    from cogym.wrappers import TrialGymEnv

    env = TrialGymEnv(_spec(name, "random"))
    path = directory / f"{name}.zip"
    PPO("MlpPolicy", env, seed=0, n_steps=64, batch_size=64).save(path)
    env.close()
    return path


def _ticks_per_second(env, steps: int) -> float:  # noqa: ANN001  (an SB3 VecEnv)
    env.reset()
    rng = np.random.default_rng(0)
    actions = rng.integers(0, env.action_space.n, size=(steps, env.num_envs))
    start = time.process_time()
    for t in range(steps):
        env.step(actions[t])
    return steps * env.num_envs / (time.process_time() - start)


def batched_opponents(quick: bool) -> list[Figure]:
    """TrialVecEnv(16) and TrialVecEnv(64) against DummyVecEnv of 16 TrialGymEnvs."""
    import warnings

    import torch
    from stable_baselines3.common.vec_env import DummyVecEnv

    from cogym.wrappers import TrialGymEnv, TrialVecEnv

    torch.set_num_threads(1)
    rounds = 3 if quick else 5
    steps = 40 if quick else 150
    figures = []
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pickled-code notice of loading a model file
        for name in SPECS:
            spec = _spec(name, f"sb3:{_opponent(name, Path(tmp))}")
            baseline_env = DummyVecEnv([lambda s=spec: TrialGymEnv(s) for _ in range(16)])
            for n in (16, 64):
                batched = TrialVecEnv(spec, n)
                base, ours = alternate(
                    lambda e=baseline_env: _ticks_per_second(e, steps),
                    lambda b=batched, k=steps * 16 // n * 2: _ticks_per_second(b, k),
                    rounds,
                )
                batched.close()
                figures.append(
                    Figure(
                        name=f"vec: {name}, TrialVecEnv of {n} trials, batched SB3 opponent",
                        unit="ticks/s",
                        baseline_name="DummyVecEnv of 16 TrialGymEnv",
                        baseline=median(base),
                        cogym=median(ours),
                        higher_is_better=True,
                        target=5.0 if n == 16 else 10.0,
                        samples={"baseline": base, "cogym": ours},
                    )
                )
            if name == "duel":
                # what no batching can beat: the same trials with a random opponent (no model)
                free = TrialVecEnv(_spec(name, "random"), 64)
                base, ours = alternate(
                    lambda e=baseline_env: _ticks_per_second(e, steps),
                    lambda f=free: _ticks_per_second(f, steps // 2),
                    rounds,
                )
                free.close()
                figures.append(
                    Figure(
                        name="vec: duel, TrialVecEnv of 64 trials, random opponent (the ceiling)",
                        unit="ticks/s",
                        baseline_name="DummyVecEnv of 16 TrialGymEnv (SB3 opponent)",
                        baseline=median(base),
                        cogym=median(ours),
                        higher_is_better=True,
                        samples={"baseline": base, "cogym": ours},
                    )
                )
            baseline_env.close()
    return figures


BENCHMARKS = {"vec": batched_opponents}
