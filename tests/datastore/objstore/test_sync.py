"""``cogym trials sync SRC DST`` between a directory and a URL, both ways: resumable, checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cogym import Orchestrator
from cogym.cli import main
from cogym.datastore import HDF5Datastore
from cogym.datastore.objstore import sync as sync_module
from cogym.datastore.objstore.sync import sync
from cogym.errors import DatastoreError
from tests.conftest import PROBE, make_spec

SPEC = make_spec(PROBE, config={"episode_length": 5}, seed=2)


def _record(root: str | Path, trials: int) -> list[str]:
    with Orchestrator(datastore=HDF5Datastore(root, shard_bytes=1)) as orchestrator:
        return [r.trial_id for r in orchestrator.run_many(SPEC, trials)]


def _rows(root: str | Path) -> np.ndarray:
    return HDF5Datastore(root).arrays("player", ("observations",))["observations"]


def test_sync_copies_a_directory_to_a_url_and_back_with_the_same_trials(
    s3_url: str, tmp_path: Path
) -> None:
    ids = _record(tmp_path / "here", 4)
    runner = CliRunner()
    up = runner.invoke(main, ["trials", "sync", str(tmp_path / "here"), s3_url])
    assert up.exit_code == 0, up.output
    assert "copied 4 shard(s)" in up.output
    assert sorted(s.trial_id for s in HDF5Datastore(s3_url).trials()) == sorted(ids)
    down = runner.invoke(main, ["trials", "sync", s3_url, str(tmp_path / "back")])
    assert down.exit_code == 0, down.output
    np.testing.assert_array_equal(_rows(tmp_path / "back"), _rows(tmp_path / "here"))
    again = runner.invoke(main, ["trials", "sync", str(tmp_path / "here"), s3_url])
    assert "copied 0 shard(s)" in again.output and "4 already there" in again.output


def test_an_interrupted_sync_resumes_where_it_stopped(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(tmp_path / "here", 3)
    real = sync_module._Bucket.put
    done: list[str] = []

    def put_twice_then_fail(self, shard, path, sha256):  # noqa: ANN001, ANN202
        if len(done) == 2:
            raise ConnectionError("network down")
        real(self, shard, path, sha256)
        done.append(shard.name)

    monkeypatch.setattr(sync_module._Bucket, "put", put_twice_then_fail)
    with pytest.raises(ConnectionError):
        sync(tmp_path / "here", url)
    assert len(HDF5Datastore(url)) == 2
    monkeypatch.setattr(sync_module._Bucket, "put", real)
    report = sync(tmp_path / "here", url)
    assert len(report.copied) == 1 and report.skipped == 2
    np.testing.assert_array_equal(np.sort(_rows(url), 0), np.sort(_rows(tmp_path / "here"), 0))


def test_a_compaction_in_the_source_carries_over_without_duplicates(
    memory_url: str, tmp_path: Path
) -> None:
    ids = _record(tmp_path / "here", 3)
    sync(tmp_path / "here", memory_url)
    HDF5Datastore(tmp_path / "here").compact()
    report = sync(tmp_path / "here", memory_url)
    assert len(report.copied) == 1
    there = HDF5Datastore(memory_url)
    assert sorted(s.trial_id for s in there.trials()) == sorted(ids)
    assert len(there.arrays("player", ("tick",))["tick"]) == 3 * 5
    sync(memory_url, tmp_path / "back")
    assert len(HDF5Datastore(tmp_path / "back").arrays("player", ("tick",))["tick"]) == 3 * 5


def test_a_damaged_download_is_refused_and_not_written(memory_url: str, tmp_path: Path) -> None:
    _record(memory_url, 1)
    datastore = HDF5Datastore(memory_url)
    (name,) = datastore.store.commit_names()
    key = datastore.store.key("shards", name)
    data = bytearray(datastore.store.fs.cat_file(key))
    data[len(data) // 2] ^= 0xFF
    datastore.store.fs.pipe_file(key, bytes(data))
    with pytest.raises(DatastoreError, match="does not match its commit record"):
        sync(memory_url, tmp_path / "back")
    assert not (tmp_path / "back" / name).exists()


def test_sync_from_a_url_without_a_datastore_exits_2_naming_src(
    memory_url: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(main, ["trials", "sync", memory_url, str(tmp_path / "x")])
    assert result.exit_code == 2, result.output
    assert "SRC" in result.output and memory_url in result.output


def test_sync_from_a_directory_that_is_no_datastore_exits_2_naming_src(
    memory_url: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(main, ["trials", "sync", str(tmp_path / "none"), memory_url])
    assert result.exit_code == 2, result.output
    assert "SRC" in result.output and str(tmp_path / "none") in result.output
