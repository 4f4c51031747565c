"""Many writers at once, and readers while they write."""

from __future__ import annotations

import threading
import time
from collections import Counter

from click.testing import CliRunner

from cogym import Orchestrator
from cogym.cli import main
from cogym.datastore import HDF5Datastore
from tests.conftest import PROBE, make_spec


def test_four_worker_processes_record_into_one_datastore(tmp_path, datastore_dir):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(make_spec(PROBE, config={"episode_length": 15}, seed=100).to_yaml())
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(spec_path),
            "--trials",
            "40",
            "--workers",
            "4",
            "--quiet",
            "--datastore",
            str(datastore_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    datastore = HDF5Datastore(datastore_dir)
    summaries = datastore.trials()
    assert len(summaries) == 40
    assert sorted(s.seed for s in summaries) == list(range(100, 140))
    writers = Counter(s.location for s in summaries)
    assert len(writers) >= 2, "several processes should have written"
    # no tick lost or mixed: every trial has its own 15 ticks, and replays to the same values
    data = datastore.arrays("player", ("tick",))
    assert data.rows == 40 * 15
    assert all(
        list(data["tick"][a:b]) == list(range(15))
        for a, b in zip(data.offsets[:-1], data.offsets[1:], strict=True)
    )
    for summary in summaries[::8]:
        assert datastore.replay(summary.trial_id).reproduced


def test_a_reader_lists_and_reads_ended_trials_while_writers_run(datastore_dir):
    spec = make_spec(PROBE, config={"episode_length": 10, "step_seconds": 0.002}, seed=0)
    writing = threading.Event()
    done = threading.Event()
    results = []

    def write() -> None:
        with Orchestrator(datastore=HDF5Datastore(datastore_dir)) as orchestrator:
            writing.set()
            results.extend(orchestrator.run_many(spec, 60, workers=2))
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    writing.wait(30)
    reader = HDF5Datastore(datastore_dir)
    seen_while_running = 0
    deadline = time.monotonic() + 60
    while not done.is_set() and time.monotonic() < deadline:
        if datastore_dir.exists() and (datastore_dir / "cogym-datastore.json").exists():
            summaries = reader.trials()
            if summaries and not done.is_set():
                seen_while_running = len(summaries)
                samples = list(reader.trial(summaries[-1].trial_id).samples())
                assert len(samples) == 10
                data = reader.arrays("player", ("observations",))
                assert data.rows == 10 * len(data.trial_ids)
                break
        time.sleep(0.02)
    writer.join(120)
    assert 0 < seen_while_running < 60, (
        "the reader should see ended trials before the writers finish"
    )
    assert len(HDF5Datastore(datastore_dir).trials()) == 60
