"""Deadlines that hold while user code blocks (issue #12 item 9), in this process.

``max_seconds`` cuts short an environment or actor that sleeps or spins, the trial ends failed
naming the tick and the call, the ticks before are recorded, and the next trial gets a fresh
environment; ``response_timeout`` with ``optional``/``default_action`` skips a slow actor as
Cogment does. The process pool's side is in tests/backends/test_deadlines.py.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cogym import Orchestrator, TrialSpec, TrialState
from cogym.cli import main
from cogym.datastore import HDF5Datastore
from cogym.errors import SpecError, TrialTimeoutError
from tests import blocking

HANG_GUARD = 60.0
"""Seconds a test may take at most: a guard against hangs, not a timing assertion."""


def _spec(env: dict[str, Any] | None = None, **fields: Any) -> TrialSpec:
    data: dict[str, Any] = {
        "environment": env or {"implementation": "gym:CartPole-v1"},
        "actors": [{"name": "player"}],
        "seed": 0,
    }
    data.update(fields)
    return TrialSpec.from_dict(data)


def _blocking_env(**config: Any) -> dict[str, Any]:
    return {"implementation": "python:tests.blocking:cartpole", "config": config}


def _sleeper(**fields: Any) -> list[dict[str, Any]]:
    config = fields.pop("config", {"at": 2})
    return [{"name": "player", "implementation": "python:tests.blocking:Sleeper",
             "config": config, **fields}]  # fmt: skip


@pytest.mark.parametrize("how", ["sleep", "spin"])
def test_an_env_step_that_blocks_fails_the_trial_at_its_tick_and_keeps_the_ticks_before(
    how, tmp_path
):
    spec = _spec(_blocking_env(step_at=5, how=how), max_seconds=0.5)
    began = time.monotonic()
    with Orchestrator(datastore=HDF5Datastore(tmp_path / "trials")) as orchestrator:
        result = orchestrator.run(spec)
    assert time.monotonic() - began < HANG_GUARD
    assert result.state is TrialState.FAILED
    assert result.ticks == 4
    assert (
        "timed out after 0.5 s (max_seconds) at tick 4 in the environment's step" in result.error
    )
    stored = HDF5Datastore(tmp_path / "trials").trial(result.trial_id)
    assert stored.summary.state is TrialState.FAILED
    assert "at tick 4 in the environment's step" in stored.summary.error
    assert [sample.tick for sample in stored.samples()] == [0, 1, 2, 3]


def test_an_env_reset_that_spins_fails_the_trial_before_its_first_tick():
    spec = _spec(_blocking_env(reset_at=1, how="spin"), max_seconds=0.5)
    with Orchestrator() as orchestrator:
        result = orchestrator.run(spec)
    assert result.state is TrialState.FAILED and result.ticks == 0
    assert "at tick 0 in the environment's reset" in result.error


def test_an_actor_act_that_sleeps_fails_the_trial_naming_the_actor():
    spec = _spec(actors=_sleeper(), max_seconds=0.5)
    with Orchestrator() as orchestrator:
        result = orchestrator.run(spec)
    assert result.state is TrialState.FAILED and result.ticks == 2
    assert "at tick 2 in actor 'player' (act)" in result.error


def test_a_multi_actor_trial_names_the_actor_that_blocked():
    actors = [
        {"name": "a", "implementation": "python:tests.blocking:Sleeper", "config": {"at": 1}},
        {"name": "b"},
    ]
    spec = _spec({"implementation": "python:tests.helpers:relay", "config": {"length": 50}},
                 actors=actors, max_seconds=0.5)  # fmt: skip
    with Orchestrator() as orchestrator:
        result = orchestrator.run(spec)
    assert result.state is TrialState.FAILED and result.ticks == 1
    assert "in actor 'a' (act)" in result.error


def test_the_next_trial_gets_a_fresh_environment_after_one_was_cut_short():
    blocking.built.clear()
    spec = _spec(_blocking_env(step_at=3, seed=0), max_seconds=0.5, max_ticks=10)
    with Orchestrator() as orchestrator:
        first = orchestrator.run(spec, seed=0)
        second = orchestrator.run(spec, seed=1)
        third = orchestrator.run(spec, seed=2)
    assert [first.state, second.state, third.state] == [TrialState.FAILED, *[TrialState.ENDED] * 2]
    assert len(blocking.built) == 2  # rebuilt once, after the trial cut short; then reused


def test_a_trial_stepped_from_outside_raises_the_timeout_from_step_and_leaves_no_timer():
    spec = _spec(_blocking_env(step_at=3), actors=[{"name": "player",
                 "implementation": "external"}], max_seconds=0.3)  # fmt: skip
    with Orchestrator() as orchestrator:
        trial = orchestrator.start(spec)
        trial.step({"player": 0})
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # none between steps
        trial.step({"player": 0})
        with pytest.raises(TrialTimeoutError, match="at tick 2 in the environment's step"):
            trial.step({"player": 0})
    assert trial.state is TrialState.FAILED and trial.result.ticks == 2
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL


def test_a_deadline_passed_by_a_slow_but_working_env_still_terminates():
    # a time budget used up by steps that each return: terminated, not failed
    spec = _spec(
        {"implementation": "gym:cogym/Probe-v0",
         "config": {"episode_length": 10_000, "step_seconds": 0.01}},
        max_seconds=0.2,
    )  # fmt: skip
    with Orchestrator() as orchestrator:
        result = orchestrator.run(spec)
    assert result.state is TrialState.TERMINATED
    assert "wall-clock limit of 0.2 s" in result.error


def test_the_previous_alarm_handler_and_timer_are_given_back():
    fired: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        fired.append(signum)

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        with Orchestrator() as orchestrator:
            result = orchestrator.run(_spec(_blocking_env(step_at=3), max_seconds=0.3))
        assert result.state is TrialState.FAILED
        assert signal.getsignal(signal.SIGALRM) is handler
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < remaining < 30.0
        assert fired == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_an_optional_actor_that_does_not_answer_is_skipped_with_its_default_action(tmp_path):
    actors = _sleeper(response_timeout=0.2, optional=True, default_action=1)
    spec = _spec(actors=actors, max_ticks=5)
    with Orchestrator(datastore=HDF5Datastore(tmp_path / "trials"), keep_samples=True) as orch:
        trial = orch.start(spec)
        result = trial.run()
    assert result.state is TrialState.ENDED and result.ticks == 5
    assert [int(s.actions["player"]) for s in trial.samples] == [0, 0, 1, 1, 1]
    # unavailable from tick 2 for the rest of the trial, as in Cogment: asked no more
    note = {"by": "default_action", "reason": "response_timeout", "unavailable_since": 2}
    assert [s.annotations for s in trial.samples] == [None, None, *[{"player": note}] * 3]
    shown = CliRunner().invoke(
        main, ["trials", "show", "-d", str(tmp_path / "trials"), result.trial_id]
    )
    assert shown.exit_code == 0, shown.output
    assert '{"by": "default_action"}' in shown.output


def test_an_optional_actor_without_default_action_gives_no_action():
    actors = [
        {"name": "a", "implementation": "python:tests.blocking:Sleeper", "config": {"at": 1},
         "response_timeout": 0.2, "optional": True},
        {"name": "b"},
    ]  # fmt: skip
    spec = _spec({"implementation": "python:tests.helpers:relay", "config": {"length": 4}},
                 actors=actors)  # fmt: skip
    with Orchestrator(keep_samples=True) as orchestrator:
        trial = orchestrator.start(spec)
        result = trial.run()
    assert result.state is TrialState.ENDED and result.ticks == 4
    assert [sorted(s.actions) for s in trial.samples] == [["a", "b"], ["b"], ["b"], ["b"]]
    assert trial.samples[1].annotations == {
        "a": {"by": "nobody", "reason": "response_timeout", "unavailable_since": 1}
    }


def test_an_actor_that_is_not_optional_and_does_not_answer_fails_the_trial():
    spec = _spec(actors=_sleeper(response_timeout=0.2), max_ticks=5)
    with Orchestrator() as orchestrator:
        result = orchestrator.run(spec)
    assert result.state is TrialState.FAILED and result.ticks == 2
    assert "actor 'player' gave no answer within its response_timeout of 0.2 s at tick 2" in (
        result.error
    )


def test_outside_the_main_thread_a_late_answer_counts_as_no_answer():
    # no timer there: the actor is not interrupted, but its late answer is dropped
    actors = _sleeper(config={"at": 1, "how": "slow"}, response_timeout=0.1, optional=True,
                      default_action=1)  # fmt: skip
    spec = _spec(actors=actors, max_ticks=3)
    results = []
    with Orchestrator(keep_samples=True) as orchestrator:
        trial = orchestrator.start(spec)
        thread = threading.Thread(target=lambda: results.append(trial.run()))
        thread.start()
        thread.join(HANG_GUARD)
    assert results and results[0].state is TrialState.ENDED
    assert [int(s.actions["player"]) for s in trial.samples] == [0, 1, 1]


# -- the command line -----------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return str(path)


def test_cogym_run_with_a_blocking_env_exits_1_naming_the_trial_that_timed_out(tmp_path):
    spec = _write(
        tmp_path,
        "environment:\n  implementation: python:tests.blocking:cartpole\n"
        "  config: {step_at: 5, how: spin, seed: 1}\n"
        "actors:\n  - name: player\nmax_seconds: 0.5\nmax_ticks: 20\nseed: 0\n",
    )
    began = time.monotonic()
    result = CliRunner().invoke(main, ["run", spec, "-n", "3", "-q"])
    assert time.monotonic() - began < HANG_GUARD
    assert result.exit_code == 1, result.output
    assert "3 trials (2 ended, 1 failed)" in result.output
    assert "timed out after 0.5 s (max_seconds) at tick 4 in the environment's step" in (
        result.stderr
    )


BAD_FIELDS = {
    "negative response_timeout": (
        "response_timeout: -1", "actors[0].response_timeout", "greater than 0"
    ),
    "default_action outside the space": (
        "response_timeout: 1\n    optional: true\n    default_action: 7",
        "actors[0].default_action",
        "not in the action space Discrete(2)",
    ),
    "default_action without optional": (
        "response_timeout: 1\n    default_action: 1",
        "actors[0].default_action",
        "add optional: true",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FIELDS))
@pytest.mark.parametrize("workers", ["1", "2"])
def test_bad_deadline_fields_exit_2_naming_the_field(case, workers, tmp_path):
    fields, field, detail = BAD_FIELDS[case]
    spec = _write(
        tmp_path,
        "environment:\n  implementation: gym:CartPole-v1\n"
        f"actors:\n  - name: player\n    {fields}\nseed: 0\n",
    )
    result = CliRunner().invoke(main, ["run", spec, "-n", "2", "-w", workers, "-q"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert field in result.stderr and detail in result.stderr


def test_a_default_action_of_a_box_space_is_read_from_its_json_form():
    spec = TrialSpec.from_dict({
        "environment": {"implementation": "gym:Pendulum-v1"},
        "actors": [{"name": "player", "response_timeout": 1, "optional": True,
                    "default_action": [0.5]}],
    })  # fmt: skip
    with Orchestrator() as orchestrator:
        orchestrator.validate(spec)
        with pytest.raises(SpecError, match=r"actors\[0\]\.default_action"):
            orchestrator.validate(spec.replace_actor("player", default_action=[5.0]))
