"""Training data: one actor's rows across many trials as contiguous NumPy arrays.

Row ``i`` holds the observation the actor acted on (``observations``), the action it took
(``actions``), the reward that followed (``rewards``: the sum of its aggregated rewards from
that tick up to its next action, which in turn-based games includes what it received while
others played; ``env_rewards``: the environment's part of it alone, without the rewards
that actors sent), and whether its part of the trial ended after that row (``terminated``,
``truncated``; an actor still playing when the trial stopped at its tick or time limit counts
as truncated). ``final_observations`` has one row per trial: the observation the actor was
left with (zeros where there is none, see ``has_final``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from cogym.datastore.format import layout
from cogym.datastore.format import spaces as leafs
from cogym.datastore.format.record import NOT_ENDED, TERMINATED, TRUNCATED
from cogym.datastore.format.tree import Tree
from cogym.datastore.read.catalog import Catalog, Source
from cogym.datastore.read.query import TrialFilter
from cogym.errors import InputError, SpaceMismatchError, suggest

__all__ = [
    "FIELDS",
    "TrialArrays",
    "batches",
    "check_step_fields",
    "chosen",
    "gather",
    "rebatch",
    "require_actor",
]

FIELDS = (
    "observations",
    "actions",
    "rewards",
    "env_rewards",
    "terminated",
    "truncated",
    "tick",
    "final_observations",
)
_STOPPED = ("ended", "terminated")
_RANGE_READ = 0.25
"""Below this share of a stream's rows, selected rows are read range by range, not whole."""


@dataclass(frozen=True)
class TrialArrays(Mapping[str, Any]):
    """The arrays asked for, by field name; nested spaces give nested dicts of arrays.

    ``trial_ids[k]`` owns rows ``offsets[k]:offsets[k + 1]``.
    """

    fields: Mapping[str, Any]
    trial_ids: tuple[str, ...]
    offsets: np.ndarray
    has_final: np.ndarray
    observation_space: spaces.Space | None
    action_space: spaces.Space | None

    def __getitem__(self, key: str) -> Any:
        try:
            return self.fields[key]
        except KeyError:
            raise KeyError(f"no field {key!r}; these arrays hold {sorted(self.fields)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    @property
    def rows(self) -> int:
        return int(self.offsets[-1]) if len(self.offsets) else 0

    def __repr__(self) -> str:
        return (
            f"TrialArrays({self.rows} rows from {len(self.trial_ids)} trials, "
            f"fields={list(self.fields)})"
        )


def check_fields(fields: Sequence[str]) -> tuple[str, ...]:
    if isinstance(fields, str):
        fields = (fields,)
    for name in fields:
        if name not in FIELDS:
            raise InputError(
                f"unknown field {name!r}.{suggest(name, FIELDS)} Fields: {', '.join(FIELDS)}"
            )
    return tuple(fields)


@dataclass
class _Part:
    columns: dict[str, dict[tuple[str, ...], np.ndarray]]
    scalars: dict[str, np.ndarray]
    trial_ids: list[str]
    counts: np.ndarray
    has_final: np.ndarray
    observation_space: spaces.Space
    action_space: spaces.Space | None


def _runs(starts: np.ndarray, counts: np.ndarray) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for start, count in zip(starts.tolist(), counts.tolist(), strict=True):
        if count == 0:
            continue
        if runs and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], start + count)
        else:
            runs.append((start, start + count))
    return runs


def _read_rows(tree: Tree, path: str, runs: list[tuple[int, int]], total: int) -> np.ndarray:
    selected = sum(b - a for a, b in runs)
    if len(runs) == 1:
        return tree.read(path, slice(*runs[0]))
    if not runs:  # the chosen trials hold no row of the actor (it never acted in them)
        return tree.read(path, slice(0, 0))
    if selected >= _RANGE_READ * total:
        whole = tree.read(path)
        return np.concatenate([whole[a:b] for a, b in runs])
    return np.concatenate([tree.read(path, slice(a, b)) for a, b in runs])


