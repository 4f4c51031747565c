"""``cogym trials ls|show|replay|export|plot|delete|compact``: a datastore's recorded trials."""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from cogym.cli import FAILURE, console, errors, main
from cogym.cli.scoring import learnt_scores
from cogym.cli.tables import actors_table, is_narrow, time_text, trials_table
from cogym.errors import InputError, InvalidArgumentError

_DATASTORE = click.option(
    "--datastore",
    "-d",
    "datastore_dir",
    required=True,
    envvar="COGYM_DATASTORE",
    type=click.Path(file_okay=False),
    help="The datastore: a directory or a URL such as s3://bucket/trials (or set COGYM_DATASTORE).",
)


def _open(path: str):
    """The datastore at ``path``, checked; unreadable files are reported on stderr."""
    from cogym.datastore import HDF5Datastore, UnreadableFileWarning

    datastore = HDF5Datastore(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnreadableFileWarning)
        datastore.catalog()
    for warning in caught:
        errors.print(
            f"[yellow]warning:[/yellow] {escape(str(warning.message))}",
            highlight=False,
            soft_wrap=True,
        )
    return datastore


def _filters(command: Callable[..., Any]) -> Callable[..., Any]:
    """The trial filter options, passed to the command as ``filter`` (a TrialFilter)."""

    @click.option(
        "--state",
        multiple=True,
        type=click.Choice(["ended", "failed", "terminated"]),
        help="Trial state (repeatable).",
    )
    @click.option(
        "--tag",
        "tags",
        multiple=True,
        metavar="KEY=VALUE",
        help="Tag that must match (repeatable).",
    )
    @click.option(
        "--env",
        "environment",
        metavar="PATTERN",
        help="Environment implementation (wildcards * ?).",
    )
    @click.option(
        "--implementation", metavar="PATTERN", help="An actor ran this implementation (wildcards)."
    )
    @click.option(
        "--with-actor", "with_actor", metavar="NAME", help="Trials with an actor of this name."
    )
    @click.option("--min-return", type=float, help="Lowest return (of --with-actor, else the sum).")
    @click.option("--max-return", type=float, help="Highest return.")
    @click.option(
        "--since", metavar="TIME", help="Started at or after (ISO date/time or epoch seconds)."
    )
    @click.option("--until", metavar="TIME", help="Started at or before.")
    @functools.wraps(command)
    def wrapper(
        *args: Any,
        state: tuple[str, ...],
        tags: tuple[str, ...],
        environment: str | None,
        implementation: str | None,
        with_actor: str | None,
        min_return: float | None,
        max_return: float | None,
        since: str | None,
        until: str | None,
        **kwargs: Any,
    ) -> Any:
        from cogym.datastore.read.query import filter_from_options

        kwargs["filter"] = filter_from_options(
            state=state,
            tags=tags,
            environment=environment,
            implementation=implementation,
            with_actor=with_actor,
            min_return=min_return,
            max_return=max_return,
            since=since,
            until=until,
        )
        return command(*args, **kwargs)

    return wrapper


@main.group()
def trials() -> None:
    """Recorded trials: list, show, replay, export, plot, delete, compact."""


@trials.command("ls")
@_DATASTORE
@_filters
@click.option(
    "--limit",
    "-n",
    default=50,
    show_default=True,
    type=click.IntRange(min=0),
    help="Show the newest N (0: all).",
)
@click.option(
    "--score",
    metavar="reward:MODEL@REF",
    help="Add a column with each trial's return under this learnt reward (needs --registry).",
)
@click.option(
    "--score-actor",
    metavar="NAME",
    help="The actor scored with --score (default: the one the reward model was learnt on).",
)
@click.option(
    "--registry",
    "registry_root",
    metavar="DIR",
    envvar="COGYM_REGISTRY",
    help="The model registry of --score (or set COGYM_REGISTRY).",
)
def list_trials(
    datastore_dir: str,
    filter: Any,
    limit: int,
    score: str | None,
    score_actor: str | None,
    registry_root: str | None,
) -> None:
    """List recorded trials, newest last; with --score, each one's learnt return."""
    datastore = _open(datastore_dir)
    found = datastore.trials(filter)
    total = len(datastore)
    shown = found[-limit:] if limit else found
    scores = None
    if score is not None:
        scores = (score, learnt_scores(datastore, shown, score, score_actor, registry_root))
    narrow = is_narrow(console)
    table = trials_table(console, shown, narrow=narrow, title=f"trials in {datastore_dir}",
                         scores=scores)  # fmt: skip
    table.caption = f"{len(shown)} shown of {len(found)} matching ({total} trials recorded)"
    table.caption_justify = "left"
    console.print(table)


