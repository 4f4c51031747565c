"""Bad input gets a clear error naming the file or id, and one bad file hides nothing else."""

from __future__ import annotations

import json
import warnings

import h5py
import pytest
from click.testing import CliRunner

from cogym.cli import main
from cogym.datastore import HDF5Datastore, UnreadableFileWarning
from cogym.errors import (
    CorruptFileError,
    DatastoreError,
    DatastoreFormatError,
    InputError,
    NotADatastoreError,
    TrialNotFoundError,
)
from tests.conftest import CARTPOLE, make_spec


@pytest.fixture
def two_shards(record, datastore_dir):
    """A datastore with two shards of three trials each."""
    record(make_spec(CARTPOLE, seed=0), trials=3)
    datastore, _ = record(make_spec(CARTPOLE, seed=10), trials=3)
    shards = sorted(datastore_dir.glob("*.h5"))
    assert len(shards) == 2
    return datastore, shards


def test_a_missing_directory_is_not_a_datastore(tmp_path):
    with pytest.raises(NotADatastoreError, match="does not exist"):
        HDF5Datastore(tmp_path / "nowhere").trials()


def test_a_directory_of_other_things_is_not_a_datastore(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(NotADatastoreError, match="not a cogym datastore"):
        HDF5Datastore(tmp_path).trials()


def test_a_file_is_not_a_datastore(tmp_path):
    path = tmp_path / "file.h5"
    path.write_bytes(b"x")
    with pytest.raises(NotADatastoreError, match="is a file"):
        HDF5Datastore(path).trials()


def test_what_is_not_a_readable_datastore_is_a_datastore_error_and_bad_input(tmp_path):
    with pytest.raises(DatastoreError, match="does not exist") as raised:
        HDF5Datastore(tmp_path / "nowhere").trials()
    assert isinstance(raised.value, NotADatastoreError)
    for error in (NotADatastoreError, DatastoreFormatError, CorruptFileError):
        assert issubclass(error, DatastoreError) and issubclass(error, InputError)


def test_a_datastore_of_a_newer_format_is_refused(two_shards, datastore_dir):
    marker = datastore_dir / "cogym-datastore.json"
    data = json.loads(marker.read_text())
    marker.write_text(json.dumps({**data, "version": 99}))
    with pytest.raises(DatastoreFormatError, match="version 99.*upgrade cogym"):
        HDF5Datastore(datastore_dir).trials()


def test_a_shard_of_a_newer_format_is_named_and_the_others_read(two_shards):
    _, (old, new) = two_shards
    with h5py.File(new, "r+") as f:
        f.attrs["version"] = 2
    datastore = HDF5Datastore(old.parent)
    with pytest.warns(UnreadableFileWarning, match=f"{new.name}.*version 2.*upgrade cogym"):
        summaries = datastore.trials()
    assert len(summaries) == 3 and {s.location for s in summaries} == {old.name}


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_corrupt_shard_is_named_and_the_others_read(two_shards, damage):
    datastore, (good, bad) = two_shards
    lost = {s.trial_id for s in datastore.trials() if s.location == bad.name}
    data = bad.read_bytes()
    bad.write_bytes(
        {"garbage": b"\x00garbage" * 100, "truncated": data[: len(data) // 2], "empty": b""}[damage]
    )
    fresh = HDF5Datastore(good.parent)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summaries = fresh.trials()
    assert len(summaries) == 3
    messages = [str(w.message) for w in caught if issubclass(w.category, UnreadableFileWarning)]
    assert messages and bad.name in messages[0] and "damaged" in messages[0]
    assert [p.path for p in fresh.problems] == [bad]
    with pytest.raises(TrialNotFoundError, match=f"unreadable file: {bad.name}"):
        fresh.trial(lost.pop())


def test_a_damaged_dataset_inside_a_shard_is_named_when_read(two_shards):
    datastore, (_, bad) = two_shards
    victim = next(s for s in datastore.trials() if s.location == bad.name)
    with h5py.File(bad, "r+") as f:
        del f["actors/0/tick"]
    found = pytest.warns(UnreadableFileWarning, match=bad.name)  # its columns fail the check
    with found, pytest.raises(TrialNotFoundError, match=f"unreadable file: {bad.name}"):
        HDF5Datastore(bad.parent).trial(victim.trial_id)


def test_an_unknown_trial_id_is_named(two_shards):
    datastore, _ = two_shards
    with pytest.raises(TrialNotFoundError, match="no trial 'nope'.*6 trials"):
        datastore.trial("nope")


def test_an_ambiguous_prefix_is_named(two_shards):
    datastore, _ = two_shards
    with pytest.raises(TrialNotFoundError, match="ambiguous"):
        datastore.trial("")


def test_the_command_line_exits_with_2_and_names_the_problem(two_shards, datastore_dir, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["trials", "show", "--datastore", str(datastore_dir), "nope"])
    assert result.exit_code == 2 and "no trial 'nope'" in result.output
    result = runner.invoke(main, ["trials", "ls", "--datastore", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "does not exist" in result.output
    _, (_, bad) = two_shards
    bad.write_bytes(b"broken")
    result = runner.invoke(main, ["trials", "ls", "--datastore", str(datastore_dir)])
    assert result.exit_code == 0
    assert bad.name in result.output and "3 matching" in result.output


def test_recording_into_a_directory_of_other_things_is_refused(tmp_path):
    from cogym import Orchestrator

    (tmp_path / "thesis.tex").write_text("...")
    with Orchestrator(datastore=HDF5Datastore(tmp_path)) as orchestrator:
        result = orchestrator.run(make_spec(CARTPOLE, seed=0))
    assert result.state.value == "failed" and "thesis.tex" in result.error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.tex"]
