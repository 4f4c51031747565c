"""Tournaments: every implementation against every other, in every seat, over the same seeds.

:func:`evaluate` plays, for each way of seating distinct implementations in the given seats,
``games`` trials of the spec (the same seeds for every seating). In each trial, two seated
implementations are compared by their returns: the higher wins, equal returns draw. The
result, an :class:`Evaluation`, holds one :class:`Matchup` per ordered pair of
implementations (wins, draws and losses of the first against the second, with 95% Wilson
intervals on the win and loss rates, and mean returns) and an Elo rating per implementation
(the maximum-likelihood Bradley-Terry strengths of the pairwise results, a draw counting as
half a win, on Elo's scale with a mean of 1500; one virtual draw against a 1500 player keeps a
rating finite for an implementation that never lost).

>>> from cogym import TrialSpec
>>> spec = TrialSpec.from_dict({
...     "environment": {"implementation": "pettingzoo:pettingzoo.classic.tictactoe_v3:env"},
...     "actors": [{"name": "player_1"}, {"name": "player_2"}], "seed": 0})
>>> result = evaluate(spec, ["player_1", "player_2"],
...                   ["random", "python:cogym.bots:TicTacToePerfect"], games=10)
>>> result.matchup("python:cogym.bots:TicTacToePerfect", "random").losses
0
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from cogym.actors import EXTERNAL
from cogym.errors import ArgumentError, InputError, SpecError, suggest
from cogym.orchestrator import Orchestrator
from cogym.registry.ranges import expand_ranges
from cogym.registry.store import as_registry
from cogym.spec import TrialSpec
from cogym.trial import TrialState

if TYPE_CHECKING:
    from cogym.trial import TrialResult

__all__ = [
    "Evaluation",
    "Matchup",
    "elo_ratings",
    "evaluate",
    "plot_evaluation",
    "wilson_interval",
]

_Z95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = _Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95% by default); (0, 1) for none.

    >>> [round(x, 3) for x in wilson_interval(10, 10)]
    [0.722, 1.0]
    """
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def elo_ratings(
    scores: Mapping[tuple[str, str], tuple[float, int]], players: Sequence[str]
) -> dict[str, float]:
    """Elo ratings from pairwise results: ``scores[(a, b)] = (points of a, games)``.

    The Bradley-Terry maximum-likelihood strengths (Hunter's MM iteration), with one virtual
    draw of each player against a fixed 1500 player, on Elo's scale (400 points = 10:1 odds),
    shifted so that the ratings average 1500.
    """
    strength = dict.fromkeys(players, 1.0)
    points = dict.fromkeys(players, 0.5)  # the virtual draw
    for (a, _), (won, _) in scores.items():
        points[a] += won
    for _ in range(10_000):
        updated = {}
        for p in players:
            denominator = 1.0 / (strength[p] + 1.0)  # the virtual game against strength 1
            for (a, b), (_, games) in scores.items():
                if a == p and games:
                    denominator += games / (strength[p] + strength[b])
            updated[p] = points[p] / denominator
        change = max(abs(math.log(updated[p] / strength[p])) for p in players)
        strength = updated
        if change < 1e-10:
            break
    elo = {p: 400.0 * math.log10(s) for p, s in strength.items()}
    shift = 1500.0 - sum(elo.values()) / len(elo)
    return {p: e + shift for p, e in elo.items()}


