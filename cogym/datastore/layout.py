"""The columnar layout of a shard: trial records in, one array per column of each stream out.

A shard holds many trials. Trials whose actor has the same name and spaces share a *stream*:
its rows (one per tick the actor observed) of every trial are concatenated, and a segments
table says which rows belong to which trial. Reading an actor's observations for training is
then one read per column per shard, whatever the number of trials::

    index                      one JSON summary per trial (the shard's index)
    trial_spec                 int64 per trial: its row in specs
    specs                      the distinct specs, JSON, without seeds
    actors/<k>/                attrs: actor, actor_class, observation_space, action_space (JSON)
        segments               int64 (trials, 8): see SEGMENT_COLUMNS
        tick                   int64 (rows,)
        observations[/<leaf>]  (rows, *shape) per leaf of the observation space
        actions[/<leaf>]       likewise (absent for observers)
        reward_tick, reward, env_reward    one entry per tick with a reward (NaN: none from env)
        final_observations[/<leaf>]        one row per trial that left the actor a last observation
    frames/<k>/                segments (trial, row_start, rows), tick, frame (rows, H, W, C)
    rewards_sent/              trial, sent_tick, tick, sender, receiver, value, confidence
    messages/                  trial, tick, sender, receiver, payload (JSON)
    annotations/               trial, tick, actor, note (JSON)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from cogym.datastore import spaces as leafs
from cogym.datastore.record import ActorRecord, ActorSchema, TrialRecord
from cogym.datastore.tree import MemoryTree, Tree
from cogym.spaces import space_from_dict

__all__ = ["SEGMENT_COLUMNS", "Stream", "build", "extract", "read_field", "streams"]

SEGMENT_COLUMNS = (
    "trial",
    "row_start",
    "rows",
    "reward_start",
    "rewards",
    "ended_tick",
    "ended_how",
    "final_row",
)
TRIAL, ROW_START, ROWS, REWARD_START, REWARDS, ENDED_TICK, ENDED_HOW, FINAL_ROW = range(8)

_REWARD_COLUMNS = ("trial", "sent_tick", "tick", "sender", "receiver", "value", "confidence")
_MESSAGE_COLUMNS = ("trial", "tick", "sender", "receiver", "payload")
_ANNOTATION_COLUMNS = ("trial", "tick", "actor", "note")
_STRING = np.dtype(object)


def _strings(values: Sequence[str]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = list(values)
    return array


def _put_columns(
    tree: MemoryTree, base: str, columns: dict[tuple[str, ...], list[np.ndarray]]
) -> None:
    for path, parts in columns.items():
        name = base + ("/" + leafs.path_name(path) if path else "")
        tree.put(name, parts[0] if len(parts) == 1 else np.concatenate(parts))


def build(records: Iterable[TrialRecord]) -> MemoryTree:
    """Lay records out as the columns of one shard (in memory)."""
    tree = MemoryTree()
    index: list[str] = []
    trial_spec: list[int] = []
    specs: dict[str, int] = {}
    streams: dict[str, dict[str, Any]] = {}
    frame_streams: dict[tuple[Any, ...], dict[str, Any]] = {}
    sent: list[tuple[Any, ...]] = []
    messages: list[tuple[Any, ...]] = []
    annotations: list[tuple[Any, ...]] = []
    for position, record in enumerate(records):
        trial_spec.append(specs.setdefault(record.spec_json, len(specs)))
        index.append(record.summary_json)
        for actor in record.actors:
            _add_actor(streams, position, actor)
        if record.frames is not None and record.frame_ticks is not None:
            key = (record.frames.dtype.str, record.frames.shape[1:])
            stream = frame_streams.setdefault(
                key, {"segments": [], "tick": [], "frame": [], "rows": 0}
            )
            stream["segments"].append((position, stream["rows"], len(record.frame_ticks)))
            stream["rows"] += len(record.frame_ticks)
            stream["tick"].append(record.frame_ticks)
            stream["frame"].append(record.frames)
        sent += [(position, *r) for r in record.rewards_sent]
        messages += [(position, *m) for m in record.messages]
        annotations += [(position, *a) for a in record.annotations]
    tree.put("index", _strings(index))
    tree.put("trial_spec", np.array(trial_spec, dtype=np.int64))
    tree.put("specs", _strings(list(specs)))
    for k, stream in enumerate(streams.values()):
        _put_stream(tree, f"actors/{k}", stream)
    for k, stream in enumerate(frame_streams.values()):
        base = f"frames/{k}"
        tree.put(f"{base}/segments", np.array(stream["segments"], dtype=np.int64).reshape(-1, 3))
        tree.put(f"{base}/tick", np.concatenate(stream["tick"]))
        tree.put(f"{base}/frame", np.concatenate(stream["frame"]))
    if sent:
        _put_table(
            tree,
            "rewards_sent",
            _REWARD_COLUMNS,
            sent,
            (np.int64, np.int64, np.int64, _STRING, _STRING, np.float64, np.float64),
        )
    if messages:
        _put_table(
            tree,
            "messages",
            _MESSAGE_COLUMNS,
            messages,
            (np.int64, np.int64, _STRING, _STRING, _STRING),
        )
    if annotations:
        _put_table(
            tree,
            "annotations",
            _ANNOTATION_COLUMNS,
            annotations,
            (np.int64, np.int64, _STRING, _STRING),
        )
    return tree


def _put_table(
    tree: MemoryTree,
    base: str,
    names: Sequence[str],
    rows: list[tuple[Any, ...]],
    dtypes: Sequence[Any],
) -> None:
    for i, (name, dtype) in enumerate(zip(names, dtypes)):
        values = [row[i] for row in rows]
        tree.put(
            f"{base}/{name}",
            _strings(values) if dtype is _STRING else np.array(values, dtype=dtype),
        )


def _add_actor(streams: dict[str, dict[str, Any]], position: int, actor: ActorRecord) -> None:
    schema = actor.schema
    stream = streams.get(schema.key)
    if stream is None:
        stream = streams[schema.key] = {
            "schema": schema,
            "segments": [],
            "tick": [],
            "observations": {},
            "actions": {},
            "reward_tick": [],
            "reward": [],
            "env_reward": [],
            "final_observations": {},
            "rows": 0,
            "reward_rows": 0,
            "final_rows": 0,
        }
    final_row = -1
    if actor.final_observation is not None:
        final_row = stream["final_rows"]
        stream["final_rows"] += 1
        for path, array in actor.final_observation.items():
            stream["final_observations"].setdefault(path, []).append(array)
    stream["segments"].append(
        (
            position,
            stream["rows"],
            actor.rows,
            stream["reward_rows"],
            len(actor.reward_ticks),
            actor.ended_tick,
            actor.ended_how,
            final_row,
        )
    )
    stream["rows"] += actor.rows
    stream["reward_rows"] += len(actor.reward_ticks)
    stream["tick"].append(actor.ticks)
    for path, array in actor.observations.items():
        stream["observations"].setdefault(path, []).append(array)
    if actor.actions is not None:
        for path, array in actor.actions.items():
            stream["actions"].setdefault(path, []).append(array)
    stream["reward_tick"].append(actor.reward_ticks)
    stream["reward"].append(actor.rewards)
    stream["env_reward"].append(actor.env_rewards)


def _put_stream(tree: MemoryTree, base: str, stream: dict[str, Any]) -> None:
    schema: ActorSchema = stream["schema"]
    _name, _class, observation_space, action_space = json.loads(schema.key)
    tree.set_attrs(
        base,
        actor=schema.name,
        actor_class=schema.actor_class,
        observation_space=json.dumps(observation_space),
        action_space=json.dumps(action_space),
    )
    tree.put(
        f"{base}/segments",
        np.array(stream["segments"], dtype=np.int64).reshape(-1, len(SEGMENT_COLUMNS)),
    )
    for name in ("tick", "reward_tick", "reward", "env_reward"):
        parts = stream[name]
        tree.put(f"{base}/{name}", parts[0] if len(parts) == 1 else np.concatenate(parts))
    _put_columns(tree, f"{base}/observations", stream["observations"])
    if schema.action_space is not None:
        _put_columns(tree, f"{base}/actions", stream["actions"])
    final = stream["final_observations"] or leafs.empty(schema.observation_space)
    _put_columns(
        tree,
        f"{base}/final_observations",
        {p: (a if isinstance(a, list) else [a]) for p, a in final.items()},
    )


# -- reading -------------------------------------------------------------------------------------


class Stream:
    """One actor stream of a shard: its spaces and segments; columns are read on demand."""

    def __init__(self, tree: Tree, base: str, space_cache: dict[str, spaces.Space]) -> None:
        attrs = tree.attrs(base)
        self.tree = tree
        self.base = base
        self.actor: str = attrs["actor"]
        self.actor_class: str = attrs["actor_class"]
        self.observation_space = _space(attrs["observation_space"], space_cache)
        action = attrs["action_space"]
        self.action_space = None if action in ("null", None) else _space(action, space_cache)
        self.segments: np.ndarray = tree.read(f"{base}/segments")
        self.schema = ActorSchema(
            self.actor,
            self.actor_class,
            self.observation_space,
            self.action_space,
            json.dumps(
                [
                    self.actor,
                    self.actor_class,
                    json.loads(attrs["observation_space"]),
                    json.loads(action),
                ]
            ),
        )

    def space(self, field: str) -> spaces.Space:
        return self.action_space if field == "actions" else self.observation_space  # type: ignore[return-value]

    def columns(
        self, field: str, selection: slice | None = None
    ) -> dict[tuple[str, ...], np.ndarray]:
        """The leaves of ``observations``, ``actions`` or ``final_observations``."""
        base = f"{self.base}/{field}"
        return {
            leaf.path: self.tree.read(
                base + ("/" + leafs.path_name(leaf.path) if leaf.path else ""), selection
            )
            for leaf in leafs.leaves(self.space(field))
        }


def _space(text: str, cache: dict[str, spaces.Space]) -> spaces.Space:
    space = cache.get(text)
    if space is None:
        space = cache[text] = space_from_dict(json.loads(text))
    return space


def streams(tree: Tree, space_cache: dict[str, spaces.Space]) -> list[Stream]:
    if not tree.has("actors"):
        return []
    names = sorted(tree.children("actors"), key=int)
    return [Stream(tree, f"actors/{name}", space_cache) for name in names]


def read_field(tree: Tree, path: str) -> np.ndarray | None:
    return tree.read(path) if tree.has(path) else None


def extract(
    tree: Tree, positions: Sequence[int], space_cache: dict[str, spaces.Space]
) -> Iterator[TrialRecord]:
    """Rebuild the records of the trials at ``positions`` (in that order)."""
    index = tree.read("index")
    trial_spec = tree.read("trial_spec")
    specs = tree.read("specs")
    all_streams = streams(tree, space_cache)
    frames = []
    if tree.has("frames"):
        for name in sorted(tree.children("frames"), key=int):
            frames.append((f"frames/{name}", tree.read(f"frames/{name}/segments")))
    tables = {name: _table(tree, name) for name in ("rewards_sent", "messages", "annotations")}
    for position in positions:
        summary_json = str(index[position])
        spec_json = str(specs[trial_spec[position]])
        actors = []
        for stream in all_streams:
            hits = np.flatnonzero(stream.segments[:, TRIAL] == position)
            for hit in hits:
                actors.append(_actor_record(stream, stream.segments[hit]))
        record = TrialRecord(json.loads(summary_json), spec_json, actors, summary_json=summary_json)
        for base, segments in frames:
            hits = np.flatnonzero(segments[:, 0] == position)
            if len(hits):
                _, start, rows = segments[hits[0]]
                selection = slice(int(start), int(start + rows))
                record.frame_ticks = tree.read(f"{base}/tick", selection)
                record.frames = tree.read(f"{base}/frame", selection)
        sent = tables["rewards_sent"]
        if sent is not None:
            rows = np.flatnonzero(sent["trial"] == position)
            record.rewards_sent = [
                (
                    int(sent["sent_tick"][i]),
                    int(sent["tick"][i]),
                    str(sent["sender"][i]),
                    str(sent["receiver"][i]),
                    float(sent["value"][i]),
                    float(sent["confidence"][i]),
                )
                for i in rows
            ]
        messages = tables["messages"]
        if messages is not None:
            rows = np.flatnonzero(messages["trial"] == position)
            record.messages = [
                (
                    int(messages["tick"][i]),
                    str(messages["sender"][i]),
                    str(messages["receiver"][i]),
                    str(messages["payload"][i]),
                )
                for i in rows
            ]
        notes = tables["annotations"]
        if notes is not None:
            rows = np.flatnonzero(notes["trial"] == position)
            record.annotations = [
                (int(notes["tick"][i]), str(notes["actor"][i]), str(notes["note"][i])) for i in rows
            ]
        yield record


def _table(tree: Tree, name: str) -> dict[str, np.ndarray] | None:
    if not tree.has(name):
        return None
    return {column: tree.read(f"{name}/{column}") for column in tree.children(name)}


def _actor_record(stream: Stream, segment: np.ndarray) -> ActorRecord:
    _, start, rows, reward_start, rewards, ended_tick, ended_how, final_row = (
        int(v) for v in segment
    )
    tree, base = stream.tree, stream.base
    selection = slice(start, start + rows)
    reward_selection = slice(reward_start, reward_start + rewards)
    final = None
    if final_row >= 0:
        final = stream.columns("final_observations", slice(final_row, final_row + 1))
    return ActorRecord(
        schema=stream.schema,
        ticks=tree.read(f"{base}/tick", selection),
        observations=stream.columns("observations", selection),
        actions=stream.columns("actions", selection) if stream.action_space is not None else None,
        reward_ticks=tree.read(f"{base}/reward_tick", reward_selection),
        rewards=tree.read(f"{base}/reward", reward_selection),
        env_rewards=tree.read(f"{base}/env_reward", reward_selection),
        final_observation=final,
        ended_tick=ended_tick,
        ended_how=ended_how,
    )
