"""Recording into a datastore at a URL and reading it back, as a user would."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cogym import Orchestrator
from cogym.cli import main
from cogym.datastore import HDF5Datastore
from cogym.datastore.objstore.spool import UnpublishedShardWarning
from cogym.datastore.objstore.store import ObjectStore
from cogym.errors import DatastoreError
from tests.conftest import PROBE, make_spec

SPEC = make_spec(PROBE, config={"episode_length": 7}, seed=3)


def _record(root: str | Path, trials: int, **options: object) -> list[str]:
    with Orchestrator(datastore=HDF5Datastore(root, **options)) as orchestrator:
        results = orchestrator.run_many(SPEC, trials)
    return [r.trial_id for r in results]


def _by_seed(datastore: HDF5Datastore) -> list[tuple[object, ...]]:
    found = datastore.trials()
    return sorted((s.seed, s.ticks, s.state.value, json.dumps(s.returns)) for s in found)


def test_a_url_datastore_reads_back_equal_to_a_local_one_of_the_same_trials(
    url: str, tmp_path: Path
) -> None:
    _record(url, 4, shard_bytes=2_000)
    _record(tmp_path / "local", 4, shard_bytes=2_000)
    remote, local = HDF5Datastore(url), HDF5Datastore(tmp_path / "local")
    assert len(remote) == 4
    assert _by_seed(remote) == _by_seed(local)
    fields = ("observations", "actions", "rewards", "tick")
    a, b = remote.arrays("player", fields), local.arrays("player", fields)
    for field in fields:
        np.testing.assert_array_equal(a[field], b[field])
    first = remote.trials()[0]
    one = remote.trial(first.trial_id).arrays("player")
    assert len(one["observations"]) == first.ticks


def test_the_spool_is_empty_once_the_datastore_is_closed(url: str, tmp_path: Path) -> None:
    _record(url, 3)
    spool = HDF5Datastore(url).path
    assert spool.is_relative_to(tmp_path / "spool")
    assert not [p for p in spool.iterdir() if p.suffix in (".h5", ".journal")]
    assert len(HDF5Datastore(url)) == 3


def test_cli_records_to_a_url_and_lists_shows_and_replays_from_it(
    s3_url: str, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"environment:\n  implementation: {PROBE}\n  config: {{episode_length: 5}}\n"
        "actors:\n  - name: player\n    implementation: random\nseed: 1\n"
    )
    runner = CliRunner()
    ran = runner.invoke(main, ["run", str(spec), "-n", "3", "--datastore", s3_url])
    assert ran.exit_code == 0, ran.output
    listed = runner.invoke(main, ["trials", "ls", "--datastore", s3_url])
    assert listed.exit_code == 0, listed.output
    assert "(3 trials recorded)" in listed.output
    ids = [s.trial_id for s in HDF5Datastore(s3_url).trials()]
    shown = runner.invoke(main, ["trials", "show", "--datastore", s3_url, ids[0]])
    assert shown.exit_code == 0 and ids[0] in shown.output, shown.output
    replayed = runner.invoke(main, ["trials", "replay", "--datastore", s3_url, ids[0]])
    assert replayed.exit_code == 0 and "reproduc" in replayed.output, replayed.output


def test_follow_on_a_url_yields_trials_recorded_by_another_writer_once_each(url: str) -> None:
    HDF5Datastore(url).store.ensure()
    ids: list[str] = []
    writer = threading.Thread(target=lambda: ids.extend(_record(url, 3, shard_bytes=1)))
    followed = HDF5Datastore(url).follow(timeout=5.0, poll=0.05)
    writer.start()
    seen = [s.trial_id for _, s in zip(range(3), followed, strict=False)]
    writer.join()
    assert sorted(seen) == sorted(ids)
    assert len(set(seen)) == 3


def test_compaction_and_deletion_on_a_url_keep_every_other_trial(url: str) -> None:
    ids = _record(url, 5, shard_bytes=1)
    datastore = HDF5Datastore(url)
    before = datastore.arrays("player", ("observations",))["observations"]
    assert len(datastore.catalog().sources) == 5
    report = datastore.compact()
    assert report.files_after == 1 and report.trials == 5
    np.testing.assert_array_equal(
        HDF5Datastore(url).arrays("player", ("observations",))["observations"], before
    )
    assert datastore.delete([ids[0]]) == 1
    assert sorted(s.trial_id for s in HDF5Datastore(url).trials()) == sorted(ids[1:])


def test_torch_dataset_at_a_url_split_between_two_ranks_gives_each_row_of_arrays_once(
    s3_url: str,
) -> None:
    _record(s3_url, 4, shard_bytes=1)
    datastore = HDF5Datastore(s3_url)
    expected = datastore.arrays("player", ("observations", "tick"))
    rows = []
    for rank in range(2):
        part = datastore.torch_dataset("player", ("observations", "tick"), rank=rank, world_size=2)
        rows += [(int(r["tick"]), r["observations"].tobytes()) for r in part]
    want = [
        (int(t), o.tobytes())
        for t, o in zip(expected["tick"], expected["observations"], strict=True)
    ]
    assert sorted(rows) == sorted(want) and len(rows) == len(want)


def test_a_store_unreachable_while_recording_warns_and_the_next_flush_publishes(
    memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ObjectStore.publish

    def unreachable(self: ObjectStore, local: Path, supersedes: tuple[str, ...] = ()) -> None:
        raise DatastoreError(f"cannot upload shard {local.name} to {self.url}: network down")

    monkeypatch.setattr(ObjectStore, "publish", unreachable)
    datastore = HDF5Datastore(memory_url, shard_bytes=1)
    orchestrator = Orchestrator(datastore=datastore)
    with pytest.warns(UnpublishedShardWarning, match="network down"):
        results = orchestrator.run_many(SPEC, 3)
    assert [r.state.value for r in results] == ["ended"] * 3
    assert len(HDF5Datastore(memory_url)) == 0
    with pytest.raises(DatastoreError, match="network down"):
        datastore.flush()
    monkeypatch.setattr(ObjectStore, "publish", real)
    orchestrator.close()
    assert sorted(s.trial_id for s in HDF5Datastore(memory_url).trials()) == sorted(
        r.trial_id for r in results
    )
