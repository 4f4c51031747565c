"""``cogym compare`` and ``cogym.evaluation.evaluate``: tournaments over the seats of a spec."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cogym import Orchestrator, TrialSpec
from cogym.cli import main
from cogym.errors import ArgumentError, InputError, SpecError
from cogym.evaluation import elo_ratings, evaluate, wilson_interval
from cogym.registry import ModelRegistry
from cogym.registry.ranges import expand_ranges

TICTACTOE = "pettingzoo:pettingzoo.classic.tictactoe_v3:env"
PERFECT = "python:cogym.bots:TicTacToePerfect"
SEATS = ["player_1", "player_2"]
SPEC_TEXT = f"""\
environment:
  implementation: {TICTACTOE}
actors:
  - name: player_1
  - name: player_2
seed: 0
"""


class Broken:
    """An actor that raises on its first action."""

    def act(self, observation: object) -> int:
        raise RuntimeError("broken on purpose")


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "ttt.yaml"
    path.write_text(SPEC_TEXT)
    return path


def test_the_perfect_bot_never_loses_to_random_in_either_seat() -> None:
    import cogym

    result = cogym.evaluate(
        TrialSpec.from_yaml_text(SPEC_TEXT), SEATS, ["random", PERFECT], games=100
    )
    bot = result.matchup(PERFECT, "random")
    assert bot.games == 200 and bot.losses == 0
    assert bot.wins > 150
    assert bot.wins + bot.draws == 200
    assert result.matchup("random", PERFECT).wins == 0
    assert result.ratings[PERFECT] > result.ratings["random"] + 200
    assert result.mean_returns[PERFECT] == pytest.approx(bot.win_rate)
    assert result.failed == ()
    assert {r["implementation"] for r in result.records()} == {"random", PERFECT}


def test_the_perfect_bot_draws_every_game_against_itself() -> None:
    spec = TrialSpec.from_yaml_text(SPEC_TEXT)
    for seat in SEATS:
        spec = spec.replace_actor(seat, implementation=PERFECT)
    with Orchestrator() as orchestrator:
        results = orchestrator.run_many(spec, 3)
    assert [dict(r.returns) for r in results] == [{"player_1": 0.0, "player_2": 0.0}] * 3


def test_cogym_compare_prints_the_table_and_ratings_and_draws_a_plot(
    spec_file: Path, tmp_path: Path
) -> None:
    plot = tmp_path / "compare.png"
    result = CliRunner().invoke(
        main,
        ["compare", str(spec_file), "--seat", "player_1", "--seat", "player_2",
         "random", PERFECT, "--games", "20", "--plot", str(plot)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Elo ratings" in result.output
    assert "W/D/L" in result.output
    assert plot.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--seat", "player_1", "--seat", "player_3", "random", PERFECT], "player_3"),
        (["--seat", "player_1", "random", PERFECT], "at least two seats"),
        (["--seat", "player_1", "--seat", "player_2", "random"], "distinct implementations"),
        (["--seat", "player_1", "--seat", "player_2", "random", "sb3:c4@1..3"], "--registry"),
    ],
)
def test_cogym_compare_refuses_bad_seats_and_implementations_with_exit_2(
    spec_file: Path, arguments: list[str], named: str
) -> None:
    result = CliRunner().invoke(main, ["compare", str(spec_file), *arguments, "-n", "2"])
    assert result.exit_code == 2, result.output
    assert named in result.output


def test_an_implementation_that_does_not_fit_a_seat_is_refused_naming_both(
    spec_file: Path, tmp_path: Path
) -> None:
    from stable_baselines3 import PPO

    model = tmp_path / "cartpole.zip"
    PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, device="cpu").save(model)
    result = CliRunner().invoke(
        main,
        ["compare", str(spec_file), "--seat", "player_1", "--seat", "player_2",
         "random", f"sb3:{model}", "-n", "2"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "seating player_1=" in result.output
    assert f"sb3:{model}" in result.output


def test_failed_trials_count_in_no_row_and_make_compare_exit_1(spec_file: Path) -> None:
    broken = "python:tests.test_evaluation:Broken"
    outcome = evaluate(TrialSpec.from_yaml_text(SPEC_TEXT), SEATS, ["random", broken], games=2)
    assert len(outcome.failed) == 4
    assert outcome.matchups == ()
    result = CliRunner().invoke(
        main,
        ["compare", str(spec_file), "--seat", "player_1", "--seat", "player_2",
         "random", broken, "-n", "2"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "4 trial(s) failed" in result.output
    assert "broken on purpose" in result.output


def test_version_ranges_expand_to_the_published_versions(tmp_path: Path) -> None:
    from stable_baselines3 import PPO

    registry = ModelRegistry(tmp_path / "models")
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, device="cpu")
    for _ in range(4):
        registry.save("c4", model)
    registry.delete("c4", 2)
    assert expand_ranges(["random", "sb3:c4@1..3"], registry) == [
        "random", "sb3:c4@1", "sb3:c4@3"
    ]  # fmt: skip
    assert expand_ranges(["sb3:c4@3.."], registry) == ["sb3:c4@3", "sb3:c4@4"]
    assert expand_ranges(["sb3:c4@..1"], registry) == ["sb3:c4@1"]
    with pytest.raises(InputError, match="no published version in 5..7"):
        expand_ranges(["sb3:c4@5..7"], registry)
    with pytest.raises(InputError, match="range 3..1 is empty"):
        expand_ranges(["sb3:c4@3..1"], registry)


def test_wilson_intervals_and_elo_ratings() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    even = elo_ratings({("a", "b"): (5.0, 10), ("b", "a"): (5.0, 10)}, ["a", "b"])
    assert even == pytest.approx({"a": 1500.0, "b": 1500.0})
    lopsided = elo_ratings({("a", "b"): (10.0, 10), ("b", "a"): (0.0, 10)}, ["a", "b"])
    assert 1500 < lopsided["a"] < 2500 and lopsided["a"] + lopsided["b"] == pytest.approx(3000)
    chain = elo_ratings(
        {
            ("a", "b"): (8.0, 10),
            ("b", "a"): (2.0, 10),
            ("b", "c"): (8.0, 10),
            ("c", "b"): (2.0, 10),
        },
        ["a", "b", "c"],
    )
    assert chain["a"] > chain["b"] > chain["c"]


def test_games_must_be_a_positive_int() -> None:
    with pytest.raises(ArgumentError, match="games"):
        evaluate(TrialSpec.from_yaml_text(SPEC_TEXT), SEATS, ["random", PERFECT], games=0)
    with pytest.raises(SpecError):
        evaluate(TrialSpec.from_yaml_text(SPEC_TEXT), SEATS, ["random", "sb3:nowhere.zip"], games=1)


def test_cogym_compare_on_texas_holdem_refuses_external_actors_with_exit_2(tmp_path: Path) -> None:
    spec = tmp_path / "holdem.yaml"
    spec.write_text(
        "environment:\n"
        "  implementation: pettingzoo:pettingzoo.classic.texas_holdem_v4:env\n"
        "  config: {num_players: 3}\n"
        "actors:\n  - name: player_0\n  - name: player_1\n"
        "  - name: player_2\n    implementation: external\nseed: 0\n"
    )
    seats = ["--seat", "player_0", "--seat", "player_1"]
    as_implementation = CliRunner().invoke(
        main, ["compare", str(spec), *seats, "random", "external", "-n", "2"]
    )
    assert as_implementation.exit_code == 2, as_implementation.output
    assert "implementation 'external'" in as_implementation.output
    left_in_the_spec = CliRunner().invoke(
        main, ["compare", str(spec), *seats, "random", "python:tests.helpers:Constant", "-n", "2"]
    )
    assert left_in_the_spec.exit_code == 2, left_in_the_spec.output
    assert "actors[2].implementation: actor 'player_2' is external" in left_in_the_spec.output


def test_cogym_compare_with_overlapping_version_ranges_names_the_version_given_twice(
    spec_file: Path, tmp_path: Path
) -> None:
    from stable_baselines3 import PPO

    registry = ModelRegistry(tmp_path / "models")
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, device="cpu")
    for _ in range(4):
        registry.save("ttt", model)
    result = CliRunner().invoke(
        main,
        ["compare", str(spec_file), "--seat", "player_1", "--seat", "player_2",
         "sb3:ttt@1..3", "sb3:ttt@3..", "--registry", str(registry.root), "-n", "2"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "'sb3:ttt@3' given more than once" in result.output
    assert "distinct" not in result.output
