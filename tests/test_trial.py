"""The tick loop: rewards, messages, limits, failures and observers, seen through trials."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from cogym import Orchestrator, TrialState
from cogym.datalog import MemoryDatalog
from cogym.errors import ImplementationError, MessageError, TrialError
from cogym.trial import ENVIRONMENT, Reward
from cogym.wrappers.gym_environment import GymEnvironment
from tests.conftest import CARTPOLE, PROBE, make_spec
from tests.helpers import Recorder

RELAY = "python:tests.helpers:relay"


def test_a_cartpole_trial_ends_with_its_return(orchestrator):
    result = orchestrator.run(make_spec(seed=0))
    assert result.state is TrialState.ENDED
    assert result.ticks > 0 and result.returns["player"] == result.ticks
    assert result.error is None and result.duration >= 0


def test_environment_and_actor_rewards_aggregate_by_confidence_weighted_mean(orchestrator):
    spec = make_spec(
        CARTPOLE,
        [
            {"name": "player", "implementation": "python:cogym.bots:CartPoleExpert"},
            {
                "name": "coach",
                "actor_class": "observer",
                "implementation": "python:tests.helpers:Coach",
                "config": {"value": 0.0, "confidence": 3.0},
            },
        ],
        max_ticks=10,
        seed=1,
    )
    result = orchestrator.run(spec)
    # per tick: (1.0 * 1 + 0.0 * 3) / (1 + 3) = 0.25
    assert result.returns["player"] == pytest.approx(10 * 0.25)
    again = orchestrator.run(spec, seed=1)
    with Orchestrator(keep_samples=True) as keeping:
        trial = keeping.start(spec, seed=1)
        trial.run()
    first = trial.samples[0]
    assert first.rewards["player"] == pytest.approx(0.25)
    assert first.env_rewards["player"] == 1.0
    assert first.rewards_sent == (Reward(0, "coach", "player", 0.0, 3.0),)
    assert again.returns == result.returns and again.ticks == result.ticks == 10


class _Retro:
    """Rewards tick 0 of actor 'a' with value 5 on tick 2."""

    def reset(self, context):
        self.context = context

    def act(self, observation):
        if self.context.tick == 2:
            self.context.send_reward("a", 5.0, confidence=1.0, tick=0)
        return 0


def test_retroactive_rewards_revise_the_tick_they_name(monkeypatch):
    from tests import helpers

    monkeypatch.setattr(helpers, "Retro", _Retro, raising=False)
    log = MemoryDatalog()
    spec = make_spec(
        RELAY,
        [
            {"name": "a", "implementation": "random"},
            {"name": "b", "implementation": "python:tests.helpers:Retro"},
        ],
        {"length": 4},
        seed=0,
    )
    with Orchestrator(datastore=log) as orchestrator:
        result = orchestrator.run(spec)
    record = log.trials[0]
    # tick 0: env gave 1, then 'b' gave 5 at confidence 1 -> 3; ticks 1-3 stay 1
    assert record.rewards("a") == [3.0, 1.0, 1.0, 1.0]
    assert result.returns["a"] == pytest.approx(6.0)
    assert result.returns["b"] == pytest.approx(4.0)
    assert record.revisions == [("a", 0, 3.0)]
    assert record.samples[2].rewards_sent == (Reward(0, "b", "a", 5.0, 1.0),)


def test_rewards_to_unknown_actors_or_future_ticks_are_refused(orchestrator):
    spec = make_spec(RELAY, [{"name": "a"}, {"name": "b"}], {"length": 3}, seed=0)
    trial = orchestrator.start(spec)
    context = trial.environment.context
    with pytest.raises(MessageError, match="no actor named 'c'"):
        context.send_reward("c", 1.0)
    with pytest.raises(MessageError, match="not within the ticks"):
        context.send_reward("a", 1.0, tick=5)
    with pytest.raises(MessageError, match="finite"):
        context.send_reward("a", float("nan"))
    with pytest.raises(MessageError, match="JSON"):
        context.send_message("a", object())
    trial.run()


def test_a_string_reward_from_an_observer_fails_the_trial_naming_sender_tick_and_value(
    orchestrator,
):
    coach = {
        "name": "coach",
        "actor_class": "observer",
        "implementation": "python:tests.helpers:Coach",
        "config": {"value": "0.5"},
    }
    spec = make_spec(CARTPOLE, [{"name": "player"}, coach], max_ticks=5, seed=0)
    result = orchestrator.run(spec)
    assert result.state is TrialState.FAILED and result.ticks == 0
    assert "tick 0: 'coach' sending a reward" in result.error
    assert "value '0.5' (str) is not a number" in result.error


def test_on_reward_sees_environment_and_participant_rewards(orchestrator):
    Recorder.made.clear()
    spec = make_spec(
        RELAY,
        [
            {"name": "a", "implementation": "python:tests.helpers:Recorder"},
            {"name": "b", "implementation": "python:tests.helpers:Retro"},
        ],
        {"length": 4},
        seed=0,
    )
    from tests import helpers

    helpers.Retro = _Retro
    try:
        orchestrator.run(spec)
    finally:
        del helpers.Retro
    received = Recorder.made[-1].rewards
    assert [r.sender for r in received].count(ENVIRONMENT) == 4
    assert Reward(0, "b", "a", 5.0, 1.0) in received


def test_messages_arrive_on_the_next_tick_and_go_to_the_environment_too(orchestrator):
    spec = make_spec(
        RELAY,
        [
            {"name": "a", "implementation": "python:tests.helpers:Chatty", "config": {"to": "b"}},
            {"name": "b", "implementation": "python:tests.helpers:Chatty", "config": {"to": "env"}},
        ],
        {"length": 3},
        seed=0,
    )
    trial = orchestrator.start(spec)
    trial.run()
    b = trial.cast.actors["b"]
    env = trial.environment
    assert [m.payload for m in b.received] == [{"tick": 0}, {"tick": 1}]
    assert all(m.sender == "a" and m.receiver == "b" for m in b.received)
    assert [m.tick for m in env.received] == [0, 1]
    assert [len(s.messages) for s in trial.samples] == [2, 2, 2]


def test_max_ticks_truncates_and_keeps_final_observations(orchestrator):
    trial = orchestrator.start(
        make_spec(PROBE, config={"episode_length": 100}, max_ticks=7, seed=0)
    )
    result = trial.run()
    assert result.state is TrialState.ENDED and result.ticks == 7
    assert set(trial.final_observations) == {"player"}


def test_on_end_gets_the_final_observation_or_none_where_the_trial_failed(orchestrator):
    from tests.helpers import EndWatcher

    watcher = [{"name": "player", "implementation": "python:tests.helpers:EndWatcher"}]
    EndWatcher.ends.clear()
    trial = orchestrator.start(make_spec(CARTPOLE, watcher, seed=0))
    assert trial.run().state is TrialState.ENDED
    trial = orchestrator.start(make_spec(PROBE, watcher, {"episode_length": 100}, max_ticks=7))
    assert trial.run().state is TrialState.ENDED
    assert len(EndWatcher.ends) == 2 and EndWatcher.ends[0].shape == (4,)
    np.testing.assert_array_equal(EndWatcher.ends[1], trial.final_observations["player"])
    failing = make_spec(
        "python:tests.helpers:cartpole_with_string_rewards", watcher, max_ticks=5
    )
    assert orchestrator.run(failing).state is TrialState.FAILED
    assert EndWatcher.ends[2] is None
    raising = [{**watcher[0], "config": {"raise_at_end": True}}]
    result = orchestrator.run(make_spec(CARTPOLE, raising, seed=0))
    assert result.state is TrialState.FAILED
    assert "actor 'player'" in result.error and "cannot take the end" in result.error


def test_wall_clock_limit_terminates(orchestrator):
    spec = make_spec(
        PROBE, config={"episode_length": 10_000, "step_seconds": 0.001}, max_seconds=0.05, seed=0
    )
    result = orchestrator.run(spec)
    assert result.state is TrialState.TERMINATED
    assert "wall-clock limit" in result.error
    assert 0 < result.ticks < 10_000


def test_terminate_from_another_thread(orchestrator):
    spec = make_spec(PROBE, config={"episode_length": 100_000, "step_seconds": 0.0005}, seed=0)
    started = threading.Event()
    orchestrator.subscribe(lambda event: event.kind == "started" and started.set())
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.setdefault("r", orchestrator.run(spec)))
    runner.start()
    assert started.wait(10)
    [trial] = orchestrator.running()
    assert orchestrator.info(trial.trial_id) is trial and trial.state is TrialState.RUNNING
    orchestrator.terminate(trial.trial_id, "enough")
    runner.join(10)
    result = outcome["r"]
    assert result.state is TrialState.TERMINATED and result.error == "enough"
    assert orchestrator.info(trial.trial_id) == result
    with pytest.raises(TrialError, match="no running"):
        orchestrator.terminate(trial.trial_id)


@pytest.mark.parametrize(
    ("actor", "config", "words"),
    [
        (
            "python:tests.helpers:Crash",
            {"episode_length": 50},
            "actor 'player' (python:tests.helpers:Crash) raised ValueError('crash at tick 3')",
        ),
        (
            "python:tests.helpers:OutOfSpace",
            {"episode_length": 50},
            "tick 0: actor 'player' sent action 7 (int), which is not in its action space "
            "Discrete(2)",
        ),
        (
            "random",
            {"episode_length": 50, "fail_at": 4},
            "tick 4: environment gym:cogym/Probe-v0 raised RuntimeError",
        ),
    ],
)
def test_failures_end_the_trial_as_failed_with_the_error_and_the_ticks_before(actor, config, words):
    log = MemoryDatalog()
    with Orchestrator(datastore=log) as orchestrator:
        result = orchestrator.run(
            make_spec(PROBE, [{"name": "player", "implementation": actor}], config, seed=0)
        )
    assert result.state is TrialState.FAILED
    assert words in result.error
    record = log.trials[0]
    assert record.result == result
    assert len(record.samples) == result.ticks
    assert [s.tick for s in record.samples] == list(range(result.ticks))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_trial_does_not_stop_the_others(workers):
    spec = make_spec(
        PROBE,
        [
            {
                "name": "player",
                "implementation": "python:tests.helpers:CrashOnSeed",
                "config": {"seed": 11},
            }
        ],
        {"episode_length": 5},
        seed=10,
    )
    with Orchestrator() as orchestrator:
        results = orchestrator.run_many(spec, 4, workers=workers)
    assert [r.state.value for r in results] == ["ended", "failed", "ended", "ended"]
    assert "crash on seed 11" in results[1].error
    assert [r.ticks for r in results] == [5, 2, 5, 5]


def test_observers_watch_and_their_actions_are_ignored(orchestrator):
    Recorder.made.clear()
    spec = make_spec(
        CARTPOLE,
        [
            {"name": "player", "implementation": "random"},
            {
                "name": "watcher",
                "actor_class": "observer",
                "implementation": "python:tests.helpers:Recorder",
            },
        ],
        seed=0,
    )
    with pytest.raises(ImplementationError, match="a random actor needs an action space"):
        Orchestrator().start(spec.replace_actor("watcher", implementation="random"))
    trial = orchestrator.start(
        spec.replace_actor("watcher", implementation="python:cogym.bots:CartPoleExpert")
    )
    trial.run()
    assert all(set(s.actions) == {"player"} for s in trial.samples)
    assert all(set(s.observations) == {"player", "watcher"} for s in trial.samples)
    for s in trial.samples:
        np.testing.assert_array_equal(s.observations["player"], s.observations["watcher"])


class _NoFastPath(GymEnvironment):
    def single_actor(self):
        return None


def test_the_single_actor_fast_path_plays_exactly_like_the_general_loop(monkeypatch):
    import gymnasium as gym

    from tests import helpers

    monkeypatch.setattr(
        helpers, "slow_cartpole", lambda: _NoFastPath(gym.make("CartPole-v1")), raising=False
    )
    fast = make_spec(CARTPOLE, seed=5, max_ticks=40)
    slow = make_spec("python:tests.helpers:slow_cartpole", seed=5, max_ticks=40)
    with Orchestrator(keep_samples=True) as orchestrator:
        a = orchestrator.start(fast)
        a.run()
        b = orchestrator.start(slow)
        b.run()
    assert a.cast.solo is not None and b.cast.solo is None
    assert len(a.samples) == len(b.samples)
    for x, y in zip(a.samples, b.samples, strict=True):
        assert x.tick == y.tick and x.rewards == y.rewards and x.actions == y.actions
        np.testing.assert_array_equal(x.observations["player"], y.observations["player"])
        assert x.terminated == y.terminated and x.truncated == y.truncated
    assert a.result.returns == b.result.returns and a.result.state == b.result.state


def test_stepping_a_finished_trial_or_running_one_with_externals_is_refused(orchestrator):
    spec = make_spec(CARTPOLE, [{"name": "player", "implementation": "external"}], seed=0)
    trial = orchestrator.start(spec)
    with pytest.raises(TrialError, match="external actors"):
        trial.run()
    with pytest.raises(TrialError, match="no action given"):
        trial.step({})
    with pytest.raises(TrialError, match="not an external actor"):
        trial.step({"nobody": 0})
    trial.terminate()
    with pytest.raises(TrialError, match="terminated"):
        trial.step({"player": 0})


class _Noting:
    def reset(self, context):
        self.context = context

    def act(self, observation):
        if self.context.tick % 2:
            self.context.annotate({"chosen_by": "bot", "tick": self.context.tick})
        return 0


def test_actors_annotate_ticks_and_the_notes_are_recorded(monkeypatch):
    from tests import helpers

    monkeypatch.setattr(helpers, "Noting", _Noting, raising=False)
    log = MemoryDatalog()
    with Orchestrator(datastore=log) as orchestrator:
        orchestrator.run(
            make_spec(
                PROBE,
                [{"name": "player", "implementation": "python:tests.helpers:Noting"}],
                {"episode_length": 4},
                seed=0,
            )
        )
    notes = [s.annotations for s in log.trials[0].samples]
    assert notes == [
        None,
        {"player": {"chosen_by": "bot", "tick": 1}},
        None,
        {"player": {"chosen_by": "bot", "tick": 3}},
    ]


class _SelfCritic:
    """Plays 0 and, on tick 2, rewards its own tick 0 with 5."""

    def reset(self, context):
        self.context = context

    def act(self, observation):
        if self.context.tick == 2:
            self.context.send_reward("player", 5.0, tick=0)
        return 0


def test_an_actor_alone_rewarding_its_own_earlier_tick_revises_that_tick(monkeypatch):
    from tests import helpers

    monkeypatch.setattr(helpers, "SelfCritic", _SelfCritic, raising=False)
    log = MemoryDatalog()
    spec = make_spec(
        CARTPOLE, [{"name": "player", "implementation": "python:tests.helpers:SelfCritic"}],
        seed=0, max_ticks=4,
    )  # fmt: skip
    with Orchestrator(datastore=log) as orchestrator:
        trial = orchestrator.start(spec)
        result = trial.run()
    assert trial.cast.solo is not None  # the one-actor path
    record = log.trials[0]
    # tick 0: env gave 1, then the actor gave 5 at confidence 1 -> 3; ticks 1-3 stay 1
    assert record.rewards("player") == [3.0, 1.0, 1.0, 1.0]
    assert record.revisions == [("player", 0, 3.0)]
    assert result.returns["player"] == pytest.approx(6.0)
    assert record.samples[2].rewards_sent == (Reward(0, "player", "player", 5.0, 1.0),)


def test_a_failure_names_its_own_trial_when_its_cast_played_other_trials_before():
    spec = make_spec(
        PROBE,
        [{"name": "player", "implementation": "python:tests.helpers:CrashOnSeed",
          "config": {"seed": 11}}],
        {"episode_length": 5},
        seed=10,
    )  # fmt: skip
    with Orchestrator() as orchestrator:
        results = [orchestrator.run(spec, index=i) for i in range(3)]
    assert [r.state.value for r in results] == ["ended", "failed", "ended"]
    failed = results[1]
    assert f"trial {failed.trial_id}, tick 2: actor 'player'" in failed.error
    assert all(r.trial_id not in failed.error for r in (results[0], results[2]))
