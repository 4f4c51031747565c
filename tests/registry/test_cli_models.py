"""``cogym models ls|show|alias`` and ``cogym run --registry``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cogym.cli import main
from cogym.registry import ModelRegistry


@pytest.fixture
def filled(registry_dir: Path, cartpole_model: Any) -> ModelRegistry:
    registry = ModelRegistry(registry_dir)
    registry.save("cartpole-ppo", cartpole_model, metrics={"mean_return": 21.5})
    registry.save("cartpole-ppo", cartpole_model, lineage={"trial_ids": ["[bold]t1"]})
    registry.save("acrobot-dqn-like", cartpole_model)
    registry.alias("cartpole-ppo", "champion", 1)
    return registry


def cogym(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "200", **(env or {})})


def test_ls_lists_models_with_latest_and_aliases(filled: ModelRegistry) -> None:
    result = cogym("models", "ls", "--registry", filled.root)
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "cartpole-ppo" in lines and "acrobot-dqn-like" in lines
    assert "champion=1" in lines["cartpole-ppo"]
    assert [cell.strip() for cell in lines["cartpole-ppo"].split("│")[2:4]] == ["2", "2"]


def test_ls_of_an_empty_registry_says_so(registry_dir: Path) -> None:
    registry_dir.mkdir()
    result = cogym("models", "ls", "--registry", str(registry_dir))
    assert result.exit_code == 0
    assert f"no models in {registry_dir}" in result.output


@pytest.mark.parametrize("command", [["ls"], ["show", "cartpole-ppo"], ["alias", "m", "a", "1"]])
def test_a_registry_path_that_does_not_exist_or_is_a_file_exits_2_naming_it(
    command: list[str], tmp_path: Path
) -> None:
    missing = tmp_path / "modles"
    result = cogym("models", *command, "--registry", str(missing))
    assert result.exit_code == 2, result.output
    assert f"--registry {missing}: no model registry there, the directory does not exist" in (
        result.stderr
    )
    assert not missing.exists()
    a_file = tmp_path / "spec.yaml"
    a_file.write_text("actors: []\n")
    result = cogym("models", *command, "--registry", str(a_file))
    assert result.exit_code == 2, result.output
    assert f"--registry {a_file}: this is a file, not a model registry directory" in result.stderr


def test_the_registry_can_come_from_the_environment(filled: ModelRegistry) -> None:
    result = cogym("models", "ls", env={"COGYM_REGISTRY": filled.root})
    assert result.exit_code == 0 and "cartpole-ppo" in result.output


def test_show_name_lists_versions_and_alias_history(filled: ModelRegistry) -> None:
    filled.alias("cartpole-ppo", "champion", 2)
    result = cogym("models", "show", "cartpole-ppo", "--registry", filled.root)
    assert result.exit_code == 0, result.output
    assert "cartpole-ppo: 2 version(s)" in result.output
    assert "mean_return=21.5" in result.output
    assert "alias changes" in result.output
    history = [line for line in result.output.splitlines() if "champion" in line and "│" in line]
    assert any("│ 1 " in line and "│ 2 " in line for line in history)


def test_show_one_version_prints_its_metadata(filled: ModelRegistry) -> None:
    result = cogym("models", "show", "cartpole-ppo@champion", "--registry", filled.root)
    assert result.exit_code == 0, result.output
    assert "cartpole-ppo@1" in result.output
    for text in (
        "PPO",
        "Discrete(2)",
        "sha256",
        filled.info("cartpole-ppo@1").sha256,
        "stable_baselines3",
    ):
        assert text in result.output
    latest = cogym("models", "show", "cartpole-ppo@latest", "--registry", filled.root)
    assert "[bold]t1" in latest.output  # user text is shown as is, not as markup


def test_show_json_prints_meta_json(filled: ModelRegistry) -> None:
    result = cogym("models", "show", "cartpole-ppo@1", "--json", "--registry", filled.root)
    assert result.exit_code == 0
    meta = json.loads(result.output)
    assert meta == filled.info("cartpole-ppo@1").to_dict()


def test_alias_sets_and_moves(filled: ModelRegistry) -> None:
    result = cogym("models", "alias", "cartpole-ppo", "champion", "2", "--registry", filled.root)
    assert result.exit_code == 0, result.output
    assert "cartpole-ppo@champion -> 2 (was 1)" in result.output
    assert filled.aliases("cartpole-ppo") == {"champion": 2}
    new = cogym("models", "alias", "cartpole-ppo", "staging", "1", "--registry", filled.root)
    assert "cartpole-ppo@staging -> 1 (new alias)" in new.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("models", "show", "cartpole-pp"), "Did you mean 'cartpole-ppo'"),
        (("models", "show", "cartpole-ppo@9"), "has no version 9"),
        (("models", "show", "../etc"), "is a path"),
        (
            ("models", "alias", "cartpole-ppo", "latest", "1"),
            "'latest' is not an alias you can set",
        ),
        (("models", "alias", "cartpole-ppo", "champion", "5"), "has no version 5"),
    ],
)
def test_bad_input_exits_2_with_the_reason(
    filled: ModelRegistry, args: tuple[str, ...], message: str
) -> None:
    result = cogym(*args, "--registry", filled.root)
    assert result.exit_code == 2
    assert message in result.output


def test_a_damaged_model_fails_its_trial_with_a_checksum_error(
    filled: ModelRegistry, registry_dir: Path
) -> None:
    spec = registry_dir.parent / "spec.yaml"
    spec.write_text(yaml.safe_dump(_spec("sb3:cartpole-ppo@1")))
    model_file = registry_dir / "cartpole-ppo" / "1" / "model.zip"
    model_file.write_bytes(model_file.read_bytes()[:-10])
    result = cogym("run", str(spec), "--registry", filled.root, "-q")
    assert result.exit_code == 1  # found before any trial runs; not bad input but a bad file
    assert "truncated" in result.output and "cartpole-ppo" in result.output
    assert "Traceback" not in result.output and "trials (" not in result.output


def _spec(implementation: str) -> dict[str, Any]:
    return {
        "environment": {"implementation": "gym:CartPole-v1"},
        "actors": [{"name": "player", "implementation": implementation}],
        "max_ticks": 10,
        "seed": 0,
    }


def test_run_with_a_registry_reports_the_version_used(
    filled: ModelRegistry, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(_spec("sb3:cartpole-ppo@latest")))
    result = cogym("run", str(spec), "--trials", "3", "--registry", filled.root, "-q")
    assert result.exit_code == 0, result.output
    assert (
        "player: sb3:cartpole-ppo@latest ran as sb3:cartpole-ppo@2 in 3 trial(s)" in result.output
    )


def test_run_without_a_registry_explains_the_option(filled: ModelRegistry, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(_spec("sb3:cartpole-ppo@latest")))
    result = cogym("run", str(spec), "-q")
    assert "--registry DIR" in result.output


def test_an_alias_on_a_version_deleted_by_hand_says_the_command_that_moves_it(
    filled: ModelRegistry,
) -> None:
    import shutil

    shutil.rmtree(Path(filled.root) / "cartpole-ppo" / "1")  # champion points at it
    result = cogym("models", "show", "cartpole-ppo@champion", "--registry", filled.root)
    assert result.exit_code == 2, result.output
    assert "points at version 1, which was deleted" in result.stderr
    assert "`cogym models alias cartpole-ppo champion <version>`" in result.stderr
    moved = cogym("models", "alias", "cartpole-ppo", "champion", "2", "--registry", filled.root)
    assert moved.exit_code == 0, moved.output
    assert "cartpole-ppo@champion -> 2 (was 1)" in moved.output


@pytest.mark.parametrize("command", [["ls"], ["show", "cartpole-ppo"]])
def test_a_version_whose_meta_json_was_cut_short_is_a_row_and_the_rest_is_listed(
    filled: ModelRegistry, command: list[str]
) -> None:
    meta = Path(filled.root) / "cartpole-ppo" / "2" / "meta.json"
    meta.write_bytes(meta.read_bytes()[:100])  # a copy that stopped, a full disk
    result = cogym("models", *command, "--registry", filled.root)
    assert result.exit_code == 1, result.output
    rows = [line for line in result.output.splitlines() if "│" in line]
    assert any("unreadable" in row for row in rows)
    if command == ["ls"]:
        assert any("acrobot-dqn-like" in row and "PPO" in row for row in rows)
    else:
        assert any(row.split("│")[1].strip() == "1" and "PPO" in row for row in rows)
    assert f"error: {meta}" in result.stderr.replace("\n", "")
    assert "is not valid JSON" in result.stderr
