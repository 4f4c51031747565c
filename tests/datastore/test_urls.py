"""A datastore is a local directory: a URL given for one is refused before anything runs.

Taken as a path, ``s3://bucket/run1`` used to record into a folder named ``s3:`` in the working
directory and exit 0.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cogym import Orchestrator, TrialSpec
from cogym.cli import main
from cogym.datastore import HDF5Datastore
from cogym.errors import NotADatastoreError, SpecError

URLS = ["s3://bucket/run1", "gs://bucket/trials", "memory://trials", "S3://Bucket/x"]

SPEC = """\
environment:
  implementation: gym:CartPole-v1
actors:
  - name: player
    implementation: python:cogym.bots:CartPoleExpert
max_ticks: 5
seed: 0
"""


def _nothing_written(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir()) == ["spec.yaml"]


@pytest.mark.parametrize("url", URLS)
def test_a_url_is_refused_by_the_datastore_naming_it(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(SPEC)
    with pytest.raises(NotADatastoreError, match="object storage is not supported") as caught:
        HDF5Datastore(url)
    assert repr(url) in str(caught.value)
    _nothing_written(tmp_path)


@pytest.mark.parametrize("url", URLS)
def test_cogym_run_with_a_url_datastore_exits_2_before_any_trial(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(SPEC)
    result = CliRunner().invoke(main, ["run", "spec.yaml", "--datastore", url, "-n", "2"])
    assert result.exit_code == 2, result.output
    assert "--datastore" in result.output
    assert url in result.output
    _nothing_written(tmp_path)


def test_cogym_trials_ls_on_a_url_exits_2_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(SPEC)
    result = CliRunner().invoke(main, ["trials", "ls", "--datastore", "s3://bucket/run1"])
    assert result.exit_code == 2, result.output
    assert "s3://bucket/run1" in result.output
    _nothing_written(tmp_path)


def test_a_spec_whose_datastore_is_a_url_is_refused_naming_the_field(tmp_path: Path) -> None:
    text = SPEC + "datastore: s3://bucket/run1\n"
    with pytest.raises(SpecError, match="datastore") as caught:
        TrialSpec.from_yaml_text(text)
    assert "s3://bucket/run1" in str(caught.value)


def test_a_file_url_records_into_its_directory(tmp_path: Path) -> None:
    spec = TrialSpec.from_yaml_text(SPEC)
    url = (tmp_path / "trials").as_uri()
    with Orchestrator(datastore=HDF5Datastore(url)) as orchestrator:
        orchestrator.run_many(spec, 2)
    assert [s.state.value for s in HDF5Datastore(tmp_path / "trials").trials()] == ["ended"] * 2
    in_spec = TrialSpec.from_yaml_text(SPEC + f"datastore: {url}\n")
    assert in_spec.datastore == str(tmp_path / "trials")
