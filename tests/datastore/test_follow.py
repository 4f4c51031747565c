"""``HDF5Datastore.follow``: trials as other processes end them, each once, never half-written."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cogym import Orchestrator
from cogym.datastore import HDF5Datastore, TrialSummary
from cogym.datastore.write.writer import MARKER
from cogym.errors import InvalidArgumentError, NotADatastoreError
from cogym.trial import TrialState
from tests.conftest import PROBE, make_spec

ROOT = Path(__file__).resolve().parents[2]
TICKS = 12
"""Ticks of each trial of the recording child."""


class Writer:
    """``tests.datastore.recording_child`` recording trials into ``root`` until it is killed;
    ``ended`` maps each trial it reported ended to when the report was read (monotonic)."""

    def __init__(self, root: Path, seed: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.datastore.recording_child", str(root), "0", str(seed)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.ended: dict[str, float] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("ended "):
                self.ended[line.split()[1]] = time.monotonic()

    def wait_for(self, count: int, seconds: float = 120.0) -> None:
        """Until the child has reported ``count`` ended trials."""
        deadline = time.monotonic() + seconds
        while len(self.ended) < count:
            assert self.process.poll() is None, "the recording process died on its own"
            assert time.monotonic() < deadline, f"the recording process ended {len(self.ended)}"
            time.sleep(0.01)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._reader.join(timeout=10)


@pytest.fixture
def writers() -> Iterator[Callable[[Path, int], Writer]]:
    started: list[Writer] = []

    def start(root: Path, seed: int) -> Writer:
        started.append(Writer(root, seed))
        return started[-1]

    yield start
    for writer in started:
        writer.kill()


class Follower:
    """``datastore.follow(timeout=...)`` in a thread: ``yielded`` holds each summary with the
    time it came (monotonic); :meth:`join` waits for the timeout to end it."""

    def __init__(self, datastore: HDF5Datastore, timeout: float, **criteria) -> None:
        self.yielded: list[tuple[TrialSummary, float]] = []
        self.error: BaseException | None = None
        self._trials = datastore.follow(timeout=timeout, **criteria)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for summary in self._trials:
                self.yielded.append((summary, time.monotonic()))
        except BaseException as exc:  # noqa: BLE001  (handed to the test thread by join)
            self.error = exc

    @property
    def ids(self) -> list[str]:
        return [s.trial_id for s, _ in self.yielded]

    def wait_for(self, ids: set[str], seconds: float) -> None:
        """Until every trial of ``ids`` has been yielded."""
        deadline = time.monotonic() + seconds
        while not ids <= set(self.ids):
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"not yielded: {sorted(ids - set(self.ids))[:3]}"
            time.sleep(0.01)

    def join(self, seconds: float = 60.0) -> None:
        self._thread.join(seconds)
        assert not self._thread.is_alive(), "the follower did not end after its timeout"
        assert self.error is None, self.error


def _check_whole(datastore: HDF5Datastore, follower: Follower) -> None:
    """Each trial was yielded once, and every one yielded is whole and in the datastore."""
    ids = follower.ids
    assert len(ids) == len(set(ids)), "a trial was yielded twice"
    there = {s.trial_id for s in datastore.trials()}
    assert set(ids) == there
    assert all(s.state is TrialState.ENDED and s.ticks == TICKS for s, _ in follower.yielded)
    data = datastore.arrays("player", ("tick",))
    assert data.rows == TICKS * len(there)
    assert all(
        list(data["tick"][a:b]) == list(range(TICKS))
        for a, b in zip(data.offsets[:-1], data.offsets[1:], strict=True)
    )


@pytest.mark.slow
def test_a_trial_ended_by_another_process_is_yielded_within_2_s(datastore_dir, writers):
    writer = writers(datastore_dir, 0)
    writer.wait_for(1)
    follower = Follower(HDF5Datastore(datastore_dir), timeout=5)
    started = time.monotonic()
    writer.wait_for(len(writer.ended) + 20)
    writer.kill()
    follower.join()
    came = {s.trial_id: t for s, t in follower.yielded}
    later = {i: t for i, t in writer.ended.items() if t > started}
    assert len(later) >= 20
    assert set(later) <= set(came)
    slowest = max(came[i] - t for i, t in later.items())
    assert slowest < 2.0, f"a trial took {slowest:.2f} s from its end to the follower"
    _check_whole(HDF5Datastore(datastore_dir), follower)


def test_a_follower_started_late_first_yields_every_trial_there(record, datastore_dir, writers):
    datastore, results = record(make_spec(PROBE, config={"episode_length": TICKS}, seed=5), 4)
    follower = Follower(HDF5Datastore(datastore_dir), timeout=5)
    there = [s.trial_id for s in datastore.trials()]
    assert sorted(there) == sorted(r.trial_id for r in results)
    follower.wait_for(set(there), 30)
    assert follower.ids[:4] == there  # oldest first, as trials() lists them
    writer = writers(datastore_dir, 100)
    writer.wait_for(3)
    follower.wait_for(set(writer.ended), 30)
    writer.kill()
    follower.join()
    assert follower.ids[:4] == there
    _check_whole(HDF5Datastore(datastore_dir), follower)


@pytest.mark.slow
def test_sigkill_of_the_writer_loses_only_its_trial_in_flight(datastore_dir, writers):
    """Killed while it records (and perhaps while it writes a shard): every trial it reported
    ended is yielded once, and no trial is yielded that is not whole."""
    for round_, pause in enumerate((0.3, 0.9, 0.05)):
        writer = writers(datastore_dir, 1000 * round_)
        writer.wait_for(1)
        follower = Follower(HDF5Datastore(datastore_dir), timeout=3)
        time.sleep(pause)  # a random-ish moment to kill it at, not a check
        writer.kill()
        assert writer.ended
        follower.join()
        assert set(writer.ended) <= set(follower.ids)
        _check_whole(HDF5Datastore(datastore_dir), follower)


@pytest.mark.slow
def test_two_writers_at_once_and_a_compaction_meanwhile(datastore_dir, writers):
    first, second = writers(datastore_dir, 0), writers(datastore_dir, 10_000)
    first.wait_for(1)
    second.wait_for(1)
    follower = Follower(HDF5Datastore(datastore_dir), timeout=5)
    compacting = HDF5Datastore(datastore_dir)
    compactions = 0
    deadline = time.monotonic() + 180
    while len(first.ended) < 40 or len(second.ended) < 40 or compactions < 2:
        assert first.process.poll() is None and second.process.poll() is None
        assert time.monotonic() < deadline, f"{compactions} compaction(s) merged files in 180 s"
        report = compacting.compact(target_bytes=1 << 20)  # beside writers retiring journals
        compactions += bool(report.merged)
        time.sleep(0.1)  # pacing the compactions, not a check
    first.kill()
    second.kill()
    compacting.compact(target_bytes=1 << 20)  # the dead writers' journals too
    follower.join()
    assert set(first.ended) | set(second.ended) <= set(follower.ids)
    _check_whole(HDF5Datastore(datastore_dir), follower)
    stored = [t.trial_id for t in HDF5Datastore(datastore_dir).trials()]
    assert len(stored) == len(set(stored)), "a compaction kept a trial in two files"


def test_a_trial_whose_journal_record_is_cut_short_is_yielded_once_it_is_whole(tmp_path):
    spec = make_spec(PROBE, config={"episode_length": TICKS}, seed=0)
    source = tmp_path / "source"
    with Orchestrator(datastore=HDF5Datastore(source)) as orchestrator:
        first_id = orchestrator.run(spec).trial_id
        (journal,) = source.glob("*.journal")
        one = journal.read_bytes()
        second_id = orchestrator.run(spec.replace(seed=1)).trial_id
        both = journal.read_bytes()
    # the same journal in another datastore: its second record cut in the middle, as when a
    # process is killed while it appends it
    root = tmp_path / "trials"
    root.mkdir()
    shutil.copy(source / MARKER, root / MARKER)
    cut = len(one) + (len(both) - len(one)) // 2
    (root / journal.name).write_bytes(both[:cut])
    datastore = HDF5Datastore(root)
    trials = datastore.follow(timeout=60, poll=0.01)
    assert next(trials).trial_id == first_id
    assert [s.trial_id for s in datastore.follow(timeout=0)] == [first_id]  # one look
    with open(root / journal.name, "ab") as f:
        f.write(both[cut:])
    whole = next(trials)
    assert whole.trial_id == second_id and whole.ticks == TICKS
    assert [s.ticks for s in datastore.follow(timeout=0)] == [TICKS, TICKS]


def test_timeout_ends_the_follower_once_nothing_new_comes(record, datastore_dir):
    datastore, _ = record(make_spec(PROBE, config={"episode_length": 3}, seed=0), 2)
    assert [s.trial_id for s in datastore.follow(timeout=0)] == [
        s.trial_id for s in datastore.trials()
    ]
    started = time.monotonic()
    assert len(list(datastore.follow(timeout=0.3, poll=0.05))) == 2
    assert 0.3 <= time.monotonic() - started < 10


def test_follow_takes_the_filters_of_trials(record, datastore_dir):
    spec = make_spec(PROBE, config={"episode_length": 3}, seed=0, tags={"who": "expert"})
    record(spec, 2)
    datastore, _ = record(spec.replace(tags={"who": "novice"}, seed=10), 3)
    followed = [s.trial_id for s in datastore.follow(tags={"who": "novice"}, timeout=0)]
    assert followed == [s.trial_id for s in datastore.trials(tags={"who": "novice"})]
    assert len(followed) == 3


def test_bad_arguments_are_named_at_the_call(datastore_dir, tmp_path):
    with pytest.raises(NotADatastoreError, match="does not exist"):
        HDF5Datastore(tmp_path / "nowhere").follow()
    datastore = HDF5Datastore(datastore_dir)
    with pytest.raises(InvalidArgumentError, match="poll"):
        datastore.follow(poll=0)
    with pytest.raises(InvalidArgumentError, match="timeout"):
        datastore.follow(timeout=-1)
