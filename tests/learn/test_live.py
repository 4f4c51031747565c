"""The live loop: follow_and_clone and `cogym bc --follow` publish a version every K trials."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cogym import ModelRegistry, Orchestrator
from cogym.cli import main
from cogym.datastore import HDF5Datastore
from cogym.errors import InvalidArgumentError
from cogym.learn import follow_and_clone
from tests.conftest import CARTPOLE, make_spec

ROOT = Path(__file__).resolve().parents[2]
EXPERT = "python:cogym.bots:CartPoleExpert"


def _expert_spec(seed: int):
    return make_spec(
        CARTPOLE, [{"name": "player", "implementation": EXPERT}], seed=seed, max_ticks=60
    )


def _record_elsewhere(spec_path: Path, datastore: Path, seed: int, trials: int = 3) -> list[str]:
    """``cogym run`` in another process; returns the ids of the trials it recorded."""
    store = HDF5Datastore(datastore)
    before = {s.trial_id for s in store.trials()} if datastore.exists() else set()
    run = subprocess.run(
        [sys.executable, "-m", "cogym", "run", str(spec_path), "--trials", str(trials), "-q",
         "--seed", str(seed), "--datastore", str(datastore)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stderr
    return sorted({s.trial_id for s in store.trials()} - before)


def _bc_follow(datastore: Path, registry: Path, *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cogym", "bc", "--follow", "--datastore", str(datastore),
         "--actor", "player", "--model", "live", "--registry", str(registry), "--epochs", "2",
         "--eval-trials", "0", "-q", *options],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_version(registry: Path, version: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 240
    while not (registry / "live" / str(version) / "meta.json").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"live@{version} was never published"
        time.sleep(0.05)


@pytest.mark.slow
def test_bc_follow_publishes_a_version_every_k_trials_recorded_by_another_process(tmp_path):
    spec_path, datastore, registry = tmp_path / "spec.yaml", tmp_path / "trials", tmp_path / "m"
    spec_path.write_text(_expert_spec(0).to_yaml())
    first = _record_elsewhere(spec_path, datastore, seed=0)
    follower = _bc_follow(datastore, registry, "--every", "3", "--max-versions", "2")
    _wait_for_version(registry, 1, follower)
    second = _record_elsewhere(spec_path, datastore, seed=100)
    out, err = follower.communicate(timeout=240)
    assert follower.returncode == 0, err
    models = ModelRegistry(registry)
    assert sorted(models.info("live@1").lineage["trial_ids"]) == first
    assert sorted(models.info("live@2").lineage["trial_ids"]) == sorted(first + second)
    assert models.info("live@latest").version == 2
    assert "published live@1: 3 trials" in out and "published live@2: 6 trials" in out
    assert "done: 2 version(s) published; the last is live@2" in out


@pytest.mark.slow
def test_sigterm_stops_bc_follow_with_the_last_version_whole(tmp_path):
    spec_path, datastore, registry = tmp_path / "spec.yaml", tmp_path / "trials", tmp_path / "m"
    spec_path.write_text(_expert_spec(0).to_yaml())
    _record_elsewhere(spec_path, datastore, seed=0, trials=2)
    follower = _bc_follow(datastore, registry, "--every", "2")
    _wait_for_version(registry, 1, follower)
    os.kill(follower.pid, signal.SIGTERM)
    out, err = follower.communicate(timeout=120)
    assert follower.returncode == 0, err
    assert "stopped: 1 version(s) published; the last is live@1" in out
    model = ModelRegistry(registry).load("live@latest")  # the checksum is verified on load
    assert model.observation_space.shape == (4,)


def test_follow_and_clone_learns_each_trial_once_and_names_them(tmp_path):
    datastore, registry = tmp_path / "trials", tmp_path / "m"
    with Orchestrator(datastore=HDF5Datastore(datastore)) as orchestrator:
        orchestrator.run_many(_expert_spec(0), 4)
    seen = []
    reports = follow_and_clone(
        datastore, "player", "live", registry, every=2, timeout=0.2, epochs=1,
        on_version=seen.append,
    )
    everything = sorted(s.trial_id for s in HDF5Datastore(datastore).trials())
    # the first version came after two trials, and learnt from all four recorded by then;
    # the two others were not counted again as new, so no second version
    assert [r.version for r in reports] == [1] and seen == reports
    assert sorted(reports[0].trial_ids) == everything
    assert sorted(ModelRegistry(registry).info("live@1").lineage["trial_ids"]) == everything


def test_bad_loop_options_exit_2_naming_the_option(tmp_path):
    datastore = tmp_path / "trials"
    with Orchestrator(datastore=HDF5Datastore(datastore)) as orchestrator:
        orchestrator.run(_expert_spec(0))
    base = ["bc", "-q", "--datastore", str(datastore), "--actor", "player", "--model", "x",
            "--registry", str(tmp_path / "m")]
    for options, named in (
        (["--follow", "--every", "0"], "--every"),
        (["--follow", "--max-versions", "0"], "--max-versions"),
        (["--follow", "--timeout", "-1"], "--timeout"),
        (["--every", "3"], "--every"),
    ):
        result = CliRunner().invoke(main, base + options)
        assert result.exit_code == 2, (options, result.output)
        assert named in result.output, (options, result.output)
    with pytest.raises(InvalidArgumentError, match="every"):
        follow_and_clone(datastore, "player", "x", tmp_path / "m", every=0)
