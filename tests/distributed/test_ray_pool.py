"""Trials on Ray: the same trials as locally, one shard per worker, killed workers, @latest, CLI."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from cogym import Orchestrator, TrialState
from cogym.cli import main
from cogym.datastore import HDF5Datastore
from cogym.datastore.replay import same_value
from cogym.distributed import RayVecEnv
from cogym.errors import MissingExtraError
from cogym.orchestrator import TrialEvent
from cogym.registry import ModelRegistry
from tests.conftest import CARTPOLE, PROBE, make_spec

pytestmark = pytest.mark.ray

BOX_PROBE = {
    "episode_length": 12,
    "reward": "fingerprint",
    "observation_space": {
        "type": "Box",
        "low": -1.0,
        "high": 1.0,
        "shape": [2, 3],
        "dtype": "float32",
    },
}


def _recorded(path: Path) -> dict[int, tuple]:
    """Every recorded trial by seed: its summary figures and its ticks."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unreadable file would warn
        datastore = HDF5Datastore(path)
        summaries = datastore.trials()
        assert datastore.problems == []
    out = {}
    for summary in summaries:
        samples = list(datastore.trial(summary.trial_id).samples())
        out[summary.seed] = (summary.state, summary.ticks, dict(summary.returns), samples)
    return out


def _assert_same_recordings(a: dict[int, tuple], b: dict[int, tuple]) -> None:
    assert sorted(a) == sorted(b)
    for seed, (state, ticks, returns, samples) in a.items():
        state_b, ticks_b, returns_b, samples_b = b[seed]
        assert (state, ticks, returns) == (state_b, ticks_b, returns_b), seed
        assert [s.tick for s in samples] == [s.tick for s in samples_b]
        for s, t in zip(samples, samples_b, strict=True):
            assert same_value(s.observations, t.observations), (seed, s.tick)
            assert same_value(s.actions, t.actions), (seed, s.tick)
            assert s.rewards == t.rewards and s.terminated == t.terminated, (seed, s.tick)


def test_ray_runs_record_the_same_trials_as_local_runs(
    ray_session: ModuleType, tmp_path: Path
) -> None:
    spec = make_spec(PROBE, [{"name": "player", "implementation": "random"}], BOX_PROBE, seed=123)
    with Orchestrator(datastore=HDF5Datastore(tmp_path / "local")) as orchestrator:
        local = orchestrator.run_many(spec, 8)
    events: list[TrialEvent] = []
    with Orchestrator(datastore=HDF5Datastore(tmp_path / "ray"), backend="ray") as orchestrator:
        orchestrator.subscribe(events.append)
        remote = orchestrator.run_many(spec, 8, workers=2)

    def figures(results):
        return [(r.index, r.seed, r.state, r.ticks, r.returns) for r in results]

    assert figures(remote) == figures(local)
    assert len({r.returns["player"] for r in remote}) == 8
    _assert_same_recordings(_recorded(tmp_path / "ray"), _recorded(tmp_path / "local"))
    writers = {path.name.split("-")[-2] for path in (tmp_path / "ray").glob("*.h5")}
    assert len(writers) == 2  # each worker published its own shard

    by_trial: dict[int, list[str]] = {}
    for event in events:
        by_trial.setdefault(event.index, []).append(event.kind)
    assert by_trial == {i: ["started", "ended"] for i in range(8)}
    assert {e.worker for e in events} == {0, 1}


def test_a_killed_worker_loses_only_the_attempt_in_flight(
    ray_session: ModuleType, tmp_path: Path
) -> None:
    marker = tmp_path / "killed"
    spec = make_spec(
        PROBE,
        [
            {
                "name": "player",
                "implementation": "python:tests.distributed.actors:KillOnce",
                "config": {"seed": 5, "marker": str(marker), "at": 4},
            }
        ],
        {"episode_length": 10},
        seed=0,
    )
    with Orchestrator(datastore=HDF5Datastore(tmp_path / "trials"), backend="ray") as orchestrator:
        results = list(orchestrator.iter_run(spec, 12, workers=2))
    assert marker.exists()  # the worker playing trial 5 was killed at its tick 4
    assert sorted(r.index for r in results) == list(range(12))
    assert [r.state for r in results] == [TrialState.ENDED] * 12
    assert all(r.ticks == 10 for r in results)

    recorded = _recorded(tmp_path / "trials")
    assert sorted(recorded) == list(range(12))  # trial 5 once, complete; nothing lost
    assert all(state is TrialState.ENDED and ticks == 10 for state, ticks, *_ in recorded.values())
    datastore = HDF5Datastore(tmp_path / "trials")
    assert len(datastore) == 12 and {t.trial_id for t in datastore.trials()} == {
        r.trial_id for r in results
    }
    datastore.compact()  # the dead worker's journal merges like any other file
    assert len(HDF5Datastore(tmp_path / "trials")) == 12


