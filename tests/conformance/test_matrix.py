"""Conformance over real third-party environments: checkers, exact recordings, replays.

Every case is a Gymnasium or PettingZoo env as its package ships it. For each: the adapters
(:class:`~cogym.wrappers.TrialGymEnv`, :class:`~cogym.wrappers.TrialParallelEnv`) pass the
libraries' own checkers; trials recorded into an :class:`~cogym.HDF5Datastore` hold, tick by
tick, what the env produced and received (as logged by :mod:`tests.conformance.envs`, a wrapper
of the tests' own between cogym and the env), whether random actors play them inside the trial or
a training loop plays them through the adapters; and each recorded trial replays identically.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from cogym import HDF5Datastore, Orchestrator, TrialSpec
from cogym.wrappers import TrialGymEnv, TrialParallelEnv
from tests.conformance import envs

LOGGED_GYM = "python:tests.conformance.envs:gym"
LOGGED_PETTINGZOO = "python:tests.conformance.envs:pettingzoo"


@dataclass(frozen=True)
class Case:
    """One environment, and how its trials are run: ``max_ticks`` small, a few trials."""

    name: str
    kind: str  # "gym", "aec" or "parallel"
    make: str  # the env id (gym) or the module whose env()/parallel_env() builds it
    config: dict[str, Any] = field(default_factory=dict)
    max_ticks: int = 30
    trials: int = 3
    rebuild: str = "never"
    slow: bool = False
    seed: int = 7

    def logged_spec(self, actors: str = "random") -> TrialSpec:
        """The env behind the tests' logging wrapper, every agent played by ``actors``."""
        if self.kind == "gym":
            config = {"env_id": self.make, **self.config}
            return self._spec(LOGGED_GYM, config, [{"name": "player"}], actors)
        config = {"module": self.make, "parallel": self.kind == "parallel", **self.config}
        return self._spec(LOGGED_PETTINGZOO, config, [{"name": a} for a in self.agents()], actors)

    def checked_spec(self) -> TrialSpec:
        """The env with every agent external, named as a user would (``gym:``/``pettingzoo:``)."""
        if self.kind == "gym":
            return self._spec(f"gym:{self.make}", self.config, [{"name": "player"}], "external")
        function = "parallel_env" if self.kind == "parallel" else "env"
        return self._spec(
            f"pettingzoo:{self.make}:{function}",
            self.config,
            [{"name": a} for a in self.agents()],
            "external",
        )

    def agents(self) -> list[str]:
        made = envs.pettingzoo(self.make, parallel=self.kind == "parallel", **self.config)
        try:
            return list(made.possible_agents)
        finally:
            made.close()

    def _spec(
        self,
        implementation: str,
        config: dict[str, Any],
        actors: list[dict[str, Any]],
        actor_implementation: str = "random",
    ) -> TrialSpec:
        return TrialSpec.from_dict(
            {
                "environment": {
                    "implementation": implementation,
                    "config": config,
                    "rebuild": self.rebuild,
                },
                "actors": [{**a, "implementation": actor_implementation} for a in actors],
                "max_ticks": self.max_ticks,
                "seed": self.seed,
            }
        )


ALE_PONG = "ale_py:ALE/Pong-v5"  # gymnasium.make imports ale_py, which registers the ALE ids

GYM_CASES = [
    Case("Blackjack-v1", "gym", "Blackjack-v1", max_ticks=20),
    Case("Taxi-v4", "gym", "Taxi-v4", trials=2),
    Case("FrozenLake-v1", "gym", "FrozenLake-v1", max_ticks=20),
    Case("CartPole-v1", "gym", "CartPole-v1", max_ticks=25),
    Case("MountainCar-v0", "gym", "MountainCar-v0", trials=2),
    Case("MountainCarContinuous-v0", "gym", "MountainCarContinuous-v0", trials=2),
    Case("Acrobot-v1", "gym", "Acrobot-v1", trials=2),
    Case("Pendulum-v1", "gym", "Pendulum-v1", trials=2),
    Case("LunarLander-v3", "gym", "LunarLander-v3", max_ticks=60, trials=2),
    Case("CarRacing-v3", "gym", "CarRacing-v3", max_ticks=8, trials=2, slow=True),
    Case("InvertedPendulum-v5", "gym", "InvertedPendulum-v5", max_ticks=20),
    Case("ALE-Pong-v5", "gym", ALE_PONG, max_ticks=8, trials=2, slow=True),
]

