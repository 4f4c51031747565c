"""``cogym bc``: clone an actor of recorded trials into the model registry, then evaluate it."""

from __future__ import annotations

import signal
import sys
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from cogym.cli import BAD_INPUT, console, errors, main
from cogym.cli.trials import _DATASTORE, _filters


@main.command()
@_DATASTORE
@click.option("--actor", "-a", required=True, help="The actor whose actions to clone.")
@click.option("--model", "-m", "model_name", required=True, help="Registry name for the clone.")
@click.option(
    "--registry",
    "-r",
    required=True,
    envvar="COGYM_REGISTRY",
    help="Model registry (a directory or an fsspec URL; or set COGYM_REGISTRY).",
)
@click.option(
    "--algo",
    default="ppo",
    show_default=True,
    type=click.Choice(["ppo", "a2c"]),
    help="SB3 algorithm of the policy.",
)
@click.option("--epochs", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--learning-rate", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True)
)
@click.option(
    "--validation",
    default=0.1,
    show_default=True,
    type=click.FloatRange(0, 1, max_open=True),
    help="Share of trials held out.",
)
@click.option(
    "--patience",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="Epochs without improvement before stopping.",
)
@click.option(
    "--eval-trials",
    default=20,
    show_default=True,
    type=click.IntRange(min=0),
    help="New trials to evaluate the clone in (0: none).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Processes for the evaluation trials.",
)
@click.option(
    "--note",
    "notes",
    multiple=True,
    metavar="KEY=VALUE",
    help="Learn only from ticks the actor annotated so (repeatable): --note by=human keeps a "
    "person's corrections in teacher mode.",
)
@click.option(
    "--labels",
    metavar="KEY",
    help="Learn the action each tick's note holds under KEY instead of the action taken, from "
    "the ticks whose note has one: --labels label learns the teacher's labels of `cogym dagger`.",
)
@click.option(
    "--follow",
    "following",
    is_flag=True,
    help="Keep going: follow the trials as they are recorded (by any process) and publish a "
    "new version every --every new trials, until Ctrl-C or SIGTERM (or --max-versions, "
    "--timeout).",
)
@click.option(
    "--every", type=int, metavar="K", help="With --follow: new trials per version [default: 10]."
)
@click.option(
    "--max-versions", type=int, metavar="N", help="With --follow: stop after N versions."
)
@click.option(
    "--timeout",
    type=float,
    metavar="SECONDS",
    help="With --follow: stop once no new trial has come for SECONDS.",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_filters
def bc(
    datastore_dir: str,
    actor: str,
    model_name: str,
    registry: str,
    algo: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    validation: float,
    patience: int,
    eval_trials: int,
    workers: int,
    notes: tuple[str, ...],
    labels: str | None,
    following: bool,
    every: int | None,
    max_versions: int | None,
    timeout: float | None,
    seed: int,
    quiet: bool,
    filter: Any,
) -> None:
    """Clone ACTOR's recorded actions into an SB3 policy saved as MODEL in the registry.

    With --follow, clone again every K new trials as trials are recorded, each clone the next
    version of MODEL: actors with sb3:MODEL@latest play the newest from their next trial."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from cogym.cli.trials import _open
    from cogym.errors import InputError, InvalidArgumentError
    from cogym.learn.clone import clone_and_register

    wanted: dict[str, str] = {}
    for note in notes:
        key, sep, value = note.partition("=")
        if not sep or not key:
            raise InputError(f"--note {note!r}: write it as KEY=VALUE, for instance by=human")
        wanted[key] = value
    looping = {"--every": every, "--max-versions": max_versions, "--timeout": timeout}
    if not following:
        given = [name for name, value in looping.items() if value is not None]
        if given:
            raise InvalidArgumentError(given[0], "goes with --follow; add --follow or leave it out")
    datastore = _open(datastore_dir)
    training = {
        "algo": algo,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "validation": validation,
        "patience": patience,
        "seed": seed,
        "notes": wanted or None,
        "labels": labels,
    }
    if following:
        _follow(
            datastore,
            actor,
            model_name,
            registry,
            filter,
            every=every,
            max_versions=max_versions,
            timeout=timeout,
            evaluation_trials=eval_trials,
            workers=workers,
            training=training,
        )
        return
    progress = Progress(
        TextColumn("[bold]epochs"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TextColumn("validation {task.fields[score]}"),
        TimeElapsedColumn(),
        console=errors,
        disable=quiet,
    )
    task = progress.add_task("epochs", total=epochs, loss="-", score="-")

    def report(stats: Any) -> None:
        if stats.epoch == 1:
            progress.start()
        progress.update(
            task,
            completed=stats.epoch,
            loss=f"{stats.train_loss:.4f}",
            score=f"{stats.score_name} {stats.validation_score:.3f}",
        )

    try:
        result = clone_and_register(
            datastore,
            actor,
            model_name,
            registry,
            filter,
            evaluation_trials=eval_trials,
            workers=workers,
            on_epoch=report,
            **training,
        )
    finally:
        progress.stop()
    table = Table(
        title=f"behaviour cloning of {actor!r} from {datastore_dir}", title_justify="left"
    )
    for column in ("", "mean return", "trials", "rows"):
        table.add_column(column, justify="right" if column else "left")
    table.add_row(
        "demonstrators", f"{result.demonstrator_return:.2f}", str(result.trials), f"{result.rows:,}"
    )
    if result.clone_return is not None:
        table.add_row(
            f"clone ({result.ref})", f"{result.clone_return:.2f}", str(result.evaluation_trials), ""
        )
    console.print(table)
    last = result.epochs[-1]
    console.print(
        f"saved {result.ref} in {registry} after {len(result.epochs)} epoch(s) "
        f"(validation {last.score_name} {last.validation_score:.3f}) in {result.seconds:.1f} s",
        soft_wrap=True,
        highlight=False,
    )


def _follow(
    datastore: Any,
    actor: str,
    model_name: str,
    registry: str,
    filter: Any,
    *,
    training: dict[str, Any],
    **looping: Any,
) -> None:
    """``cogym bc --follow``: a version every K new trials, one line each, until told to stop."""
    from cogym.errors import InvalidArgumentError
    from cogym.learn.live import EVERY, follow_and_clone

    if looping["every"] is None:
        looping["every"] = EVERY
    published: list[Any] = []

    def show(report: Any) -> None:
        published.append(report)
        line = (
            f"published {report.ref}: {report.trials} trials, {report.rows:,} rows, "
            f"demonstrators {report.demonstrator_return:.2f}"
        )
        if report.clone_return is not None:
            line += f", clone {report.clone_return:.2f} in {report.evaluation_trials} trials"
        console.print(line + f" ({report.seconds:.1f} s)", highlight=False, soft_wrap=True)

    stopped = "done"
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        follow_and_clone(
            datastore, actor, model_name, registry, filter, on_version=show, **looping, **training
        )
    except InvalidArgumentError as exc:
        name = "--" + exc.argument.replace("_", "-")
        errors.print(
            "[red]error:[/red]", escape(f"{name}: {exc.detail}"), highlight=False, soft_wrap=True
        )
        sys.exit(BAD_INPUT)
    except KeyboardInterrupt:
        stopped = "stopped"
    finally:
        signal.signal(signal.SIGTERM, previous)
    most = looping["max_versions"]
    if stopped == "done" and (most is None or len(published) < most):
        stopped = f"no new trial for {looping['timeout']:g} s"
    last = f"; the last is {published[-1].ref} in {registry}" if published else ""
    console.print(
        f"{stopped}: {len(published)} version(s) published{last}", highlight=False, soft_wrap=True
    )


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
