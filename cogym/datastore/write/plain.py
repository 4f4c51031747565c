"""Plain one-actor trials as stacked columns: the form ended trials are journaled in.

Most recorded trials stay on the recorder's solo path (one acting actor, one observation,
action and reward per tick, nothing else; see :attr:`TrialBuffer.plain
<cogym.datastore.write.recorder.TrialBuffer.plain>`). :class:`PlainTrials` holds a group of them as
one array per column. The writer journals each such trial as it ends, in this form, with
:func:`solo_trial` (straight from the trial's buffer: it runs once per trial, so it must be
cheap); it later stacks the journaled trials into groups and builds its shard from them
(:meth:`ShardBuilder.add_plain <cogym.datastore.write.builder.ShardBuilder.add_plain>`); a reader of
a journal lays the groups out the same way.

In a journal a group is a tree of arrays (see :mod:`cogym.datastore.format.journal`)::

    plain                 attrs: schema (the actor's name, class and spaces, JSON)
        id, summary       str per trial: its id and its index entry (JSON)
        specs             the distinct specs (JSON, without seeds)
        trials            int64 (trials, 6): see TRIAL_COLUMNS (spec is a row of specs)
        observations[/<leaf>], actions[/<leaf>], reward, env_reward    one row per tick
        final_observations[/<leaf>]    one row per trial whose has_final is 1
"""

from __future__ import annotations

import functools
import itertools
import json
import struct
from array import array as typed_array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from cogym.datastore.format import spaces as leafs
from cogym.datastore.format.journal import Record, encode, header_template
from cogym.datastore.format.record import ActorSchema, Columns, Schemas
from cogym.datastore.format.tree import Tree
from cogym.datastore.write.recorder import TrialBuffer
from cogym.datastore.write.summary import summary_of
from cogym.spaces import space_from_dict

__all__ = ["TRIAL_COLUMNS", "PlainTrials", "SoloTrial", "is_plain", "plain_forms", "solo_trial"]

ROOT = "plain"
TRIAL_COLUMNS = ("spec", "count", "first_tick", "ended_tick", "ended_how", "has_final")
SPEC, COUNT, FIRST_TICK, ENDED_TICK, ENDED_HOW, HAS_FINAL = range(6)