PETTINGZOO_CASES = [
    Case("tictactoe_v3", "aec", "pettingzoo.classic.tictactoe_v3", max_ticks=20),
    Case("connect_four_v3", "aec", "pettingzoo.classic.connect_four_v3", max_ticks=50),
    Case("texas_holdem_v4", "aec", "pettingzoo.classic.texas_holdem_v4", max_ticks=30, trials=2),
    Case(
        "pistonball_v6",
        "parallel",
        "pettingzoo.butterfly.pistonball_v6",
        {"n_pistons": 4},
        max_ticks=5,
        trials=2,
        slow=True,
    ),
    Case(
        "knights_archers_zombies_v11",
        "parallel",
        "pettingzoo.butterfly.knights_archers_zombies_v11",
        max_ticks=150,
        trials=2,
        rebuild="per_trial",
    ),
    Case("simple_spread_v3", "parallel", "mpe2.simple_spread_v3", {"max_cycles": 15}, 20, 2),
    Case("simple_world_comm_v3", "parallel", "mpe2.simple_world_comm_v3", max_ticks=12, trials=2),
]

# turn-based games cut short after a few turns (where recordings were lost): both players have
# moved, or (max_ticks 1, and a first fold at holdem) one never has
CUT_SHORT_CASES = [
    Case("tictactoe_v3-cut", "aec", "pettingzoo.classic.tictactoe_v3", max_ticks=3),
    Case("tictactoe_v3-one-turn", "aec", "pettingzoo.classic.tictactoe_v3", max_ticks=1),
    Case("connect_four_v3-cut", "aec", "pettingzoo.classic.connect_four_v3", max_ticks=5),
    Case("texas_holdem_v4-cut", "aec", "pettingzoo.classic.texas_holdem_v4", max_ticks=2, trials=2),
    # with this seed the first player folds on the first turn: the other never acts
    Case(
        "texas_holdem_v4-first-fold",
        "aec",
        "pettingzoo.classic.texas_holdem_v4",
        max_ticks=30,
        trials=1,
        seed=9,
    ),
]

NOT_RESET = (
    "knights_archers_zombies_v11 does not fully reset: a trial depends on the trials the env "
    "played before it, and its replay in a fresh env differs (rebuild: per_trial reproduces)"
)

# the same env without rebuild: per_trial, to show what rebuilding is for
KAZ_REUSED = Case(
    "knights_archers_zombies_v11-reused",
    "parallel",
    "pettingzoo.butterfly.knights_archers_zombies_v11",
    max_ticks=150,
    trials=2,
)

# case -> (why it fails, what it fails with)
XFAIL_REPLAY: dict[str, tuple[str, type[BaseException]]] = {
    KAZ_REUSED.name: (NOT_RESET, AssertionError)
}


def params(
    cases: list[Case], xfail: dict[str, tuple[str, type[BaseException]]] | None = None
) -> list[Any]:
    out = []
    for case in cases:
        marks = [pytest.mark.slow] if case.slow else []
        if xfail and case.name in xfail:
            reason, raises = xfail[case.name]
            marks.append(pytest.mark.xfail(strict=True, reason=reason, raises=raises))
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


# -- 1. the adapters pass the checkers -----------------------------------------------------------


def _warnings_of(check: Any, env: Any) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check(env)
    return sorted({str(w.message) for w in caught})


