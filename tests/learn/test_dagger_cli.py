"""cogym dagger: versions with lineage, trials with notes, seen by trials show and bc; bad input."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from cogym import ModelRegistry
from cogym.cli import main
from cogym.datastore import HDF5Datastore
from tests.learn.test_dagger import EXPERT

SPEC = """\
environment:
  implementation: gym:CartPole-v1
actors:
  - name: player
    implementation: random
max_ticks: 60
seed: 0
"""


@pytest.fixture
def spec_path(tmp_path):
    path = tmp_path / "cartpole.yaml"
    path.write_text(SPEC)
    return path


def _dagger(spec_path, tmp_path, *extra):
    return CliRunner().invoke(
        main,
        ["dagger", str(spec_path), "--actor", "player", "--teacher", EXPERT, "--model", "cp",
         "--registry", str(tmp_path / "models"), "--datastore", str(tmp_path / "trials"),
         *extra],
    )


def test_cogym_dagger_publishes_versions_and_records_notes(spec_path, tmp_path):
    result = _dagger(
        spec_path, tmp_path, "--rounds", "2", "--trials-per-round", "2", "--query", "uncertain",
        "--threshold", "0.2", "--eval-trials", "1", "--epochs", "2",
    )
    assert result.exit_code == 0, result.output
    assert "DAgger of 'player' taught by python:cogym.bots:CartPoleExpert" in result.output
    saved = re.search(r"saved cp@2 in \S+: ([\d,]+) teacher labels in 2 round\(s\)", result.output)
    assert saved, result.output
    labels = int(saved.group(1).replace(",", ""))
    registry = ModelRegistry(tmp_path / "models")
    assert registry.versions("cp") == [1, 2]
    lineage = registry.info("cp@2").lineage
    assert lineage["round"] == 2 and lineage["labels"] == labels and lineage["query"] == "uncertain"
    store = HDF5Datastore(tmp_path / "trials")
    trials = store.trials(tags={"dagger": "cp"})
    assert sorted(s.trial_id for s in trials) == sorted(lineage["trial_ids"])
    assert len(trials) == 4

    second = next(s for s in trials if s.tags["dagger_round"] == 2)
    shown = CliRunner().invoke(
        main, ["trials", "show", second.trial_id, "--datastore", str(tmp_path / "trials")]
    )
    assert shown.exit_code == 0, shown.output
    assert '{"by": "learner", "labelled_by": "teacher"}' in shown.output
    assert '{"by": "learner"}' in shown.output  # the ticks the learner was sure of

    cloned = CliRunner().invoke(
        main,
        ["bc", "-q", "--datastore", str(tmp_path / "trials"), "--actor", "player",
         "--model", "again", "--registry", str(tmp_path / "models"),
         "--note", "labelled_by=teacher", "--labels", "label", "--epochs", "2",
         "--eval-trials", "0"],
    )
    assert cloned.exit_code == 0, cloned.output
    assert f"{labels:,}" in cloned.output  # the rows bc learnt from are DAgger's labels


@pytest.mark.parametrize(
    ("extra", "option", "words"),
    [
        (["--rounds", "0"], "--rounds", "whole number >= 1, got 0"),
        (["--trials-per-round", "-1"], "--trials-per-round", ">= 1"),
        (["--teacher", "expret"], "--teacher", "unknown actor implementation 'expret'"),
        (["--actor", "playr"], "--actor", "Did you mean 'player'"),
        (["--teacher-config", "gains"], "--teacher-config", "KEY=VALUE"),
        (["--query", "uncertain", "--budget", "1.5"], "--budget", "(0, 1]"),
        (["--measure", "ensemble", "--ensemble", "1"], "--ensemble", "at least 2 policies"),
        (["--teacher-config", "gian=0.5"], "--teacher-config",
         "unexpected keyword argument 'gian'"),
        (["--teacher", "human", "--teacher-config", "rat=5"], "--teacher-config",
         "config.rat: unknown key. Did you mean 'rate'?"),
    ],
)
def test_cogym_dagger_bad_input_exits_2_naming_the_option(
    spec_path, tmp_path, extra, option, words
):
    result = _dagger(spec_path, tmp_path, *extra)
    assert result.exit_code == 2, result.output
    assert f"error: {option}:" in result.output and words in result.output
    assert not (tmp_path / "trials").exists()


def test_cogym_dagger_refuses_a_teacher_of_other_actions(spec_path, tmp_path):
    result = _dagger(spec_path, tmp_path, "--teacher", "python:tests.learn.teachers:ThreeWays")
    assert result.exit_code == 2, result.output
    assert "not in the learner 'player'" in result.output and "Discrete(2)" in result.output


def test_cogym_dagger_asks_within_a_budget_by_a_measure(spec_path, tmp_path):
    result = _dagger(
        spec_path, tmp_path, "--rounds", "2", "--trials-per-round", "1", "--query", "uncertain",
        "--measure", "margin", "--budget", "0.25", "--threshold", "0", "--eval-trials", "0",
        "--epochs", "2",
    )
    assert result.exit_code == 0, result.output
    lineage = ModelRegistry(tmp_path / "models").info("cp@2").lineage
    assert lineage["budget"] == 0.25 and lineage["measure"] == "margin"
    second = HDF5Datastore(tmp_path / "trials").trials(tags={"dagger_round": 2})[0]
    notes = [n["player"] for n in HDF5Datastore(tmp_path / "trials").trial(
        second.trial_id).annotations.values()]
    asked = sum(n["asked"] for n in notes)
    assert 0 < asked <= -(-len(notes) // 4)  # at most a quarter, rounded up
    assert all(n["reason"].startswith("margin") for n in notes)