@dataclass
class PlainTrials:
    """A group of plain one-actor trials of one actor schema, one array per column."""

    schema: ActorSchema
    ids: list[str]
    summaries: list[str]
    specs: list[str]
    """The distinct specs of the group; column ``SPEC`` of :attr:`trials` gives each trial's."""
    trials: np.ndarray
    """int64, one row per trial: see :data:`TRIAL_COLUMNS`."""
    observations: Columns
    actions: Columns
    rewards: np.ndarray
    env_rewards: np.ndarray
    final_observations: Columns
    """One row per trial whose ``HAS_FINAL`` is 1."""

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        columns = [*self.observations.values(), *self.actions.values()]
        columns += self.final_observations.values()
        return (
            sum(c.nbytes for c in columns)
            + 3 * self.rewards.nbytes
            + self.trials.nbytes
            + sum(len(s) for s in self.summaries)
        )

    @classmethod
    def stack(cls, group: Sequence[TrialBuffer], schemas: Schemas) -> PlainTrials | None:
        """The ended trials ``group`` (plain, of one cast plan) as columns; ``None`` if a value
        does not fit its space (then the trials must be recorded one by one, so that the error
        names its trial)."""
        plan = group[0].plan
        name = plan.solo[0]  # type: ignore[index]
        schema = plan.schemas[name]
        chain = itertools.chain.from_iterable
        finals = [b.final_observations[name] for b in group if name in b.final_observations]
        try:
            observations = schema.stack_observations(list(chain(b.observations for b in group)))
            actions = schema.stack_actions(list(chain(b.actions for b in group)))
            rewards = np.array(list(chain(b.rewards for b in group)), dtype=np.float64)
            env_rewards = np.array(list(chain(b.env_rewards for b in group)), dtype=np.float64)
            final = (
                schema.stack_observations(finals)
                if finals
                else leafs.empty(schema.observation_space)
            )
        except (ValueError, TypeError):
            return None
        actors = schemas.solo_actors(schema)
        ids = []
        summaries = []
        specs: dict[str, int] = {}
        trials = []
        for buffer in group:
            ids.append(buffer.result.trial_id)  # type: ignore[union-attr]
            summaries.append(summary_of(buffer, schemas, actors, False))
            ended_tick, ended_how = buffer.ended
            trials.append(
                (
                    specs.setdefault(schemas.spec_json(buffer.info.spec), len(specs)),
                    len(buffer.rewards),
                    buffer.first_tick,
                    ended_tick,
                    ended_how,
                    name in buffer.final_observations,
                )
            )
        return cls(
            schema,
            ids,
            summaries,
            list(specs),
            np.array(trials, dtype=np.int64),
            observations,
            actions,
            rewards,
            env_rewards,
            final,
        )

    @classmethod
    def concat(cls, parts: Sequence[PlainTrials]) -> PlainTrials:
        """One group of the trials of ``parts`` (all of one schema), in order."""
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        specs: dict[str, int] = {}
        trials = []
        for part in parts:
            remap = np.array([specs.setdefault(s, len(specs)) for s in part.specs], np.int64)
            rows = part.trials.copy()
            rows[:, SPEC] = remap[rows[:, SPEC]]
            trials.append(rows)

        def columns(which: str) -> Columns:
            return {
                path: np.concatenate([getattr(p, which)[path] for p in parts])
                for path in getattr(first, which)
            }

        return cls(
            first.schema,
            [i for p in parts for i in p.ids],
            [s for p in parts for s in p.summaries],
            list(specs),
            np.concatenate(trials),
            columns("observations"),
            columns("actions"),
            np.concatenate([p.rewards for p in parts]),
            np.concatenate([p.env_rewards for p in parts]),
            columns("final_observations"),
        )

    @classmethod
    def join(cls, trials: Sequence[SoloTrial]) -> PlainTrials:
        """One group of trials made by :func:`solo_trial` (all of one actor schema), in order:
        their bytes joined, nothing worked out again."""
        first = trials[0]
        observation, action = first.codec.observation, first.codec.action
        assert observation is not None and action is not None

        def column(parts: list[Any], of: _Column) -> Columns:
            return {(): np.frombuffer(b"".join(parts), of.numpy_dtype).reshape(-1, *of.shape)}

        specs: dict[str, int] = {}
        table = np.frombuffer(b"".join([t.trial for t in trials]), np.int64).reshape(-1, 6).copy()
        table[:, SPEC] = [specs.setdefault(t.spec, len(specs)) for t in trials]
        return cls(
            first.schema,
            [t.trial_id for t in trials],
            [t.summary for t in trials],
            list(specs),
            table,
            column([t.observations for t in trials], observation),
            column([t.actions for t in trials], action),
            np.frombuffer(b"".join([t.rewards for t in trials]), np.float64),
            np.frombuffer(b"".join([t.env_rewards for t in trials]), np.float64),
            column([t.final for t in trials], observation),
        )

    # -- as a tree, for the journal ------------------------------------------------------------

    def record(self) -> Record:
        """The group as a journal record."""
        arrays = [
            (f"{ROOT}/trials", self.trials),
            (f"{ROOT}/reward", self.rewards),
            (f"{ROOT}/env_reward", self.env_rewards),
        ]
        for field in ("observations", "actions", "final_observations"):
            for path, array in getattr(self, field).items():
                arrays.append((f"{ROOT}/{leafs.column_name(field, path)}", array))
        strings = {
            f"{ROOT}/id": self.ids,
            f"{ROOT}/summary": self.summaries,
            f"{ROOT}/specs": self.specs,
        }
        return encode(arrays, _attrs_json(self.schema.key), strings)

    @classmethod
    def from_tree(cls, tree: Tree) -> PlainTrials:
        """The group a journal record holds (see :func:`is_plain`)."""
        schema, leaves = _schema(tree.attrs(ROOT)["schema"])

        def read(name: str) -> np.ndarray:
            return tree.read(f"{ROOT}/{name}")

        def columns(field: str) -> Columns:
            return {path: read(name) for path, name in leaves[field]}

        return cls(
            schema,
            [str(v) for v in read("id")],
            [str(v) for v in read("summary")],
            [str(v) for v in read("specs")],
            read("trials"),
            columns("observations"),
            columns("actions"),
            read("reward"),
            read("env_reward"),
            columns("final_observations"),
        )


