"""The reward ledger of a trial: what was sent, to whom, for which tick, and the aggregates.

Per tick and receiver, the environment's reward and the rewards participants sent aggregate as
their confidence-weighted mean (the environment's counts with confidence 1). A reward may name
an earlier tick, up to :data:`REWARD_HISTORY` ticks back; the ledger then revises that tick's
aggregate and reports the change so the trial can correct returns and recordings.

A receiver may drop its share of the environment's reward (:meth:`RewardLedger.drop_env_share`,
which a learnt reward asks for with ``replace_env_reward``): from then on its aggregate is the
confidence-weighted mean of the rewards participants sent it alone, 0 on a tick when none was
sent, and the environment's reward is still recorded as such, apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from cogym.errors import MessageError
from cogym.trial.values import BROADCAST, ENVIRONMENT, Reward

__all__ = ["REWARD_HISTORY", "Revision", "RewardLedger"]

REWARD_HISTORY = 4096
"""How many past ticks a retroactive reward can reach back."""

Revision = tuple[str, int, float, float]
"""``(receiver, tick, new aggregate, change)`` of a past tick's reward."""


class RewardLedger:
    """The rewards of one trial. The environment's are logged every tick (:attr:`history`);
    participants' are queued by :meth:`send` and settled at the end of the tick (:meth:`route`).

    In a trial that one actor, ``lone``, plays alone, the environment's reward of a tick may be
    logged and routed bare (the number, not a one-entry mapping).
    """

    __slots__ = (
        "_actors",
        "_aggregates",
        "_env_rewards",
        "_dropped",
        "_lone",
        "_sent",
        "_start",
        "_trial_id",
        "outgoing",
    )

    def __init__(self, trial_id: str, actors: tuple[str, ...], lone: str | None = None) -> None:
        self._trial_id = trial_id
        self._actors = actors
        self._lone = lone
        self.outgoing: list[Reward] = []
        """Rewards sent by participants during the tick being played."""
        self._env_rewards: list[Mapping[str, float] | float] = []
        self._start = 0  # the tick of _env_rewards[0]
        self._sent: dict[tuple[int, str], list[Reward]] = {}
        self._aggregates: dict[tuple[int, str], float] = {}
        self._dropped: frozenset[str] = frozenset()

    @property
    def dropped(self) -> frozenset[str]:
        """The receivers whose share of the environment's reward does not count."""
        return self._dropped

    @property
    def busy(self) -> bool:
        """Whether the tick being played must be settled by :meth:`route`: rewards were sent
        during it, or a receiver dropped its share of the environment's reward."""
        return bool(self.outgoing or self._dropped)

    def drop_env_share(self, receiver: str, by: str) -> None:
        """From now on the environment's reward to ``receiver`` does not count in its aggregate
        (``by``: who asks, for the message if ``receiver`` is no actor)."""
        if receiver not in self._actors:
            raise MessageError(
                f"trial {self._trial_id}: {by!r} asked to drop the environment's reward of "
                f"{receiver!r}, which is no actor of the trial (actors: {sorted(self._actors)})"
            )
        self._dropped = self._dropped | {receiver}

    def send(
        self,
        now: int,
        sender: str,
        receiver: str,
        value: float,
        confidence: float,
        tick: int | None,
    ) -> None:
        """Queue a reward from ``sender`` sent on tick ``now`` (for ``tick``, default ``now``),
        or raise :class:`MessageError` saying what is wrong with it."""
        where = f"trial {self._trial_id}, tick {now}: {sender!r} sending a reward"
        if receiver != BROADCAST and receiver not in self._actors:
            raise MessageError(
                f"{where}: no actor named {receiver!r} (actors: {sorted(self._actors)})"
            )
        for label, number in (("value", value), ("confidence", confidence)):
            if isinstance(number, (str, bytes)):  # float() would read "0.5" silently
                raise MessageError(
                    f"{where}: {label} {number!r} ({type(number).__name__}) is not a number; "
                    "send a float"
                )
        try:
            value = float(value)
            confidence = float(confidence)
        except (TypeError, ValueError):
            raise MessageError(
                f"{where}: value and confidence must be numbers (got value={value!r}, "
                f"confidence={confidence!r})"
            ) from None
        if not math.isfinite(value) or not math.isfinite(confidence) or confidence < 0:
            raise MessageError(
                f"{where}: value must be finite and confidence finite and >= 0 "
                f"(got value={value}, confidence={confidence})"
            )
        tick = now if tick is None else int(tick)
        oldest = max(self._start, now - REWARD_HISTORY)
        if not oldest <= tick <= now:
            raise MessageError(
                f"{where}: tick {tick} is not within the ticks a reward can name "
                f"({oldest}..{now}; rewards reach back at most {REWARD_HISTORY} ticks)"
            )
        receivers = self._actors if receiver == BROADCAST else (receiver,)
        for r in receivers:
            self.outgoing.append(Reward(tick, sender, r, value, confidence))

    @property
    def history(self) -> list[Mapping[str, float] | float]:
        """The environment's rewards of each tick still in reach: the tick loop appends each
        tick's (in order; the lone actor's may be bare) and calls :meth:`trim` once the tick
        reaches :attr:`trim_tick`."""
        return self._env_rewards

    @property
    def trim_tick(self) -> int:
        """The tick after whose rewards the history is next trimmed."""
        return self._start + 2 * REWARD_HISTORY

    def trim(self) -> int:
        """Forget the oldest ticks beyond reach; the next :attr:`trim_tick`."""
        del self._env_rewards[:REWARD_HISTORY]
        self._start += REWARD_HISTORY
        return self.trim_tick

    def env_reward(self, tick: int, receiver: str) -> float | None:
        """The environment's reward to ``receiver`` on ``tick`` (``None`` if it sent none)."""
        index = tick - self._start
        if not 0 <= index < len(self._env_rewards):
            return None
        entry = self._env_rewards[index]
        if isinstance(entry, Mapping):
            return entry.get(receiver)
        return entry if receiver == self._lone else None

    def route(
        self, tick: int, env_rewards: Mapping[str, float] | float
    ) -> tuple[dict[str, float], tuple[Reward, ...], list[Revision]]:
        """Settle the rewards sent during ``tick``: this tick's aggregates by actor, the rewards
        sent, and the revisions of earlier ticks (in the order of their tick and receiver).
        ``env_rewards``: the environment's of this tick (the lone actor's may be bare)."""
        sent = tuple(self.outgoing)
        self.outgoing.clear()
        if isinstance(env_rewards, Mapping):
            rewards = dict(env_rewards)
        else:
            rewards = {self._lone: env_rewards}  # type: ignore[dict-item]
        touched: set[tuple[int, str]] = set()
        for receiver in self._dropped:
            if receiver in rewards:
                touched.add((tick, receiver))
        for reward in sent:
            key = (reward.tick, reward.receiver)
            self._sent.setdefault(key, []).append(reward)
            touched.add(key)
        revisions: list[Revision] = []
        for key in sorted(touched):
            past_tick, receiver = key
            value = self._aggregate(past_tick, receiver)
            if past_tick == tick:
                rewards[receiver] = value
                continue
            before = self._aggregates.get(key)
            if before is None:
                before = float(self.env_reward(past_tick, receiver) or 0.0)
            self._aggregates[key] = value
            revisions.append((receiver, past_tick, value, value - before))
        for key in touched:
            if key[0] == tick:
                self._aggregates[key] = rewards[key[1]]
        return rewards, sent, revisions

    def hand_out(
        self,
        tick: int,
        sent: tuple[Reward, ...],
        handlers: Mapping[str, Callable[[Reward], None]],
    ) -> None:
        """Give the actors with an ``on_reward`` hook the rewards of ``tick``: the environment's,
        then those sent."""
        for name, value in self._env_rewards[tick - self._start].items():
            handler = handlers.get(name)
            if handler is not None and name not in self._dropped:
                handler(Reward(tick, ENVIRONMENT, name, float(value), 1.0))
        for reward in sent:
            handler = handlers.get(reward.receiver)
            if handler is not None:
                handler(reward)

    def _aggregate(self, tick: int, receiver: str) -> float:
        env_value = self.env_reward(tick, receiver)
        total = 0.0
        weight = 0.0
        if env_value is not None and receiver not in self._dropped:
            total, weight = float(env_value), 1.0
        for reward in self._sent.get((tick, receiver), ()):
            total += reward.value * reward.confidence
            weight += reward.confidence
        return total / weight if weight > 0 else 0.0