@trials.command("show")
@_DATASTORE
@click.argument("trial_id")
def show(datastore_dir: str, trial_id: str) -> None:
    """Summarise one trial (TRIAL_ID may be a unique prefix)."""
    datastore = _open(datastore_dir)
    stored = datastore.trial(trial_id)
    s = stored.summary
    lines = [
        f"[bold]trial {s.trial_id}[/bold]",
        f"state        {s.state.value}",
        f"environment  {escape(s.environment)}",
        f"seed         {s.seed}",
        f"ticks        {s.ticks}",
        f"started      {time_text(s.started)}   ended {time_text(s.ended)}   ({s.duration:.3f} s)",
        f"tags         {escape(', '.join(f'{k}={v}' for k, v in s.tags.items()) or '(none)')}",
        f"stored in    {s.location}",
    ]
    console.print("\n".join(lines), highlight=False, soft_wrap=True)
    console.print(actors_table(console, stored, s))
    frames = stored.frames()
    rewards = stored.rewards_sent
    console.print(
        f"{len(rewards)} reward(s) sent by participants, {len(stored.messages)} message(s), "
        f"{0 if frames is None else len(frames)} frame(s)",
        highlight=False,
    )
    if rewards:
        _print_rewards(rewards)
    notes = stored.annotations
    if notes:
        _print_notes(notes)
    if s.error:
        console.print(f"[red]error:[/red] {escape(s.error)}", highlight=False, soft_wrap=True)
    console.print("[bold]spec[/bold]")
    console.print(escape(stored.spec.to_yaml()), highlight=False, soft_wrap=True)


_SHOWN = 20


def _print_rewards(rewards: Any) -> None:
    """The rewards participants sent (a person's feedback, a coach's shaping...), first ones."""
    table = Table(title="rewards sent by participants", title_justify="left")
    for column in ("for tick", "sender", "receiver", "value", "confidence"):
        table.add_column(column)
    for reward in rewards[:_SHOWN]:
        table.add_row(
            str(reward.tick),
            escape(reward.sender),
            escape(reward.receiver),
            f"{reward.value:.3f}",
            f"{reward.confidence:.3f}",
        )
    console.print(table)
    if len(rewards) > _SHOWN:
        console.print(f"... and {len(rewards) - _SHOWN} more", highlight=False)


def _print_notes(notes: dict[int, dict[str, Any]]) -> None:
    """How many ticks each actor annotated, by note; notes with a ``by`` key (who chose the
    action) are counted by that key alone, and by ``labelled_by`` (who labelled the tick, in
    DAgger's trials) when they have one."""
    import json
    from collections import Counter

    counts: Counter[tuple[str, str]] = Counter()
    for by_actor in notes.values():
        for actor, note in by_actor.items():
            shown = note
            if isinstance(note, dict) and "by" in note:
                shown = {key: note[key] for key in ("by", "labelled_by") if key in note}
            counts[(actor, json.dumps(shown))] += 1
    table = Table(title="notes on ticks (context.annotate)", title_justify="left")
    for column in ("actor", "note", "ticks"):
        table.add_column(column)
    for (actor, shown), count in sorted(counts.items()):
        table.add_row(escape(actor), escape(shown), str(count))
    console.print(table)


