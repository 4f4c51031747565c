"""A receiver that drops its share of the environment's reward (the rule under
``replace_env_reward``): its reward is what participants send it alone, 0 when none is sent."""

from __future__ import annotations

import pytest

from cogym import Orchestrator
from tests.conftest import PROBE, make_spec


class EveryOtherTick:
    """An observer that takes the player's environment reward away and pays 5 on even ticks."""

    def __init__(self, receiver: str = "player") -> None:
        self.receiver = receiver

    def reset(self, context):
        self.context = context
        context.replace_env_reward(self.receiver)

    def act(self, observation):
        if self.context.tick % 2 == 0:
            self.context.send_reward("player", 5.0, confidence=0.5)


def every_other_tick(**config):
    return EveryOtherTick(**config)


def spec(config=None):
    return make_spec(PROBE, [
        {"name": "player", "implementation": "random"},
        {"name": "coach", "actor_class": "observer",
         "implementation": "python:tests.test_replace_env_reward:every_other_tick",
         "config": config or {}},
    ], {"episode_length": 7}, seed=0)  # fmt: skip


def test_a_dropped_env_share_leaves_only_what_was_sent_and_zero_on_other_ticks():
    with Orchestrator(keep_samples=True) as orchestrator:
        trial = orchestrator.start(spec())
        trial.run()
    assert trial.result.state.value == "ended", trial.result.error
    assert [s.rewards["player"] for s in trial.samples] == [5.0, 0.0, 5.0, 0.0, 5.0, 0.0, 5.0]
    assert [s.env_rewards["player"] for s in trial.samples] == [1.0] * 7  # recorded apart
    assert trial.result.returns["player"] == pytest.approx(20.0)


def test_dropping_the_share_of_no_actor_fails_the_trial_naming_the_actors():
    with Orchestrator() as orchestrator:
        result = orchestrator.run(spec({"receiver": "nobody"}))
    assert result.state.value == "failed"
    assert "'coach' asked to drop the environment's reward of 'nobody'" in result.error
    assert "actors: ['coach', 'player']" in result.error