def test_a_trial_that_kills_its_worker_every_time_fails_alone(ray_session: ModuleType) -> None:
    spec = make_spec(
        PROBE,
        [
            {
                "name": "player",
                "implementation": "python:tests.helpers:DieOnSeed",
                "config": {"seed": 22},
            }
        ],
        {"episode_length": 3},
        seed=20,
    )
    with Orchestrator(backend="ray") as orchestrator:
        results = orchestrator.run_many(spec, 6, workers=2, retries=1)
    assert [r.state.value for r in results] == [
        "ended",
        "ended",
        "failed",
        "ended",
        "ended",
        "ended",
    ]
    assert "died while running trial" in results[2].error and "2 time(s)" in results[2].error


def _tiny_ppo(seed: int):
    from stable_baselines3 import PPO

    return PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, seed=seed, device="cpu")


def test_workers_pick_up_versions_published_during_the_run(
    ray_session: ModuleType, registry_dir: Path
) -> None:
    registry = ModelRegistry(registry_dir)
    registry.save("cartpole-ppo", _tiny_ppo(0))
    spec = make_spec(
        CARTPOLE,
        [{"name": "player", "implementation": "sb3:cartpole-ppo@latest"}],
        seed=0,
        max_ticks=5,
    )
    before: list[str] = []
    published = False
    after: dict[int, list[str]] = {}
    """What each worker played once the new version was published, in the order it played."""
    worker_of: dict[str, int] = {}
    new = "sb3:cartpole-ppo@2"

    def note_worker(event: TrialEvent) -> None:
        if event.result is not None:
            worker_of[event.trial_id] = event.worker

    with Orchestrator(registry=registry_dir, backend="ray") as orchestrator:
        orchestrator.subscribe(note_worker)
        results = orchestrator.iter_run(spec, 10_000, workers=2)
        for result in results:
            assert result.state is TrialState.ENDED, result.error
            played = result.implementations["player"]
            if not published:
                before.append(played)
                if len(set(worker_of.values())) == 2:  # both have played: a trainer publishes
                    registry.save("cartpole-ppo", _tiny_ppo(1))
                    published = True
                continue
            after.setdefault(worker_of[result.trial_id], []).append(played)
            if len(after) == 2 and all(runs.count(new) >= 10 for runs in after.values()):
                break
        else:
            pytest.fail(f"10,000 trials ran and the workers played {new} only {after}")
    assert set(before) == {"sb3:cartpole-ppo@1"}
    # Each worker pins @latest as each trial starts: both pick up the new version during the
    # run, and a worker that has played it plays nothing older afterwards. (The results of one
    # worker come back in the order it played them.)
    assert sorted(after) == [0, 1]
    for played in after.values():
        switched = played.index(new)
        assert set(played[:switched]) <= {"sb3:cartpole-ppo@1"}
        assert set(played[switched:]) == {new}


def test_cogym_run_on_ray_with_more_workers_than_cpus(
    ray_session: ModuleType, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "environment:\n  implementation: gym:CartPole-v1\nactors:\n  - name: player\n"
        "    implementation: python:cogym.bots:CartPoleExpert\nmax_ticks: 50\nseed: 0\n"
    )
    trials = tmp_path / "trials"
    arguments = [
        "run",
        str(spec),
        "-n",
        "6",
        "--backend",
        "ray",
        "--workers",
        "3",
        "--datastore",
        str(trials),
    ]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert "6 trials (6 ended)" in result.output and "300 ticks" in result.output
    assert len(HDF5Datastore(trials)) == 6

    result = CliRunner().invoke(main, ["run", str(spec), "--address", "10.0.0.1:6379"])
    assert result.exit_code == 2
    assert "--backend ray" in result.output


def test_without_ray_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with (
        Orchestrator(backend="ray") as orchestrator,
        pytest.raises(MissingExtraError, match=r'pip install "cogym\[ray\]"'),
    ):
        orchestrator.run_many(make_spec(PROBE, seed=0), 2, workers=2)
    external = make_spec(PROBE, [{"name": "player", "implementation": "external"}])
    with pytest.raises(MissingExtraError, match=r"RayVecEnv .* pip install \"cogym\[ray\]\""):
        RayVecEnv(external, n_envs=2)
    with pytest.raises(ValueError, match="unknown backend 'spark'; use one of 'local', 'ray'"):
        Orchestrator(backend="spark")
