"""Deadlines in a ``--workers`` run (issue #12 item 9): a trial stuck where its own timer cannot
reach (``SIGALRM`` blocked, as in C code) has its worker killed and replaced; a trial stuck in
Python code is cut short by the timer inside its worker. Either way exactly that trial fails,
the others end, and the run finishes in bounded time."""

from __future__ import annotations

import time
from pathlib import Path

from click.testing import CliRunner

from cogym import Orchestrator, TrialSpec, TrialState
from cogym.cli import main
from cogym.datastore import HDF5Datastore

HANG_GUARD = 90.0
"""Seconds a run may take at most: a guard against hangs, not a timing assertion."""


def _yaml(how: str) -> str:
    # the trial of seed 2 (the third) blocks on its fifth step
    return (
        "environment:\n  implementation: python:tests.blocking:cartpole\n"
        f"  config: {{step_at: 5, how: {how}, seed: 2}}\n"
        "actors:\n  - name: player\nmax_seconds: 0.5\nmax_ticks: 30\nseed: 0\n"
    )


def test_a_worker_stuck_with_signals_blocked_is_replaced_and_the_other_trials_go_on(
    tmp_path: Path,
):
    (tmp_path / "spec.yaml").write_text(_yaml("masked"))
    arguments = ["run", str(tmp_path / "spec.yaml"), "-n", "5", "-w", "2", "-q"]
    began = time.monotonic()
    result = CliRunner().invoke(main, [*arguments, "--datastore", str(tmp_path / "trials")])
    assert time.monotonic() - began < HANG_GUARD
    assert result.exit_code == 1, result.output
    assert "5 trials (4 ended, 1 failed)" in result.output
    assert "timed out after 0.5 s (max_seconds)" in result.stderr
    assert "was killed and replaced" in result.stderr
    stored = HDF5Datastore(tmp_path / "trials").trials()
    assert sorted(s.seed for s in stored if s.state is TrialState.ENDED) == [0, 1, 3, 4]


def test_a_trial_stuck_in_python_code_in_a_worker_is_cut_short_by_its_own_timer():
    spec = TrialSpec.from_yaml_text(_yaml("sleep"))
    began = time.monotonic()
    with Orchestrator() as orchestrator:
        results = orchestrator.run_many(spec, 5, workers=2)
    assert time.monotonic() - began < HANG_GUARD
    states = {r.seed: r.state for r in results}
    assert states == {0: TrialState.ENDED, 1: TrialState.ENDED, 2: TrialState.FAILED,
                      3: TrialState.ENDED, 4: TrialState.ENDED}  # fmt: skip
    failed = next(r for r in results if r.seed == 2)
    assert failed.ticks == 4
    assert "at tick 4 in the environment's step" in failed.error
