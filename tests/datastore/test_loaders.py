"""``torch_dataset`` and ``to_ray_dataset``: the rows of ``arrays()``, each once, however the
readers split the files among them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gymnasium import spaces
from torch.utils.data import DataLoader

from cogym import Orchestrator, TrialSpec
from cogym.datastore import HDF5Datastore
from cogym.errors import DatastoreError, InputError
from cogym.spaces import space_to_dict

DICT_OBS = space_to_dict(
    spaces.Dict({"position": spaces.Box(-1.0, 1.0, (3,), np.float32), "mode": spaces.Discrete(4)})
)


def _spec(episode_length: int, observation_space: dict[str, Any] | None = None) -> TrialSpec:
    config: dict[str, Any] = {"episode_length": episode_length}
    if observation_space is not None:
        config["observation_space"] = observation_space
    return TrialSpec.from_dict(
        {
            "environment": {"implementation": "gym:cogym/Probe-v0", "config": config},
            "actors": [{"name": "player", "implementation": "random"}],
            "seed": 3,
        }
    )


def _record(
    root: Path, spec: TrialSpec, trials: int, workers: int = 1, **options: Any
) -> HDF5Datastore:
    with Orchestrator(datastore=HDF5Datastore(root, **options)) as orchestrator:
        orchestrator.run_many(spec, trials, workers=workers)
    return HDF5Datastore(root)


def _keyed(rows: dict[str, Any]) -> np.ndarray:
    """One sortable row key per row: (tick, position..., mode, action)."""
    obs = rows["observations"]
    return np.column_stack([rows["tick"], obs["position"], obs["mode"], rows["actions"]]).astype(
        np.float64
    )


def _sorted(keys: np.ndarray) -> np.ndarray:
    return keys[np.lexsort(keys.T[::-1])]


@pytest.fixture(scope="module")
def many_files(tmp_path_factory: pytest.TempPathFactory) -> HDF5Datastore:
    """40 trials of a dict-observation env in about a dozen files."""
    root = tmp_path_factory.mktemp("loaders") / "trials"
    return _record(root, _spec(50, DICT_OBS), 40, shard_bytes=4 << 10)


FIELDS = ("observations", "actions", "tick")


def test_many_files_really_are_many(many_files: HDF5Datastore) -> None:
    assert len(many_files.catalog().sources) >= 6


@pytest.mark.parametrize("workers", [0, 2])
def test_dataloader_workers_read_every_row_once(many_files: HDF5Datastore, workers: int) -> None:
    expected = _sorted(_keyed(many_files.arrays("player", FIELDS)))
    dataset = many_files.torch_dataset("player", FIELDS)
    loader = DataLoader(dataset, batch_size=64, num_workers=workers, **_spawned(workers))
    batches = [{k: _numpy(v) for k, v in b.items()} for b in loader]
    got = np.concatenate([_keyed(b) for b in batches])
    assert len(got) == len(expected)
    np.testing.assert_array_equal(_sorted(got), expected)


def _spawned(workers: int) -> dict[str, Any]:
    """Workers started fresh: a forked copy of a process whose other threads hold locks (gRPC's,
    once a Cogment test ran in this process) can crash."""
    return {"multiprocessing_context": "spawn"} if workers else {}


def _numpy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _numpy(v) for k, v in value.items()}
    return value.numpy()


def test_ranks_split_the_rows_without_overlap_and_batches_keep_the_order(
    many_files: HDF5Datastore,
) -> None:
    whole = many_files.arrays("player", FIELDS)
    shares = [
        list(many_files.torch_dataset("player", FIELDS, batch_size=30, rank=r, world_size=3))
        for r in range(3)
    ]
    assert all(shares), "every rank has files to read"
    got = [np.concatenate([_keyed(b) for b in share]) for share in shares]
    assert sum(len(g) for g in got) == whole.rows
    np.testing.assert_array_equal(_sorted(np.concatenate(got)), _sorted(_keyed(whole)))
    alone = list(many_files.torch_dataset("player", FIELDS, batch_size=30))
    assert [len(b["tick"]) for b in alone[:-1]] == [30] * (len(alone) - 1)
    np.testing.assert_array_equal(np.concatenate([_keyed(b) for b in alone]), _keyed(whole))


def test_shuffle_changes_with_the_epoch_and_keeps_every_row(many_files: HDF5Datastore) -> None:
    dataset = many_files.torch_dataset("player", FIELDS, batch_size=1000, shuffle=True, seed=1)
    first = np.concatenate([_keyed(b) for b in dataset])
    again = np.concatenate([_keyed(b) for b in dataset])
    dataset.set_epoch(1)
    second = np.concatenate([_keyed(b) for b in dataset])
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(_sorted(first), _sorted(second))
    np.testing.assert_array_equal(
        _sorted(first), _sorted(_keyed(many_files.arrays("player", FIELDS)))
    )


def test_a_dataset_over_files_compacted_away_says_so(tmp_path: Path) -> None:
    store = _record(tmp_path / "trials", _spec(20), 10, shard_bytes=2 << 10)
    dataset = store.torch_dataset("player", batch_size=8)
    store.compact()
    with pytest.raises(DatastoreError, match="changed since this dataset was made"):
        list(dataset)


def test_bad_arguments_are_refused_naming_them(many_files: HDF5Datastore) -> None:
    with pytest.raises(InputError, match="no recorded trial has an actor 'nobody'"):
        many_files.torch_dataset("nobody")
    with pytest.raises(InputError, match="final_observations"):
        many_files.torch_dataset("player", ("final_observations",))
    with pytest.raises(InputError, match="batch_size"):
        many_files.torch_dataset("player", batch_size=0)
    with pytest.raises(InputError, match="rank=3, world_size=2"):
        many_files.torch_dataset("player", rank=3, world_size=2)


@pytest.fixture(scope="module")
def million_steps(tmp_path_factory: pytest.TempPathFactory) -> HDF5Datastore:
    """1,000,000 steps: 500 trials of 2,000 ticks, recorded by 2 processes in files of 4 MiB."""
    root = tmp_path_factory.mktemp("million") / "trials"
    return _record(root, _spec(2000, DICT_OBS), 500, workers=2, shard_bytes=4 << 20)


@pytest.mark.slow
def test_torch_dataset_over_a_million_steps_gives_each_row_of_arrays_once(
    million_steps: HDF5Datastore,
) -> None:
    whole = million_steps.arrays("player", FIELDS)
    assert whole.rows == 1_000_000
    loader = DataLoader(
        million_steps.torch_dataset("player", FIELDS, batch_size=50_000),
        batch_size=None,
        num_workers=2,
        **_spawned(2),
    )
    got = np.concatenate([_keyed({k: _numpy(v) for k, v in b.items()}) for b in loader])
    np.testing.assert_array_equal(_sorted(got), _sorted(_keyed(whole)))


@pytest.mark.slow
def test_ray_dataset_over_a_million_steps_gives_each_row_of_arrays_once(
    million_steps: HDF5Datastore, ray_session: Any
) -> None:
    whole = million_steps.arrays("player", FIELDS)
    dataset = million_steps.to_ray_dataset("player", FIELDS)
    assert set(dataset.columns()) == {
        "observations.position",
        "observations.mode",
        "actions",
        "tick",
    }
    parts = [
        np.column_stack(
            [b["tick"], b["observations.position"], b["observations.mode"], b["actions"]]
        ).astype(np.float64)
        for b in dataset.iter_batches(batch_size=100_000, batch_format="numpy")
    ]
    got = np.concatenate(parts)
    assert len(got) == 1_000_000
    np.testing.assert_array_equal(_sorted(got), _sorted(_keyed(whole)))
