"""The command line: run with progress and summary, exit codes, and messages for bad input."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from cogym.cli import main

SPEC = """\
environment:
  implementation: gym:CartPole-v1
actors:
  - name: player
    implementation: python:cogym.bots:CartPoleExpert
max_ticks: 100
seed: 0
"""


def _write(tmp_path, text, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_run_prints_a_summary_table(tmp_path):
    result = CliRunner().invoke(
        main, ["run", _write(tmp_path, SPEC), "--trials", "4", "--workers", "2"]
    )
    assert result.exit_code == 0, result.output
    for words in ("player", "mean return", "100.00", "4 trials (4 ended)", "400 ticks", "trials/s"):
        assert words in result.output


def test_python_m_cogym_is_the_same_command(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "cogym", "run", _write(tmp_path, SPEC), "-n", "2"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "2 trials (2 ended)" in completed.stdout
    assert "trials" in completed.stderr  # the progress bar


def test_a_malformed_spec_exits_2_naming_every_bad_field(tmp_path):
    bad = SPEC.replace("max_ticks: 100", "max_tick: 100").replace("name: player", "name: ''")
    result = CliRunner().invoke(main, ["run", _write(tmp_path, bad)])
    assert result.exit_code == 2
    text = result.output
    assert (
        "actors[0].name (line 4)" in text and "max_tick (line 6)" in text and "2 problem(s)" in text
    )


def test_unknown_implementations_exit_2_and_list_the_known_ones(tmp_path):
    result = CliRunner().invoke(
        main, ["run", _write(tmp_path, SPEC.replace("python:cogym.bots:CartPoleExpert", "randm"))]
    )
    assert result.exit_code == 2
    text = result.output
    assert "Did you mean 'random'" in text and "Known:" in text


def test_missing_file_and_bad_arguments_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["run", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "cannot read" in (result.output)
    result = CliRunner().invoke(main, ["run", _write(tmp_path, SPEC), "--trials", "0"])
    assert result.exit_code == 2 and "--trials" in (result.output)


def test_failed_trials_are_reported_and_the_run_goes_on(tmp_path):
    spec = SPEC.replace(
        "python:cogym.bots:CartPoleExpert",
        "python:tests.helpers:CrashOnSeed\n    config: {seed: 1}",
    )
    result = CliRunner().invoke(main, ["run", _write(tmp_path, spec), "-n", "3", "-q"])
    assert result.exit_code == 1  # a failed trial: the run goes on, then says so
    text = result.output
    assert "3 trials (2 ended, 1 failed)" in text and "crash on seed 1" in text

