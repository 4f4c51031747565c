"""Judges: who answers preference queries. A person on the page, or the scripted :func:`oracle`.

A judge is anything with ``answer(queries, datastore)`` yielding one :class:`Preference` per
query it answers, as it answers it (a person may skip a query; the judge then yields nothing
for it). Who stores the answers: :func:`cogym.learn.rlhf` stores what the oracle yields with
``datastore.add_preference``; a judge whose ``stores_answers`` is true, as the person's
(``cogym.web.prefer.PersonJudge``), stores each answer itself before yielding it.

    >>> from cogym.learn import oracle
    >>> judge = oracle(noise=0.1, seed=0)
    >>> judge.name
    'oracle(noise=0.1)'
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from cogym.datastore.preferences import Answer, Preference, Query, Segment
from cogym.errors import InputError

if TYPE_CHECKING:
    from cogym.datastore import HDF5Datastore

__all__ = ["Judge", "Oracle", "oracle", "resolve_judge", "segment_returns"]

REWARDS = ("environment", "received")
"""What the oracle sums over a segment: the environment's rewards alone, or every reward the
actor received (the environment's and those actors sent it, aggregated)."""


@runtime_checkable
class Judge(Protocol):
    def answer(self, queries: Sequence[Query], datastore: HDF5Datastore) -> Iterator[Preference]:
        """Yield each answer as it is given (a person may skip a query: it then yields nothing
        for it)."""
        ...


def segment_returns(
    datastore: HDF5Datastore, segments: Sequence[Segment], reward: str = "environment"
) -> np.ndarray:
    """The sum of ``reward`` (see :data:`REWARDS`) over the ticks of each segment, read with
    one ``arrays()`` call per actor."""
    column = {"environment": "env_rewards", "received": "rewards"}[reward]
    out = np.zeros(len(segments), dtype=np.float64)
    by_actor: dict[str, list[int]] = {}
    for i, segment in enumerate(segments):
        by_actor.setdefault(segment.actor, []).append(i)
    for actor, positions in by_actor.items():
        ids = sorted({segments[i].trial_id for i in positions})
        arrays = datastore.arrays(actor, ("tick", column), ids=ids)
        rows = {t: (int(arrays.offsets[k]), int(arrays.offsets[k + 1]))
                for k, t in enumerate(arrays.trial_ids)}  # fmt: skip
        ticks, values = arrays["tick"], arrays[column]
        for i in positions:
            segment = segments[i]
            if segment.trial_id not in rows:
                raise InputError(
                    f"segment {segment}: trial {segment.trial_id!r} has no recorded rows of actor "
                    f"{actor!r} in datastore {datastore.url}"
                )
            start, stop = rows[segment.trial_id]
            inside = (ticks[start:stop] >= segment.first) & (ticks[start:stop] <= segment.last)
            out[i] = float(values[start:stop][inside].sum())
    return out


@dataclass
class Oracle:
    """Answers from the true return of each segment; see :func:`oracle`."""

    noise: float = 0.0
    seed: int | None = None
    reward: str = "environment"
    _rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.noise, (int, float)) or not 0.0 <= self.noise <= 1.0:
            raise InputError(f"oracle noise must be a probability in [0, 1], got {self.noise!r}")
        if self.reward not in REWARDS:
            raise InputError(
                f"oracle reward must be one of {', '.join(REWARDS)}, got {self.reward!r}"
            )
        self._rng = np.random.default_rng(self.seed)

    @property
    def name(self) -> str:
        return f"oracle(noise={self.noise:g})" if self.noise else "oracle"

    def answer(self, queries: Sequence[Query], datastore: HDF5Datastore) -> Iterator[Preference]:
        queries = list(queries)
        if not queries:
            return
        returns = segment_returns(
            datastore, [s for q in queries for s in (q.left, q.right)], self.reward
        )
        for k, query in enumerate(queries):
            left, right = returns[2 * k], returns[2 * k + 1]
            choice: Answer
            if self.noise and self._rng.random() < self.noise:
                choice = "left" if self._rng.random() < 0.5 else "right"
            elif math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12):
                choice = "equal"
            else:
                choice = "left" if left > right else "right"
            yield Preference(query, choice, self.name, time.time())


def oracle(noise: float = 0.0, seed: int | None = None, reward: str = "environment") -> Oracle:
    """A scripted judge that prefers the segment with the larger true return.

    The true return of a segment is the sum of the environment's recorded rewards over its
    ticks (``reward="received"``: every reward the actor received). Equal sums give ``"equal"``.
    With ``noise`` above 0, each answer is, with that probability, ``"left"`` or ``"right"`` at
    random (a coin flip, not a Boltzmann choice), drawn from ``seed``.
    """
    return Oracle(noise, seed, reward)


def resolve_judge(judge: Judge | str, **options: Any) -> Judge:
    """``judge`` itself, or the judge a name stands for: ``"oracle"`` (:func:`oracle` with
    ``options``) or ``"person"`` (``cogym.web.prefer.PersonJudge(**options)``, the page; it
    needs the ``web`` extra, and is imported only then)."""
    if isinstance(judge, str):
        if judge == "oracle":
            return oracle(**options)
        if judge == "person":
            from cogym.web.prefer import PersonJudge

            return PersonJudge(**options)
        raise InputError(f"judge must be 'oracle', 'person' or a Judge object, got {judge!r}")
    if not isinstance(judge, Judge):
        raise InputError(
            f"judge must be 'oracle', 'person' or an object with answer(queries, datastore), "
            f"got {type(judge).__name__}"
        )
    return judge
