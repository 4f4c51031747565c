"""Exports: a NumPy archive, a Minari dataset, videos, a plot of returns."""

from __future__ import annotations

import imageio.v2 as imageio
import imageio.v3 as iio
import numpy as np
import pytest

from cogym.datastore.export import read_npz, to_minari, to_npz, to_video
from cogym.datastore.plot import plot_returns
from cogym.errors import InputError
from tests.conftest import CARTPOLE, PROBE, make_spec


def test_npz_holds_every_field_and_the_spaces(record, tmp_path):
    datastore, results = record(make_spec(CARTPOLE, seed=0), trials=5)
    path = tmp_path / "data.npz"
    to_npz(datastore, path, "player")
    metadata, arrays = read_npz(path)
    assert metadata["format"] == "cogym.npz" and metadata["observation_space"]["type"] == "Box"
    whole = datastore.arrays("player", ("observations", "actions"))
    np.testing.assert_array_equal(arrays["observations"], whole["observations"])
    np.testing.assert_array_equal(arrays["actions"], whole["actions"])
    assert list(arrays["trial_ids"]) == [r.trial_id for r in results]
    assert arrays["final_observations"].shape == (5, 4)


def test_an_npz_export_that_fails_midway_leaves_the_previous_archive_whole(
    record, tmp_path, monkeypatch
):
    datastore, _ = record(make_spec(CARTPOLE, seed=0), trials=2)
    path = tmp_path / "data.npz"
    to_npz(datastore, path, "player")
    before = path.read_bytes()

    def full_disk(file, **arrays):  # noqa: ANN001, ANN003
        file.write(b"PK\x03\x04 half an archive")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full_disk)
    with pytest.raises(OSError, match="No space left"):
        to_npz(datastore, path, "player")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["data.npz"]  # no leftovers


def test_minari_dataset_of_single_agent_trials(record, tmp_path, monkeypatch):
    minari = pytest.importorskip("minari")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    spec = make_spec(
        CARTPOLE,
        [{"name": "player", "implementation": "python:cogym.bots:CartPoleExpert"}],
        seed=0,
        max_ticks=40,
    )
    datastore, _ = record(spec, trials=3)
    _, skipped = to_minari(datastore, "cartpole/cogym-v0")
    assert skipped == 0
    loaded = minari.load_dataset("cartpole/cogym-v0")
    assert loaded.total_episodes == 3 and loaded.total_steps == 120
    whole = datastore.arrays("player", ("observations", "actions", "final_observations"))
    episode = next(iter(loaded.iterate_episodes()))
    np.testing.assert_array_equal(episode.observations[:-1], whole["observations"][:40])
    np.testing.assert_array_equal(episode.observations[-1], whole["final_observations"][0])
    np.testing.assert_array_equal(episode.actions, whole["actions"][:40])
    assert episode.truncations[-1] and not episode.terminations.any()


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_video_of_a_replay(record, tmp_path, suffix):
    spec = make_spec(
        PROBE, config={"episode_length": 8, "render_mode": "rgb_array"}, seed=0, record_frames=True
    )
    datastore, (result,) = record(spec, trials=1)
    path = tmp_path / f"replay{suffix}"
    assert to_video(datastore.trial(result.trial_id), path, fps=10) == 8
    frames = iio.imread(path) if suffix == ".gif" else imageio.mimread(path)
    assert len(frames) == 8 and frames[0].shape[:2] == (32, 32)


def test_video_needs_frames(record, tmp_path):
    datastore, (result,) = record(make_spec(CARTPOLE, seed=0), trials=1)
    with pytest.raises(InputError, match="record_frames"):
        to_video(datastore.trial(result.trial_id), tmp_path / "x.mp4")


def test_plot_of_returns(record, tmp_path):
    datastore, _ = record(make_spec(CARTPOLE, seed=0), trials=12)
    path = tmp_path / "returns.png"
    assert plot_returns(datastore.trials(), path) == 12
    image = iio.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100


def test_to_minari_refuses_a_dataset_id_without_its_version_before_writing(
    record, tmp_path, monkeypatch
):
    pytest.importorskip("minari")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    datastore, _ = record(make_spec(CARTPOLE, seed=0, max_ticks=5), trials=1)
    with pytest.raises(InputError, match=r"'cartpole/expert': write it as \[namespace/\]name-v"):
        to_minari(datastore, "cartpole/expert")
    assert not list((tmp_path / "minari").rglob("data"))