def _part(
    source: Source,
    tree: Tree,
    stream: layout.Stream,
    positions: np.ndarray,
    fields: tuple[str, ...],
) -> _Part | None:
    segments = stream.segments
    chosen = segments[np.isin(segments[:, layout.TRIAL], positions)]
    if not len(chosen):
        return None
    total = tree.rows(f"{stream.base}/tick")
    counts = chosen[:, layout.ROWS]
    runs = _runs(chosen[:, layout.ROW_START], counts)
    columns: dict[str, dict[tuple[str, ...], np.ndarray]] = {}
    scalars: dict[str, np.ndarray] = {}
    for name in ("observations", "actions"):
        if name not in fields:
            continue
        if name == "actions" and stream.action_space is None:
            raise InputError(f"actor {stream.actor!r} is an observer: it has no actions to read")
        space = stream.space(name)
        base = f"{stream.base}/{name}"
        columns[name] = {
            leaf.path: _read_rows(tree, leafs.column_name(base, leaf.path), runs, total)
            for leaf in leafs.leaves(space)
        }
    has_final = chosen[:, layout.FINAL_ROW] >= 0
    if "final_observations" in fields:
        finals = stream.columns("final_observations")
        rows = np.where(has_final, chosen[:, layout.FINAL_ROW], 0)
        out = {}
        for path, column in finals.items():
            if len(column):
                picked = column[rows]
                picked[~has_final] = (
                    np.zeros((), dtype=column.dtype) if column.dtype != object else ""
                )
            else:
                leaf = next(lf for lf in leafs.leaves(stream.observation_space) if lf.path == path)
                picked = np.zeros((len(chosen), *leaf.shape), dtype=leaf.dtype)
            out[path] = picked
        columns["final_observations"] = out
    need_ticks = "tick" in fields or "rewards" in fields or "env_rewards" in fields
    ticks = _read_rows(tree, f"{stream.base}/tick", runs, total) if need_ticks else None
    if "tick" in fields:
        scalars["tick"] = ticks
    if "rewards" in fields:
        scalars["rewards"] = _aligned_rewards(tree, stream, chosen, ticks)
    if "env_rewards" in fields:
        scalars["env_rewards"] = _aligned_rewards(tree, stream, chosen, ticks, "env_reward")
    if "terminated" in fields or "truncated" in fields:
        states = np.array(
            [source.summaries[int(p)].state.value in _STOPPED for p in chosen[:, layout.TRIAL]]
        )
        how = chosen[:, layout.ENDED_HOW]
        last = np.cumsum(counts) - 1
        nonempty = counts > 0
        if "terminated" in fields:
            flags = np.zeros(int(counts.sum()), dtype=bool)
            flags[last[nonempty & (how == TERMINATED)]] = True
            scalars["terminated"] = flags
        if "truncated" in fields:
            flags = np.zeros(int(counts.sum()), dtype=bool)
            flags[last[nonempty & ((how == TRUNCATED) | ((how == NOT_ENDED) & states))]] = True
            scalars["truncated"] = flags
    ids = [source.summaries[int(p)].trial_id for p in chosen[:, layout.TRIAL]]
    return _Part(
        columns, scalars, ids, counts, has_final, stream.observation_space, stream.action_space
    )


