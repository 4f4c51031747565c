"""Benchmarks of reward learning: training time against a plain PyTorch loop, and how well the
learnt reward ranks held-out clips as the number of oracle preferences grows (random against
disagreement selection). PPO on the learnt reward is measured by ``--only rlhf_policy``
(:mod:`bench.rlhf_policy`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from bench.harness import Figure, Stopwatch, alternate, median
from cogym import Orchestrator, TrialSpec

FIGURES = Path(__file__).parent / "figures"
SEGMENT = 25


def _record(path: Path, trials: int) -> None:
    from cogym.datastore import HDF5Datastore

    spec = TrialSpec.from_dict(
        {"environment": {"implementation": "gym:Pendulum-v1"}, "actors": [{"name": "player"}],
         "seed": 0}
    )  # fmt: skip
    with Orchestrator(datastore=HDF5Datastore(path)) as orchestrator:
        orchestrator.run_many(spec, trials)


def _plain_loop(x: np.ndarray, pairs: list, epochs: int, batch_size: int, members: int) -> None:
    """What one writes by hand: one 64-64 ReLU MLP per member, Bradley-Terry loss over segment
    sums (one forward pass per minibatch over its segments' rows), Adam, shuffled minibatches of
    pairs."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    inputs = torch.as_tensor(x)
    for _ in range(members):
        net = nn.Sequential(nn.Linear(x.shape[1], 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                            nn.Linear(64, 1))  # fmt: skip
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
        for _ in range(epochs):
            order = np.random.permutation(len(pairs))
            for start in range(0, len(pairs), batch_size):
                chosen = [pairs[i] for i in order[start : start + batch_size]]
                rows = [r for a, b, _ in chosen for r in (a, b)]
                owner = torch.as_tensor(np.repeat(np.arange(len(rows)), [len(r) for r in rows]))
                values = net(inputs[torch.as_tensor(np.concatenate(rows))]).squeeze(-1)
                sums = torch.zeros(len(rows)).index_add_(0, owner, values)
                target = torch.tensor([t for _, _, t in chosen], dtype=torch.float32)
                loss = nn.functional.binary_cross_entropy_with_logits(
                    sums[0::2] - sums[1::2], target
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()


def _ask(store, count, select, model, seed) -> None:
    from cogym.learn import oracle, propose_queries

    queries = propose_queries(store, "player", count, segment=SEGMENT, select=select,
                              reward=model, seed=seed)  # fmt: skip
    for pref in oracle().answer(queries, store):
        store.add_preference(pref)


def _curve(root: Path, select: str, steps: list[int], epochs: int) -> list[float]:
    """Held-out agreement after each number of preferences, asked in rounds as rlhf() would."""
    import shutil

    from cogym.datastore import HDF5Datastore
    from cogym.learn import propose_queries, reward_model
    from cogym.learn.reward_model import ranking_agreement

    path = root / f"curve-{select}"
    shutil.copytree(root / "trials", path)
    store = HDF5Datastore(path)
    held_out = propose_queries(store, "player", 400, segment=SEGMENT, seed=999)
    out, asked, model = [], 0, None
    for k in steps:
        _ask(store, k - asked, select if model is not None else "random", model, seed=k)
        asked = k
        model = reward_model(store, "player", epochs=epochs, seed=0)
        out.append(ranking_agreement(model, store, held_out))
    return out


def _plot(steps: list[int], curves: dict[str, list[float]]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    FIGURES.mkdir(exist_ok=True)
    figure, axes = plt.subplots(figsize=(6, 4))
    for name, values in curves.items():
        axes.plot(steps, values, marker="o", label=name)
    axes.set_xlabel("oracle preferences")
    axes.set_ylabel("held-out pairs ranked as the true reward")
    axes.set_title(f"Pendulum-v1, random trials, {SEGMENT}-tick segments")
    axes.legend()
    axes.grid(alpha=0.3)
    path = FIGURES / "rlhf_agreement.png"
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def reward_learning(quick: bool) -> list[Figure]:
    import torch

    from cogym.datastore import HDF5Datastore
    from cogym.learn import reward_model
    from cogym.learn.features import features
    from cogym.learn.reward_model import _rows, _segment_rows

    torch.set_num_threads(1)
    epochs, preferences = (10, 100) if quick else (30, 200)
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _record(root / "trials", 10 if quick else 20)
        timing = root / "timing"
        import shutil

        shutil.copytree(root / "trials", timing)
        store = HDF5Datastore(timing)
        _ask(store, preferences, "random", None, seed=1)
        arrays = store.arrays("player", ("observations", "actions", "tick"))
        x = np.concatenate([features(arrays.observation_space, arrays["observations"]),
                            features(arrays.action_space, arrays["actions"])], axis=1)  # fmt: skip
        x = ((x - x.mean(0)) / x.std(0)).astype(np.float32)
        index = _segment_rows(arrays)
        pairs = [(_rows(index, p.query.left), _rows(index, p.query.right),
                  {"left": 1.0, "right": 0.0, "equal": 0.5}[p.answer])
                 for p in store.preferences()]  # fmt: skip

        def plain() -> float:
            with Stopwatch() as watch:
                _plain_loop(x, pairs, epochs, 64, 3)
            return watch.seconds

        def cogym() -> float:
            with Stopwatch() as watch:
                reward_model(store, "player", epochs=epochs, seed=0)
            return watch.seconds

        base, ours = alternate(plain, cogym, 1 if quick else 3)
        figures.append(Figure(
            f"reward model training, {preferences} Pendulum preferences of {SEGMENT} ticks, "
            f"ensemble of 3, {epochs} epochs, batch 64", "s",
            "a plain PyTorch loop over the same pairs (one MLP per member)",
            median(base), median(ours), False, target=1.2,
            note="cogym's time includes reading the datastore and the preferences",
            samples={"baseline": base, "cogym": ours},
        ))  # fmt: skip
        steps = [25, 50, 100] if quick else [25, 50, 100, 200, 400]
        curves = {s: _curve(root, s, steps, epochs) for s in ("random", "disagreement")}
        _plot(steps, curves)
        for k, r, d in zip(steps, curves["random"], curves["disagreement"], strict=True):
            figures.append(Figure(
                f"held-out pairs ranked right after {k} preferences: disagreement vs random",
                "share", "random selection", r, d, True,
                note="figure: bench/figures/rlhf_agreement.png",
            ))  # fmt: skip
    return figures


BENCHMARKS = {"rlhf": reward_learning}
