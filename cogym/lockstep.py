"""Trials side by side in one process, with the actors that can act together answered at once.

:class:`Lockstep` runs several calls (a trial's :meth:`~cogym.trial.Trial.run`, a
:class:`~cogym.wrappers.TrialGymEnv`'s ``step`` or ``reset``...) each in a coroutine of its own
(a greenlet). An actor that can act together with others of its kind (a
:class:`~cogym.wrappers.SB3Actor`) asks through :func:`ask`: inside a lockstep its trial pauses
there; once every call has either paused so or returned, the lockstep answers the paused
actors, grouped by their ``batch_key``, with one ``act_together`` per group (one batched
forward pass of a model), and resumes them. So a tick of n trials costs one batched call per
model, whatever the order in which the trials' actors act (turn-based games, trials that end
at different ticks).

An actor that can act together has::

    batch_key: Hashable                      # actors with equal keys are answered together
    def act_together(self, actors, observations) -> list[action]   # one action per actor

and calls ``ask(self, observation)`` from its ``act``: outside a lockstep that is
``self.act_together([self], [observation])[0]``, so a trial gives the same actions alone and
in a lockstep when ``act_together`` answers each actor as it would alone.

The trial loop itself knows nothing of this; the coroutines are greenlets (the ``batch``
extra), which switch in about a microsecond.

>>> lockstep = Lockstep()
>>> lockstep.run([lambda: 1, lambda: 2])
[1, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, Protocol, TypeVar

from cogym.errors import MissingExtraError

try:
    from greenlet import getcurrent, greenlet
except ImportError:  # the batch extra is missing: nothing runs in a lockstep, actors act alone
    greenlet = None  # type: ignore[assignment,misc]
    getcurrent = None  # type: ignore[assignment]

__all__ = ["ActsTogether", "Lockstep", "ask"]

T = TypeVar("T")


class ActsTogether(Protocol):
    """An actor that a lockstep may answer together with others of the same ``batch_key``."""

    batch_key: Hashable

    def act_together(self, actors: Sequence[Any], observations: Sequence[Any]) -> list[Any]: ...


if greenlet is not None:

    class _Seat(greenlet):  # type: ignore[misc,valid-type]
        """A coroutine that runs one call of a lockstep after another (kept between calls:
        making one costs more than switching into it); an actor asking inside it waits there.
        """

        __slots__ = ()

        def __init__(self) -> None:
            super().__init__(self._serve)

        def _serve(self, call: Callable[[], Any]) -> None:
            while True:
                try:
                    outcome: tuple[Any, ...] = (_DONE, call(), None)
                except Exception as exc:
                    outcome = (_DONE, None, exc)
                call = self.parent.switch(outcome)


_DONE = object()
"""Marks what a seat hands back when its call has ended (else it hands an actor's request)."""


def ask(actor: ActsTogether, observation: Any) -> Any:
    """``actor``'s action for ``observation``: answered with the other actors of its
    ``batch_key`` when it runs in a :class:`Lockstep`, at once otherwise."""
    if getcurrent is not None:
        current = getcurrent()
        if type(current) is _Seat:
            return current.parent.switch((actor, observation, None))
    return actor.act_together([actor], [observation])[0]


class Lockstep:
    """Runs calls side by side; see the module docstring.

    ``enabled=False`` runs them one after another (no coroutine, no batching): for trials
    whose deadlines use the process's one interval timer, which a paused trial cannot share.
    """

    def __init__(self, *, enabled: bool = True) -> None:
        if enabled and greenlet is None:
            raise MissingExtraError("running trials in lockstep", "batch", "greenlet")
        self.enabled = enabled
        self._idle: list[Any] = []
        self.batches = 0
        """How many ``act_together`` calls answered more than one actor (for reports)."""

    def run(self, calls: Sequence[Callable[[], T]]) -> list[T]:
        """Run every call to its end and return what each returned, in order; an exception
        of a call is raised once all have ended (the first, by position)."""
        outcomes: list[Any] = [None] * len(calls)
        failed: dict[int, BaseException] = {}
        for index, outcome, error in self.each(calls, len(calls)):
            if error is not None:
                failed[index] = error
            else:
                outcomes[index] = outcome
        if failed:
            raise failed[min(failed)]
        return outcomes

    def each(
        self, calls: Iterable[Callable[[], T]], size: int
    ) -> Iterator[tuple[int, T | None, Exception | None]]:
        """Run ``calls`` with at most ``size`` of them in flight, taking the next as one ends;
        yield ``(position, returned, None)`` or ``(position, None, exception)`` as each ends."""
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        numbered = enumerate(calls)
        if not self.enabled:
            for index, call in numbered:
                try:
                    yield index, call(), None
                except Exception as exc:
                    yield index, None, exc
            return
        waiting: list[tuple[int, Any, Any, Any]] = []  # (position, seat, actor, observation)
        ended: list[tuple[int, Any, Exception | None]] = []
        idle, resume = self._idle, self._resume
        in_flight = 0
        exhausted = False
        while True:
            if not exhausted and in_flight < size:
                here = getcurrent()
                wanted, in_flight = size - in_flight, size
                for index, call in islice(numbered, wanted):
                    wanted -= 1
                    seat = idle.pop() if idle else _Seat()
                    if seat.parent is not here:
                        seat.parent = here
                    resume(index, seat, call, None, waiting, ended)
                if wanted:
                    exhausted = True
                    in_flight -= wanted
            if ended:
                in_flight -= len(ended)
                done, ended = ended, []
                yield from done
                continue
            if not waiting:
                return
            asked, waiting = waiting, []
            self._answer(asked, waiting, ended)

    def _answer(self, asked: list[tuple[int, Any, Any, Any]], waiting: list, ended: list) -> None:
        """Answer every paused actor, one ``act_together`` per ``batch_key``, and resume them."""
        groups: dict[Hashable, list[tuple[int, Any, Any, Any]]] = {}
        for request in asked:
            groups.setdefault(request[2].batch_key, []).append(request)
        for group in groups.values():
            actors = [actor for _, _, actor, _ in group]
            try:
                actions = actors[0].act_together(actors, [obs for _, _, _, obs in group])
            except Exception:
                # one bad observation must fail its own trial only: each asks alone
                actions = None
            else:
                if len(group) > 1:
                    self.batches += 1
            for position, (index, seat, actor, observation) in enumerate(group):
                if actions is not None:
                    self._resume(index, seat, actions[position], None, waiting, ended)
                    continue
                try:
                    action = actor.act_together([actor], [observation])[0]
                except Exception as exc:
                    self._resume(index, seat, None, exc, waiting, ended)
                else:
                    self._resume(index, seat, action, None, waiting, ended)

    def _resume(
        self,
        index: int,
        seat: Any,
        value: Any,
        error: Exception | None,
        waiting: list,
        ended: list,
    ) -> None:
        """Switch into ``seat`` (with ``value``: a call to begin or an action; or raising
        ``error`` where it waits) until it asks again (noted in ``waiting``) or its call ends
        (noted in ``ended``, and the seat is idle again)."""
        # a seat's call catches its Exceptions; anything else (KeyboardInterrupt) goes through
        got = seat.throw(error) if error is not None else seat.switch(value)
        if got[0] is _DONE:
            ended.append((index, got[1], got[2]))
            self._idle.append(seat)
        else:
            waiting.append((index, seat, got[0], got[1]))
