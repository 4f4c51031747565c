"""``cogym rlhf``: RL on a reward learnt from a judge's preferences, iteration after iteration."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from cogym.cli import console, errors, main, page_options
from cogym.cli.dagger import _pairs


@main.command()
@click.argument("spec_path", metavar="SPEC.yaml", type=click.Path(dir_okay=False))
@click.option("--actor", "-a", default="player", show_default=True, help="The actor trained.")
@click.option(
    "--judge", "-j", default="oracle", show_default=True, type=click.Choice(["oracle", "person"]),
    help="Who answers the queries: the oracle (true return), or you, on a page whose URL is "
    "printed.",
)  # fmt: skip
@click.option("--noise", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="With --judge oracle: the share of answers given at random.")
@click.option("--name", default=None, help="With --judge person: your name, stored with answers.")
@click.option("--iterations", "-n", default=5, show_default=True, type=click.IntRange(1))
@click.option("--queries-per-iteration", default=50, show_default=True, type=click.IntRange(1))
@click.option("--timesteps-per-iteration", default=10_000, show_default=True,
              type=click.IntRange(1), help="Environment steps the policy trains each iteration.")
@click.option("--trials-per-iteration", default=8, show_default=True, type=click.IntRange(1),
              help="Trials collected with the policy each iteration, to draw clips from.")
@click.option("--segment", default=50, show_default=True, type=click.IntRange(1),
              help="Ticks per clip.")
@click.option("--select", default="random", show_default=True,
              type=click.Choice(["random", "disagreement"]),
              help="Which pairs to ask about (disagreement: of the latest reward model).")
@click.option("--model", "-m", "model_name", required=True,
              help="Registry name of the policy (the reward model is <model>-reward).")
@click.option("--registry", "-r", required=True, envvar="COGYM_REGISTRY",
              help="Model registry (a directory or an fsspec URL; or set COGYM_REGISTRY).")
@click.option("--datastore", "-d", required=True, envvar="COGYM_DATASTORE",
              type=click.Path(file_okay=False),
              help="Where the trials and answers are recorded (or COGYM_DATASTORE).")
@click.option("--algorithm", default="PPO", show_default=True,
              type=click.Choice(["PPO", "A2C", "SAC", "TD3", "DQN"]))
@click.option("--algorithm-option", "algorithm_options", multiple=True, metavar="KEY=VALUE",
              help="Keyword argument of the algorithm, read as YAML (repeatable): n_steps=32.")
@click.option("--n-envs", default=1, show_default=True, type=click.IntRange(1),
              help="Training trials run side by side.")
@click.option("--reward-option", "reward_options", multiple=True, metavar="KEY=VALUE",
              help="Keyword argument of the reward model's fit (repeatable): epochs=50.")
@click.option("--seed", type=int, help="Base seed (default 0).")
@page_options
def rlhf(
    spec_path: str, actor: str, judge: str, noise: float, name: str | None, iterations: int,
    queries_per_iteration: int, timesteps_per_iteration: int, trials_per_iteration: int,
    segment: int, select: str, model_name: str, registry: str, datastore: str, algorithm: str,
    algorithm_options: tuple[str, ...], n_envs: int, reward_options: tuple[str, ...],
    seed: int | None, host: str, port: int, allow_remote: bool,
) -> None:  # fmt: skip
    """Train ACTOR of SPEC.yaml on a reward learnt from preferences: collect trials with the
    policy, ask the judge to compare clips, fit the reward model, train on it (the
    environment's reward hidden), for --iterations; both go into the registry with lineage."""
    from cogym.errors import InvalidArgumentError
    from cogym.learn import oracle
    from cogym.learn.rlhf import rlhf as run_rlhf

    if judge == "person":
        from cogym.web.prefer import PersonJudge
        from cogym.web.server import is_loopback

        if not allow_remote and not is_loopback(host):
            raise InvalidArgumentError(
                "--host",
                f"{host}: serving the page beyond this machine lets anyone who learns its URL "
                "answer in your name; add --allow-remote to mean it",
            )
        chosen: Any = PersonJudge(name, host=host, port=port, allow_remote=allow_remote)
    else:
        chosen = oracle(noise=noise, seed=seed)
    try:
        policy, reward = run_rlhf(
            spec_path, actor, chosen, iterations=iterations,
            queries_per_iteration=queries_per_iteration,
            timesteps_per_iteration=timesteps_per_iteration,
            trials_per_iteration=trials_per_iteration, segment=segment, select=select,
            registry=registry, model=model_name, datastore=datastore, algorithm=algorithm,
            algorithm_options=_pairs(algorithm_options, "algorithm_option"), n_envs=n_envs,
            reward_options=_pairs(reward_options, "reward_option"), seed=seed,
            on_iteration=_print_iteration,
        )  # fmt: skip
    finally:
        close = getattr(chosen, "close", None)
        if callable(close):
            close()
    table = Table(title=f"RLHF of {actor!r} judged by {judge}", title_justify="left")
    for column in ("iteration", "answers", "preferences", "collected return", "reward model",
                   "policy", "timesteps"):  # fmt: skip
        table.add_column(column, justify="right")
    for s in policy.cogym_iterations:
        table.add_row(str(s.iteration), str(s.answers), str(s.preferences),
                      f"{s.true_return:.2f}", s.reward_ref, s.policy_ref, f"{s.timesteps:,}")
    console.print(table)
    last = policy.cogym_iterations[-1]
    console.print(f"saved {last.policy_ref} and {reward.ref} in {registry}; trials and answers "
                  f"in {datastore}", soft_wrap=True, highlight=False)  # fmt: skip


def _print_iteration(stats: Any) -> None:
    errors.print(
        f"iteration {stats.iteration}: {stats.answers} answers ({stats.preferences} in all), "
        f"collected return {stats.true_return:.2f} -> {stats.reward_ref}, {stats.policy_ref} "
        f"({stats.timesteps:,} steps, {stats.seconds:.1f} s)",
        highlight=False, soft_wrap=True,
    )  # fmt: skip
