"""``cogym demo``: CartPole as trials, a random actor against a scripted expert."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cogym.orchestrator import Orchestrator
from cogym.spec import TrialSpec
from cogym.summary import RunSummary

__all__ = ["run_demo", "demo_spec"]


def demo_spec(implementation: str, seed: int = 0) -> TrialSpec:
    """CartPole-v1 with one actor, ``player``, played by ``implementation``."""
    return TrialSpec.from_dict(
        {
            "environment": {"implementation": "gym:CartPole-v1"},
            "actors": [{"name": "player", "implementation": implementation}],
            "seed": seed,
            "tags": {"demo": "cartpole"},
        }
    )


def run_demo(out: Path, *, trials: int = 20, workers: int = 2, console: Console | None = None) -> dict[str, RunSummary]:
    """Run the demo, write its spec files under ``out`` and print what happened."""
    console = console or Console()
    out.mkdir(parents=True, exist_ok=True)
    summaries: dict[str, RunSummary] = {}
    players = {"random": "random", "expert": "python:cogym.bots:CartPoleExpert"}
    console.print(f"[bold]cogym demo[/bold]: CartPole-v1 as trials, {trials} trials per actor, {workers} worker(s)")
    with Orchestrator() as orchestrator:
        for label, implementation in players.items():
            spec = demo_spec(implementation, seed=1000)
            (out / f"{label}.yaml").write_text(spec.to_yaml(), encoding="utf-8")
            started = time.perf_counter()
            results = orchestrator.run_many(spec, trials, workers=workers)
            summaries[label] = RunSummary.of(results, time.perf_counter() - started)
    table = Table(title="CartPole-v1, one actor swapped by one line of YAML", title_justify="left")
    for column in ("player", "implementation", "trials", "mean return", "min", "max", "ticks", "trials/s"):
        table.add_column(column)
    for label, summary in summaries.items():
        returns = summary.actor("player")
        table.add_row(
            label,
            players[label],
            str(summary.trials),
            f"{returns.mean:.1f}",
            f"{returns.minimum:.0f}",
            f"{returns.maximum:.0f}",
            f"{summary.ticks:,}",
            f"{summary.trials_per_second:.1f}",
        )
    console.print(table)
    console.print(f"specs written to {out.resolve()} (run one with: cogym run {out / 'expert.yaml'} --trials 100)")
    return summaries
