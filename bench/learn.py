"""Benchmarks of behaviour cloning: cogym's trainer against a plain PyTorch loop."""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import numpy as np

from bench.harness import Figure, Stopwatch, alternate, median
from cogym import Orchestrator, TrialSpec


def _record(path: Path, trials: int) -> None:
    from cogym.datastore import HDF5Datastore

    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": "gym:CartPole-v1"},
            "actors": [{"name": "player", "implementation": "python:cogym.bots:CartPoleExpert"}],
            "seed": 0,
        }
    )
    with Orchestrator(datastore=HDF5Datastore(path)) as orchestrator:
        orchestrator.run_many(spec, trials, workers=2)


def _plain_loop(
    observations: np.ndarray, actions: np.ndarray, epochs: int, batch_size: int
) -> None:
    """What one writes by hand: the same 64-64 tanh MLP, cross-entropy, Adam, shuffled batches."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 2))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.as_tensor(observations)
    y = torch.as_tensor(actions).long()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for start in range(0, len(x), batch_size):
            index = order[start : start + batch_size]
            loss = loss_fn(net(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def behaviour_cloning(quick: bool) -> list[Figure]:
    """BC wall time on 50 CartPole expert trials against a plain PyTorch loop, same settings."""
    import torch

    from cogym.datastore import HDF5Datastore
    from cogym.learn import behavior_cloning

    epochs = 5 if quick else 20
    batch_size = 256
    rounds = 1 if quick else 3
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trials"
        _record(path, 50)
        store = HDF5Datastore(path)
        data = store.arrays("player", ("observations", "actions"))

        def plain() -> float:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                with Stopwatch() as watch:
                    _plain_loop(data["observations"], data["actions"], epochs, batch_size)
            finally:
                torch.set_num_threads(threads)
            return watch.seconds

        def cogym() -> float:
            with Stopwatch() as watch:
                behavior_cloning(
                    store, "player", epochs=epochs, batch_size=batch_size, patience=epochs
                )
            return watch.seconds

        base, ours = alternate(plain, cogym, rounds)
        figures.append(
            Figure(
                f"BC wall time, 50 CartPole expert trials ({data.rows:,} rows), "
                f"{epochs} epochs, batch {batch_size}",
                "s",
                "a plain PyTorch loop over the same arrays",
                median(base),
                median(ours),
                False,
                target=1.2,
                note="cogym's time includes reading the datastore and a validation pass per epoch",
                samples={"baseline": base, "cogym": ours},
            )
        )
    if importlib.util.find_spec("imitation") is None:
        figures.append(
            Figure(
                "BC against the imitation library's BC",
                "s",
                "imitation BC (not measured: imitation 1.0.1 requires gymnasium 0.29 and "
                "stable-baselines3 2.2, so it cannot install beside cogym's gymnasium 1.x)",
                float("nan"),
                float("nan"),
                False,
                note="not measured",
            )
        )
    return figures


BENCHMARKS = {"learn": behaviour_cloning}