def _aligned_rewards(
    tree: Tree,
    stream: layout.Stream,
    chosen: np.ndarray,
    ticks: np.ndarray,
    column: str = "reward",
) -> np.ndarray:
    reward_counts = chosen[:, layout.REWARDS]
    runs = _runs(chosen[:, layout.REWARD_START], reward_counts)
    total = tree.rows(f"{stream.base}/reward")
    values = _read_rows(tree, f"{stream.base}/{column}", runs, total) if runs else np.empty(0)
    if column == "env_reward":
        values = np.nan_to_num(values, nan=0.0)  # NaN where the environment gave none
    reward_ticks = (
        _read_rows(tree, f"{stream.base}/reward_tick", runs, total)
        if runs
        else np.empty(0, np.int64)
    )
    counts = chosen[:, layout.ROWS]
    if (
        len(values) == len(ticks)
        and np.array_equal(reward_counts, counts)
        and np.array_equal(reward_ticks, ticks)
    ):
        return values.astype(np.float64, copy=False)
    span = int(max(ticks.max(initial=0), reward_ticks.max(initial=0))) + 2
    row_keys = np.repeat(np.arange(len(chosen), dtype=np.int64), counts) * span + ticks
    reward_segments = np.repeat(np.arange(len(chosen), dtype=np.int64), reward_counts)
    reward_keys = reward_segments * span + reward_ticks
    rows = np.searchsorted(row_keys, reward_keys, side="right") - 1
    row_segments = np.repeat(np.arange(len(chosen), dtype=np.int64), counts)
    valid = rows >= 0
    valid[valid] &= row_segments[rows[valid]] == reward_segments[valid]
    return np.bincount(rows[valid], weights=values[valid], minlength=len(ticks)).astype(np.float64)


def chosen(catalog: Catalog, source: Source, flt: Any) -> list[int]:
    """The positions in ``source`` of the trials passing ``flt`` that are read from it (a
    trial that two files hold, a journal and the shard it was published to, is read once)."""
    return [
        i
        for i, s in enumerate(source.summaries)
        if flt(s) and catalog.by_id.get(s.trial_id, (None,))[0] is source
    ]


def check_step_fields(fields: Sequence[str]) -> tuple[str, ...]:
    """:func:`check_fields`, for readers of one row per step (no ``final_observations``)."""
    fields = check_fields(fields)
    if "final_observations" in fields:
        raise InputError(
            "final_observations has one row per trial, not per step; read it with arrays()"
        )
    return fields


def require_actor(catalog: Catalog, actor: str) -> None:
    """Raise :class:`InputError`, suggesting close names, unless a trial has ``actor``."""
    known = _known_actors(catalog)
    if actor not in known:
        raise InputError(
            f"no recorded trial has an actor {actor!r}.{suggest(actor, known)} Actors: "
            f"{', '.join(known) or '(no trials recorded)'}"
        )


def _parts(
    catalog: Catalog,
    actor: str,
    fields: tuple[str, ...],
    flt: TrialFilter,
    order: Sequence[Source] | None = None,
) -> Iterator[_Part]:
    wanted: dict[int, list[int]] = {}
    for source in catalog.sources:
        positions = chosen(catalog, source, flt)
        if positions:
            wanted[id(source)] = positions
    for source in order if order is not None else catalog.sources:
        positions = wanted.get(id(source))
        if not positions:
            continue
        with source.open() as tree:
            for stream in layout.streams(tree, catalog.space_cache):
                if stream.actor != actor:
                    continue
                part = _part(source, tree, stream, np.asarray(positions), fields)
                if part is not None:
                    yield part


def _known_actors(catalog: Catalog) -> list[str]:
    names: dict[str, None] = {}
    for source in catalog.sources:
        for summary in source.summaries:
            names.update(dict.fromkeys(summary.actor_classes))
    return list(names)


def _combine(parts: list[_Part], fields: tuple[str, ...], actor: str) -> TrialArrays:
    first = parts[0]
    for part in parts[1:]:
        for what, a, b in (
            ("observation", first.observation_space, part.observation_space),
            ("action", first.action_space, part.action_space),
        ):
            if a != b:
                raise SpaceMismatchError(
                    f"actor {actor!r} was recorded with different {what} spaces ({a} in trial "
                    f"{first.trial_ids[0]}, {b} in trial {part.trial_ids[0]}); narrow the filter "
                    "(environment=..., tags=...) to trials with one kind of actor"
                )
    out: dict[str, Any] = {}
    for name in fields:
        if name in first.columns:
            space = first.action_space if name == "actions" else first.observation_space
            leaves = {
                path: _concat([p.columns[name][path] for p in parts])
                for path in first.columns[name]
            }
            out[name] = leafs.nest(space, leaves)  # type: ignore[arg-type]
        else:
            out[name] = _concat([p.scalars[name] for p in parts])
    counts = np.concatenate([p.counts for p in parts])
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return TrialArrays(
        out,
        tuple(i for p in parts for i in p.trial_ids),
        offsets,
        np.concatenate([p.has_final for p in parts]),
        first.observation_space,
        first.action_space,
    )


