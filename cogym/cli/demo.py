"""``cogym demo``: the whole loop on an embedded default."""

from __future__ import annotations

from pathlib import Path

import click

from cogym.cli import console, main


@main.command()
@click.option(
    "--trials",
    default=50,
    show_default=True,
    type=click.IntRange(min=2),
    help="Expert trials to record.",
)
@click.option(
    "--eval-trials",
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    help="New trials for the clone.",
)
@click.option(
    "--epochs",
    default=30,
    show_default=True,
    type=click.IntRange(min=1),
    help="Cloning epochs at most.",
)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Processes running trials.",
)
@click.option(
    "--out",
    default=None,
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="A folder that does not exist or is empty.  [default: a new folder, cogym-demo, "
    "cogym-demo-2... in the current directory]",
)
def demo(trials: int, eval_trials: int, epochs: int, workers: int, out: str | None) -> None:
    """Record an expert on CartPole, clone it, register the clone, play it.

    About 20 seconds on 2 cores; the first run after installing takes about 40 seconds,
    while Python compiles the libraries it imports. Each run writes into a new folder.
    """
    from cogym.demo import run_demo

    run_demo(
        None if out is None else Path(out),
        trials=trials,
        evaluation_trials=eval_trials,
        epochs=epochs,
        workers=workers,
        console=console,
    )
