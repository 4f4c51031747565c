"""Many writers, killed writers and concurrent compactions at a URL: every trial reported
ended is there once, and no reader ever sees a shard half-published."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from cogym import Orchestrator
from cogym.datastore import HDF5Datastore
from cogym.errors import DatastoreError
from tests.conftest import PROBE, make_spec

REPO = Path(__file__).resolve().parents[3]
SPEC = make_spec(PROBE, config={"episode_length": 6}, seed=5)


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}


def test_two_processes_with_separate_spools_record_to_one_bucket(
    s3_url: str, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"environment:\n  implementation: {PROBE}\n  config: {{episode_length: 5}}\n"
        "actors:\n  - name: player\n    implementation: random\nseed: 1\n"
    )
    command = [sys.executable, "-m", "cogym", "run", str(spec), "-n", "4", "--datastore", s3_url]
    writers = [
        subprocess.Popen(
            command,
            env=_env(COGYM_SPOOL=str(tmp_path / f"node{i}")),
            cwd=tmp_path / "..",
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for i in range(2)
    ]
    for writer in writers:
        output, _ = writer.communicate(timeout=120)
        assert writer.returncode == 0, output
    datastore = HDF5Datastore(s3_url)
    assert len(datastore) == 8
    assert len({s.trial_id for s in datastore.trials()}) == 8
    assert len(datastore.catalog().sources) == 2


KILLED_AT_COMMIT = textwrap.dedent(
    """
    import os, signal, sys
    from cogym import Orchestrator
    from cogym.datastore import HDF5Datastore
    from cogym.datastore.objstore.store import ObjectStore
    from tests.conftest import PROBE, make_spec

    real = ObjectStore._create_commit
    calls = []

    def commit_or_die(self, commit):
        calls.append(commit)
        if len(calls) == 3:
            print("uploaded", commit.name, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        real(self, commit)

    ObjectStore._create_commit = commit_or_die
    spec = make_spec(PROBE, config={"episode_length": 6}, seed=5)
    with Orchestrator(datastore=HDF5Datastore(sys.argv[1], shard_bytes=1)) as orchestrator:
        for _ in range(5):
            (result,) = orchestrator.run_many(spec, 1)
            print("ended", result.trial_id, flush=True)
    """
)


def test_a_writer_killed_between_upload_and_commit_shows_nothing_half_and_loses_nothing(
    s3_url: str, local_places: Path
) -> None:
    child = subprocess.run(
        [sys.executable, "-c", KILLED_AT_COMMIT, s3_url],
        env=_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr
    lines = [line.split() for line in child.stdout.splitlines()]
    reported = [words[1] for words in lines if words[0] == "ended"]
    (uploaded,) = [words[1] for words in lines if words[0] == "uploaded"]
    assert len(reported) == 2
    reader = HDF5Datastore(s3_url)
    assert sorted(s.trial_id for s in reader.trials()) == sorted(reported)
    objects = reader.store.fs.ls(reader.store.key("shards"), detail=False)
    assert any(name.endswith(f"/{uploaded}") for name in objects)  # there, but not committed
    HDF5Datastore(s3_url).flush()  # this machine's next writer publishes what the spool holds
    after = HDF5Datastore(s3_url)
    ids = [s.trial_id for s in after.trials()]
    assert len(ids) == 3 and set(reported) < set(ids)
    assert len(after.arrays("player", ("tick",))["tick"]) == 3 * 6


def test_a_writer_killed_at_any_moment_loses_no_trial_it_reported_ended(
    s3_url: str, local_places: Path
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.datastore.recording_child", s3_url, "0", "7"],
        env=_env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    reported: list[str] = []
    reader = HDF5Datastore(s3_url)
    seen_while_running = 0
    while len(reported) < 40 or not seen_while_running and len(reported) < 2000:
        line = child.stdout.readline()
        assert line, child.stderr.read() if child.stderr else ""
        reported.append(line.split()[1])
        if len(reported) % 10 == 0:
            seen_while_running = max(seen_while_running, len(reader.trials()))
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    reported += [line.split()[1] for line in child.stdout.read().splitlines() if line]
    assert seen_while_running > 0
    HDF5Datastore(s3_url).flush()
    ids = [s.trial_id for s in HDF5Datastore(s3_url).trials()]
    assert len(ids) == len(set(ids))
    assert set(reported) <= set(ids)


def test_concurrent_compactions_and_a_writer_keep_every_trial_once(s3_url: str) -> None:
    with Orchestrator(datastore=HDF5Datastore(s3_url, shard_bytes=1)) as orchestrator:
        first = [r.trial_id for r in orchestrator.run_many(SPEC, 6)]
    before = HDF5Datastore(s3_url).arrays("player", ("observations",))["observations"]
    outcomes: list[str] = []
    later: list[str] = []

    def compact() -> None:
        for _ in range(3):
            try:
                HDF5Datastore(s3_url).compact()
                outcomes.append("compacted")
            except DatastoreError as exc:
                outcomes.append(str(exc))
            time.sleep(0.01)

    def record() -> None:
        with Orchestrator(datastore=HDF5Datastore(s3_url, shard_bytes=1)) as orchestrator:
            later.extend(r.trial_id for r in orchestrator.run_many(SPEC, 4))

    threads = [threading.Thread(target=compact) for _ in range(2)] + [
        threading.Thread(target=record)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert "compacted" in outcomes
    refused = [o for o in outcomes if o != "compacted"]
    assert all("another deletion or compaction is running" in o for o in refused), refused
    datastore = HDF5Datastore(s3_url)
    ids = [s.trial_id for s in datastore.trials()]
    assert sorted(ids) == sorted(first + later)
    rows = datastore.arrays("player", ("observations",), ids=first)["observations"]
    np.testing.assert_array_equal(np.sort(rows, axis=0), np.sort(before, axis=0))


def test_a_compaction_while_another_holds_the_lock_is_refused(url: str) -> None:
    with Orchestrator(datastore=HDF5Datastore(url, shard_bytes=1)) as orchestrator:
        orchestrator.run_many(SPEC, 4)
    datastore = HDF5Datastore(url)
    with datastore.store.lock(), pytest.raises(DatastoreError, match="another deletion"):
        HDF5Datastore(url).compact()
    assert HDF5Datastore(url).compact().trials == 4
