"""Self-play: wall time of ``cogym.learn.selfplay`` with batched opponents against per-trial ones.

The run is the one tests/learn/test_selfplay.py holds to the issue's bar: MaskablePPO on
PettingZoo's connect_four_v3, 8 trials side by side (``n_envs=8``), the learner in seat
``player_0`` against snapshots of itself in ``player_1`` (a random player first), a snapshot
every quarter of the run. cogym's figure is ``selfplay`` as it runs: a ``TrialVecEnv`` whose
opponents of one snapshot act in one batched forward pass per tick. The baseline is the same
run with per-trial opponents: the same ``TrialVecEnv`` with its lockstep disabled, so its
trials step one after another and each opponent calls the model on its own observation (the
same seeds, so the same games and updates). Both are wall-clock seconds per 100k learner
steps, torch on one thread, the PPO updates (the same in both) included, from a run of 32,768
steps (4,096 with ``--quick``).
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

from bench.harness import Figure, Stopwatch, alternate, median
from cogym import TrialSpec

CONNECT_FOUR = "pettingzoo:pettingzoo.classic.connect_four_v3:env"

OPTIONS = {"n_steps": 32, "batch_size": 128, "n_epochs": 5, "ent_coef": 0.01,
           "learning_rate": 1e-3, "gamma": 0.95}  # fmt: skip
"""The test's algorithm options."""


def _per_trial_vec_env() -> type:
    """A ``TrialVecEnv`` whose trials run one after another (no batched opponents)."""
    from cogym.lockstep import Lockstep
    from cogym.wrappers import TrialVecEnv

    class PerTrialVecEnv(TrialVecEnv):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.lockstep = Lockstep(enabled=False)

    return PerTrialVecEnv


def _selfplay_seconds(steps: int, batched: bool) -> float:
    import cogym.wrappers
    from cogym.learn import selfplay

    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": CONNECT_FOUR},
            "actors": [{"name": "player_0"}, {"name": "player_1", "implementation": "random"}],
            "seed": 0,
        }
    )
    vec_env = cogym.wrappers.TrialVecEnv if batched else _per_trial_vec_env()
    with (
        tempfile.TemporaryDirectory() as tmp,
        mock.patch.object(cogym.wrappers, "TrialVecEnv", vec_env),
        Stopwatch() as watch,
    ):
        selfplay(
            spec, "player_0", "player_1", model="c4", registry=Path(tmp) / "models",
            total_timesteps=steps, snapshot_every=steps // 4, n_envs=8,
            first_opponent_share=0.2, algorithm_options=OPTIONS,
        )  # fmt: skip
    return watch.seconds


def selfplay_wall_time(quick: bool) -> list[Figure]:
    """Seconds per 100k self-play steps, batched opponents against per-trial opponents."""
    import torch

    if importlib.util.find_spec("sb3_contrib") is None or (
        importlib.util.find_spec("pettingzoo.classic") is None
    ):
        return [
            Figure(
                "selfplay: MaskablePPO on connect_four_v3",
                "s / 100k steps",
                "not measured: needs the test extra (sb3-contrib, pettingzoo[classic])",
                float("nan"),
                float("nan"),
                False,
                note="not measured",
            )  # fmt: skip
        ]
    steps = 4_096 if quick else 32_768
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        base, ours = alternate(
            lambda: _selfplay_seconds(steps, batched=False) * 100_000 / steps,
            lambda: _selfplay_seconds(steps, batched=True) * 100_000 / steps,
            rounds=1,
            warmup=False,
        )
    finally:
        torch.set_num_threads(threads)
    return [
        Figure(
            name=f"selfplay: MaskablePPO on connect_four_v3, 8 trials, {steps:,} steps",
            unit="s / 100k steps",
            baseline_name="the same run with per-trial opponents (one forward pass each)",
            baseline=median(base),
            cogym=median(ours),
            higher_is_better=False,
            note="wall clock; PPO's updates (the same in both) included",
            samples={"baseline": base, "cogym": ours},
        )
    ]


BENCHMARKS = {"selfplay": selfplay_wall_time}
