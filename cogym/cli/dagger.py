"""``cogym dagger``: train an actor by DAgger, a teacher labelling the states the learner visits."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from cogym.cli import BAD_INPUT, console, errors, main


def _pairs(values: tuple[str, ...], option: str) -> dict[str, Any]:
    """``KEY=VALUE`` pairs, each value read as YAML (``gain=0.5`` gives a number)."""
    import yaml

    from cogym.errors import InvalidArgumentError

    pairs: dict[str, Any] = {}
    for text in values:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise InvalidArgumentError(
                option, f"write {text!r} as KEY=VALUE, for instance gain=0.5"
            )
        pairs[key] = yaml.safe_load(value)
    return pairs


_OPTION_OF = {
    "teacher_config": "--teacher-config",
    "trials_per_round": "--trials-per-round",
    "evaluation_trials": "--eval-trials",
    "spec": "SPEC.yaml",
}


@main.command()
@click.argument("spec_path", metavar="SPEC.yaml", type=click.Path(dir_okay=False))
@click.option("--actor", "-a", required=True, help="The actor to train (its seat in the spec).")
@click.option(
    "--teacher",
    "-t",
    required=True,
    metavar="IMPL",
    help="Who labels the states: python:<module>:<factory>, sb3:<model>@<ref>, human (you, "
    "pressing keys on a page whose URL is printed), ...",
)
@click.option(
    "--teacher-config", "teacher_config", multiple=True, metavar="KEY=VALUE",
    help="Config of the teacher (repeatable).",
)
@click.option("--rounds", "-n", default=5, show_default=True, type=int, help="DAgger rounds.")
@click.option(
    "--trials-per-round", default=10, show_default=True, type=int, help="Trials in each round."
)
@click.option("--model", "-m", "model_name", required=True, help="Registry name of the policy.")
@click.option(
    "--registry", "-r", required=True, envvar="COGYM_REGISTRY",
    help="Model registry (a directory or an fsspec URL; or set COGYM_REGISTRY).",
)
@click.option(
    "--datastore", "-d", required=True, envvar="COGYM_DATASTORE",
    type=click.Path(file_okay=False), help="Where the trials are recorded (or COGYM_DATASTORE).",
)
@click.option(
    "--beta", default=0.0, show_default=True, type=float,
    help="The teacher acts with probability beta ** (round - 1); 0: only in round 1.",
)
@click.option(
    "--query", default="always", show_default=True, type=click.Choice(["always", "uncertain"]),
    help="Label every tick, or only those the learner is unsure of.",
)
@click.option(
    "--threshold", default=0.1, show_default=True, type=float,
    help="With --query uncertain: the uncertainty from which the teacher is asked.",
)
@click.option(
    "--measure", default="entropy", show_default=True,
    type=click.Choice(["entropy", "margin", "ensemble"]),
    help="With --query uncertain: how unsure the learner is (discrete actions).",
)
@click.option(
    "--budget", type=float,
    help="With --query uncertain: ask about this share of the ticks in each round (the "
    "threshold is set from the previous round's states) instead of a fixed --threshold.",
)
@click.option(
    "--ensemble", default=3, show_default=True, type=int,
    help="With --query uncertain and continuous actions or --measure ensemble: policies whose "
    "disagreement counts.",
)
@click.option("--epochs", type=int, help="Training epochs per round (at least).")
@click.option(
    "--eval-trials", "evaluation_trials", default=10, show_default=True, type=int,
    help="New trials each round's policy is evaluated in (0: none).",
)
@click.option("--workers", "-w", default=1, show_default=True, type=int, help="Processes.")
@click.option("--seed", type=int, help="Base seed of the trials (default: the spec's).")
def dagger(
    spec_path: str,
    actor: str,
    teacher: str,
    teacher_config: tuple[str, ...],
    rounds: int,
    trials_per_round: int,
    model_name: str,
    registry: str,
    datastore: str,
    beta: float,
    query: str,
    threshold: float,
    measure: str,
    budget: float | None,
    ensemble: int,
    epochs: int | None,
    evaluation_trials: int,
    workers: int,
    seed: int | None,
) -> None:
    """Train ACTOR of SPEC.yaml by DAgger: it acts, TEACHER labels what it sees, and each
    round's policy, trained on every label so far, becomes the next version of MODEL."""
    from cogym.errors import InvalidArgumentError
    from cogym.learn.dagger import dagger as run_dagger

    table = _table(actor, teacher)
    training = {"epochs": epochs} if epochs is not None else {}
    try:
        model = run_dagger(
            spec_path,
            actor,
            teacher,
            registry=registry,
            model=model_name,
            datastore=datastore,
            rounds=rounds,
            trials_per_round=trials_per_round,
            beta=beta,
            query=query,
            threshold=threshold,
            measure=measure,
            budget=budget,
            ensemble=ensemble,
            teacher_config=_pairs(teacher_config, "teacher_config"),
            seed=seed,
            workers=workers,
            evaluation_trials=evaluation_trials,
            on_round=lambda stats: _print_round(stats, query),
            **training,
        )
    except InvalidArgumentError as exc:
        name = _OPTION_OF.get(exc.argument, "--" + exc.argument.replace("_", "-"))
        errors.print(
            "[red]error:[/red]", escape(f"{name}: {exc.detail}"), highlight=False, soft_wrap=True
        )
        sys.exit(BAD_INPUT)
    for stats in model.cogym_rounds:
        table.add_row(*_cells(stats))
    console.print(table)
    last = model.cogym_rounds[-1]
    console.print(
        f"saved {last.ref} in {registry}: {last.total_labels:,} teacher labels in "
        f"{len(model.cogym_rounds)} round(s), trials in {datastore}, in "
        f"{model.cogym_seconds:.1f} s",
        soft_wrap=True,
        highlight=False,
    )


def _table(actor: str, teacher: str) -> Table:
    table = Table(title=f"DAgger of {actor!r} taught by {teacher}", title_justify="left")
    for column in (
        "round", "beta", "ticks", "queries", "labels", "all labels", "teacher acted",
        "trial return", "eval return", "version",
    ):
        table.add_column(column, justify="right")
    return table


def _cells(stats: Any) -> list[str]:
    evaluation = "-" if stats.evaluation_return is None else f"{stats.evaluation_return:.2f}"
    return [
        str(stats.round), f"{stats.beta:.3g}", f"{stats.ticks:,}", f"{stats.queries:,}",
        f"{stats.labels:,}", f"{stats.total_labels:,}", f"{stats.teacher_actions:,}",
        f"{stats.mean_return:.2f}", evaluation, stats.ref,
    ]


def _print_round(stats: Any, query: str) -> None:
    evaluation = ""
    if stats.evaluation_return is not None:
        evaluation = f", evaluation return {stats.evaluation_return:.2f}"
    errors.print(
        f"round {stats.round}: {stats.labels:,} labels for {stats.ticks:,} ticks "
        f"({stats.queries:,} queries, {query}), {stats.total_labels:,} in all -> {stats.ref}"
        f"{evaluation}",
        highlight=False,
        soft_wrap=True,
    )