@functools.lru_cache(maxsize=256)
def _schema(key: str) -> tuple[ActorSchema, dict[str, list[tuple[tuple[str, ...], str]]]]:
    """The actor schema named by a stream key, and the names of its columns in a record."""
    name, actor_class, observation, action = json.loads(key)
    observation_space = space_from_dict(observation)
    action_space = None if action is None else space_from_dict(action)
    schema = ActorSchema(name, actor_class, observation_space, action_space, key)
    leaves = {}
    for field, space in (
        ("observations", observation_space),
        ("actions", action_space),
        ("final_observations", observation_space),
    ):
        paths = [leaf.path for leaf in leafs.leaves(space)] if space is not None else []
        leaves[field] = [(path, leafs.column_name(field, path)) for path in paths]
    return schema, leaves


_BYTES = {bytes}
_INT64 = np.dtype(np.int64).str
_FLOAT64 = np.dtype(np.float64).str
_TRIAL_ROW = struct.Struct("=6q")


class _Column:
    """How :func:`solo_trial` turns the kept values of one simple space into raw bytes."""

    def __init__(self, leaf: leafs.Leaf) -> None:
        self.dtype = leaf.dtype.str
        self.shape = leaf.shape
        self.row = int(np.prod(leaf.shape, dtype=np.int64)) * leaf.dtype.itemsize
        self.numpy_dtype = leaf.dtype
        self.exact = leaf.dtype.kind in "iub"

    def raw(self, values: list[Any]) -> bytes | memoryview | None:
        """The values as raw bytes; ``None`` if one was not kept as this space's bytes (or,
        for a scalar space, is not a number)."""
        if self.shape:
            if set(map(type, values)) != _BYTES:
                return None
            data = b"".join(values)
            return data if len(data) == self.row * len(values) else None
        try:
            column = np.array(values, dtype=self.numpy_dtype)
        except (ValueError, TypeError):
            return None
        if column.shape != (len(values),):
            return None
        if self.exact and values:
            source = np.array(values)  # Python ints (the usual case) come as int64
            if source.dtype != column.dtype and not np.array_equal(source, column):
                return None  # NaN, a fraction, out of range, text: the checked path says so
        return column.data.cast("B")


class _SoloCodec:
    """What :func:`solo_trial` needs of an actor schema (``None`` columns: not for it)."""

    def __init__(self, schema: ActorSchema) -> None:
        self.observation = self.action = None
        observation = leafs.leaves(schema.observation_space)
        action = leafs.leaves(schema.action_space) if schema.action_space is not None else []
        if len(observation) != 1 or len(action) != 1:
            return
        (observation_leaf,), (action_leaf,) = observation, action
        if observation_leaf.path or action_leaf.path:
            return
        if observation_leaf.is_text or action_leaf.is_text:
            return
        self.observation = _Column(observation_leaf)
        self.action = _Column(action_leaf)
        self.header = header_template(
            [
                (f"{ROOT}/trials", _INT64, (6,)),
                (f"{ROOT}/reward", _FLOAT64, ()),
                (f"{ROOT}/env_reward", _FLOAT64, ()),
                (f"{ROOT}/observations", self.observation.dtype, self.observation.shape),
                (f"{ROOT}/actions", self.action.dtype, self.action.shape),
                (f"{ROOT}/final_observations", self.observation.dtype, self.observation.shape),
            ],
            [f"{ROOT}/id", f"{ROOT}/summary", f"{ROOT}/specs"],
            _attrs_json(schema.key),
        )


_CODECS: dict[str, _SoloCodec] = {}


class SoloTrial(NamedTuple):
    """One plain trial as raw bytes (see :func:`solo_trial`): what the writer journals as the
    trial ends (:meth:`record`) and later joins with others (:meth:`PlainTrials.join`)."""

    codec: _SoloCodec
    schema: ActorSchema
    trial: bytes
    """Its row of :data:`TRIAL_COLUMNS` (``spec`` 0: its own)."""
    rewards: bytes
    env_rewards: bytes
    observations: bytes | memoryview
    actions: bytes | memoryview
    final: bytes | memoryview
    """The final observation's bytes; empty if it has none."""
    trial_id: str
    summary: str
    spec: str

    @property
    def rows(self) -> int:
        return len(self.rewards) // 8

    @property
    def nbytes(self) -> int:
        raw = (self.trial, self.rewards, self.env_rewards, self.observations, self.actions)
        return sum(map(len, raw)) + len(self.final) + len(self.summary)

    def record(self) -> Record:
        """The trial's journal record: the one ``PlainTrials.stack([buffer]).record()`` gives."""
        trial_id = self.trial_id.encode("utf-8")
        summary = self.summary.encode("utf-8")
        spec = self.spec.encode("utf-8")
        rows = self.rows
        has_final = 1 if len(self.final) else 0
        header = self.codec.header % (
            1, rows, rows, rows, rows, has_final, len(trial_id), len(summary), len(spec)
        )  # fmt: skip
        body = [
            self.trial,
            self.rewards,
            self.env_rewards,
            self.observations,
            self.actions,
            self.final,
            trial_id + summary + spec,
        ]
        return header.encode("utf-8"), [part for part in body if len(part)]