@pytest.mark.parametrize("case", params(GYM_CASES))
def test_trial_gym_env_passes_gymnasium_and_sb3_check_env(case: Case) -> None:
    """Both checkers pass, and the adapter adds no warning to those the env itself gets."""
    import gymnasium
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    def gymnasium_check_env(env: Any) -> None:
        # the render check remakes the env through its registry spec, which an adapter has not
        check_env(env, skip_render_check=True)

    for check in (gymnasium_check_env, sb3_check_env):
        plain = gymnasium.make(case.make, **case.config)
        expected = _warnings_of(check, plain)
        plain.close()
        env = TrialGymEnv(case.checked_spec())
        got = _warnings_of(check, env)
        env.close()
        added = [w for w in got if w not in expected]
        assert added == [], f"{check.__module__}: warnings the env alone does not give: {added}"


RENDERED = [c for c in GYM_CASES if c.name in ("CartPole-v1", "LunarLander-v3", "CarRacing-v3")]


@pytest.mark.parametrize("case", params(RENDERED))
def test_trial_gym_env_renders_as_the_env_does(case: Case) -> None:
    """Gymnasium's render check finds nothing in the adapter that it does not find in the env."""
    import gymnasium
    from gymnasium.utils.passive_env_checker import env_render_passive_checker

    def render_check(env: Any) -> None:
        env.reset(seed=0)
        env_render_passive_checker(env)

    config = {**case.config, "render_mode": "rgb_array"}
    plain = gymnasium.make(case.make, **config)
    expected = _warnings_of(render_check, plain)
    frame = plain.render()
    plain.close()
    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": f"gym:{case.make}", "config": config},
            "actors": [{"name": "player", "implementation": "external"}],
        }
    )
    env = TrialGymEnv(spec)
    assert _warnings_of(render_check, env) == expected
    assert env.metadata["render_fps"] == plain.metadata["render_fps"]
    assert_same(env.render(), frame, "the frame after reset(seed=0)")
    env.close()


@pytest.mark.parametrize("case", params(PETTINGZOO_CASES))
def test_trial_parallel_env_passes_parallel_api_test(case: Case) -> None:
    from pettingzoo.test import parallel_api_test

    env = TrialParallelEnv(case.checked_spec())
    parallel_api_test(env, num_cycles=case.max_ticks)
    env.close()


@pytest.mark.parametrize("case", params(PETTINGZOO_CASES))
def test_trial_parallel_env_passes_parallel_seed_test(case: Case) -> None:
    from pettingzoo.test import parallel_seed_test

    spec = case.checked_spec()
    parallel_seed_test(lambda: TrialParallelEnv(spec), num_cycles=case.max_ticks)


# -- 2. recorded trials equal what the env produced ----------------------------------------------


@dataclass
class Recording:
    datastore: HDF5Datastore
    results: list[Any]
    episodes: list[envs.Episode]


_RECORDINGS: dict[str, Recording] = {}


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Any:
    def record(case: Case) -> Recording:
        if case.name not in _RECORDINGS:
            path = tmp_path_factory.mktemp(case.name)
            datastore = HDF5Datastore(path / "trials")
            envs.EPISODES.clear()
            with Orchestrator(datastore=datastore) as orchestrator:
                results = orchestrator.run_many(case.logged_spec(), case.trials)
            reopened = HDF5Datastore(path / "trials")
            _RECORDINGS[case.name] = Recording(reopened, results, list(envs.EPISODES))
            envs.EPISODES.clear()
        return _RECORDINGS[case.name]

    yield record
    _RECORDINGS.clear()


