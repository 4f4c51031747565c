"""Building shards: trials (or other shards) in, the columns of one shard out.

:class:`ShardBuilder` lays trials out as :mod:`cogym.datastore.format.layout` describes. It takes
finished trials three ways: :meth:`~ShardBuilder.add_plain` takes a group of plain one-actor
trials already stacked into columns (:class:`~cogym.datastore.write.plain.PlainTrials`: the common
case, and the one that must be cheap); :meth:`~ShardBuilder.add_record` takes any trial as a
:class:`~cogym.datastore.format.record.TrialRecord`; :meth:`~ShardBuilder.add_tree` merges the
trials of another laid-out tree (a journal group, a shard), optionally only some of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from cogym.datastore.format import layout
from cogym.datastore.format import spaces as leafs
from cogym.datastore.format.record import (
    ActorRecord,
    ActorSchema,
    TrialRecord,
)
from cogym.datastore.format.tree import MemoryTree, Tree
from cogym.datastore.write import plain
from cogym.datastore.write.plain import PlainTrials

__all__ = ["ShardBuilder", "build", "build_groups"]

_STRING = np.dtype(object)
_TABLES: dict[str, tuple[tuple[str, Any], ...]] = {
    "rewards_sent": (
        ("trial", np.int64),
        ("sent_tick", np.int64),
        ("tick", np.int64),
        ("sender", _STRING),
        ("receiver", _STRING),
        ("value", np.float64),
        ("confidence", np.float64),
    ),
    "messages": (
        ("trial", np.int64),
        ("tick", np.int64),
        ("sender", _STRING),
        ("receiver", _STRING),
        ("payload", _STRING),
    ),
    "annotations": (("trial", np.int64), ("tick", np.int64), ("actor", _STRING), ("note", _STRING)),
}


def _strings(values: Sequence[str]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = list(values)
    return array


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


class _Stream:
    """The growing columns of one actor stream."""

    def __init__(
        self,
        attrs: dict[str, str],
        observation_space: spaces.Space,
        action_space: spaces.Space | None,
    ) -> None:
        self.attrs = attrs
        self.fields = ["observations", "final_observations"]
        if action_space is not None:
            self.fields.append("actions")
        self.leaves = {
            "observations": [leaf.path for leaf in leafs.leaves(observation_space)],
            "final_observations": [leaf.path for leaf in leafs.leaves(observation_space)],
            "actions": [leaf.path for leaf in leafs.leaves(action_space)]
            if action_space is not None
            else [],
        }
        self.empty_final = leafs.empty(observation_space)
        self.columns: dict[str, list[np.ndarray]] = {}
        self.segments: list[np.ndarray] = []
        self.rows = 0
        self.reward_rows = 0
        self.final_rows = 0

    def put(self, name: str, array: np.ndarray) -> None:
        self.columns.setdefault(name, []).append(array)

    def put_leaves(self, field: str, columns: dict[tuple[str, ...], np.ndarray]) -> None:
        for path, array in columns.items():
            self.put(leafs.column_name(field, path), array)

    def write(self, tree: MemoryTree, base: str) -> None:
        tree.set_attrs(base, **self.attrs)
        tree.put(
            f"{base}/segments",
            _concat(self.segments) if self.segments else np.zeros((0, 8), np.int64),
        )
        for name in ("tick", "reward_tick", "reward", "env_reward"):
            tree.put(f"{base}/{name}", _concat(self.columns[name]))
        for field in self.fields:
            for path in self.leaves[field]:
                name = leafs.column_name(field, path)
                parts = self.columns.get(name)
                if parts is None:  # no trial left a final observation
                    parts = [self.empty_final[path]]
                tree.put(f"{base}/{name}", _concat(parts))


class ShardBuilder:
    """Accumulates trials, then :meth:`tree` lays them out as one shard."""

    def __init__(self) -> None:
        self.index: list[str] = []
        self.trial_spec: list[int] = []
        self.specs: dict[str, int] = {}
        self.ids: set[str] = set()
        self._streams: dict[str, _Stream] = {}
        self._frames: dict[tuple[Any, ...], dict[str, list[np.ndarray]]] = {}
        self._tables: dict[str, list[list[Any]]] = {}
        self._space_cache: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.index)

    def _trial(self, summary_json: str, spec_json: str, trial_id: str) -> int:
        position = len(self.index)
        self.index.append(summary_json)
        self.trial_spec.append(self.specs.setdefault(spec_json, len(self.specs)))
        self.ids.add(trial_id)
        return position

    def _stream(self, schema: ActorSchema) -> _Stream:
        stream = self._streams.get(schema.key)
        if stream is None:
            _name, _class, observation_space, action_space = json.loads(schema.key)
            attrs = {
                "actor": schema.name,
                "actor_class": schema.actor_class,
                "observation_space": json.dumps(observation_space),
                "action_space": json.dumps(action_space),
            }
            stream = self._streams[schema.key] = _Stream(
                attrs, schema.observation_space, schema.action_space
            )
        return stream

    def _table_rows(self, name: str, rows: Iterable[tuple[Any, ...]]) -> None:
        self._tables.setdefault(name, []).extend(list(r) for r in rows)

    # -- trials one by one ----------------------------------------------------------------------

    def add_record(self, record: TrialRecord) -> None:
        position = self._trial(record.summary_json, record.spec_json, record.trial_id)
        for actor in record.actors:
            self._add_actor(position, actor)
        if record.frames is not None and record.frame_ticks is not None:
            frames = self._frames.setdefault(
                (record.frames.dtype.str, record.frames.shape[1:]),
                {"segments": [], "tick": [], "frame": [], "rows": [0]},
            )
            rows = frames["rows"]
            frames["segments"].append(
                np.array([[position, rows[0], len(record.frame_ticks)]], np.int64)
            )
            rows[0] += len(record.frame_ticks)
            frames["tick"].append(record.frame_ticks)
            frames["frame"].append(record.frames)
        self._table_rows("rewards_sent", ((position, *r) for r in record.rewards_sent))
        self._table_rows("messages", ((position, *m) for m in record.messages))
        self._table_rows("annotations", ((position, *a) for a in record.annotations))

    def _add_actor(self, position: int, actor: ActorRecord) -> None:
        stream = self._stream(actor.schema)
        final_row = -1
        if actor.final_observation is not None:
            final_row = stream.final_rows
            stream.final_rows += 1
            stream.put_leaves("final_observations", actor.final_observation)
        stream.segments.append(
            np.array(
                [
                    [
                        position,
                        stream.rows,
                        actor.rows,
                        stream.reward_rows,
                        len(actor.reward_ticks),
                        actor.ended_tick,
                        actor.ended_how,
                        final_row,
                    ]
                ],
                np.int64,
            )
        )
        stream.rows += actor.rows
        stream.reward_rows += len(actor.reward_ticks)
        stream.put("tick", actor.ticks)
        stream.put_leaves("observations", actor.observations)
        if actor.actions is not None:
            stream.put_leaves("actions", actor.actions)
        stream.put("reward_tick", actor.reward_ticks)
        stream.put("reward", actor.rewards)
        stream.put("env_reward", actor.env_rewards)

    # -- plain one-actor trials, a group at a time ---------------------------------------------

    def add_plain(self, trials: PlainTrials) -> None:
        """Add a group of plain one-actor trials, one array per column."""
        table = trials.trials
        counts = table[:, plain.COUNT]
        starts = np.zeros(len(counts), dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        ticks = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(
            starts - table[:, plain.FIRST_TICK], counts
        )
        stream = self._stream(trials.schema)
        specs = trials.specs
        positions = [
            self._trial(summary, specs[spec], trial_id)
            for summary, spec, trial_id in zip(
                trials.summaries, table[:, plain.SPEC].tolist(), trials.ids, strict=True
            )
        ]
        has_final = table[:, plain.HAS_FINAL].astype(bool)
        rows = stream.rows + starts
        final_rows = np.where(has_final, stream.final_rows + np.cumsum(has_final) - 1, -1)
        stream.segments.append(
            np.column_stack(
                [
                    np.array(positions, dtype=np.int64),
                    rows,
                    counts,
                    rows,
                    counts,
                    table[:, plain.ENDED_TICK],
                    table[:, plain.ENDED_HOW],
                    final_rows,
                ]
            ).astype(np.int64, copy=False)
        )
        stream.rows = stream.reward_rows = stream.rows + int(counts.sum())
        stream.final_rows += int(has_final.sum())
        stream.put("tick", ticks)
        stream.put("reward_tick", ticks)
        stream.put("reward", trials.rewards)
        stream.put("env_reward", trials.env_rewards)
        stream.put_leaves("observations", trials.observations)
        stream.put_leaves("actions", trials.actions)
        if has_final.any():
            stream.put_leaves("final_observations", trials.final_observations)

    # -- the trials of another tree ----------------------------------------------------------------

    def add_tree(
        self, tree: Tree, keep: Sequence[int] | None = None, ids: Iterable[str] = ()
    ) -> None:
        """Add the trials of ``tree`` (those at positions ``keep``, if given, in that order).

        ``ids`` are the ids of the trials added, for :attr:`ids` (callers that dedupe know them).
        """
        index = tree.read("index")
        trial_spec = tree.read("trial_spec")
        specs = [self.specs.setdefault(str(text), len(self.specs)) for text in tree.read("specs")]
        positions = np.arange(len(index)) if keep is None else np.asarray(keep, dtype=np.int64)
        start = len(self.index)
        self.index.extend(str(text) for text in index[positions])
        self.trial_spec.extend(np.asarray(specs, dtype=np.int64)[trial_spec[positions]].tolist())
        self.ids.update(ids)
        remap = np.full(len(index), -1, dtype=np.int64)
        remap[positions] = np.arange(start, start + len(positions))
        for stream in layout.streams(tree, self._space_cache):
            self._add_stream(tree, stream, remap, keep is None)
        if tree.has("frames"):
            for name in tree.children("frames"):
                self._add_frames(tree, f"frames/{name}", remap, keep is None)
        for table, columns in _TABLES.items():
            if not tree.has(table):
                continue
            data = {column: tree.read(f"{table}/{column}") for column, _ in columns}
            chosen = remap[data["trial"]] >= 0
            data["trial"] = remap[data["trial"]]
            names = [c for c, _ in columns]
            self._table_rows(table, zip(*(data[n][chosen].tolist() for n in names), strict=True))

    def _add_stream(
        self, tree: Tree, source: layout.Stream, remap: np.ndarray, everything: bool
    ) -> None:
        stream = self._stream(source.schema)
        segments = source.segments.copy()
        if not everything:
            segments = segments[remap[segments[:, layout.TRIAL]] >= 0]
        if not len(segments):
            return
        base = source.base

        def rows_of(starts: np.ndarray, counts: np.ndarray) -> np.ndarray | None:
            if everything:
                return None
            return np.concatenate(
                [np.arange(s, s + c) for s, c in zip(starts.tolist(), counts.tolist(), strict=True)]
                or [np.empty(0, np.int64)]
            )

        def read(name: str, rows: np.ndarray | None) -> np.ndarray:
            array = tree.read(f"{base}/{name}")
            return array if rows is None else array[rows]

        row_index = rows_of(segments[:, layout.ROW_START], segments[:, layout.ROWS])
        reward_index = rows_of(segments[:, layout.REWARD_START], segments[:, layout.REWARDS])
        has_final = segments[:, layout.FINAL_ROW] >= 0
        final_index = None if everything else segments[has_final, layout.FINAL_ROW]
        for name in ("tick",):
            stream.put(name, read(name, row_index))
        for name in ("reward_tick", "reward", "env_reward"):
            stream.put(name, read(name, reward_index))
        for field in stream.fields:
            index = final_index if field == "final_observations" else row_index
            for path in stream.leaves[field]:
                leaf = leafs.column_name(field, path)
                if field == "final_observations" and not has_final.any():
                    continue
                stream.put(leaf, read(leaf, index))
        new = segments.copy()
        new[:, layout.TRIAL] = remap[segments[:, layout.TRIAL]]
        new[:, layout.ROW_START] = stream.rows + np.concatenate(
            [[0], np.cumsum(segments[:-1, layout.ROWS])]
        )
        new[:, layout.REWARD_START] = stream.reward_rows + np.concatenate(
            [[0], np.cumsum(segments[:-1, layout.REWARDS])]
        )
        finals = np.cumsum(has_final) - 1 + stream.final_rows
        new[:, layout.FINAL_ROW] = np.where(has_final, finals, -1)
        stream.segments.append(new)
        stream.rows += int(segments[:, layout.ROWS].sum())
        stream.reward_rows += int(segments[:, layout.REWARDS].sum())
        stream.final_rows += int(has_final.sum())

    def _add_frames(self, tree: Tree, base: str, remap: np.ndarray, everything: bool) -> None:
        segments = tree.read(f"{base}/segments")
        if not everything:
            segments = segments[remap[segments[:, 0]] >= 0]
        if not len(segments):
            return
        ticks = tree.read(f"{base}/tick")
        frames = tree.read(f"{base}/frame")
        key = (frames.dtype.str, frames.shape[1:])
        target = self._frames.setdefault(
            key, {"segments": [], "tick": [], "frame": [], "rows": [0]}
        )
        for trial, start, count in segments.tolist():
            rows = target["rows"]
            target["segments"].append(np.array([[remap[trial], rows[0], count]], np.int64))
            rows[0] += count
            target["tick"].append(ticks[start : start + count])
            target["frame"].append(frames[start : start + count])

    # -- out ---------------------------------------------------------------------------------------

    def tree(self) -> MemoryTree:
        tree = MemoryTree()
        tree.put("index", _strings(self.index))
        tree.put("trial_spec", np.array(self.trial_spec, dtype=np.int64))
        tree.put("specs", _strings(list(self.specs)))
        for k, stream in enumerate(self._streams.values()):
            stream.write(tree, f"actors/{k}")
        for k, frames in enumerate(self._frames.values()):
            base = f"frames/{k}"
            tree.put(f"{base}/segments", _concat(frames["segments"]))
            tree.put(f"{base}/tick", _concat(frames["tick"]))
            tree.put(f"{base}/frame", _concat(frames["frame"]))
        for table, columns in _TABLES.items():
            rows = self._tables.get(table)
            if not rows:
                continue
            for i, (column, dtype) in enumerate(columns):
                values = [row[i] for row in rows]
                tree.put(
                    f"{table}/{column}",
                    _strings(values) if dtype is _STRING else np.array(values, dtype=dtype),
                )
        return tree


def build_groups(groups: Iterable[PlainTrials | Tree]) -> MemoryTree:
    """Lay out groups of trials (laid-out trees, and plain groups, consecutive ones of one
    actor schema merged into one) as the columns of one shard, in order."""
    builder = ShardBuilder()
    run: list[PlainTrials] = []
    for group in [*groups, None]:
        if isinstance(group, PlainTrials) and (not run or run[0].schema.key == group.schema.key):
            run.append(group)
            continue
        if run:
            builder.add_plain(PlainTrials.concat(run))
            run = []
        if isinstance(group, PlainTrials):
            run.append(group)
        elif group is not None:
            builder.add_tree(group)
    return builder.tree()


def build(records: Iterable[TrialRecord]) -> MemoryTree:
    """Lay records out as the columns of one shard (in memory)."""
    builder = ShardBuilder()
    for record in records:
        builder.add_record(record)
    return builder.tree()
