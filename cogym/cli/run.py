"""``cogym run``."""

from __future__ import annotations

import sys
import time
from typing import Any

import click
from rich.markup import escape

from cogym.cli import FAILURE, console, errors, main, with_options
from cogym.errors import InputError, InvalidArgumentError


def load_spec(path: str):  # noqa: ANN201  (TrialSpec)
    from cogym.spec import TrialSpec

    return TrialSpec.from_yaml(path)


@main.command()
@click.argument("spec_path", metavar="SPEC.yaml", type=click.Path(dir_okay=False))
@click.option(
    "--trials",
    "-n",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Number of trials.",
)
@click.option(
    "--workers",
    "-w",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Processes running trials.",
)
@click.option(
    "--batch",
    "-b",
    type=click.IntRange(min=1),
    metavar="K",
    help="Run K trials at a time in lockstep in this process: the SB3 actors of one model act "
    'in one batched forward pass per tick (pip install "cogym[batch]"); not with --workers.',
)
@click.option(
    "--backend",
    default="local",
    show_default=True,
    type=click.Choice(["local", "ray"]),
    help='Where trials run: local processes, or a Ray cluster (pip install "cogym[ray]").',
)
@click.option(
    "--address",
    metavar="ADDRESS",
    help="With --backend ray: the Ray cluster to run on (as ray.init takes it); default: the "
    "one RAY_ADDRESS or `ray start` names, else a local one.",
)
@click.option("--seed", type=click.IntRange(min=0), help="Base seed (overrides the spec's).")
@click.option("--max-ticks", type=click.IntRange(min=1), help="Tick limit (overrides the spec's).")
@click.option(
    "--registry",
    metavar="DIR",
    envvar="COGYM_REGISTRY",
    help="Model registry for sb3:<model>@<ref> actors (a directory or an fsspec URL).",
)
@click.option(
    "--datastore",
    metavar="DIR",
    envvar="COGYM_DATASTORE",
    help="Record every trial into this datastore (a directory, or a URL such as s3://bucket/trials).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def run(
    spec_path: str,
    trials: int,
    workers: int,
    batch: int | None,
    backend: str,
    address: str | None,
    seed: int | None,
    max_ticks: int | None,
    datastore: str | None,
    registry: str | None,
    quiet: bool,
) -> None:
    """Run TRIALS trials of the spec in SPEC.yaml and print a summary."""
    from cogym.orchestrator import Orchestrator
    from cogym.summary import RunSummary

    if batch is not None and (workers != 1 or backend != "local"):
        raise InputError(
            f"--batch {batch} runs trials in lockstep in this process; leave out "
            + ("--workers" if workers != 1 else "--backend ray")
        )
    if address is not None and backend != "ray":
        raise InputError(f"--address {address} names a Ray cluster; add --backend ray to run there")
    options = {"address": address} if address is not None else {}
    if workers > trials:
        errors.print(
            f"--workers {workers}: {trials} trial(s) need no more than {trials} worker(s); "
            f"running {trials}",
            highlight=False,
        )
    spec = with_options(load_spec(spec_path), seed=seed, max_ticks=max_ticks)
    orchestrator = Orchestrator(registry=registry, datastore=_datastore(datastore))
    orchestrator.validate(spec, source=spec_path)
    results = []
    started = time.perf_counter()
    with orchestrator, _progress(trials, quiet) as advance:
        for result in orchestrator.iter_run(
            spec, trials, workers=workers, backend=backend, batch=batch, **options
        ):
            results.append(result)
            advance(result)
    summary = RunSummary.of(results, time.perf_counter() - started)
    console.print(summary.table(f"{spec_path}: {spec.environment.implementation}", caption=False))
    console.print(summary.describe(), soft_wrap=True, highlight=False)
    _print_pinned(spec, results)
    states = {r.trial_id: r.state.value for r in results}  # failed, or terminated at a limit
    for trial_id, error in summary.errors[:5]:
        errors.print(
            f"[red]trial {trial_id} {states[trial_id]}:[/red]",
            escape(error.splitlines()[0]),
            highlight=False,
            soft_wrap=True,
        )
    if len(summary.errors) > 5:
        errors.print(
            f"... and {len(summary.errors) - 5} more trials failed or terminated", highlight=False
        )
    code = exit_code(results)
    if code:
        sys.exit(code)


def exit_code(results: list[Any]) -> int:
    """0 when every trial ended or was terminated on request, else 1 (the summary says why)."""
    from cogym.trial import TrialState

    clean = (TrialState.ENDED, TrialState.TERMINATED)
    return 0 if all(result.state in clean for result in results) else FAILURE


def _print_pinned(spec: Any, results: list[Any]) -> None:
    """Which exact version each moving reference (``@latest``, an alias) ran as, by trial."""
    for actor in spec.actors:
        used: dict[str, list[int]] = {}
        for result in results:
            pinned = result.implementations.get(actor.name)
            if pinned is not None and pinned != actor.implementation:
                used.setdefault(pinned, []).append(result.index)
        for pinned, indices in used.items():
            console.print(
                f"{actor.name}: {actor.implementation} ran as {pinned} in {len(indices)} trial(s), "
                f"#{min(indices)}-#{max(indices)}",
                highlight=False,
                markup=False,
            )


def _datastore(path: str | None):  # noqa: ANN202  (HDF5Datastore | None)
    """The datastore to record into; one that exists must be a datastore (or empty) before
    any trial runs, so that a wrong --datastore fails once, with exit code 2."""
    if path is None:
        return None
    from cogym.datastore import HDF5Datastore

    try:
        datastore = HDF5Datastore(path)
    except InputError as exc:
        raise InvalidArgumentError("--datastore", str(exc)) from None
    if datastore.store is not None:
        try:
            datastore.store.ensure()  # no bucket, no credentials, not a datastore: refused here
        except InputError as exc:
            raise InvalidArgumentError("--datastore", str(exc)) from None
        return datastore
    where = datastore.path
    if where.exists() and not (where.is_dir() and not any(where.iterdir())):
        try:
            datastore.catalog()  # a file, or a directory of other things, is refused here
        except InputError as exc:
            raise InvalidArgumentError(
                "--datastore", f"{exc}; to record, give a datastore, or a new or empty directory"
            ) from None
    return datastore


class _progress:
    """A rich progress bar over trials, or nothing when quiet or not on a terminal."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total = total
        self.quiet = quiet
        self.progress = None

    def __enter__(self):  # noqa: ANN204
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        if self.quiet:
            return lambda result: None
        self.progress = Progress(
            TextColumn("[bold]trials"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[ticks]:,} ticks"),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=errors,
            transient=False,
        )
        self.progress.__enter__()
        task = self.progress.add_task("trials", total=self.total, ticks=0, failed=0)
        counts = {"ticks": 0, "failed": 0}

        def advance(result) -> None:  # noqa: ANN001
            counts["ticks"] += result.ticks
            counts["failed"] += result.state.value == "failed"
            self.progress.update(task, advance=1, **counts)

        return advance

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)
