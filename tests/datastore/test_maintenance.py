"""Deleting trials and compacting small files, without losing a trial."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from cogym import Orchestrator
from cogym.datastore import HDF5Datastore
from cogym.errors import DatastoreError
from tests.conftest import CARTPOLE, make_spec
from tests.datastore.conftest import assert_same_samples


def _many_small_shards(datastore_dir, count: int = 8) -> HDF5Datastore:
    datastore = HDF5Datastore(datastore_dir)
    with Orchestrator(datastore=datastore) as orchestrator:
        for i in range(count):
            orchestrator.run_many(make_spec(CARTPOLE, seed=100 * i), 3)
            datastore.flush()
    return HDF5Datastore(datastore_dir)


def test_compact_merges_small_shards_without_losing_a_trial(datastore_dir):
    datastore = _many_small_shards(datastore_dir)
    before = {s.trial_id: list(datastore.trial(s.trial_id).samples()) for s in datastore.trials()}
    assert len(list(datastore_dir.glob("*.h5"))) == 8
    report = datastore.compact()
    assert report.files_before == 8 and report.files_after == 1 and report.trials == 24
    assert len(list(datastore_dir.glob("*.h5"))) == 1
    after = HDF5Datastore(datastore_dir)
    assert sorted(s.trial_id for s in after.trials()) == sorted(before)
    for trial_id, samples in before.items():
        assert_same_samples(list(after.trial(trial_id).samples()), samples)
    assert after.compact().written == ()  # nothing left to merge


def test_compact_respects_the_target_size(datastore_dir):
    datastore = _many_small_shards(datastore_dir)
    size = max(p.stat().st_size for p in datastore_dir.glob("*.h5"))
    report = datastore.compact(target_bytes=int(size * 3.5))
    assert 2 <= report.files_after < 8
    assert len(HDF5Datastore(datastore_dir).trials()) == 24


def test_delete_removes_only_the_trials_named(datastore_dir):
    datastore = _many_small_shards(datastore_dir, count=2)
    summaries = datastore.trials()
    doomed = [summaries[0].trial_id, summaries[4].trial_id]
    assert datastore.delete(doomed) == 2
    left = {s.trial_id for s in HDF5Datastore(datastore_dir).trials()}
    assert left == {s.trial_id for s in summaries} - set(doomed)
    assert datastore.delete([summaries[1].trial_id[:-2]]) == 1


def test_deleting_every_trial_of_a_shard_removes_the_file(datastore_dir):
    datastore = _many_small_shards(datastore_dir, count=2)
    first = [s.trial_id for s in datastore.trials()[:3]]
    datastore.delete(first)
    assert len(list(datastore_dir.glob("*.h5"))) == 1


def test_a_trial_still_being_written_cannot_be_deleted(datastore_dir):
    datastore = HDF5Datastore(datastore_dir, commit_seconds=0)
    with Orchestrator(datastore=datastore) as orchestrator:
        result = orchestrator.run(make_spec(CARTPOLE, seed=0))
        with pytest.raises(DatastoreError, match="still in the journal of a running process"):
            HDF5Datastore(datastore_dir).delete([result.trial_id])
    assert HDF5Datastore(datastore_dir).delete([result.trial_id]) == 1


def test_journals_of_dead_processes_are_read_and_folded(datastore_dir):
    code = (
        "import os, sys\n"
        "from cogym import Orchestrator\n"
        "from cogym.datastore import HDF5Datastore\n"
        "from tests.conftest import make_spec\n"
        "o = Orchestrator(datastore=HDF5Datastore(sys.argv[1], commit_seconds=0))\n"
        "o.run_many(make_spec(seed=0), 5)\n"
        "print('done', flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    child = subprocess.run(
        [sys.executable, "-c", code, str(datastore_dir)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL and "done" in child.stdout
    journals = list(datastore_dir.glob("*.journal"))
    assert len(journals) == 1 and not list(datastore_dir.glob("*.h5"))
    datastore = HDF5Datastore(datastore_dir)
    assert len(datastore.trials()) == 5
    report = datastore.compact()
    assert report.merged == (journals[0].name,)
    assert not list(datastore_dir.glob("*.journal")) and len(list(datastore_dir.glob("*.h5"))) == 1
    assert len(HDF5Datastore(datastore_dir).trials()) == 5
