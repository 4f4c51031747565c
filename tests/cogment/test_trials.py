"""Cogment environments and actors written with the SDK, served on 127.0.0.1 and in-process,
in cogym trials: rewards, messages, both kinds of end, failures named."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from cogym import HDF5Datastore, Orchestrator, TrialSpec
from cogym.trial import TrialState
from tests.cogment.conftest import require_cogment

require_cogment()

from tests.cogment.app import ENDINGS, SETTINGS, SPACES  # noqa: E402

COG = {"cog_settings": SETTINGS}
IN_PROCESS = "cogment:tests.cogment.app"


def duel_spec(env: str, a: str, b: str, end_at: int = 5, **fields) -> TrialSpec:
    reset_args = {"end_at": {"int_value": end_at}}
    return TrialSpec.from_dict({
        "environment": {
            "implementation": env,
            "config": {**COG, **SPACES, "config": {"reset_args": reset_args}},
        },
        "actors": [
            {"name": "a", "implementation": a, "config": COG if a.startswith("cogment") else {}},
            {"name": "b", "implementation": b, "config": COG if b.startswith("cogment") else {}},
        ],
        "seed": 1,
        **fields,
    })


def served_duel(served: str, **kwargs) -> TrialSpec:
    return duel_spec(f"{served}/duel", f"{served}/chatty", f"{served}/quiet", **kwargs)


def run_kept(spec: TrialSpec):
    with Orchestrator(keep_samples=True) as orchestrator:
        trial = orchestrator.start(spec)
        result = trial.result if trial.done else trial.run()
    return result, trial.samples


def test_served_duel_rewards_are_confidence_weighted_means_per_tick(served):
    result, samples = run_kept(served_duel(served))
    assert result.state is TrialState.ENDED, result.error
    assert result.ticks == 5
    for sample in samples:
        t = sample.tick
        a_action, b_action = t % 3, (t + 1) % 3
        assert int(sample.actions["a"]) == a_action and int(sample.actions["b"]) == b_action
        # env: own action with confidence 1 and 10 to player.* with confidence 0.5
        assert sample.rewards["a"] == pytest.approx((a_action + 10 * 0.5) / 1.5)
    # actor a rewards b by 1 with confidence 0.25 on each tick it plays (but the last, whose
    # reward comes after the trial's end): b's return counts it on ticks 0..3
    b_return = sum((((t + 1) % 3) + 5) / 1.5 for t in range(5))
    b_return += sum(
        (((t + 1) % 3) + 5 + 0.25) / 1.75 - (((t + 1) % 3) + 5) / 1.5 for t in range(4)
    )
    assert result.returns["b"] == pytest.approx(b_return)
    assert result.returns["a"] == pytest.approx(sum((t % 3 + 5) / 1.5 for t in range(5)))


def test_messages_go_both_ways_and_are_recorded(served):
    _, samples = run_kept(served_duel(served))
    sent = [(m.tick, m.sender, m.receiver, m.payload) for s in samples for m in s.messages]
    from_env = [p for _, s, r, p in sent if s == "env" and r == "a"]
    # the environment counts the actor's answers, delivered one tick after they were sent
    assert from_env == [f"tick {t}, got {max(t - 1, 0)}" for t in range(5)]
    assert [(t, p) for t, s, r, p in sent if s == "a"] == [(t, "thanks") for t in range(1, 5)]


def test_environment_initiated_end_is_a_soft_end(served):
    result, _ = run_kept(served_duel(served, end_at=3))
    assert (result.state, result.ticks) == (TrialState.ENDED, 3)
    assert ENDINGS[result.trial_id] == "FINAL"  # LAST, LAST_ACK then END: not forced


def test_max_ticks_end_goes_through_last_and_last_ack(served):
    result, samples = run_kept(served_duel(served, end_at=0, max_ticks=4))
    assert (result.state, result.ticks) == (TrialState.ENDED, 4)
    assert ENDINGS[result.trial_id] == "FINAL"
    assert len(samples) == 4


def test_in_process_impls_give_the_served_trial_tick_for_tick(served):
    served_result, served_samples = run_kept(served_duel(served))
    local = duel_spec(f"{IN_PROCESS}:duel", f"{IN_PROCESS}:chatty", f"{IN_PROCESS}:quiet")
    local_result, local_samples = run_kept(local)
    assert local_result.returns == served_result.returns
    assert len(local_samples) == len(served_samples) == 5
    for mine, theirs in zip(local_samples, served_samples, strict=True):
        for name in ("a", "b"):
            np.testing.assert_array_equal(mine.observations[name], theirs.observations[name])
        assert mine.actions == theirs.actions
        assert mine.rewards == theirs.rewards
        assert [(m.sender, m.receiver, m.payload) for m in mine.messages] == [
            (m.sender, m.receiver, m.payload) for m in theirs.messages
        ]


def test_cogment_trial_is_recorded_and_replays_while_its_services_run(served, tmp_path):
    with Orchestrator(datastore=HDF5Datastore(tmp_path / "trials")) as orchestrator:
        result = orchestrator.run(served_duel(served))
    datastore = HDF5Datastore(tmp_path / "trials")
    stored = datastore.trial(result.trial_id)
    assert stored.summary.ticks == 5
    assert stored.summary.returns == pytest.approx(result.returns)
    report = datastore.replay(result.trial_id)
    assert report.reproduced, str(report)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_endpoint_is_refused_within_5_s_naming_it():
    port = _free_port()
    endpoint = f"cogment:grpc://127.0.0.1:{port}/duel"
    start = time.monotonic()
    with Orchestrator() as orchestrator:
        result = orchestrator.run(duel_spec(endpoint, "random", "random"))
    assert time.monotonic() - start < 6.5
    assert result.state is TrialState.FAILED
    assert f"grpc://127.0.0.1:{port}/duel" in result.error and "within 5 s" in result.error


def test_service_dying_mid_trial_fails_the_trial_naming_service_and_tick(served):
    result, samples = run_kept(
        duel_spec(f"{served}/crashing", f"{served}/chatty", f"{served}/quiet", end_at=0)
    )
    assert result.state is TrialState.FAILED
    assert f"{served.removeprefix('cogment:')}/crashing" in result.error
    assert "tick 3" in result.error
    assert len(samples) == 3  # the ticks before it are kept


def test_observation_not_fitting_its_space_names_actor_tick_and_field(served):
    result, _ = run_kept(duel_spec(f"{served}/wrong_shape", "random", "random"))
    assert result.state is TrialState.FAILED
    assert "actor 'a'" in result.error and "tick 0" in result.error
    assert "Observation.value" in result.error and "shape (3,)" in result.error


def test_cogment_actors_play_a_native_cogym_environment(served):
    spec = TrialSpec.from_dict({
        "environment": {"implementation": "gym:CartPole-v1"},
        "actors": [{"name": "player", "implementation": f"{served}/random", "config": COG}],
        "max_ticks": 50, "seed": 0,
    })
    result, samples = run_kept(spec)
    assert result.state is TrialState.ENDED, result.error
    assert {int(s.actions["player"]) for s in samples} <= {0, 1}
    assert result.ticks == len(samples) > 1


def _with_dying_actor(served: str, **actor_fields) -> TrialSpec:
    spec = duel_spec(f"{served}/duel", f"{served}/dying", f"{served}/quiet")
    return spec.replace_actor("a", **actor_fields) if actor_fields else spec


def test_optional_cogment_actor_that_dies_plays_its_default_action(served):
    result, samples = run_kept(_with_dying_actor(served, optional=True, default_action=1))
    assert result.state is TrialState.ENDED, result.error
    assert [int(s.actions["a"]) for s in samples] == [0, 0, 1, 1, 1]
    note = samples[2].annotations["a"]
    assert note["by"] == "default_action" and note["unavailable_since"] == 2
    assert "/dying" in note["reason"] and "the actor service crashed" in note["reason"]


def test_environment_is_told_which_actor_is_unavailable(served):
    result, samples = run_kept(_with_dying_actor(served, optional=True))
    assert result.state is TrialState.ENDED, result.error
    assert "a" not in samples[2].actions  # no default action: none is played
    news = [m.payload for s in samples for m in s.messages if m.sender == "env"]
    assert news[:2] == ["tick 0, got 0", "tick 1, got 0"]
    assert news[2:] == [f"tick {t}, got 0, unavailable ['a']" for t in (2, 3, 4)]
    assert samples[3].annotations["a"]["by"] == "nobody"


def test_required_cogment_actor_that_dies_fails_the_trial_naming_it_and_the_tick(served):
    result, samples = run_kept(_with_dying_actor(served))
    assert result.state is TrialState.FAILED
    assert "actor 'a'" in result.error and "tick 2" in result.error
    assert "/dying" in result.error
    assert len(samples) == 2


def test_trial_parallel_env_over_the_served_duel_passes_the_pettingzoo_api_test(served):
    from pettingzoo.test import parallel_api_test

    from cogym.wrappers import TrialParallelEnv

    spec = duel_spec(f"{served}/duel", "external", "external", end_at=0, max_ticks=30)
    env = TrialParallelEnv(spec)
    parallel_api_test(env, num_cycles=50)
    observations, _ = env.reset(seed=0)
    assert sorted(observations) == ["a", "b"]
    _, rewards, _, truncations, _ = env.step({"a": 2, "b": 0})
    assert rewards["a"] == pytest.approx((2 + 5) / 1.5) and not any(truncations.values())
    env.close()


def test_replay_says_the_service_must_run_when_it_does_not(tmp_path):
    from cogym.errors import CogmentUnreachableError
    from tests.cogment.app import IMPLEMENTATIONS, ServedApp

    app = ServedApp(IMPLEMENTATIONS["environments"], IMPLEMENTATIONS["actors"])
    endpoint = f"cogment:grpc://127.0.0.1:{app.port}"
    with Orchestrator(datastore=HDF5Datastore(tmp_path / "trials")) as orchestrator:
        result = orchestrator.run(served_duel(endpoint))
    app.stop()
    with pytest.raises(CogmentUnreachableError, match=r"grpc://127\.0\.0\.1:\d+/duel.*start"):
        HDF5Datastore(tmp_path / "trials").replay(result.trial_id)


def test_cogment_trials_run_in_worker_processes(served, tmp_path):
    import subprocess
    import sys

    import yaml

    spec = served_duel(served, end_at=4)
    path = tmp_path / "duel.yaml"
    path.write_text(yaml.safe_dump(spec.to_dict()))
    completed = subprocess.run(
        [sys.executable, "-m", "cogym", "run", str(path), "-n", "4", "-w", "2",
         "--datastore", str(tmp_path / "trials"), "-q"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "4 trials (4 ended)" in completed.stdout
    assert len(HDF5Datastore(tmp_path / "trials")) == 4


def test_cogym_actor_and_cogment_environment_exchange_messages(served):
    result, samples = run_kept(
        duel_spec(f"{served}/duel", "python:tests.helpers:Chatty", f"{served}/quiet")
    )
    assert result.state is TrialState.ENDED, result.error
    # each JSON payload reaches the environment (packed in a google.protobuf.Value) at the
    # start of the next tick, before that tick's actions
    news = [m.payload for s in samples for m in s.messages if m.sender == "env"]
    assert news == [f"tick {t}, got {t}" for t in range(5)]
    sent = [m.payload for s in samples for m in s.messages if m.sender == "a"]
    assert sent == [{"tick": t} for t in range(5)]
