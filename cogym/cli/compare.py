"""``cogym compare``: a tournament of implementations over the seats of a spec."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape

from cogym.cli import FAILURE, console, errors, main
from cogym.cli.run import load_spec
from cogym.cli.tables import new_table
from cogym.errors import InputError, InvalidArgumentError


@main.command()
@click.argument("spec_path", metavar="SPEC.yaml", type=click.Path(dir_okay=False))
@click.argument("implementations", metavar="IMPL...", nargs=-1, required=True)
@click.option(
    "--seat",
    "seats",
    multiple=True,
    required=True,
    metavar="ACTOR",
    help="An actor of the spec that the implementations take turns in (give it once per seat).",
)
@click.option(
    "--games",
    "-n",
    default=100,
    show_default=True,
    type=click.IntRange(min=1),
    help="Trials per seating (the same seeds for every seating).",
)
@click.option("--seed", type=click.IntRange(min=0), help="Base seed (overrides the spec's).")
@click.option(
    "--registry",
    metavar="DIR",
    envvar="COGYM_REGISTRY",
    help="Model registry for sb3:<model>@<ref> and ranges such as sb3:c4@1..10.",
)
@click.option(
    "--workers",
    "-w",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Processes running trials.",
)
@click.option("--plot", "plot_path", metavar="PNG", help="Also draw the results into this file.")
def compare(
    spec_path: str,
    implementations: tuple[str, ...],
    seats: tuple[str, ...],
    games: int,
    seed: int | None,
    registry: str | None,
    workers: int,
    plot_path: str | None,
) -> None:
    """Play every implementation against every other in every seat of SPEC.yaml.

    Prints, for each ordered pair, wins, draws and losses with 95% confidence intervals and
    mean returns, then each implementation's Elo rating. Example:

    \b
      cogym compare ttt.yaml --seat player_1 --seat player_2 \\
          random python:cogym.bots:TicTacToePerfect
    """
    from cogym.evaluation import evaluate
    from cogym.registry import as_registry
    from cogym.registry.ranges import expand_ranges

    spec = load_spec(spec_path)
    if seed is not None:
        spec = spec.replace(seed=seed)
    models = as_registry(registry) if registry else None
    try:
        expanded = expand_ranges(implementations, models)
    except InputError as exc:
        raise InvalidArgumentError("IMPL", str(exc)) from None
    result = evaluate(spec, seats, expanded, games=games, registry=models, workers=workers)
    _print(result)
    if plot_path:
        from cogym.evaluation import plot_evaluation

        plot_evaluation(result, plot_path)
        console.print(f"plot written to {escape(plot_path)}", highlight=False)
    if result.failed:
        first = result.failed[0]
        errors.print(
            f"[red]error:[/red] {len(result.failed)} trial(s) failed and count in no row; the "
            f"first: {escape(first.error or first.trial_id)}",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(FAILURE)


def _print(result: Any) -> None:
    seats = ", ".join(result.seats)
    table = new_table(console, f"{len(result.implementations)} implementations, seats {seats}")
    table.add_column("implementation\n  vs opponent", overflow="fold")
    for column in ("games", "W/D/L", "win rate\n[95%]", "loss rate\n[95%]", "return"):
        table.add_column(column, justify="right")
    for m in result:
        table.add_row(
            f"{escape(m.implementation)}\n  vs {escape(m.opponent)}",
            str(m.games),
            f"{m.wins}/{m.draws}/{m.losses}",
            f"{m.win_rate:.2f}\n[{m.win_low:.2f}, {m.win_high:.2f}]",
            f"{m.loss_rate:.2f}\n[{m.loss_low:.2f}, {m.loss_high:.2f}]",
            f"{m.mean_return:.3g}",
        )
    console.print(table)
    ratings = new_table(console, "Elo ratings")
    ratings.add_column("implementation", overflow="fold")
    ratings.add_column("Elo", justify="right")
    ratings.add_column("mean return", justify="right")
    for name in sorted(result.ratings, key=result.ratings.__getitem__, reverse=True):
        ratings.add_row(
            escape(name), f"{result.ratings[name]:.0f}", f"{result.mean_returns[name]:.3g}"
        )
    console.print(ratings)
