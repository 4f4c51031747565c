"""SIGKILL at random moments: ended trials stay complete and readable, nothing else is hurt."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

from cogym.datastore import HDF5Datastore
from cogym.trial import TrialState

ROOT = Path(__file__).resolve().parents[2]


def _record_then_kill(
    root: Path,
    commit_seconds: float,
    seed: int,
    rng: random.Random,
    during_shard_write: bool = False,
) -> set[str]:
    """Run the recording child, SIGKILL it at a random moment (or while it writes a shard);
    return the trials it saw end."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.datastore.recording_child",
            str(root),
            str(commit_seconds),
            str(seed),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(child.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while not any(line.startswith("ended ") for line in lines):
        assert child.poll() is None, "the recording process died on its own"
        assert time.monotonic() < deadline, "the recording process ended no trial"
        time.sleep(0.01)
    time.sleep(rng.uniform(0.2, 1.2))
    if during_shard_write:
        deadline = time.monotonic() + 20
        while not any(name.endswith(".h5.tmp") for name in os.listdir(root)):
            assert time.monotonic() < deadline, "the child never wrote a shard"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    reader.join(timeout=10)
    return {line.split()[1] for line in lines if line.startswith("ended ")}


def _check_complete(datastore: HDF5Datastore) -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unreadable file would warn
        summaries = {s.trial_id: s for s in datastore.trials()}
    assert datastore.problems == []
    for summary in summaries.values():
        assert summary.state is TrialState.ENDED
        assert summary.recording_error is None
        samples = list(datastore.trial(summary.trial_id).samples())
        assert [s.tick for s in samples] == list(range(12))
        assert samples[-1].terminated == {"player": True}
    if summaries:
        data = datastore.arrays("player", ("observations", "actions", "rewards"))
        assert data.rows == 12 * len(summaries)
    return summaries


@pytest.mark.slow
def test_sigkill_while_recording_loses_only_trials_in_flight(tmp_path):
    """Each ended trial is journaled before its end is reported (commit_seconds=0, the default)."""
    root = tmp_path / "trials"
    rng = random.Random(1234)
    seen: set[str] = set()
    for round_ in range(6):
        ended = _record_then_kill(
            root, 0.0, seed=1000 * round_, rng=rng, during_shard_write=round_ % 2 == 1
        )
        assert ended, "the child should have ended some trials before the kill"
        seen |= ended
        found = _check_complete(HDF5Datastore(root))
        missing = seen - set(found)
        assert not missing, f"round {round_}: ended trials lost: {sorted(missing)[:3]}"
        # a trial the child had not yet reported can be there only if it was complete (checked)
    # files of the dead writers are folded into shards; nothing is lost on the way
    datastore = HDF5Datastore(root)
    report = datastore.compact()
    assert not [p for p in os.listdir(root) if p.endswith((".journal", ".tmp"))], report
    assert seen <= set(_check_complete(HDF5Datastore(root)))


@pytest.mark.slow
def test_sigkill_with_grouped_commits_leaves_a_consistent_datastore(tmp_path):
    """With grouped commits, the last commit interval may be lost, never a part of a trial."""
    root = tmp_path / "trials"
    rng = random.Random(99)
    for round_ in range(2):
        _record_then_kill(root, 0.05, seed=1000 * round_, rng=rng)
        _check_complete(HDF5Datastore(root))  # whatever was journaled is whole, and readable
