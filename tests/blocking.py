"""Environments and actors that block, for the deadline tests (``python:tests.blocking:...``).

Each blocks on a chosen tick (or in ``reset``) in one of three ways: ``sleep`` (a long
``time.sleep``), ``spin`` (a busy Python loop) or ``masked`` (a sleep with ``SIGALRM`` blocked,
as C code that ignores signals would be: only killing its process stops it); ``slow`` only
sleeps half a second.
"""

from __future__ import annotations

import signal
import time
from typing import Any

import gymnasium as gym

_FOREVER = 3600.0

built: list[gym.Env] = []
"""Every environment :func:`cartpole` built in this process."""


def block(how: str) -> None:
    """Block for an hour in the way ``how`` names."""
    if how == "sleep":
        time.sleep(_FOREVER)
    elif how == "spin":
        end = time.monotonic() + _FOREVER
        while time.monotonic() < end:
            pass
    elif how == "slow":
        time.sleep(0.5)
    elif how == "masked":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        try:
            time.sleep(_FOREVER)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
    else:
        raise ValueError(f"unknown way to block {how!r}: sleep, spin, masked or slow")


class _Blocking(gym.Wrapper):
    def __init__(self, env: gym.Env, step_at: int | None, reset_at: int | None, how: str,
                 seed: int | None) -> None:  # fmt: skip
        super().__init__(env)
        self.step_at, self.reset_at, self.how, self.seed = step_at, reset_at, how, seed
        self.steps = 0
        self.resets = 0
        self.chosen = True

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        self.steps = 0
        self.resets += 1
        self.chosen = self.seed is None or seed == self.seed
        if self.reset_at is not None and self.resets >= self.reset_at and self.chosen:
            block(self.how)
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> Any:
        self.steps += 1
        if self.step_at is not None and self.steps == self.step_at and self.chosen:
            block(self.how)
        return self.env.step(action)


def cartpole(step_at: int | None = None, reset_at: int | None = None, how: str = "sleep",
             seed: int | None = None) -> gym.Env:  # fmt: skip
    """CartPole that blocks on its ``step_at``-th step, or in its ``reset_at``-th reset (and every
    later one); with ``seed``, only in the trial of that seed."""
    env = _Blocking(gym.make("CartPole-v1"), step_at, reset_at, how, seed)
    built.append(env)
    return env


class Sleeper:
    """Acts 0, except on tick ``at`` (and, with ``every``, every later tick), where it blocks."""

    def __init__(self, at: int = 3, how: str = "sleep", every: bool = False) -> None:
        self.at, self.how, self.every = at, how, every

    def reset(self, context: Any) -> None:
        self.context = context

    def act(self, observation: Any) -> int:
        tick = self.context.tick
        if tick == self.at or (self.every and tick > self.at):
            block(self.how)
        return 0
