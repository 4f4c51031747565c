"""``cogym reward train``: fit a reward model to the preferences and feedback in a datastore."""

from __future__ import annotations

import click

from cogym.cli import console, main


@main.group()
def reward() -> None:
    """Learn rewards from people's preferences and feedback."""


@reward.command("train")
@click.option("--datastore", "datastore_dir", required=True, metavar="DIR",
              help="The datastore holding the preferences and trials.")
@click.option("--actor", default="player", show_default=True, help="The actor judged.")
@click.option("--model", default=None, metavar="NAME", help="Save as the next version of NAME.")
@click.option("--registry", "registry_root", default=None, metavar="DIR", envvar="COGYM_REGISTRY",
              help="The registry to save into (with --model). Env: COGYM_REGISTRY.")
@click.option("--ensemble", default=3, show_default=True, type=click.IntRange(1))
@click.option("--hidden", default="64,64", show_default=True, help="Hidden layer sizes.")
@click.option("--epochs", default=50, show_default=True, type=click.IntRange(1))
@click.option("--no-preferences", is_flag=True, help="Learn from feedback rewards only.")
@click.option("--no-feedback", is_flag=True, help="Learn from preferences only.")
@click.option("--seed", default=None, type=int)
def train(
    datastore_dir: str,
    actor: str,
    model: str | None,
    registry_root: str | None,
    ensemble: int,
    hidden: str,
    epochs: int,
    no_preferences: bool,
    no_feedback: bool,
    seed: int | None,
) -> None:
    """Fit a reward model (an ensemble of small networks) and save it in the registry."""
    from cogym.errors import ArgumentError
    from cogym.learn import reward_model

    try:
        layers = tuple(int(h) for h in hidden.split(",") if h.strip())
    except ValueError:
        raise ArgumentError(f"--hidden must be sizes separated by commas, got {hidden!r}") from None
    if (model is None) != (registry_root is None):
        raise ArgumentError("--model and --registry go together: give both to save, or neither")
    trained = reward_model(
        datastore_dir, actor, preferences=not no_preferences, feedback=not no_feedback,
        ensemble=ensemble, hidden=layers, epochs=epochs, registry=registry_root, model=model,
        seed=seed,
    )  # fmt: skip
    lineage = trained.lineage
    where = f"saved as {trained.ref}" if trained.ref else "not saved (no --model/--registry)"
    console.print(
        f"reward model of {actor!r} from {lineage['preference_count']} preferences and "
        f"{lineage['feedback_count']} feedback rewards in {len(lineage['trial_ids'])} trials: "
        f"{where}",
        highlight=False, markup=False,
    )  # fmt: skip
