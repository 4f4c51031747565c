"""cogym bc and cogym demo: clone into the registry with lineage, filters, evaluation, bad input."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cogym import ModelRegistry, Orchestrator
from cogym.cli import main
from cogym.datastore import HDF5Datastore
from tests.conftest import CARTPOLE, make_spec


@pytest.fixture(scope="module")
def mixed_trials(tmp_path_factory):
    """8 expert trials and 8 random ones of CartPole, tagged by who played."""
    path = tmp_path_factory.mktemp("mixed") / "trials"
    with Orchestrator(datastore=HDF5Datastore(path)) as orchestrator:
        for who, implementation in (
            ("expert", "python:cogym.bots:CartPoleExpert"),
            ("random", "random"),
        ):
            actors = [{"name": "player", "implementation": implementation}]
            spec = make_spec(CARTPOLE, actors, seed=0, tags={"who": who})
            orchestrator.run_many(spec, 8, workers=2)
    store = HDF5Datastore(path)
    return path, {
        who: [s.trial_id for s in store.trials(tags={"who": who})] for who in ("expert", "random")
    }


def _bc(*args):
    return CliRunner().invoke(main, ["bc", "-q", "--epochs", "3", "--eval-trials", "2", *args])


def test_bc_clones_registers_with_lineage_and_evaluates(mixed_trials, tmp_path):
    path, ids = mixed_trials
    registry = tmp_path / "models"
    result = _bc(
        "--datastore", str(path), "--actor", "player", "--model", "cartpole-bc",
        "--registry", str(registry), "--tag", "who=expert",
    )
    assert result.exit_code == 0, result.output
    for words in ("demonstrators", "500.00", "clone (cartpole-bc@1)", "saved cartpole-bc@1"):
        assert words in result.output
    info = ModelRegistry(registry).info("cartpole-bc")
    assert info.version == 1 and sorted(info.lineage["trial_ids"]) == sorted(ids["expert"])
    assert info.lineage["actor"] == "player" and info.metrics["demonstrator_return"] == 500.0
    again = _bc(
        "--datastore", str(path), "--actor", "player", "--model", "cartpole-bc",
        "--registry", str(registry), "--min-return", "400",
    )
    assert again.exit_code == 0, again.output
    second = ModelRegistry(registry).info("cartpole-bc@2")
    assert sorted(second.lineage["trial_ids"]) == sorted(ids["expert"])


def test_bc_filters_by_implementation(mixed_trials, tmp_path):
    path, ids = mixed_trials
    result = _bc(
        "--datastore", str(path), "--actor", "player", "--model", "copycat",
        "--registry", str(tmp_path / "m"), "--implementation", "random", "--eval-trials", "0",
    )
    assert result.exit_code == 0, result.output
    copycat = ModelRegistry(tmp_path / "m").info("copycat")
    assert sorted(copycat.lineage["trial_ids"]) == sorted(ids["random"])


def test_bc_bad_input_exits_2(mixed_trials, tmp_path):
    path, _ = mixed_trials
    models = str(tmp_path / "m")
    result = _bc("--datastore", str(path), "--actor", "playr", "--model", "x", "--registry", models)
    assert result.exit_code == 2 and "Did you mean 'player'" in result.output
    result = _bc(
        "--datastore", str(path), "--actor", "player", "--model", "../x", "--registry", models
    )
    assert result.exit_code == 2
    nothing = str(tmp_path / "nothing")
    result = _bc("--datastore", nothing, "--actor", "player", "--model", "x", "--registry", models)
    assert result.exit_code == 2


def test_demo_runs_the_whole_loop(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        main, ["demo", "--trials", "6", "--eval-trials", "3", "--epochs", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for words in (
        "expert mean return",
        "clone mean return",
        "ticks recorded",
        "files written",
        "registered as cartpole-bc@1",
    ):
        assert words in result.output
    store = HDF5Datastore(out / "trials")
    clones = store.trials(tags={"role": "clone"})
    assert len(store.trials(tags={"role": "expert"})) == 6 and len(clones) == 3
    assert all(s.spec.actors[0].implementation == "sb3:cartpole-bc@latest" for s in clones)
    assert ModelRegistry(out / "models").versions("cartpole-bc") == [1]
    assert (out / "returns.png").stat().st_size > 1000 and (out / "expert.yaml").exists()


def test_bc_evaluates_the_clone_of_a_demonstrator_that_had_a_config(tmp_path):
    pusher = {"name": "player", "implementation": "python:tests.helpers:Constant",
              "config": {"action": 1}}  # fmt: skip
    with Orchestrator(datastore=HDF5Datastore(tmp_path / "trials")) as orchestrator:
        orchestrator.run_many(make_spec(CARTPOLE, [pusher], seed=0), 3)
    result = _bc(
        "--datastore", str(tmp_path / "trials"), "--actor", "player", "--model", "pusher",
        "--registry", str(tmp_path / "models"),
    )
    assert result.exit_code == 0, result.output
    clone_row = next(line for line in result.output.splitlines() if "clone (pusher@1)" in line)
    assert " 2 " in clone_row  # its return over the 2 evaluation trials
