"""SB3 actors honour an observation's ``action_mask``: they never play an illegal move."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3 import PPO

from cogym import Orchestrator, TrialSpec
from cogym.wrappers import SB3Actor, TrialGymEnv

TICTACTOE = "pettingzoo:pettingzoo.classic.tictactoe_v3:env"


@pytest.fixture(scope="module")
def untrained() -> PPO:
    env = TrialGymEnv(
        {
            "environment": {"implementation": TICTACTOE},
            "actors": [
                {"name": "player_1", "implementation": "external"},
                {"name": "player_2", "implementation": "random"},
            ],
            "seed": 0,
        }
    )
    model = PPO("MultiInputPolicy", env, n_steps=64, batch_size=64, device="cpu", seed=0)
    env.close()
    return model


@pytest.mark.parametrize("deterministic", [True, False])
def test_an_sb3_actor_plays_only_the_actions_its_mask_allows(
    untrained: PPO, deterministic: bool
) -> None:
    actor = SB3Actor(untrained, deterministic=deterministic)
    board = np.zeros((3, 3, 2), dtype=np.int8)
    for allowed in range(9):
        mask = np.zeros(9, dtype=np.int8)
        mask[allowed] = 1
        picks = {int(actor.act({"observation": board, "action_mask": mask})) for _ in range(20)}
        assert picks == {allowed}


def test_untrained_sb3_players_finish_every_game_without_an_illegal_move(
    untrained: PPO, tmp_path
) -> None:
    path = tmp_path / "ttt.zip"
    untrained.save(path)
    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": TICTACTOE},
            "actors": [
                {"name": "player_1", "implementation": f"sb3:{path}",
                 "config": {"deterministic": False}},
                {"name": "player_2", "implementation": "random"},
            ],
            "seed": 0,
        }
    )  # fmt: skip
    with Orchestrator() as orchestrator:
        results = orchestrator.run_many(spec, 30)
    # an illegal move ends a game with -1 for the mover after fewer than 5 marks of its own:
    # a legal game lasts at least 5 ticks, and a win or loss is decided by three in a row
    assert all(r.state.value == "ended" for r in results)
    assert all(r.ticks >= 5 for r in results)
