"""An observer that sends the player good/bad feedback, as a person on the page would."""

from __future__ import annotations

from typing import Any


class SignCoach:
    """Sends +1 when the pendulum turns one way (angular velocity above 0), -1 otherwise."""

    def reset(self, context: Any) -> None:
        self.context = context

    def act(self, observation: Any) -> None:
        self.context.send_reward("player", 1.0 if observation[2] > 0 else -1.0, confidence=0.8)