@dataclass(frozen=True)
class Matchup:
    """``implementation`` against ``opponent``: its results over the trials both played in."""

    implementation: str
    opponent: str
    games: int
    wins: int
    draws: int
    losses: int
    win_rate: float
    win_low: float
    win_high: float
    loss_rate: float
    loss_low: float
    loss_high: float
    mean_return: float
    opponent_mean_return: float

    def __repr__(self) -> str:
        return (
            f"Matchup({self.implementation} vs {self.opponent}: {self.wins}W {self.draws}D "
            f"{self.losses}L of {self.games}, win {self.win_rate:.2f} "
            f"[{self.win_low:.2f}, {self.win_high:.2f}])"
        )


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`: a table of matchups (a row per ordered pair) and ratings.

    ``records()`` gives the rows as dicts, ``to_pandas()`` as a ``pandas.DataFrame`` (when
    pandas is installed); ``failed`` lists the trials that did not end, which count in no row.
    """

    seats: tuple[str, ...]
    implementations: tuple[str, ...]
    matchups: tuple[Matchup, ...]
    ratings: Mapping[str, float]
    mean_returns: Mapping[str, float]
    failed: tuple[TrialResult, ...]

    columns = tuple(Matchup.__dataclass_fields__)

    def __iter__(self) -> Iterator[Matchup]:
        return iter(self.matchups)

    def __len__(self) -> int:
        return len(self.matchups)

    def matchup(self, implementation: str, opponent: str) -> Matchup:
        """The row of ``implementation`` against ``opponent``."""
        for row in self.matchups:
            if row.implementation == implementation and row.opponent == opponent:
                return row
        raise InputError(
            f"no matchup {implementation!r} against {opponent!r}; implementations: "
            f"{', '.join(self.implementations)}"
        )

    def records(self) -> list[dict[str, Any]]:
        """The matchups as dicts, with each implementation's Elo rating."""
        return [{**asdict(row), "elo": self.ratings[row.implementation]} for row in self.matchups]

    def to_pandas(self) -> Any:
        """The matchups as a ``pandas.DataFrame``."""
        try:
            import pandas
        except ImportError:
            raise InputError("to_pandas needs pandas: pip install pandas") from None
        return pandas.DataFrame.from_records(self.records())

    def __repr__(self) -> str:
        best = max(self.ratings, key=self.ratings.__getitem__)
        return (
            f"Evaluation({len(self.implementations)} implementations in seats "
            f"{', '.join(self.seats)}, {len(self.matchups)} matchups, best {best} "
            f"({self.ratings[best]:.0f}), {len(self.failed)} failed)"
        )


def seatings(seats: Sequence[str], implementations: Sequence[str]) -> list[dict[str, str]]:
    """Every way to seat distinct implementations in ``seats``."""
    return [
        dict(zip(seats, chosen, strict=True))
        for chosen in itertools.permutations(implementations, len(seats))
    ]


def _check(spec: TrialSpec, seats: Sequence[str], implementations: Sequence[str]) -> None:
    names = [a.name for a in spec.actors]
    if len(seats) < 2:
        raise ArgumentError(f"give at least two seats to compare in, got {list(seats)}")
    for seat in seats:
        if seat not in names:
            raise ArgumentError(
                f"seat {seat!r} is not an actor of the spec.{suggest(seat, names)} Actors: "
                f"{', '.join(names)}"
            )
    if len(set(seats)) != len(seats):
        raise ArgumentError(f"seats {list(seats)} name an actor twice")
    twice = sorted({i for i in implementations if implementations.count(i) > 1})
    if twice:
        raise ArgumentError(
            f"implementation(s) {', '.join(map(repr, twice))} given more than once (version "
            "ranges that overlap, such as @1..3 and @3..5, both give the version where they "
            f"meet); give each once, got {list(implementations)}"
        )
    if len(implementations) < len(seats):
        raise ArgumentError(
            f"give at least {len(seats)} distinct implementations for {len(seats)} seats, got "
            f"{list(implementations)}"
        )
    if EXTERNAL in implementations:
        raise ArgumentError(
            f"implementation {EXTERNAL!r}: the trials of a comparison play on their own, with "
            "nobody to drive an external actor; give implementations that act (random, "
            "python:..., sb3:..., human)"
        )


def _seated(spec: TrialSpec, seating: Mapping[str, str]) -> TrialSpec:
    for seat, implementation in seating.items():
        spec = spec.replace_actor(seat, implementation=implementation, config={})
    return spec


def evaluate(
    spec: TrialSpec,
    seats: Sequence[str],
    implementations: Sequence[str],
    *,
    games: int = 100,
    orchestrator: Orchestrator | None = None,
    registry: Any = None,
    workers: int = 1,
) -> Evaluation:
    """Play every seating of ``implementations`` in ``seats`` for ``games`` trials each.

    An implementation may name a range of registry versions (``sb3:c4@1..10``, with
    ``registry``). Every seating is checked (:meth:`Orchestrator.validate`) before any trial
    runs; an implementation that does not fit a seat raises :class:`~cogym.errors.SpecError`
    naming the seat and the implementation. See the module docstring for an example.
    """
    if isinstance(games, bool) or not isinstance(games, int) or games < 1:
        raise ArgumentError(f"games must be an int of at least 1, got {games!r}")
    seats = tuple(seats)
    implementations = tuple(expand_ranges(implementations, as_registry(registry)))
    _check(spec, seats, implementations)
    if spec.seed is None:
        spec = spec.replace(seed=0)
    own = orchestrator is None
    runner = Orchestrator(registry=registry) if orchestrator is None else orchestrator
    try:
        plans = [(seating, _seated(spec, seating)) for seating in seatings(seats, implementations)]
        for seating, seated in plans:
            try:
                runner.validate(seated)
            except SpecError as exc:
                where = ", ".join(f"{s}={i}" for s, i in seating.items())
                raise SpecError(exc.problems, f"seating {where}") from None
        results = [
            (seating, result)
            for seating, seated in plans
            for result in runner.run_many(seated, games, workers=workers)
        ]
    finally:
        if own:
            runner.close()
    return _tally(seats, implementations, results)


def _tally(
    seats: tuple[str, ...],
    implementations: tuple[str, ...],
    results: list[tuple[dict[str, str], TrialResult]],
) -> Evaluation:
    counts: dict[tuple[str, str], list[float]] = {}  # wins, draws, losses, own, other returns
    returns: dict[str, list[float]] = {i: [] for i in implementations}
    failed = []
    for seating, result in results:
        if result.state is TrialState.FAILED:
            failed.append(result)
            continue
        for seat, implementation in seating.items():
            returns[implementation].append(float(result.returns.get(seat, 0.0)))
        for a, b in itertools.permutations(seats, 2):
            mine, theirs = float(result.returns.get(a, 0.0)), float(result.returns.get(b, 0.0))
            row = counts.setdefault((seating[a], seating[b]), [0, 0, 0, 0.0, 0.0])
            row[0 if mine > theirs else 1 if mine == theirs else 2] += 1
            row[3] += mine
            row[4] += theirs
    matchups = []
    scores: dict[tuple[str, str], tuple[float, int]] = {}
    for (a, b), (wins, draws, losses, own, other) in counts.items():
        n = int(wins + draws + losses)
        scores[(a, b)] = (wins + 0.5 * draws, n)
        win_low, win_high = wilson_interval(int(wins), n)
        loss_low, loss_high = wilson_interval(int(losses), n)
        matchups.append(
            Matchup(
                a, b, n, int(wins), int(draws), int(losses),
                wins / n, win_low, win_high, losses / n, loss_low, loss_high,
                own / n, other / n,
            )
        )  # fmt: skip
    order = {name: i for i, name in enumerate(implementations)}
    matchups.sort(key=lambda m: (order[m.implementation], order[m.opponent]))
    return Evaluation(
        seats,
        implementations,
        tuple(matchups),
        elo_ratings(scores, implementations),
        {i: (sum(r) / len(r) if r else math.nan) for i, r in returns.items()},
        tuple(failed),
    )


def plot_evaluation(result: Evaluation, path: str | os.PathLike[str]) -> None:
    """Draw ``result`` into a PNG: Elo ratings, and each matchup's wins, draws and losses."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = sorted(result.ratings, key=result.ratings.__getitem__)
    rows = list(result.matchups)
    height = max(3.0, 0.35 * max(len(names), len(rows)) + 1.5)
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(12, height), gridspec_kw={"width_ratios": [1, 2]}
    )
    left.barh(range(len(names)), [result.ratings[n] - 1500 for n in names], left=1500)
    left.set_yticks(range(len(names)), [_short(n) for n in names])
    left.axvline(1500, color="grey", linewidth=0.8)
    left.set_xlabel("Elo rating")
    labels = [f"{_short(m.implementation)} vs {_short(m.opponent)}" for m in rows]
    start = [0.0] * len(rows)
    for what, colour in (("wins", "tab:green"), ("draws", "tab:grey"), ("losses", "tab:red")):
        share = [getattr(m, what) / m.games for m in rows]
        right.barh(range(len(rows)), share, left=start, color=colour, label=what)
        start = [a + b for a, b in zip(start, share, strict=True)]
    for i, m in enumerate(rows):
        right.plot([m.win_low, m.win_high], [i, i], color="black", linewidth=1.5)
    right.set_yticks(range(len(rows)), labels)
    right.set_xlim(0, 1)
    right.set_xlabel(f"share of games (bar: 95% interval of the win rate; {rows[0].games} each)")
    right.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.suptitle(
        f"{len(result.implementations)} implementations, seats {', '.join(result.seats)}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _short(name: str, width: int = 32) -> str:
    return name if len(name) <= width else "..." + name[-(width - 3) :]
