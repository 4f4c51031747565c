"""The rows a policy learns from: one actor's observations and target actions, trial by trial.

A target is the action the actor took (behaviour cloning) or, with ``labels``, the action a
note of the tick holds under that key (the teacher's label in DAgger, see
:mod:`cogym.learn.dagger`), decoded with the actor's action space
(:func:`cogym.spaces.value_from_json`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from cogym.errors import InputError, SpaceMismatchError
from cogym.spaces import value_from_json

__all__ = ["Rows", "concatenate", "recorded_rows", "take"]


@dataclass(frozen=True)
class Rows:
    """Observations and target actions of one actor, ``offsets`` marking where each trial starts."""

    observations: Any
    actions: np.ndarray
    offsets: np.ndarray
    trial_ids: tuple[str, ...]
    observation_space: spaces.Space
    action_space: spaces.Space

    @property
    def rows(self) -> int:
        return int(self.offsets[-1])

    def __repr__(self) -> str:
        trials = len(self.trial_ids)
        return f"Rows({self.rows} rows of {trials} trials, actions {self.action_space})"


def take(observations: Any, index: Any) -> Any:
    """The rows ``index`` of observations (a dict of arrays for Dict spaces)."""
    if isinstance(observations, dict):
        return {k: take(v, index) for k, v in observations.items()}
    return observations[index]


def _matches(note: Any, wanted: Mapping[str, Any]) -> bool:
    return isinstance(note, Mapping) and all(note.get(k) == v for k, v in wanted.items())


def recorded_rows(
    store: Any,
    actor: str,
    flt: Any,
    notes: Mapping[str, Any] | None = None,
    labels: str | None = None,
) -> Rows:
    """``actor``'s rows in the trials of ``store`` passing ``flt``.

    ``notes`` keeps the ticks whose note (by ``actor``) holds those values; ``labels`` keeps
    the ticks whose note has that key and learns the action it holds instead of the one taken.
    """
    noted = bool(notes) or labels is not None
    fields = ("observations", "tick") if labels is not None else ("observations", "actions")
    if noted and labels is None:
        fields = ("observations", "actions", "tick")
    arrays = store.arrays(actor, fields, flt)
    if arrays.rows == 0:
        raise InputError(
            f"no recorded rows for actor {actor!r} in {store.path} with filter "
            f"{flt or '(none)'}; check the filter with `cogym trials ls`"
        )
    if not noted:
        return Rows(
            arrays["observations"],
            np.asarray(arrays["actions"]),
            np.asarray(arrays.offsets),
            tuple(arrays.trial_ids),
            arrays.observation_space,
            arrays.action_space,
        )
    rows = _noted(store, arrays, actor, dict(notes or {}), labels)
    if rows.rows == 0:
        wanted = dict(notes or {})
        what = f"holding {wanted}" if wanted else ""
        if labels is not None:
            what += f"{' and ' if wanted else ''}with a label under {labels!r}"
        raise InputError(
            f"none of the {arrays.rows} rows of actor {actor!r} was annotated with a note "
            f"{what}; `cogym trials show ID` lists the notes of a trial"
        )
    return rows


def _noted(
    store: Any, data: Any, actor: str, wanted: Mapping[str, Any], labels: str | None
) -> Rows:
    """The rows of the ticks whose note matches ``wanted`` (and holds ``labels``)."""
    keep = np.zeros(data.rows, dtype=bool)
    ticks = np.asarray(data["tick"])
    targets: list[Any] = []
    counts = []
    space = data.action_space
    for k, trial_id in enumerate(data.trial_ids):
        annotations = store.trial(trial_id).annotations
        start, end = int(data.offsets[k]), int(data.offsets[k + 1])
        kept = 0
        for row in range(start, end):
            note = annotations.get(int(ticks[row]), {}).get(actor)
            if not _matches(note, wanted) or (labels is not None and labels not in note):
                continue
            keep[row] = True
            kept += 1
            if labels is not None:
                targets.append(_label(space, note[labels], trial_id, int(ticks[row]), actor))
        counts.append(kept)
    index = np.flatnonzero(keep)
    actions = _stack(targets, space) if labels is not None else np.asarray(data["actions"])[index]
    return Rows(
        take(data["observations"], index),
        actions,
        np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        tuple(data.trial_ids),
        data.observation_space,
        space,
    )


def _label(space: spaces.Space, value: Any, trial_id: str, tick: int, actor: str) -> Any:
    try:
        label = value_from_json(space, value)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"trial {trial_id}, tick {tick}: the label noted by {actor!r} ({value!r}) is not a "
            f"value of its action space {space}: {exc}"
        ) from None
    if not space.contains(label):
        raise SpaceMismatchError(
            f"trial {trial_id}, tick {tick}: the label noted by {actor!r} ({value!r}) is not in "
            f"its action space {space}"
        )
    return label


def _stack(values: Sequence[Any], space: spaces.Space) -> np.ndarray:
    if not values:
        return np.zeros((0, *space.shape), dtype=space.dtype)
    return np.stack([np.asarray(v, dtype=space.dtype) for v in values])


def concatenate(parts: Sequence[Rows]) -> Rows:
    """The rows of ``parts`` one after the other (their spaces must be equal)."""
    first = parts[0]
    for part in parts[1:]:
        if part.observation_space != first.observation_space or (
            part.action_space != first.action_space
        ):
            raise SpaceMismatchError(
                f"rows observing {part.observation_space} and acting in {part.action_space} "
                f"cannot join rows observing {first.observation_space} and acting in "
                f"{first.action_space}"
            )
    if len(parts) == 1:
        return first
    if isinstance(first.observations, dict):
        observations: Any = {
            key: np.concatenate([p.observations[key] for p in parts]) for key in first.observations
        }
    else:
        observations = np.concatenate([p.observations for p in parts])
    offsets = [np.zeros(1, dtype=np.int64)]
    base = 0
    for part in parts:
        offsets.append(np.asarray(part.offsets[1:], dtype=np.int64) + base)
        base += part.rows
    return Rows(
        observations,
        np.concatenate([p.actions for p in parts]),
        np.concatenate(offsets),
        tuple(i for p in parts for i in p.trial_ids),
        first.observation_space,
        first.action_space,
    )
