"""``cogym demo``: the whole loop on CartPole: record an expert, clone it, register, play."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cogym.errors import InputError
from cogym.orchestrator import Orchestrator
from cogym.spec import TrialSpec
from cogym.summary import RunSummary

__all__ = ["run_demo", "demo_spec", "fresh_folder"]

MODEL = "cartpole-bc"
FOLDER = "cogym-demo"
"""The name of the demo's folder in the current directory; later runs add ``-2``, ``-3``..."""


def fresh_folder(parent: Path, name: str = FOLDER) -> Path:
    """Create and return a folder that did not exist: ``name``, else ``name-2``, ``name-3``...

    Creating it is the claim, so two demos started at once never share a folder.
    """
    parent.mkdir(parents=True, exist_ok=True)
    number = 1
    while True:
        folder = parent / (name if number == 1 else f"{name}-{number}")
        try:
            folder.mkdir()
        except FileExistsError:
            number += 1
            continue
        return folder


def check_empty(out: Path) -> None:
    """Refuse a folder that holds files: a demo adds to nothing, so it shows the same each run."""
    if out.is_dir() and any(out.iterdir()):
        raise InputError(
            f"--out {out}: the folder already holds files (an earlier demo?); the demo writes "
            "into a new folder so that each run shows the same results: give a folder that does "
            "not exist or is empty, or leave out --out for a new one"
        )
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: this is a file, not a folder; give a folder to create")


def demo_spec(implementation: str, role: str, seed: int) -> TrialSpec:
    """CartPole-v1 with one actor, ``player``, played by ``implementation``, tagged by role."""
    return TrialSpec.from_dict(
        {
            "environment": {"implementation": "gym:CartPole-v1"},
            "actors": [{"name": "player", "implementation": implementation}],
            "seed": seed,
            "tags": {"demo": "cartpole", "role": role},
        }
    )


def run_demo(
    out: Path | None = None,
    *,
    trials: int = 50,
    evaluation_trials: int = 20,
    epochs: int = 30,
    workers: int = 2,
    console: Console | None = None,
) -> dict[str, RunSummary]:
    """Run the demo into ``out`` (datastore, registry, plot, specs) and print what happened.

    ``out`` must not exist or be empty; without it, a new folder of the current directory
    (:func:`fresh_folder`) holds the run, so each run shows the same results.
    """
    from cogym.datastore import HDF5Datastore
    from cogym.datastore.plot import plot_returns
    from cogym.learn.clone import clone_and_register
    from cogym.registry import ModelRegistry

    console = console or Console()
    if out is None:
        out = fresh_folder(Path("."))
        chosen = "a new folder for this run; --out DIR to choose one"
    else:
        check_empty(out)
        out.mkdir(parents=True, exist_ok=True)
        chosen = "chosen with --out"
    console.print(f"writing into {out}/ ({chosen})", highlight=False, soft_wrap=True)
    datastore = HDF5Datastore(out / "trials")
    registry = ModelRegistry(out / "models")
    random = demo_spec("random", "random", seed=0)
    expert = demo_spec("python:cogym.bots:CartPoleExpert", "expert", seed=0)
    clone = demo_spec(f"sb3:{MODEL}@latest", "clone", seed=1_000_000)
    (out / "expert.yaml").write_text(expert.to_yaml(), encoding="utf-8")
    (out / "clone.yaml").write_text(clone.to_yaml(), encoding="utf-8")
    summaries: dict[str, RunSummary] = {}
    started = time.perf_counter()

    console.print(
        f"[bold]1.[/bold] CartPole-v1 as trials, recorded: {evaluation_trials} with a random "
        f"actor, then {trials} with a scripted expert (one line of the spec changed)"
    )
    with Orchestrator(datastore=datastore) as orchestrator:
        for role, spec, count in (
            ("random", random, evaluation_trials),
            ("expert", expert, trials),
        ):
            t0 = time.perf_counter()
            results = orchestrator.run_many(spec, count, workers=workers)
            summaries[role] = RunSummary.of(results, time.perf_counter() - t0)

    console.print(f"[bold]2.[/bold] behaviour cloning of the expert ({epochs} epochs at most)")
    report = clone_and_register(
        datastore,
        "player",
        MODEL,
        registry,
        {"tags": {"role": "expert"}},
        evaluation_trials=0,
        epochs=epochs,
        on_epoch=lambda s: console.print(
            f"   epoch {s.epoch:2d}  loss {s.train_loss:.4f}  validation {s.score_name} "
            f"{s.validation_score:.3f}",
            highlight=False,
        ),
    )
    console.print(f"[bold]3.[/bold] registered as {report.ref}")

    console.print(
        f"[bold]4.[/bold] the clone plays {evaluation_trials} new trials as "
        f"sb3:{MODEL}@latest, recorded"
    )
    with Orchestrator(datastore=datastore, registry=registry) as orchestrator:
        t0 = time.perf_counter()
        results = orchestrator.run_many(clone, evaluation_trials, workers=workers)
        summaries["clone"] = RunSummary.of(results, time.perf_counter() - t0)
    datastore.close()

    plot = out / "returns.png"
    reader = HDF5Datastore(out / "trials")
    plot_returns(
        reader.trials(tags={"demo": "cartpole"}),
        plot,
        actors=["player"],
        title="cogym demo: CartPole trials in start order",
        phase_tag="role",
    )
    files = [p for p in out.rglob("*") if p.is_file()]
    table = Table(title="cogym demo: record, clone, register, play", title_justify="left")
    for column in ("", "value"):
        table.add_column(column)
    table.add_row(
        "random mean return",
        f"{summaries['random'].actor('player').mean:.1f} ({evaluation_trials} trials)",
    )
    table.add_row(
        "expert mean return", f"{summaries['expert'].actor('player').mean:.1f} ({trials} trials)"
    )
    table.add_row(
        "clone mean return",
        f"{summaries['clone'].actor('player').mean:.1f} ({evaluation_trials} new trials)",
    )
    table.add_row("ticks recorded", f"{sum(s.ticks for s in summaries.values()):,}")
    table.add_row(
        "files written", f"{len(files)} ({sum(p.stat().st_size for p in files) / 1e6:.1f} MB)"
    )
    table.add_row("time", f"{time.perf_counter() - started:.0f} s")
    console.print(table)
    for line in (
        f"datastore: {reader.path}   (cogym trials ls --datastore {reader.path})",
        f"registry:  {registry.root}   (cogym models ls --registry {registry.root})",
        f"plot:      {plot.resolve()}",
    ):
        console.print(line, highlight=False, soft_wrap=True)
    return summaries
