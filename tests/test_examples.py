"""The scripts in examples/ run as a user would run them (short settings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(script: str, *args: str) -> str:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        cwd=EXAMPLES.parent,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_train_sb3_on_a_trial():
    out = _run("train_sb3_on_trial.py", "--timesteps", "2048", "--trials", "3")
    assert "mean return over 3 evaluation trials" in out


def test_gym_env_to_trials():
    out = _run("gym_env_to_trials.py", "--trials", "5", "--workers", "2")
    assert "CartPole, scripted expert" in out and "500.00" in out and "Pendulum" in out


def test_multi_agent_pettingzoo():
    out = _run("multi_agent_pettingzoo.py", "--timesteps", "1024", "--trials", "5")
    assert "walker_0" in out and "walker_1" in out and "player_1" in out


@pytest.mark.parametrize("yaml", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_example_specs_run_with_the_cli(yaml):
    completed = subprocess.run(
        [sys.executable, "-m", "cogym", "run", str(EXAMPLES / yaml), "--trials", "3", "-q"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "3 trials (3 ended)" in completed.stdout
