"""Replaying a datastore from elsewhere is a trust decision: nothing its specs name is imported
until the user says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cogym import TrialSpec
from cogym.datastore import HDF5Datastore
from cogym.errors import UntrustedCodeError
from cogym.trust import loads_of, replay_loads
from tests.conftest import CARTPOLE, RENDEZVOUS, make_spec

MODULE = """\
import pathlib

import gymnasium as gym

pathlib.Path("imported.txt").write_text("the module ran")


def make(**config):
    return gym.make("CartPole-v1", **config)
"""


def cogym(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cogym", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def foreign(tmp_path: Path) -> tuple[Path, str]:
    """A datastore whose trial's environment is a module that leaves a file when imported."""
    (tmp_path / "sent_env.py").write_text(MODULE)
    spec = make_spec("python:sent_env:make", seed=3, max_ticks=20)
    (tmp_path / "spec.yaml").write_text(spec.to_yaml())
    recorded = cogym("run", "spec.yaml", "-q", "--datastore", "trials", cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stderr
    (tmp_path / "imported.txt").unlink()
    (summary,) = HDF5Datastore(tmp_path / "trials").trials()
    return tmp_path, summary.trial_id


def test_replay_lists_what_it_would_import_and_needs_trust(foreign) -> None:
    folder, trial_id = foreign
    refused = cogym("trials", "replay", "-d", "trials", trial_id, cwd=folder)
    assert refused.returncode == 2, refused.stderr
    assert "imports module 'sent_env' and calls its make(**config)" in refused.stderr
    assert "--trust" in refused.stderr and "Traceback" not in refused.stderr
    assert not (folder / "imported.txt").exists()  # the command has ended: nothing was imported

    trusted = cogym("trials", "replay", "-d", "trials", trial_id, "--trust", cwd=folder)
    assert trusted.returncode == 0, trusted.stderr
    assert "reproduces" in trusted.stdout
    assert (folder / "imported.txt").read_text() == "the module ran"


def test_the_python_api_refuses_untrusted_specs_when_asked(foreign) -> None:
    folder, trial_id = foreign
    datastore = HDF5Datastore(folder / "trials")
    with pytest.raises(UntrustedCodeError, match="trust=True") as caught:
        datastore.replay(trial_id, trust=False)
    assert [load.target for load in caught.value.loads] == ["sent_env"]
    assert not (folder / "imported.txt").exists()


def test_a_replay_that_loads_nothing_needs_no_flag(tmp_path, datastore_dir) -> None:
    (tmp_path / "spec.yaml").write_text(make_spec(CARTPOLE, seed=1, max_ticks=10).to_yaml())
    assert (
        cogym("run", "spec.yaml", "-q", "--datastore", str(datastore_dir), cwd=tmp_path).returncode
        == 0
    )
    (summary,) = HDF5Datastore(datastore_dir).trials()
    assert HDF5Datastore(datastore_dir).replay(summary.trial_id, trust=False).reproduced
    replayed = cogym("trials", "replay", "-d", str(datastore_dir), summary.trial_id, cwd=tmp_path)
    assert replayed.returncode == 0 and "reproduces" in replayed.stdout


def _spec(environment: str, *actors: str) -> TrialSpec:
    return TrialSpec.from_dict(
        {
            "environment": {"implementation": environment},
            "actors": [{"name": f"a{i}", "implementation": a} for i, a in enumerate(actors)],
        }
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (_spec(CARTPOLE, "random", "external", "human"), []),
        (_spec("gym:cogym/Probe-v0", "random"), []),
        (_spec("gym:my_pkg.envs:Maze-v0", "random"), [("environment", "module", "my_pkg.envs")]),
        (_spec(RENDEZVOUS, "random"), [("environment", "module", "cogym.envs.rendezvous_v0")]),
        (
            _spec(CARTPOLE, "sb3:models/ppo.zip", "sb3:cartpole-ppo@champion", "python:bots:make"),
            [
                ("actor 'a0'", "model file", "models/ppo.zip"),
                ("actor 'a1'", "registry model", "cartpole-ppo@champion"),
                ("actor 'a2'", "module", "bots"),
            ],
        ),
        (
            _spec("my-entry-point", "cogment:grpc://x:9000/a"),
            [
                ("environment", "entry point", "my-entry-point"),
                ("actor 'a0'", "implementation", "cogment:grpc://x:9000/a"),
            ],
        ),
    ],
)
def test_what_a_spec_would_load(spec, expected) -> None:
    assert [(load.who, load.kind, load.target) for load in loads_of(spec)] == expected
    assert all(load.who == "environment" for load in replay_loads(spec))