def _concat(arrays: list[np.ndarray]) -> np.ndarray:
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def gather(catalog: Catalog, actor: str, fields: Sequence[str], flt: TrialFilter) -> TrialArrays:
    """All rows of ``actor`` in the trials passing ``flt``, in one set of arrays."""
    fields = check_fields(fields)
    parts = list(_parts(catalog, actor, fields, flt))
    if not parts:
        require_actor(catalog, actor)
        return TrialArrays(
            {name: np.empty(0) for name in fields},
            (),
            np.zeros(1, dtype=np.int64),
            np.zeros(0, dtype=bool),
            None,
            None,
        )
    return _combine(parts, fields, actor)


def batches(
    catalog: Catalog,
    actor: str,
    fields: Sequence[str],
    flt: TrialFilter,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int | None = None,
    drop_last: bool = False,
) -> Iterator[dict[str, Any]]:
    """Minibatches of ``batch_size`` rows, reading one file at a time.

    With ``shuffle``, files come in a random order and rows are shuffled within each file, so
    memory holds one file's rows (a shard is at most ``shard_bytes`` of data) at a time.
    """
    fields = check_step_fields(fields)
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}")
    return _batches(catalog, actor, fields, flt, batch_size, shuffle, seed, drop_last)


def _batches(
    catalog: Catalog,
    actor: str,
    fields: tuple[str, ...],
    flt: TrialFilter,
    batch_size: int,
    shuffle: bool,
    seed: int | None,
    drop_last: bool,
) -> Iterator[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    order = list(catalog.sources)
    if shuffle:
        order = [order[i] for i in rng.permutation(len(order))]
    yield from rebatch(
        _shuffled(catalog, actor, fields, flt, order, rng if shuffle else None),
        batch_size,
        drop_last,
    )


def _shuffled(
    catalog: Catalog,
    actor: str,
    fields: tuple[str, ...],
    flt: TrialFilter,
    order: Sequence[Source],
    rng: np.random.Generator | None,
) -> Iterator[dict[tuple[Any, ...], np.ndarray]]:
    for part in _parts(catalog, actor, fields, flt, order):
        flat = _flatten(_combine([part], fields, actor))
        if rng is not None:
            permutation = rng.permutation(len(next(iter(flat.values()))))
            flat = {k: v[permutation] for k, v in flat.items()}
        yield flat


def rebatch(
    chunks: Iterable[dict[tuple[Any, ...], np.ndarray]], batch_size: int, drop_last: bool
) -> Iterator[dict[str, Any]]:
    """Batches of ``batch_size`` rows from chunks of flat columns of any length, in order."""
    carry: dict[tuple[Any, ...], np.ndarray] = {}
    for chunk in chunks:
        flat = {k: np.concatenate([carry[k], v]) for k, v in chunk.items()} if carry else chunk
        rows = len(next(iter(flat.values())))
        start = 0
        while rows - start >= batch_size:
            yield _unflatten({k: v[start : start + batch_size] for k, v in flat.items()})
            start += batch_size
        carry = {k: v[start:] for k, v in flat.items()} if start < rows else {}
    if carry and not drop_last:
        yield _unflatten(carry)


def _flatten(arrays: TrialArrays) -> dict[tuple[Any, ...], np.ndarray]:
    flat: dict[tuple[Any, ...], np.ndarray] = {}

    def walk(prefix: tuple[Any, ...], value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(prefix + (k,), v)
        else:
            flat[prefix] = value

    for name, value in arrays.fields.items():
        walk((name,), value)
    return flat


def _unflatten(flat: dict[tuple[Any, ...], np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return out
