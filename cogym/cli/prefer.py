"""``cogym prefer``: a person compares clips of recorded trials in the browser; each answer is
stored in the datastore as a preference."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import click
from rich.markup import escape

from cogym.cli import console, errors, main, page_options
from cogym.cli.trials import _DATASTORE, _filters, _open
from cogym.errors import InputError, InvalidArgumentError


@main.command()
@_DATASTORE
@click.option(
    "--actor", "-a", help="The actor whose segments are compared (default: the only one)."
)
@_filters
@click.option(
    "--segment",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="Ticks per clip.",
)
@click.option(
    "--queries",
    "-n",
    default=100,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many pairs to ask about.",
)
@click.option(
    "--select",
    default="random",
    show_default=True,
    type=click.Choice(["random", "disagreement"]),
    help="Random pairs, or those the --reward model's ensemble disagrees most about.",
)
@click.option("--reward", metavar="MODEL@REF", help="Reward model for --select disagreement.")
@click.option(
    "--registry", metavar="DIR", envvar="COGYM_REGISTRY", help="Model registry of --reward."
)
@click.option("--seed", type=click.IntRange(min=0), help="Seed of the choice of pairs.")
@click.option("--name", help="Your name: answers are stored as judge 'person:<name>'.")
@click.option(
    "--fps",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True, max=120),
    help="Frames per second of the clips.",
)
@page_options
def prefer(
    datastore_dir: str,
    actor: str | None,
    filter: Any,
    segment: int,
    queries: int,
    select: str,
    reward: str | None,
    registry: str | None,
    seed: int | None,
    name: str | None,
    fps: float,
    host: str,
    port: int,
    allow_remote: bool,
) -> None:
    """Compare clips of recorded trials in your browser; every answer is stored at once.

    Prints the page's URL (it holds a secret token). The page shows two segments of --segment
    ticks side by side, looping, from the frames the trials recorded (a spec with
    `record_frames: true` records them): answer with ← (left is better), → (right), ↓ or =
    (equally good), space (can't tell), or the buttons. Stops when --queries are answered, or
    at Ctrl-C (every answer given is already stored). Trial filters (--tag, --min-return, ...)
    choose the trials the clips come from.
    """
    from cogym.web.server import is_loopback

    if not allow_remote and not is_loopback(host):
        raise InvalidArgumentError(
            "--host",
            f"{host}: serving the page beyond this machine lets anyone who learns its URL "
            "answer in your name; add --allow-remote to mean it",
        )
    if select == "disagreement" and (reward is None or registry is None):
        raise InvalidArgumentError(
            "--select",
            "disagreement needs the reward model: give --reward MODEL@REF and --registry",
        )
    if select == "random" and reward is not None:
        raise InvalidArgumentError("--reward", "is used by --select disagreement only")
    datastore = _open(datastore_dir)
    found = datastore.trials(filter)
    if not found:
        raise InputError(
            f"no trial in {datastore_dir} matches the filters ({_described(filter)}); "
            f"see them with `cogym trials ls --datastore {datastore_dir}`"
        )
    with_frames = [s for s in found if s.frames]
    if not with_frames:
        listed = ", ".join(s.trial_id for s in found[:5]) + (" ..." if len(found) > 5 else "")
        raise InputError(
            f"none of the {len(found)} trial(s) matching the filters ({_described(filter)}) "
            f"recorded frames, so there are no clips to show: {listed}. Record trials with "
            "'record_frames: true' in their spec (and an environment that renders, e.g. "
            "config: {render_mode: rgb_array}), or choose trials that have frames with --tag, "
            "--env, --since ..."
        )
    if len(with_frames) < len(found):
        errors.print(
            f"[yellow]note:[/yellow] {len(found) - len(with_frames)} of the {len(found)} matching "
            "trials recorded no frames; the clips come from the others",
            highlight=False,
        )
    actor = _actor(actor, with_frames)
    chosen = dataclasses.replace(filter, ids=tuple(s.trial_id for s in with_frames))
    asked = _propose(datastore, actor, queries, segment, select, reward, registry, seed, chosen)
    if not asked:
        raise InputError(
            f"no pair of {segment}-tick segments of actor {actor!r} could be drawn from the "
            f"{len(with_frames)} trial(s) with frames; try a shorter --segment"
        )

    from cogym.web.prefer import PersonJudge

    judge = PersonJudge(name, host=host, port=port, allow_remote=allow_remote, fps=fps)
    counts: Counter[str] = Counter()
    try:
        for preference in judge.answer(asked, datastore):
            counts[preference.answer] += 1
            console.print(
                f"{sum(counts.values())}/{len(asked)} {escape(preference.query.query_id)}: "
                f"{preference.answer}",
                highlight=False,
            )
    except KeyboardInterrupt:
        errors.print("stopped from the keyboard (Ctrl-C)", highlight=False)
    finally:
        judge.close()
    summary = ", ".join(f"{k} {counts[k]}" for k in ("left", "right", "equal", "unknown"))
    console.print(
        f"{sum(counts.values())} of {len(asked)} answered and stored in "
        f"{escape(datastore_dir)} as judge {judge.judge!r} ({summary})",
        highlight=False,
        soft_wrap=True,
    )


def _actor(actor: str | None, summaries: list[Any]) -> str:
    names = sorted({n for s in summaries for n in s.actor_classes})
    if actor is not None:
        if actor not in names:
            raise InvalidArgumentError(
                "--actor", f"{actor!r} is in none of the trials with frames; their actors: {names}"
            )
        return actor
    if len(names) != 1:
        raise InvalidArgumentError(
            "--actor", f"the trials have several actors: choose one of {names}"
        )
    return names[0]


def _propose(
    datastore: Any,
    actor: str,
    count: int,
    segment: int,
    select: str,
    reward: str | None,
    registry: str | None,
    seed: int | None,
    filter: Any,
) -> list[Any]:
    from cogym.learn import propose_queries

    model = None
    if reward is not None and registry is not None:
        from cogym.learn import load_reward_model

        model = load_reward_model(registry, reward)
    return list(
        propose_queries(
            datastore,
            actor,
            count,
            segment=segment,
            select=select,
            reward=model,
            seed=seed,
            filter=filter,
        )
    )


def _described(filter: Any) -> str:
    fields = {f.name: getattr(filter, f.name) for f in dataclasses.fields(filter)}
    given = {k: v for k, v in fields.items() if v is not None}
    return ", ".join(f"{k}={v}" for k, v in given.items()) or "none given"
