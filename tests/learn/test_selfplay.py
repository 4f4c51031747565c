"""Self-play against registry snapshots: ``cogym.learn.selfplay`` and ``cogym selfplay``."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cogym import Orchestrator, TrialSpec
from cogym.cli import main
from cogym.errors import ArgumentError, TrialError
from cogym.learn import selfplay
from cogym.learn.selfplay import OpponentPool
from cogym.registry import ModelRegistry
from cogym.wrappers import TrialGymEnv

CONNECT_FOUR = "pettingzoo:pettingzoo.classic.connect_four_v3:env"
TICTACTOE = "pettingzoo:pettingzoo.classic.tictactoe_v3:env"


def _spec(environment: str, first: str = "player_0", second: str = "player_1") -> TrialSpec:
    return TrialSpec.from_dict(
        {
            "environment": {"implementation": environment},
            "actors": [{"name": first}, {"name": second, "implementation": "random"}],
            "seed": 0,
        }
    )


def _wins(registry: Path, spec: TrialSpec, learner: str, opponent: str, games: int) -> int:
    played = spec.replace_actor("player_0", implementation=learner).replace_actor(
        "player_1",
        implementation=opponent,
        config={"deterministic": False} if opponent.startswith("sb3:") else {},
    )
    with Orchestrator(registry=registry) as orchestrator:
        results = orchestrator.run_many(played.replace(seed=10_000), games)
    assert all(r.state.value == "ended" for r in results)
    return sum(r.returns["player_0"] > r.returns["player_1"] for r in results)


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_maskable_selfplay_on_connect_four_beats_random_90pct_and_first_snapshot_60pct(
    tmp_path: Path,
) -> None:
    registry = tmp_path / "models"
    spec = _spec(CONNECT_FOUR)
    policy = selfplay(
        spec, "player_0", "player_1", model="c4", registry=registry,
        total_timesteps=100_096, snapshot_every=25_024, n_envs=8, first_opponent_share=0.2,
        algorithm_options={
            "n_steps": 32, "batch_size": 128, "n_epochs": 5, "ent_coef": 0.01,
            "learning_rate": 1e-3, "gamma": 0.95,
        },
    )  # fmt: skip
    assert type(policy).__name__ == "MaskablePPO"
    snapshots = policy.cogym_snapshots
    assert [s.version for s in snapshots] == [1, 2, 3, 4]
    info = ModelRegistry(registry).info("c4@4")
    assert info.lineage["parent"] == "c4@3"
    assert info.lineage["selfplay"]["opponents"] == ["player_1"]
    assert _wins(registry, spec, "sb3:c4@latest", "random", 100) >= 90
    assert _wins(registry, spec, "sb3:c4@latest", "sb3:c4@1", 100) >= 60


def test_selfplay_publishes_snapshots_and_plays_them_as_opponents(tmp_path: Path) -> None:
    registry = tmp_path / "models"
    spec = _spec(TICTACTOE, "player_1", "player_2")
    policy = selfplay(
        spec, "player_1", "player_2", model="ttt", registry=registry,
        total_timesteps=256, snapshot_every=128, opponent_sampling="uniform",
        algorithm_options={"n_steps": 64, "batch_size": 64, "n_epochs": 1},
    )  # fmt: skip
    assert [s.timesteps for s in policy.cogym_snapshots] == [128, 256]
    assert ModelRegistry(registry).versions("ttt") == [1, 2]
    scores = policy.cogym_snapshots[1].scores
    assert "sb3:ttt@1" in scores  # (and random, in trials that began before the snapshot)
    assert set(scores) <= {"sb3:ttt@1", "random"}
    assert 0.0 <= scores["sb3:ttt@1"] <= 1.0


def test_selfplay_on_batched_trials_trains_and_scores_its_snapshots(tmp_path: Path) -> None:
    policy = selfplay(
        _spec(TICTACTOE, "player_1", "player_2"), "player_1", "player_2", model="ttt",
        registry=tmp_path / "models", total_timesteps=512, snapshot_every=256, n_envs=4,
        algorithm_options={"n_steps": 32, "batch_size": 64, "n_epochs": 1},
    )  # fmt: skip
    assert [s.version for s in policy.cogym_snapshots] == [1, 2]
    assert policy.get_env().num_envs == 4
    assert "sb3:ttt@1" in policy.cogym_snapshots[1].scores


def test_opponent_sampling_rules() -> None:
    pool = OpponentPool("m", ["p2"], "latest", "random", seed=0)
    assert pool.choose() == "random"
    pool.versions += [1, 2, 3]
    assert {pool.choose() for _ in range(20)} == {"sb3:m@3"}
    pool.sampling = "uniform"
    assert {pool.choose() for _ in range(200)} == {"sb3:m@1", "sb3:m@2", "sb3:m@3"}
    pool.sampling = "prioritised"
    for _ in range(10):
        pool.record("sb3:m@1", 1.0)  # always beaten
        pool.record("sb3:m@2", 0.0)  # never beaten
    drawn = collections.Counter(pool.choose() for _ in range(2000))
    assert drawn["sb3:m@2"] > drawn["sb3:m@3"] > drawn["sb3:m@1"]
    spec = pool(_spec(TICTACTOE, "p1", "p2"), 0)
    assert spec.actor("p2").implementation.startswith("sb3:m@")
    assert spec.actor("p2").config == {"deterministic": False}
    assert spec.tags["selfplay_opponent"] == spec.actor("p2").implementation


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"actor": "player_9"}, "player_9"),
        ({"opponents": "player_0"}, "other than the learner"),
        ({"opponent_sampling": "best"}, "opponent_sampling"),
        ({"snapshot_every": 0}, "snapshot_every"),
    ],
)
def test_bad_arguments_are_refused_naming_them(
    tmp_path: Path, arguments: dict[str, object], named: str
) -> None:
    options: dict[str, object] = {"actor": "player_0", "opponents": "player_1"}
    options.update(arguments)
    with pytest.raises(ArgumentError, match=named):
        selfplay(_spec(CONNECT_FOUR), model="c4", registry=tmp_path, **options)  # type: ignore[arg-type]


def test_cogym_selfplay_trains_publishes_and_says_how_to_compare(tmp_path: Path) -> None:
    spec_file = tmp_path / "ttt.yaml"
    spec_file.write_text(_spec(TICTACTOE, "player_1", "player_2").to_yaml())
    result = CliRunner().invoke(
        main,
        ["selfplay", str(spec_file), "--actor", "player_1", "--opponent", "player_2",
         "--model", "ttt", "--registry", str(tmp_path / "models"), "--timesteps", "128",
         "--snapshot-every", "64", "--algorithm-option", "n_steps=64",
         "--algorithm-option", "batch_size=64"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ttt@2 at 128 steps" in result.output
    assert "cogym compare" in result.output
    bad = CliRunner().invoke(
        main,
        ["selfplay", str(spec_file), "--actor", "player_1", "--opponent", "player_2",
         "--model", "ttt", "--registry", str(tmp_path / "models"),
         "--algorithm-option", "n_steps"],
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "--algorithm-option" in bad.output


def test_action_masks_come_from_the_observation_and_are_refused_without_one() -> None:
    env = TrialGymEnv(
        {
            "environment": {"implementation": CONNECT_FOUR},
            "actors": [
                {"name": "player_0", "implementation": "external"},
                {"name": "player_1", "implementation": "random"},
            ],
            "seed": 0,
        }
    )
    with pytest.raises(TrialError, match="reset"):
        env.action_masks()
    env.reset(seed=0)
    assert env.action_masks().tolist() == [True] * 7
    env.close()
    cartpole = TrialGymEnv(
        {
            "environment": {"implementation": "gym:CartPole-v1"},
            "actors": [{"name": "player", "implementation": "external"}],
        }
    )
    cartpole.reset(seed=0)
    with pytest.raises(TrialError, match="no 'action_mask' entry"):
        cartpole.action_masks()
    cartpole.close()
