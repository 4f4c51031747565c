"""Journals: the ended trials of a running process, readable before they reach a shard."""

from __future__ import annotations

import pytest

from cogym import Orchestrator
from cogym.datastore import HDF5Datastore
from cogym.datastore.journal import JournalReader
from cogym.errors import DatastoreFormatError
from tests.conftest import CARTPOLE, make_spec


def _journaled(datastore_dir, trials: int = 4):
    """A datastore whose trials are in a journal (the orchestrator is left open)."""
    datastore = HDF5Datastore(datastore_dir, commit_seconds=0)
    orchestrator = Orchestrator(datastore=datastore)
    results = orchestrator.run_many(make_spec(CARTPOLE, seed=0), trials)
    (journal,) = datastore_dir.glob("*.journal")
    return orchestrator, results, journal


def test_trials_are_readable_from_the_journal_then_from_the_shard(datastore_dir):
    orchestrator, results, journal = _journaled(datastore_dir)
    reader = HDF5Datastore(datastore_dir)
    assert [s.location for s in reader.trials()] == [journal.name] * 4
    orchestrator.close()
    assert not journal.exists()
    assert [s.trial_id for s in reader.trials()] == [r.trial_id for r in results]
    assert {s.location for s in reader.trials()} == {journal.name.replace(".journal", ".h5")}


def test_a_record_cut_short_is_ignored(datastore_dir):
    orchestrator, results, journal = _journaled(datastore_dir)
    data = journal.read_bytes()
    orchestrator.close()
    journal.write_bytes(data[:-10])  # as if the process died while writing its last trial
    (datastore_dir / journal.name.replace(".journal", ".h5")).unlink()
    summaries = HDF5Datastore(datastore_dir).trials()
    assert [s.trial_id for s in summaries] == [r.trial_id for r in results[:3]]


def test_a_damaged_record_is_reported_and_the_trials_before_it_are_read(datastore_dir):
    orchestrator, results, journal = _journaled(datastore_dir)
    data = bytearray(journal.read_bytes())
    orchestrator.close()
    data[len(data) // 2] ^= 0xFF
    journal.write_bytes(bytes(data))
    (datastore_dir / journal.name.replace(".journal", ".h5")).unlink()
    datastore = HDF5Datastore(datastore_dir)
    with pytest.warns(UserWarning, match="damaged after its first"):
        summaries = datastore.trials()
    assert 0 < len(summaries) < 4
    assert [s.trial_id for s in summaries] == [r.trial_id for r in results[: len(summaries)]]


def test_a_journal_of_a_newer_format_is_refused_by_name(datastore_dir):
    orchestrator, _, journal = _journaled(datastore_dir)
    data = bytearray(journal.read_bytes())
    data[8] = 9  # the version field of the file header
    with pytest.raises(DatastoreFormatError, match="journal format version 9"):
        _read(journal, bytes(data))
    orchestrator.close()


def _read(journal, data: bytes):
    copy = journal.with_name("copy.journal")
    copy.write_bytes(data)
    return JournalReader(copy).read()
