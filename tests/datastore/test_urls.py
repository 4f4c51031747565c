"""A ``file://`` URL names a datastore directory (other URLs: tests/datastore/objstore/)."""

from __future__ import annotations

from pathlib import Path

from cogym import Orchestrator, TrialSpec
from cogym.datastore import HDF5Datastore

SPEC = """\
environment:
  implementation: gym:CartPole-v1
actors:
  - name: player
    implementation: python:cogym.bots:CartPoleExpert
max_ticks: 5
seed: 0
"""


def test_a_file_url_records_into_its_directory(tmp_path: Path) -> None:
    spec = TrialSpec.from_yaml_text(SPEC)
    url = (tmp_path / "trials").as_uri()
    with Orchestrator(datastore=HDF5Datastore(url)) as orchestrator:
        orchestrator.run_many(spec, 2)
    assert [s.state.value for s in HDF5Datastore(tmp_path / "trials").trials()] == ["ended"] * 2
    in_spec = TrialSpec.from_yaml_text(SPEC + f"datastore: {url}\n")
    assert in_spec.datastore == str(tmp_path / "trials")