def solo_trial(buffer: TrialBuffer, schemas: Schemas) -> SoloTrial | None:
    """One ended plain trial as raw bytes, made straight from its buffer for a fraction of the
    work of :meth:`PlainTrials.stack` (it is made for every trial as it ends).

    ``None`` for Dict, Tuple and Text spaces, and where a value was not kept as raw bytes of its
    space's dtype and shape (or as a number, for a scalar space): :meth:`PlainTrials.stack`
    then checks the values.
    """
    plan = buffer.plan
    name = plan.solo[0]  # type: ignore[index]
    schema = plan.schemas[name]
    codec = _CODECS.get(schema.key)
    if codec is None:
        if len(_CODECS) > 256:
            _CODECS.clear()
        codec = _CODECS[schema.key] = _SoloCodec(schema)
    observation, action = codec.observation, codec.action
    if observation is None or action is None:
        return None
    observations = observation.raw(buffer.observations)
    actions = action.raw(buffer.actions)
    final = buffer.final_observations.get(name)
    final_bytes = b"" if final is None else observation.raw([final])
    if observations is None or actions is None or final_bytes is None:
        return None
    try:
        rewards = typed_array("d", buffer.rewards).tobytes()
        env_rewards = typed_array("d", buffer.env_rewards).tobytes()
    except TypeError:
        return None
    ended_tick, ended_how = buffer.ended
    return SoloTrial(
        codec,
        schema,
        _TRIAL_ROW.pack(
            0,
            len(buffer.rewards),
            buffer.first_tick,
            ended_tick,
            ended_how,
            0 if final is None else 1,
        ),
        rewards,
        env_rewards,
        observations,
        actions,
        final_bytes,
        buffer.result.trial_id,  # type: ignore[union-attr]
        summary_of(buffer, schemas, schemas.solo_actors(schema), False),
        schemas.spec_json(buffer.info.spec),
    )


def plain_forms(
    buffers: Sequence[TrialBuffer], schemas: Schemas
) -> tuple[list[tuple[SoloTrial | PlainTrials, Record]], list[TrialBuffer]]:
    """Which of the ended trials ``buffers`` take the fast path, and in which form: the one place
    that decides it. A trial takes it if its buffer says so (:attr:`TrialBuffer.plain
    <cogym.datastore.write.recorder.TrialBuffer.plain>`); such trials are grouped by cast plan, in
    the order they ended. A group of one goes as a :class:`SoloTrial` where :func:`solo_trial`
    can make one; other groups are stacked (:meth:`PlainTrials.stack`). The forms come in that
    order, each with its journal record; the trials left (not plain, or a group whose values do
    not fit its spaces) are to be laid out one by one, by the checked path that names the
    problem and its trial."""
    forms: list[tuple[SoloTrial | PlainTrials, Record]] = []
    plain: dict[int, list[TrialBuffer]] = {}
    others: list[TrialBuffer] = []
    for buffer in buffers:
        if buffer.plain:
            plain.setdefault(id(buffer.plan), []).append(buffer)
        else:
            others.append(buffer)
    for group in plain.values():
        if len(group) == 1:
            try:
                trial = solo_trial(group[0], schemas)
                record = None if trial is None else trial.record()
            except Exception:  # noqa: BLE001  (the checked path names the problem)
                trial = record = None
            if trial is not None and record is not None:
                forms.append((trial, record))
                continue
        try:
            trials = PlainTrials.stack(group, schemas)
            record = None if trials is None else trials.record()
        except Exception:  # noqa: BLE001  (the checked path names the problem)
            trials = record = None
        if trials is None or record is None:
            others += group
        else:
            forms.append((trials, record))
    return forms, others


@functools.lru_cache(maxsize=256)
def _attrs_json(key: str) -> str:
    return json.dumps({ROOT: {"schema": key}})


def is_plain(tree: Tree) -> bool:
    """Whether a journal group holds :class:`PlainTrials` (rather than laid-out trials)."""
    return tree.has(ROOT)
