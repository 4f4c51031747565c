"""A datastore URL that cannot be used is refused naming it, with exit code 2, before any
trial runs: no bucket, no credentials, no fsspec backend, nothing after the scheme."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cogym import TrialSpec
from cogym.cli import main
from cogym.datastore import HDF5Datastore
from cogym.errors import NotADatastoreError, SpecError

SPEC = """\
environment:
  implementation: gym:CartPole-v1
actors:
  - name: player
    implementation: python:cogym.bots:CartPoleExpert
max_ticks: 5
seed: 0
"""


def _run(url: str, folder: Path) -> tuple[int, str]:
    (folder / "spec.yaml").write_text(SPEC)
    result = CliRunner().invoke(
        main, ["run", str(folder / "spec.yaml"), "--datastore", url, "-n", "2"]
    )
    return result.exit_code, result.output


def _no_trial_ran(folder: Path) -> None:
    spool = folder / "spool"
    assert not spool.exists() or not any(spool.rglob("*.journal")), "a trial ran"
    assert not any(folder.glob("s3*")), "the URL was taken for a local path"


def test_a_bucket_that_does_not_exist_exits_2_naming_the_url_and_the_bucket(
    s3_env: dict[str, str], tmp_path: Path
) -> None:
    code, output = _run("s3://no-such-bucket/trials", tmp_path)
    assert code == 2, output
    assert "--datastore" in output and "s3://no-such-bucket/trials" in output
    assert "'no-such-bucket' exists" in output
    _no_trial_ran(tmp_path)


def test_missing_credentials_exit_2_naming_the_url_and_credentials(
    s3_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    code, output = _run(s3_url, tmp_path)
    assert code == 2, output
    assert s3_url in output and "credentials" in output
    _no_trial_ran(tmp_path)


@pytest.mark.parametrize(
    ("url", "said"),
    [("nosuchscheme://bucket/trials", "nosuchscheme"), ("s3://", "nothing after the scheme")],
)
def test_a_url_fsspec_cannot_open_exits_2_naming_it(url: str, said: str, tmp_path: Path) -> None:
    code, output = _run(url, tmp_path)
    assert code == 2, output
    assert url in output and said in output
    _no_trial_ran(tmp_path)


def test_reading_a_url_where_no_datastore_is_exits_2_naming_it(s3_url: str) -> None:
    result = CliRunner().invoke(main, ["trials", "ls", "--datastore", s3_url])
    assert result.exit_code == 2, result.output
    assert s3_url in result.output and "no datastore" in result.output


def test_a_url_holding_other_objects_is_not_taken_for_a_datastore(memory_url: str) -> None:
    import fsspec

    fsspec.filesystem("memory").pipe_file(memory_url[len("memory://") :] + "/notes.txt", b"x")
    with pytest.raises(NotADatastoreError, match="notes.txt"):
        HDF5Datastore(memory_url).store.ensure()


def test_a_spec_may_name_a_url_datastore_but_not_a_bare_scheme() -> None:
    spec = TrialSpec.from_yaml_text(SPEC + "datastore: s3://bucket/run1\n")
    assert spec.datastore == "s3://bucket/run1"
    with pytest.raises(SpecError, match="datastore"):
        TrialSpec.from_yaml_text(SPEC + "datastore: 's3://'\n")
