"""Journals: the ended trials of a running process, readable before they reach a shard."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from cogym import Orchestrator
from cogym.datastore import HDF5Datastore
from cogym.datastore.format.journal import JournalReader
from cogym.datastore.write import writer
from cogym.errors import DatastoreFormatError
from cogym.spaces import space_to_dict
from tests.conftest import CARTPOLE, PROBE, RENDEZVOUS, make_spec
from tests.datastore.conftest import assert_same_samples


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


SPACES = {
    "box": (spaces.Box(-1, 1, (3,), np.float32), spaces.Box(0, 1, (2,), np.float64)),
    "image": (spaces.Box(0, 255, (4, 4, 3), np.uint8), spaces.Discrete(3, start=-1)),
    "scalars": (spaces.Discrete(5), spaces.MultiBinary(4)),
    "multi": (spaces.MultiDiscrete([3, 2]), spaces.Discrete(2)),
    "nested": (spaces.Dict({"a": spaces.Discrete(2)}), spaces.Discrete(2)),
}


@pytest.mark.parametrize("name", SPACES)
def test_trials_journaled_one_by_one_read_back_as_played(tmp_path, name):
    """Trials journaled as they end (the default) and trials journaled in a group, through the
    trial loop's shortcut (no samples kept) and through samples, all read back the same."""
    observation_space, action_space = SPACES[name]
    spec = make_spec(
        PROBE,
        config={
            "observation_space": space_to_dict(observation_space),
            "action_space": space_to_dict(action_space),
            "episode_length": 6,
        },
        seed=3,
    )
    with Orchestrator(keep_samples=True) as orchestrator:
        played = []
        for index in range(5):
            trial = orchestrator.start(spec, index=index)
            trial.run()
            played.append(trial)
    for commit_seconds in (0, 60):
        root = tmp_path / f"commit-{commit_seconds}"
        datastore = HDF5Datastore(root, commit_seconds=commit_seconds)
        with Orchestrator(datastore=datastore) as orchestrator:
            results = orchestrator.run_many(spec, 5)
            datastore.commit()  # with commit_seconds=60, journals the five as one group
            journaled = HDF5Datastore(root)
            assert {s.location[-8:] for s in journaled.trials()} == {".journal"}
            _assert_same_trials(journaled, results, played)
        _assert_same_trials(HDF5Datastore(root), results, played)


def _assert_same_trials(datastore, results, played) -> None:
    summaries = datastore.trials()
    assert [s.trial_id for s in summaries] == [r.trial_id for r in results]
    for summary, trial in zip(summaries, played, strict=True):
        assert summary.returns == trial.result.returns
        assert summary.recording_error is None
        assert_same_samples(list(datastore.trial(summary.trial_id).samples()), trial.samples)


def test_many_trials_journaled_one_by_one_keep_their_order_among_others(tmp_path, monkeypatch):
    """Trials journaled one by one are stacked into groups every SETTLE_TRIALS trials; other
    trials in between (of another cast, of several actors) keep their place."""
    monkeypatch.setattr(writer, "SETTLE_TRIALS", 3)
    cartpole, probe = make_spec(CARTPOLE, seed=0), make_spec(PROBE, seed=1)
    walkers = [
        {"name": f"walker_{i}", "implementation": "python:cogym.bots:GreedyWalker"}
        for i in range(2)
    ]
    rendezvous = make_spec(RENDEZVOUS, walkers, {"walkers": 2}, seed=2, max_ticks=5)
    with Orchestrator(datastore=HDF5Datastore(tmp_path, commit_seconds=0)) as orchestrator:
        results = []
        for index in range(10):
            spec = {3: probe, 5: rendezvous, 6: rendezvous}.get(index, cartpole)
            results += orchestrator.run_many(spec, 1)
        assert [s.trial_id for s in HDF5Datastore(tmp_path).trials()] == [
            r.trial_id for r in results
        ]
    datastore = HDF5Datastore(tmp_path)
    assert [s.trial_id for s in datastore.trials()] == [r.trial_id for r in results]
    assert [s.ticks for s in datastore.trials()] == [r.ticks for r in results]
    data = datastore.arrays("player", ("observations", "actions"), environment=CARTPOLE)
    assert data.rows == sum(r.ticks for i, r in enumerate(results) if i not in (3, 5, 6))


def test_trials_of_several_specs_joined_into_one_group_keep_their_own_spec(tmp_path):
    first = make_spec(CARTPOLE, seed=0, tags={"batch": "a"})
    second = make_spec(CARTPOLE, seed=5, tags={"batch": "b"}, max_ticks=7)
    with Orchestrator(datastore=HDF5Datastore(tmp_path)) as orchestrator:
        results = []
        for index in range(6):
            results += orchestrator.run_many(second if index % 3 == 2 else first, 1)
    datastore = HDF5Datastore(tmp_path)
    summaries = datastore.trials()
    assert [s.trial_id for s in summaries] == [r.trial_id for r in results]
    assert [s.tags["batch"] for s in summaries] == ["a", "a", "b", "a", "a", "b"]
    for summary, result in zip(summaries, results, strict=True):
        stored = datastore.trial(summary.trial_id)
        assert stored.spec.max_ticks == result.spec.max_ticks
        assert len(list(stored.samples())) == result.ticks
    assert {s.trial_id for s in datastore.trials(tags={"batch": "b"})} == {
        results[2].trial_id,
        results[5].trial_id,
    }