def assert_same(recorded: Any, produced: Any, where: str) -> None:
    """Equal values of the same kind: arrays of the same dtype and shape, numbers of one kind."""
    if isinstance(produced, dict):
        assert isinstance(recorded, dict), f"{where}: recorded {type(recorded).__name__}"
        # gymnasium's Dict space sorts its keys; the order of an env's dict carries no meaning
        assert sorted(recorded) == sorted(produced), f"{where}: keys {list(recorded)}"
        for key, value in produced.items():
            assert_same(recorded[key], value, f"{where}[{key!r}]")
    elif isinstance(produced, tuple):
        assert isinstance(recorded, tuple), f"{where}: recorded {type(recorded).__name__}"
        assert len(recorded) == len(produced), f"{where}: length {len(recorded)} != {len(produced)}"
        for i, (a, b) in enumerate(zip(recorded, produced, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(produced, np.ndarray):
        assert isinstance(recorded, np.ndarray), f"{where}: recorded {recorded!r}"
        assert (recorded.dtype, recorded.shape) == (produced.dtype, produced.shape), (
            f"{where}: recorded {recorded.dtype}{recorded.shape}, "
            f"produced {produced.dtype}{produced.shape}"
        )
        assert np.array_equal(recorded, produced, equal_nan=produced.dtype.kind == "f"), (
            f"{where}: recorded {recorded!r}, produced {produced!r}"
        )
    else:
        kinds = np.asarray(recorded).dtype.kind, np.asarray(produced).dtype.kind
        assert kinds[0] == kinds[1] and recorded == produced, (
            f"{where}: recorded {recorded!r}, produced {produced!r}"
        )


def assert_trial_equals_episode(stored: Any, episode: envs.Episode) -> None:
    # turns that agents which have ended take are no ticks
    steps = [s for s in episode.steps if not any(a is None for a in s.actions.values())]
    samples = list(stored.samples())
    trial, ticks = stored.trial_id, stored.summary.ticks
    assert ticks == len(steps), f"trial {trial}: {ticks} ticks, {len(steps)} steps"
    assert len(samples) == len(steps), f"trial {trial}: {len(samples)} samples"
    last: dict[str, Any] = dict(episode.observations)
    ended: set[str] = set()
    for sample, step in zip(samples, steps, strict=True):
        where = f"trial {trial} tick {sample.tick}"
        assert_same(sample.observations, step.seen, f"{where} observations")
        assert_same(sample.actions, step.actions, f"{where} actions")
        live = {a: r for a, r in step.rewards.items() if a not in ended}
        assert sorted(sample.rewards) == sorted(live), f"{where}: rewards {sample.rewards}"
        for agent, reward in live.items():
            assert isinstance(sample.rewards[agent], float), f"{where} reward of {agent}"
            assert sample.rewards[agent] == float(reward), f"{where} reward of {agent}"
        terminated = {a for a, v in step.terminated.items() if v and a not in ended}
        truncated = {a for a, v in step.truncated.items() if v and a not in ended} - terminated
        assert set(sample.terminated) == terminated, f"{where} terminated"
        assert set(sample.truncated) == truncated, f"{where} truncated"
        ended |= terminated | truncated
        last.update(step.observations)
    assert_columns_equal_steps(stored, steps)
    finals = stored.final_observations
    for agent in ended:
        assert agent in finals, f"trial {trial}: no final observation for {agent!r}, which ended"
    for agent, observation in finals.items():
        assert_same(observation, last[agent], f"trial {trial} final observation of {agent!r}")


def row(nested: Any, i: int) -> Any:
    """Row ``i`` of columns nested as their space is (a Tuple's columns have int keys)."""
    if isinstance(nested, dict):
        if nested and all(isinstance(key, int) for key in nested):
            return tuple(row(nested[key], i) for key in range(len(nested)))
        return {key: row(value, i) for key, value in nested.items()}
    return nested[i]


def assert_columns_equal_steps(stored: Any, steps: list[envs.Step]) -> None:
    """``arrays(actor)``, the columnar read for training, holds each agent's turns in order."""
    turns: dict[str, list[tuple[int, envs.Step]]] = {}
    for tick, step in enumerate(steps):
        for agent in step.actions:
            turns.setdefault(agent, []).append((tick, step))
    for agent, taken in turns.items():
        columns = stored.arrays(agent)
        where = f"trial {stored.trial_id} arrays({agent!r})"
        assert [int(t) for t in columns["tick"]] == [t for t, _ in taken], f"{where} ticks"
        for i, (_, step) in enumerate(taken):
            assert_same(row(columns["observations"], i), step.seen[agent], f"{where} row {i}")
            assert_same(row(columns["actions"], i), step.actions[agent], f"{where} row {i}")


MATRIX = GYM_CASES + PETTINGZOO_CASES + CUT_SHORT_CASES + [KAZ_REUSED]


@pytest.mark.parametrize("case", params(MATRIX))
def test_recorded_trials_equal_what_the_env_produced(case: Case, recordings: Any) -> None:
    recording = recordings(case)
    assert [r.state.value for r in recording.results] == ["ended"] * case.trials, [
        (r.state.value, r.error) for r in recording.results
    ]
    assert len(recording.episodes) == case.trials, "one env episode per trial"
    for result, episode in zip(recording.results, recording.episodes, strict=True):
        stored = recording.datastore.trial(result.trial_id)
        assert stored.summary.ticks == result.ticks
        assert_trial_equals_episode(stored, episode)


def _play_gym(env: TrialGymEnv, seed: int, steps: int | None) -> None:
    env.reset(seed=seed)
    env.action_space.seed(seed)
    taken = 0
    while steps is None or taken < steps:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        taken += 1
        if terminated or truncated:
            return


def _play_parallel(env: TrialParallelEnv, seed: int, steps: int | None) -> None:
    observations, _ = env.reset(seed=seed)
    for agent in env.possible_agents:
        env.action_space(agent).seed(seed)
    taken = 0
    while env.agents and (steps is None or taken < steps):
        actions = {}
        for agent in env.agents:
            observation = observations[agent]
            mask = observation.get("action_mask") if isinstance(observation, dict) else None
            actions[agent] = env.action_space(agent).sample(mask=mask)
        observations, *_ = env.step(actions)
        taken += 1


@pytest.mark.parametrize("case", params(GYM_CASES + PETTINGZOO_CASES + CUT_SHORT_CASES))
def test_trials_played_through_the_adapters_are_recorded_as_played(
    case: Case, tmp_path: Any
) -> None:
    """Every agent external: episodes to their end, and a last one ended by closing the env."""
    spec = case.logged_spec("external")
    envs.EPISODES.clear()
    datastore = HDF5Datastore(tmp_path / "trials")
    if case.kind == "gym":
        adapter: Any = TrialGymEnv(spec, datastore=datastore)
        play: Any = _play_gym
    else:
        adapter, play = TrialParallelEnv(spec, datastore=datastore), _play_parallel
    trial_ids = []
    for episode in range(case.trials + 1):
        play(adapter, case.seed + episode, 2 if episode == case.trials else None)
        trial_ids.append(adapter.trial.trial_id)
    adapter.close()
    episodes = list(envs.EPISODES)
    envs.EPISODES.clear()
    assert len(episodes) == len(trial_ids), "one env episode per trial"
    reopened = HDF5Datastore(tmp_path / "trials")
    for trial_id, episode in zip(trial_ids, episodes, strict=True):
        stored = reopened.trial(trial_id)
        assert stored.summary.state.value in ("ended", "terminated"), stored.summary
        assert_trial_equals_episode(stored, episode)
        report = reopened.replay(trial_id)
        assert report.reproduced, str(report)
    last = reopened.trial(trial_ids[-1]).summary
    if last.state.value == "ended":
        assert last.ticks <= 2, f"closed after 2 steps, yet recorded as ended: {last}"
    else:
        assert last.state.value == "terminated" and last.ticks == 2, last


# -- 3. replay reproduces -----------------------------------------------------------------------


@pytest.mark.parametrize("case", params(MATRIX, XFAIL_REPLAY))
def test_recorded_trials_replay_identically(case: Case, recordings: Any) -> None:
    recording = recordings(case)
    for result in recording.results:
        report = recording.datastore.replay(result.trial_id)
        assert report.reproduced, str(report)
        assert report.ticks == result.ticks


# longer trials: the second one's replay differs from tick 3, and the replay must say why
KAZ_LONG = Case(
    "knights_archers_zombies_v11-long",
    "parallel",
    "pettingzoo.butterfly.knights_archers_zombies_v11",
    max_ticks=300,
    trials=2,
)


def test_a_replay_that_differs_says_rebuild_per_trial_would_help(recordings: Any) -> None:
    recording = recordings(KAZ_LONG)
    later = recording.results[1]
    report = recording.datastore.replay(later.trial_id)
    assert not report.reproduced, "the second trial of an env that does not fully reset"
    assert any("rebuild: per_trial" in note for note in report.notes), str(report)
