"""``cogym trials ...`` as a user runs it."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from cogym.cli import main
from cogym.datastore import HDF5Datastore
from tests.conftest import CARTPOLE, PROBE, make_spec


@pytest.fixture
def recorded(tmp_path, datastore_dir):
    spec = tmp_path / "spec.yaml"
    spec.write_text(make_spec(CARTPOLE, seed=0, tags={"experiment": "cli"}).to_yaml())
    result = CliRunner().invoke(
        main, ["run", str(spec), "-n", "6", "-q", "--datastore", str(datastore_dir)]
    )
    assert result.exit_code == 0, result.output
    return datastore_dir


def run(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_ls_lists_trials_and_filters(recorded):
    ids = [s.trial_id for s in HDF5Datastore(recorded).trials()]
    result = run("trials", "ls", "--datastore", str(recorded))
    assert result.exit_code == 0 and "6 shown of 6 matching" in result.output
    assert (
        run(
            "trials", "ls", "-d", str(recorded), "--tag", "experiment=cli", "--state", "ended"
        ).output.count("\n")
        > 6
    )
    assert (
        "0 shown of 0 matching"
        in run("trials", "ls", "-d", str(recorded), "--tag", "experiment=other").output
    )
    assert "2 shown of 6" in run("trials", "ls", "-d", str(recorded), "-n", "2").output
    assert ids[-1][:8] in run("trials", "ls", "-d", str(recorded), "-n", "1").output


def test_show_summarises_a_trial(recorded):
    summary = HDF5Datastore(recorded).trials()[2]
    result = run("trials", "show", "-d", str(recorded), summary.trial_id[:-3])
    assert result.exit_code == 0, result.output
    assert summary.trial_id in result.output and "Discrete(2)" in result.output
    assert f"seed         {summary.seed}" in result.output and "experiment: cli" in result.output


def test_replay_reports_reproduction(recorded):
    summary = HDF5Datastore(recorded).trials()[0]
    result = run("trials", "replay", "-d", str(recorded), summary.trial_id)
    assert result.exit_code == 0 and "reproduces" in result.output


def test_replay_exits_1_when_it_does_not_reproduce(tmp_path, datastore_dir):
    spec = tmp_path / "spec.yaml"
    spec.write_text(make_spec("python:tests.datastore.actors:noisy", seed=0).to_yaml())
    assert run("run", str(spec), "-q", "--datastore", str(datastore_dir)).exit_code == 0
    (summary,) = HDF5Datastore(datastore_dir).trials()
    result = run("trials", "replay", "-d", str(datastore_dir), summary.trial_id, "--trust")
    assert result.exit_code == 1 and "first difference at tick 0" in result.output


def test_export_npz_and_plot(recorded, tmp_path):
    out = tmp_path / "data.npz"
    result = run("trials", "export", "-d", str(recorded), "--format", "npz", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert np.load(out)["observations"].shape[1] == 4
    png = tmp_path / "returns.png"
    assert run("trials", "plot", "-d", str(recorded), "-o", str(png)).exit_code == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_export_video(tmp_path, datastore_dir):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        make_spec(
            PROBE,
            config={"episode_length": 5, "render_mode": "rgb_array"},
            seed=0,
            record_frames=True,
        ).to_yaml()
    )
    assert run("run", str(spec), "-q", "--datastore", str(datastore_dir)).exit_code == 0
    (summary,) = HDF5Datastore(datastore_dir).trials()
    gif = tmp_path / "replay.gif"
    result = run(
        "trials", "export", "-d", str(datastore_dir), summary.trial_id, "--video", str(gif)
    )
    assert result.exit_code == 0 and "wrote 5 frames" in result.output


def test_export_needs_to_know_what(recorded):
    result = run("trials", "export", "-d", str(recorded))
    assert result.exit_code == 2 and "--video" in result.output


def test_delete_and_compact(recorded):
    ids = [s.trial_id for s in HDF5Datastore(recorded).trials()]
    result = run("trials", "delete", "-d", str(recorded), ids[0], ids[1])
    assert result.exit_code == 0 and "deleted 2 trial(s)" in result.output
    result = run("trials", "compact", "-d", str(recorded))
    assert result.exit_code == 0 and "4 trials" in result.output
    assert [s.trial_id for s in HDF5Datastore(recorded).trials()] == ids[2:]


def test_the_datastore_can_come_from_the_environment(recorded, monkeypatch):
    monkeypatch.setenv("COGYM_DATASTORE", str(recorded))
    assert "6 matching" in run("trials", "ls").output


def test_show_lists_the_rewards_participants_sent_and_counts_the_notes(tmp_path, datastore_dir):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        make_spec(
            "gym:CartPole-v1",
            [
                {"name": "player", "implementation": "python:tests.helpers:Corrected"},
                {
                    "name": "coach",
                    "actor_class": "observer",
                    "implementation": "python:tests.helpers:Coach",
                    "config": {"value": -0.5, "confidence": 0.25},
                },
            ],
            seed=0,
            max_ticks=6,
        ).to_yaml()
    )
    assert run("run", str(spec), "-q", "--datastore", str(datastore_dir)).exit_code == 0
    (summary,) = HDF5Datastore(datastore_dir).trials()
    result = run("trials", "show", "-d", str(datastore_dir), summary.trial_id)
    assert result.exit_code == 0, result.output
    assert "6 reward(s) sent by participants" in result.output
    assert (
        "rewards sent by participants" in result.output
        and "-0.500" in result.output
        and "0.250" in result.output
    )
    assert '{"by": "human"}' in result.output and '{"by": "agent"}' in result.output
