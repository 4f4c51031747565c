"""``cogym selfplay``: train an SB3 policy against snapshots of itself."""

from __future__ import annotations

import click
from rich.markup import escape

from cogym.cli import console, main
from cogym.cli.dagger import _pairs
from cogym.cli.run import load_spec


@main.command()
@click.argument("spec_path", metavar="SPEC.yaml", type=click.Path(dir_okay=False))
@click.option("--actor", required=True, metavar="NAME", help="The seat that learns.")
@click.option(
    "--opponent",
    "opponents",
    multiple=True,
    required=True,
    metavar="NAME",
    help="A seat played by snapshots of the learner (once per seat).",
)
@click.option("--model", required=True, metavar="NAME", help="Registry name of the snapshots.")
@click.option("--registry", required=True, metavar="DIR", envvar="COGYM_REGISTRY")
@click.option(
    "--timesteps", default=100_000, show_default=True, type=click.IntRange(min=1),
    help="Environment steps to train for.",
)  # fmt: skip
@click.option(
    "--snapshot-every", default=10_000, show_default=True, type=click.IntRange(min=1),
    help="Publish a snapshot every this many steps (and at the end).",
)  # fmt: skip
@click.option(
    "--sampling",
    default="latest",
    show_default=True,
    type=click.Choice(["latest", "uniform", "prioritised"]),
    help="How each trial's opponent is chosen among the snapshots.",
)
@click.option(
    "--first-opponent", default="random", show_default=True, metavar="IMPL",
    help="The opponents' implementation until the first snapshot.",
)  # fmt: skip
@click.option(
    "--algorithm-option", "algorithm_options", multiple=True, metavar="KEY=VALUE",
    help="An option of the algorithm's constructor (n_steps=256, learning_rate=3e-4...).",
)  # fmt: skip
@click.option("--datastore", metavar="DIR", help="Record every training trial here.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
def selfplay(
    spec_path: str,
    actor: str,
    opponents: tuple[str, ...],
    model: str,
    registry: str,
    timesteps: int,
    snapshot_every: int,
    sampling: str,
    first_opponent: str,
    algorithm_options: tuple[str, ...],
    datastore: str | None,
    seed: int,
) -> None:
    """Train ACTOR of SPEC.yaml against snapshots of itself, published to the registry.

    \b
      cogym selfplay c4.yaml --actor player_0 --opponent player_1 --model c4 \\
          --registry models/ --timesteps 100000 --snapshot-every 20000
    """
    from cogym.learn.selfplay import selfplay as train

    store = None
    if datastore is not None:
        from cogym.cli.run import _datastore

        store = _datastore(datastore)
    policy = train(
        load_spec(spec_path),
        actor,
        opponents,
        model=model,
        registry=registry,
        total_timesteps=timesteps,
        snapshot_every=snapshot_every,
        opponent_sampling=sampling,
        first_opponent=first_opponent,
        algorithm_options=_pairs(algorithm_options, "--algorithm-option"),
        datastore=store,
        seed=seed,
    )
    for snapshot in policy.cogym_snapshots:
        scores = ", ".join(f"{k}: {v:.2f}" for k, v in snapshot.scores.items()) or "-"
        console.print(
            f"{escape(snapshot.ref)} at {snapshot.timesteps} steps; scores since the last: "
            f"{escape(scores)}",
            highlight=False,
        )
    console.print(
        f"compare them: cogym compare {escape(spec_path)} --seat {escape(actor)} "
        f"--seat {escape(opponents[0])} random sb3:{escape(model)}@1.. --registry "
        f"{escape(registry)}",
        highlight=False,
    )
