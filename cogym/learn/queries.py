"""Which pairs of clips to ask a judge about: at random, or where reward models disagree most."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import numpy as np

from cogym.datastore.preferences import Query, Segment
from cogym.errors import InputError

if TYPE_CHECKING:
    from cogym.datastore import HDF5Datastore
    from cogym.learn.reward_model import RewardModel

__all__ = ["SELECTIONS", "propose_queries"]

SELECTIONS = ("random", "disagreement")
CANDIDATES = 10
"""With ``select="disagreement"``, this many random candidate pairs per query are scored."""


def propose_queries(
    datastore: HDF5Datastore,
    actor: str,
    count: int,
    segment: int = 50,
    select: str = "random",
    reward: RewardModel | None = None,
    seed: int | None = None,
    filter: Any = None,
    **criteria: Any,
) -> list[Query]:
    """``count`` queries, each two segments of ``segment`` ticks of ``actor`` in the recorded
    trials passing ``filter`` / ``criteria`` (those of ``datastore.trials``).

    Segments lie inside a trial's recorded ticks (trials where ``actor`` never acted give
    none); a trial shorter than ``segment`` gives its
    whole self (so in an environment that ends early, such as CartPole, a short trial can be
    compared with a longer clip). ``select="random"`` draws pairs at random;
    ``"disagreement"`` draws :data:`CANDIDATES` times as many and keeps those on which the
    members of ``reward``'s ensemble disagree most: the largest variance across members of the
    probability that the left segment is better (Christiano et al., 2017).
    """
    if select not in SELECTIONS:
        raise InputError(f"select must be one of {', '.join(SELECTIONS)}, got {select!r}")
    if select == "disagreement" and reward is None:
        raise InputError("select='disagreement' needs a reward model (reward=...) to disagree")
    if count < 0 or segment < 1:
        raise InputError(f"count must be >= 0 and segment >= 1, got {count} and {segment}")
    fields = ("tick", "observations", "actions") if select == "disagreement" else ("tick",)
    arrays = datastore.arrays(actor, fields, filter, **criteria)
    if not arrays.trial_ids:
        raise InputError(
            f"no recorded trial of actor {actor!r} passes the filter in {datastore.url}"
        )
    offsets, ticks = arrays.offsets, arrays["tick"]
    # a trial may hold no tick of the actor (a poker hand its opponent folded before its turn)
    acted = np.flatnonzero(np.diff(offsets) > 0)
    if not len(acted):
        raise InputError(
            f"actor {actor!r} acted on no tick of the {len(arrays.trial_ids)} recorded trial(s) "
            f"passing the filter in {datastore.url}: there are no segments to compare"
        )
    rng = np.random.default_rng(seed)
    drawn = count * (CANDIDATES if select == "disagreement" else 1)
    segments, rows = [], []
    for trial in acted[rng.integers(0, len(acted), size=2 * drawn)].tolist():
        start, stop = int(offsets[trial]), int(offsets[trial + 1])
        length = min(segment, stop - start)
        first = start + int(rng.integers(0, stop - start - length + 1))
        segments.append(
            Segment(arrays.trial_ids[trial], actor, int(ticks[first]),
                    int(ticks[first + length - 1]))
        )  # fmt: skip
        rows.append((first, first + length))
    pairs = list(range(drawn))
    if select == "disagreement" and reward is not None:
        values = reward.members(arrays["observations"], arrays["actions"])
        cumulative = np.concatenate([np.zeros((len(values), 1)), values.cumsum(axis=1)], axis=1)
        starts = np.array([r[0] for r in rows])
        stops = np.array([r[1] for r in rows])
        sums = cumulative[:, stops] - cumulative[:, starts]
        probability = 1.0 / (1.0 + np.exp(-(sums[:, 0::2] - sums[:, 1::2])))
        pairs = np.argsort(-probability.var(axis=0), kind="stable")[:count].tolist()
    return [
        Query(uuid.uuid4().hex[:16], segments[2 * k], segments[2 * k + 1]) for k in pairs[:count]
    ]
