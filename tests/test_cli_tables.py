"""The command line's tables at 80 columns: every column there, no value cut, no line longer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cogym.cli import console, main
from cogym.registry import ModelRegistry
from tests.registry.conftest import tiny_ppo

CARTPOLE = """\
environment: {implementation: "gym:CartPole-v1"}
actors: [{name: player, implementation: "python:cogym.bots:CartPoleExpert"}]
max_ticks: 20
seed: 0
tags: {experiment: first-look}
"""
MPE = """\
environment: {implementation: "pettingzoo:mpe2.simple_adversary_v3:parallel_env"}
actors:
  - {name: adversary_0, implementation: random}
  - {name: agent_0, implementation: random}
  - {name: agent_1, implementation: random}
max_ticks: 10
seed: 0
"""


@pytest.fixture
def at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # read by rich on every print, as in a terminal
    assert console.width == 80


def _cogym(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    for line in result.output.splitlines():
        assert len(line) <= 80, line
    return result.output


def _recorded(tmp_path: Path, text: str) -> tuple[Path, str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    store = tmp_path / "trials"
    output = _cogym("run", str(spec), "-n", "2", "--datastore", str(store))
    return store, output


def _has_all(output: str, *words: str) -> None:
    for word in words:
        assert word in output, f"{word!r} is not in\n{output}"


@pytest.mark.usefixtures("at_80_columns")
@pytest.mark.parametrize("text", [CARTPOLE, MPE], ids=["one actor", "three actors"])
def test_run_trials_ls_and_show_keep_every_column_at_80(tmp_path: Path, text: str) -> None:
    store, run = _recorded(tmp_path, text)
    names = ["player"] if text is CARTPOLE else ["adversary_0", "agent_0", "agent_1"]
    _has_all(run, "actor", "trials", "mean return", "std", "min", "max", *names)
    listed = _cogym("trials", "ls", "--datastore", str(store))
    _has_all(listed, "trial, started, env", "tags", "state", "actor, implementation", "return")
    environment = "gym:CartPole-v1" if text is CARTPOLE else "simple_adversary_v3"
    _has_all(listed, *names, environment)
    if text is CARTPOLE:
        _has_all(listed, "experiment=first-look")
    implementations = ["python:cogym.bots:CartPoleExpert"] if text is CARTPOLE else ["random"]
    _has_all(listed, *implementations, "ticks")
    # one row per actor: each actor's name starts a line of its own column
    assert sum(line.count(names[-1]) for line in listed.splitlines()) == 2
    trial_id = next(line.split()[0] for line in listed.splitlines() if line[:1].isdigit())
    shown = _cogym("trials", "show", "--datastore", str(store), trial_id)
    _has_all(shown, "actor, class", "implementation", "observation, action space", "return")
    _has_all(shown, *names, *implementations, "Discrete(5)" if text is MPE else "Discrete(2)")


@pytest.mark.usefixtures("at_80_columns")
def test_models_show_keeps_its_metrics_at_80(registry_dir: Path, cartpole_model: Any) -> None:
    registry = ModelRegistry(registry_dir)
    metrics = {"demonstrator_return": 500.0, "validation_loss": 0.01617, "validation_accuracy": 1}
    for _ in range(2):
        registry.save("cartpole-bc", cartpole_model, metrics=metrics)
    registry.alias("cartpole-bc", "champion", 2)
    shown = _cogym("models", "show", "cartpole-bc", "--registry", str(registry_dir))
    _has_all(shown, "version", "created", "file", "aliases", "metrics", "champion", "PPO")
    _has_all(shown, "demonstrator_return=500", "validation_loss=0.01617", "validation_accuracy=1")
    _has_all(shown, registry.info("cartpole-bc@1").sha256[:12])
    listed = _cogym("models", "ls", "--registry", str(registry_dir))
    _has_all(listed, "model", "versions", "latest", "created", "algorithm", "aliases")


@pytest.fixture(scope="module")
def cartpole_model() -> Any:
    return tiny_ppo()