@trials.command("replay")
@_DATASTORE
@click.argument("trial_id")
@click.option(
    "--trust",
    is_flag=True,
    help="Import the modules the trial's spec names (its environment's code): only for a "
    "datastore you trust. Without it, a replay that would import any is refused, listing them.",
)
def replay(datastore_dir: str, trial_id: str, trust: bool) -> None:
    """Re-execute a trial from its seed and recorded actions; exit 1 if it does not reproduce.

    A replay builds the recorded environment, which may import modules the recorded spec
    names: unless --trust is given, those are listed and the replay is refused (exit 2)
    before anything is imported.
    """
    datastore = _open(datastore_dir)
    if not trust:
        from cogym.trust import refuse_untrusted, replay_loads

        stored = datastore.trial(trial_id)
        doing = f"replaying trial {stored.summary.trial_id}"
        refuse_untrusted(replay_loads(stored.spec), doing=doing, trust_with="--trust")
    report = datastore.replay(trial_id)
    colour = "green" if report.reproduced else "red"
    console.print(f"[{colour}]{escape(str(report))}[/{colour}]", highlight=False, soft_wrap=True)
    if not report.reproduced:
        sys.exit(FAILURE)


@trials.command("export")
@_DATASTORE
@click.argument("trial_id", required=False)
@click.option(
    "--video",
    type=click.Path(dir_okay=False),
    help="Write TRIAL_ID's frames as a video (.mp4 or .gif).",
)
@click.option(
    "--fps", default=30.0, show_default=True, type=float, help="Frames per second of the video."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["npz", "minari"]),
    help="Export many trials as a NumPy archive or a Minari dataset.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Archive to write (--format npz).")
@click.option("--dataset-id", help="Minari dataset id, e.g. cartpole/expert-v0 (--format minari).")
@click.option("--actor", help="The actor whose data to export (default: the only one).")
@_filters
def export(
    datastore_dir: str,
    trial_id: str | None,
    video: str | None,
    fps: float,
    fmt: str | None,
    out: str | None,
    dataset_id: str | None,
    actor: str | None,
    filter: Any,
) -> None:
    """Export a trial's replay as a video, or trials as an npz archive or a Minari dataset."""
    from cogym.datastore import TrialFilter
    from cogym.datastore.export import to_minari, to_npz, to_video

    datastore = _open(datastore_dir)
    if video:
        if trial_id is None:
            raise InputError("--video needs a TRIAL_ID")
        _check_output("--video", video)
        count = to_video(datastore.trial(trial_id), video, fps)
        console.print(f"wrote {count} frames to {video}", highlight=False, soft_wrap=True)
        return
    if fmt is None:
        raise InputError(
            "say what to export: --video FILE (with a TRIAL_ID) or --format npz|minari"
        )
    if trial_id is not None:
        filter = TrialFilter(**{**_filter_fields(filter), "ids": [datastore.resolve(trial_id)]})
    if actor is None:
        names = {a for s in datastore.trials(filter) for a in s.actor_classes}
        if len(names) != 1:
            raise InputError(
                f"--actor is needed: the trials have actors {sorted(names) or '(none)'}"
            )
        actor = names.pop()
    if fmt == "npz":
        if not out:
            raise InputError("--format npz needs --out FILE.npz")
        _check_output("--out", out)
        data = to_npz(datastore, out, actor, filter)
        console.print(
            f"wrote {data.rows} rows of {len(data.trial_ids)} trials to {out}",
            highlight=False,
            soft_wrap=True,
        )
    else:
        if not dataset_id:
            raise InputError("--format minari needs --dataset-id, e.g. cartpole/expert-v0")
        _check_new_minari_dataset(dataset_id)
        dataset, skipped = to_minari(datastore, dataset_id, actor, filter)
        note = f" (skipped {skipped} without a final observation)" if skipped else ""
        console.print(
            f"wrote Minari dataset {dataset_id}: {dataset.total_episodes} episodes{note}",
            highlight=False,
            soft_wrap=True,
        )


