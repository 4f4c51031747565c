"""Teachers used by the DAgger tests (importable as ``python:tests.learn.teachers:...``)."""

from __future__ import annotations

from typing import Any

from cogym.bots import CartPoleExpert
from cogym.learn import NO_LABEL


class RightHalfOnly:
    """Labels CartPole like the expert while the cart is left of the centre, declines right of it
    (as a person who pressed no key)."""

    def __init__(self) -> None:
        self.expert = CartPoleExpert()

    def label(self, observation: Any) -> Any:
        if float(observation[0]) > 0.0:
            return NO_LABEL
        return self.expert.act(observation)

    def act(self, observation: Any) -> int:
        return self.expert.act(observation)


class ThreeWays:
    """Answers 2 whatever it sees: not an action of CartPole's Discrete(2)."""

    def act(self, observation: Any) -> int:
        return 2
