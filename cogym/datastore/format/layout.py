"""The columnar layout of a shard, and reading trials back out of it.

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
from collections.abc import Iterator, Sequence

import numpy as np
from gymnasium import spaces

from cogym.datastore.format import spaces as leafs
from cogym.datastore.format.record import ActorRecord, ActorSchema, TrialRecord
from cogym.datastore.format.tree import Tree
from cogym.spaces import space_from_dict

__all__ = ["SEGMENT_COLUMNS", "Stream", "check_segments", "extract", "streams"]

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
            leaf.path: self.tree.read(leafs.column_name(base, leaf.path), selection)
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


def check_segments(tree: Tree, trials: int) -> None:
    """Raise ``ValueError`` if a segments table of ``tree`` points outside its trials or its
    columns (each column of a stream has as many rows as its ``tick`` or ``reward``)."""
    bases = [f"actors/{n}" for n in tree.children("actors")] if tree.has("actors") else []
    for base in bases:
        segments = tree.read(f"{base}/segments")
        if segments.ndim != 2 or segments.shape[1] != len(SEGMENT_COLUMNS):
            raise ValueError(f"{base}/segments has shape {segments.shape}")
        for leaf in _leaf_paths(tree, base):
            if tree.rows(leaf) != tree.rows(f"{base}/tick"):
                raise ValueError(f"{leaf} has {tree.rows(leaf)} rows, {base}/tick has more or less")
        finals = [tree.rows(p) for p in _leaf_paths(tree, base, "final_observations")]
        _check_runs(base, segments[:, TRIAL], trials, "trial")
        rows = tree.rows(f"{base}/tick")
        _check_runs(base, segments[:, ROW_START], rows, "row", segments[:, ROWS])
        _check_runs(
            base, segments[:, REWARD_START], tree.rows(f"{base}/reward"), "reward",
            segments[:, REWARDS],
        )  # fmt: skip
        has_final = segments[:, FINAL_ROW] >= 0
        if has_final.any():
            _check_runs(base, segments[has_final, FINAL_ROW], min(finals, default=0), "final row")
    if tree.has("frames"):
        for name in tree.children("frames"):
            base = f"frames/{name}"
            segments = tree.read(f"{base}/segments")
            _check_runs(base, segments[:, 0], trials, "trial")
            _check_runs(base, segments[:, 1], tree.rows(f"{base}/tick"), "row", segments[:, 2])


def _leaf_paths(tree: Tree, base: str, field: str | None = None) -> list[str]:
    fields = [field] if field else ["observations", "actions"]
    out = []
    for name in fields:
        path = f"{base}/{name}"
        stack = [path] if tree.has(path) else []
        while stack:
            node = stack.pop()
            if tree.is_array(node):
                out.append(node)
            else:
                stack += [f"{node}/{child}" for child in tree.children(node)]
    return out


def _check_runs(
    base: str, starts: np.ndarray, limit: int, what: str, counts: np.ndarray | None = None
) -> None:
    ends = starts + (1 if counts is None else counts)
    bad = (starts < 0) | (ends > limit) | (ends < starts)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{base}/segments row {row} points at {what} {int(starts[row])}..{int(ends[row])}, "
            f"outside the {limit} there are"
        )


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