def _check_output(option: str, path: str) -> None:
    """Refuse an output file in a folder that does not exist, before any work is done."""
    folder = Path(path).expanduser().absolute().parent
    if not folder.is_dir():
        raise InvalidArgumentError(
            option,
            f"{path}: the folder {folder} does not exist; create it first, or write elsewhere",
        )


def _check_new_minari_dataset(dataset_id: str) -> None:
    """Refuse a Minari dataset id that is taken: Minari would not overwrite it."""
    try:
        import minari
    except ImportError:
        return  # the export says which extra to install
    from cogym.datastore.export import minari_id_problem

    problem = minari_id_problem(dataset_id)
    if problem:
        raise InvalidArgumentError("--dataset-id", f"{dataset_id!r}: {problem}")
    if dataset_id in minari.list_local_datasets():
        raise InvalidArgumentError(
            "--dataset-id",
            f"a Minari dataset {dataset_id!r} exists already (under MINARI_DATASETS_PATH, by "
            "default ~/.minari/datasets); choose another id (a new version, say -v1), or "
            f"delete it first with `minari delete {dataset_id}`",
        )


def _filter_fields(flt: Any) -> dict[str, Any]:
    from dataclasses import fields

    return {f.name: getattr(flt, f.name) for f in fields(flt) if getattr(flt, f.name) is not None}


@trials.command("plot")
@_DATASTORE
@click.option(
    "--out",
    "-o",
    default="returns.png",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="PNG to write.",
)
@click.option("--actor", "actors", multiple=True, help="Plot these actors (default: all).")
@click.option(
    "--window",
    type=click.IntRange(min=1),
    help="Moving-average window (default: a twentieth of the trials).",
)
@click.option(
    "--phases",
    "phase_tag",
    metavar="TAG",
    help="Shade and name the runs of trials that share this tag's value (e.g. role).",
)
@click.option(
    "--split",
    metavar="implementation|tag:NAME",
    help="One curve per actor and implementation, or per actor and value of tag NAME.",
)
@_filters
def plot(
    datastore_dir: str,
    out: str,
    actors: tuple[str, ...],
    window: int | None,
    phase_tag: str | None,
    split: str | None,
    filter: Any,
) -> None:
    """Draw returns over trials into a PNG."""
    from cogym.datastore.plot import parse_split, plot_returns

    _check_output("--out", out)
    try:
        parse_split(split)
    except InputError as exc:
        raise InvalidArgumentError("--split", str(exc).removeprefix("split: ")) from None
    datastore = _open(datastore_dir)
    count = plot_returns(
        datastore.trials(filter),
        out,
        actors=actors or None,
        window=window,
        phase_tag=phase_tag,
        split=split,
    )
    console.print(
        f"plotted the returns of {count} trials to {out}", highlight=False, soft_wrap=True
    )


@trials.command("delete")
@_DATASTORE
@click.argument("trial_ids", nargs=-1, required=True)
def delete(datastore_dir: str, trial_ids: tuple[str, ...]) -> None:
    """Delete trials (ids or unique prefixes)."""
    datastore = _open(datastore_dir)
    count = datastore.delete(list(trial_ids))
    console.print(f"deleted {count} trial(s) from {datastore_dir}", highlight=False, soft_wrap=True)


@trials.command("compact")
@_DATASTORE
@click.option(
    "--target-mb",
    default=128,
    show_default=True,
    type=click.IntRange(min=1),
    help="Size of the merged shards.",
)
def compact(datastore_dir: str, target_mb: int) -> None:
    """Merge small shards (and journals of processes that died) into larger shards."""
    datastore = _open(datastore_dir)
    report = datastore.compact(target_mb << 20)
    console.print(str(report), highlight=False, soft_wrap=True)
