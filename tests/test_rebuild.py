"""``environment: {rebuild: per_trial}``: a fresh environment for every trial, so that an env
whose ``reset`` leaves state behind still gives trials that depend only on their seed."""

from __future__ import annotations

import pytest

from cogym import Orchestrator, TrialSpec
from cogym.datastore import HDF5Datastore
from cogym.errors import SpecError
from tests.conftest import PROBE, make_spec
from tests.datastore import actors

KAZ = "pettingzoo:pettingzoo.butterfly.knights_archers_zombies_v11:parallel_env"


def _leaky(rebuild: str | None) -> TrialSpec:
    spec = make_spec(
        PROBE,
        [{"name": "player", "implementation": "random"}],
        {"episode_length": 8, "reward": "fingerprint", "leaky_reset": True},
        seed=5,
    )
    if rebuild is None:
        return spec
    return spec.replace(environment={**spec.environment.model_dump(), "rebuild": rebuild})


def _second_trial_then_alone(spec: TrialSpec, workers: int = 1) -> tuple[float, float]:
    with Orchestrator() as orchestrator:
        after_another = orchestrator.run_many(spec, 2, workers=workers)[1]
    with Orchestrator() as orchestrator:
        alone = orchestrator.run(spec.with_seed(after_another.seed))
    return after_another.returns["player"], alone.returns["player"]


def test_by_default_an_env_that_does_not_fully_reset_carries_state_into_the_next_trial():
    second, alone = _second_trial_then_alone(_leaky(None))
    assert second != alone


@pytest.mark.parametrize("workers", [1, 2])
def test_rebuild_per_trial_makes_each_trial_depend_only_on_its_seed(workers):
    second, alone = _second_trial_then_alone(_leaky("per_trial"), workers)
    assert second == alone


def test_rebuild_per_trial_on_knights_archers_zombies():
    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": KAZ, "rebuild": "per_trial"},
            "actors": [
                {"name": name, "implementation": "random"}
                for name in ("archer_0", "archer_1", "knight_0", "knight_1")
            ],
            "seed": 1,
            "max_ticks": 400,
        }
    )
    with Orchestrator() as orchestrator:
        second = orchestrator.run_many(spec, 2)[1]
    with Orchestrator() as orchestrator:
        alone = orchestrator.run(spec.with_seed(second.seed))
    assert (second.ticks, dict(second.returns)) == (alone.ticks, dict(alone.returns))


def test_a_rebuild_value_that_does_not_exist_is_named():
    with pytest.raises(SpecError, match=r"environment\.rebuild") as caught:
        TrialSpec.from_dict(
            {"environment": {"implementation": PROBE, "rebuild": "always"}, "actors": []}
        )
    assert "per_trial" in str(caught.value)


def test_rebuild_survives_a_spec_written_back_and_read_again():
    for rebuild in ("never", "per_trial"):
        spec = _leaky(rebuild)
        assert TrialSpec.from_yaml_text(spec.to_yaml()).environment.rebuild == rebuild
    assert _leaky(None).environment.rebuild == "never"


def test_replay_says_when_an_env_that_does_not_fully_reset_explains_the_difference(tmp_path):
    datastore = HDF5Datastore(tmp_path / "trials")
    with Orchestrator(datastore=datastore) as orchestrator:
        first, second = orchestrator.run_many(_leaky(None), 2)
    assert datastore.replay(first.trial_id).reproduced
    report = datastore.replay(second.trial_id)
    assert not report.reproduced
    assert report.difference.field == "environment reward"
    assert "does not fully reset" in str(report)
    assert "rebuild: per_trial" in str(report)


def test_trials_recorded_with_rebuild_per_trial_all_replay(tmp_path):
    datastore = HDF5Datastore(tmp_path / "trials")
    with Orchestrator(datastore=datastore) as orchestrator:
        results = orchestrator.run_many(_leaky("per_trial"), 3)
    assert [datastore.replay(r.trial_id).reproduced for r in results] == [True] * 3


def test_replay_says_when_the_env_is_not_deterministic_at_all(tmp_path):
    datastore = HDF5Datastore(tmp_path / "trials")
    with Orchestrator(datastore=datastore) as orchestrator:
        (result,) = orchestrator.run_many(make_spec("python:tests.datastore.actors:noisy"), 1)
    report = datastore.replay(result.trial_id)
    assert not report.reproduced
    assert "not deterministic" in str(report)
    assert "rebuilding it does not change that" in str(report)


def test_replay_says_when_rebuilding_the_env_changes_nothing(tmp_path, monkeypatch):
    datastore = HDF5Datastore(tmp_path / "trials")
    with Orchestrator(datastore=datastore) as orchestrator:
        (result,) = orchestrator.run_many(make_spec("python:tests.datastore.actors:revised"), 1)
    monkeypatch.setattr(actors, "STEP_REWARD", 2.0)
    report = datastore.replay(result.trial_id)
    assert not report.reproduced
    assert report.difference.field == "environment reward"
    assert "rebuilding the environment does not change the result" in str(report)
