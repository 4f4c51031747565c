"""TrialVecEnv / TrialVectorEnv / run_many(batch=K): n trials in lockstep, SB3 actors batched.

The claims: it is an SB3 VecEnv as DummyVecEnv is, a Gymnasium VectorEnv with Gymnasium's
autoreset semantics, and its trials (returns, recorded ticks) are those of running them one by
one with the same seeds, while the SB3 actors of one model act in one forward pass per tick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

from cogym import HDF5Datastore, Orchestrator, TrialSpec
from cogym.errors import ArgumentError, SpecError
from cogym.wrappers import SB3Actor, TrialGymEnv, TrialVecEnv, TrialVectorEnv
from tests.conftest import CARTPOLE, RENDEZVOUS, make_spec

TICTACTOE = "pettingzoo:pettingzoo.classic.tictactoe_v3:env"

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def tictactoe_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An (untrained, seeded) PPO that plays tic-tac-toe: it gives varied, legal-or-not moves."""
    env = TrialGymEnv(_tictactoe({"player_1": "external", "player_2": "random"}))
    path = tmp_path_factory.mktemp("models") / "ttt.zip"
    PPO("MultiInputPolicy", env, seed=0, n_steps=32, batch_size=32).save(path)
    env.close()
    return path


@pytest.fixture(scope="module")
def rendezvous_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = TrialGymEnv(_rendezvous("random"))
    path = tmp_path_factory.mktemp("models") / "rendezvous.zip"
    PPO("MlpPolicy", env, seed=1, n_steps=32, batch_size=32).save(path)
    env.close()
    return path


def _tictactoe(seats: dict[str, str], deterministic: bool = False, **fields: Any) -> TrialSpec:
    """Tic-tac-toe with ``{"player_1": impl, "player_2": impl}``; SB3 seats ``deterministic``."""
    actors = []
    for name, implementation in seats.items():
        actor: dict[str, Any] = {"name": name, "implementation": implementation}
        if implementation.startswith("sb3:"):
            actor["config"] = {"deterministic": deterministic}
        actors.append(actor)
    return make_spec(TICTACTOE, actors, **{"seed": 11, **fields})


def _rendezvous(other: str, first: str = "external", deterministic: bool = True,
                **fields: Any) -> TrialSpec:  # fmt: skip
    """The two walkers' rendezvous (both act every tick): ``walker_0`` is ``first``."""
    second: dict[str, Any] = {"name": "walker_1", "implementation": other}
    if other.startswith("sb3:"):
        second["config"] = {"deterministic": deterministic}
    return make_spec(
        RENDEZVOUS,
        [{"name": "walker_0", "implementation": first}, second],
        {"walkers": 2, "leave_home": False},
        **{"seed": 3, "max_ticks": 12, **fields},
    )


def _legal(observations: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    return np.array([rng.choice(np.flatnonzero(m)) for m in observations["action_mask"]])


def _same(a: Any, b: Any) -> bool:
    """Equal, recursively through dicts, tuples and arrays (NaN equal to NaN)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def _recorded(path: Path, actors: list[str]) -> list[tuple[Any, ...]]:
    """Each recorded trial by seed: state, ticks, returns, and every actor's arrays."""
    store = HDF5Datastore(path)
    rows = []
    for summary in sorted(store.trials(), key=lambda s: (s.seed, s.index)):
        stored = store.trial(summary.trial_id)
        arrays = {a: stored.arrays(a) for a in actors}
        rows.append((summary.seed, summary.state, summary.ticks, dict(summary.returns), arrays))
    store.close()
    return rows


def _same_recordings(left: list[tuple[Any, ...]], right: list[tuple[Any, ...]]) -> None:
    assert [r[:4] for r in left] == [r[:4] for r in right]
    for a, b in zip(left, right, strict=True):
        assert _same(a[4], b[4]), f"trial of seed {a[0]}: recorded ticks differ"


# -- SB3's VecEnv ---------------------------------------------------------------------------


def test_it_auto_resets_as_dummy_vec_env_with_terminal_observation_and_truncation():
    spec = make_spec(CARTPOLE, [{"name": "player", "implementation": "external"}], max_ticks=3)
    env = TrialVecEnv(spec, 3)
    assert env.seed(100) == [100, 101, 102]
    first = env.reset()
    assert [t.seed for t in env.get_attr("trial")] == [100, 101, 102]
    assert first.shape == (3, 4) and first.dtype == np.float32
    actions = np.zeros(3, dtype=np.int64)
    for _ in range(2):
        _, rewards, dones, infos = env.step(actions)
        assert not dones.any() and rewards.tolist() == [1.0, 1.0, 1.0]
    observations, _, dones, infos = env.step(actions)
    assert dones.all()
    for i, info in enumerate(infos):
        assert info["TimeLimit.truncated"] is True
        assert info["terminal_observation"].shape == (4,)
        assert not np.array_equal(info["terminal_observation"], observations[i])
    # the next trials: seeds of the last ones plus n_envs, and their first observations
    assert [t.seed for t in env.get_attr("trial")] == [103, 104, 105]
    alone = TrialGymEnv(spec)
    assert np.array_equal(observations[1], alone.reset(seed=104)[0])
    alone.close()
    env.close()


def test_env_method_get_attr_set_attr_and_env_is_wrapped_reach_each_trial_gym_env():
    spec = make_spec(CARTPOLE, [{"name": "player", "implementation": "external"}], seed=0)
    env = TrialVecEnv(spec, 2)
    env.reset()
    assert env.get_attr("agent") == ["player", "player"]
    assert [r.startswith("<TrialGymEnv(gym:CartPole-v1") for r in env.env_method("__repr__")] == [
        True,
        True,
    ]
    env.set_attr("note", "x", indices=[1])
    assert env.get_attr("note", indices=[1]) == ["x"]
    with pytest.raises(AttributeError):
        env.get_attr("note", indices=[0])
    assert env.env_is_wrapped(gym.Wrapper) == [False, False]
    assert env.get_attr("trial")[0].seed == 0 and env.get_attr("trial")[1].seed == 1
    env.close()


def test_bad_arguments_are_refused_naming_them():
    spec = make_spec(CARTPOLE, [{"name": "player", "implementation": "external"}])
    with pytest.raises(ArgumentError, match="n_envs >= 1"):
        TrialVecEnv(spec, 0)
    with pytest.raises(SpecError, match="one actor with 'implementation: external'"):
        TrialVecEnv(make_spec(CARTPOLE, [{"name": "player"}]), 2)
    with Orchestrator() as orchestrator:
        with pytest.raises(ArgumentError, match="batch must be an int of at least 1"):
            orchestrator.run_many(make_spec(), 2, batch=0)
        with pytest.raises(ArgumentError, match="cannot be combined with workers=2"):
            orchestrator.run_many(make_spec(), 2, batch=2, workers=2)


# -- the same trials as one by one ----------------------------------------------------------


@pytest.mark.parametrize("deterministic", [True, False], ids=["deterministic", "sampled"])
@pytest.mark.parametrize("external", ["player_1", "player_2"])
def test_tictactoe_against_a_batched_sb3_opponent_is_trial_gym_env_one_by_one(
    tictactoe_model: Path, tmp_path: Path, external: str, deterministic: bool
):
    opponent = "player_2" if external == "player_1" else "player_1"
    seats = {external: "external", opponent: f"sb3:{tictactoe_model}"}
    spec = _tictactoe(dict(sorted(seats.items())), deterministic)
    n, steps = 4, 25

    batched_store = tmp_path / "batched"
    env = TrialVecEnv(spec, n, datastore=HDF5Datastore(batched_store))
    rng = np.random.default_rng(0)
    observations, batched = env.reset(), []
    for _ in range(steps):
        observations, rewards, dones, _ = env.step(_legal(observations, rng))
        batched.append((rewards.tolist(), dones.tolist()))
    env.close()

    alone_store = tmp_path / "alone"
    orchestrator = Orchestrator(datastore=HDF5Datastore(alone_store))
    envs = [TrialGymEnv(spec, orchestrator=orchestrator) for _ in range(n)]
    seeds = [11 + i for i in range(n)]
    current = [e.reset(seed=s)[0] for e, s in zip(envs, seeds, strict=True)]
    rng = np.random.default_rng(0)
    one_by_one = []
    for _ in range(steps):
        masks = {"action_mask": np.stack([o["action_mask"] for o in current])}
        actions, rewards, dones = _legal(masks, rng), [], []
        for i, alone in enumerate(envs):
            current[i], reward, terminated, truncated, _ = alone.step(actions[i])
            if terminated or truncated:
                seeds[i] += n
                current[i] = alone.reset(seed=seeds[i])[0]
            rewards.append(float(reward))
            dones.append(terminated or truncated)
        one_by_one.append((rewards, dones))
    for alone in envs:
        alone.close()
    orchestrator.close()

    assert batched == one_by_one
    assert any(any(d) for _, d in batched)  # trials ended (at different steps) and restarted
    _same_recordings(_recorded(batched_store, [external, opponent]),
                     _recorded(alone_store, [external, opponent]))  # fmt: skip


@pytest.mark.parametrize("deterministic", [True, False], ids=["deterministic", "sampled"])
def test_run_many_batched_tictactoe_is_one_by_one(
    tictactoe_model: Path, tmp_path: Path, deterministic: bool
):
    """Both seats the same model (one batch), trials ending at different ticks, recorded."""
    model = f"sb3:{tictactoe_model}"
    spec = _tictactoe({"player_1": model, "player_2": model}, deterministic)
    with Orchestrator(datastore=HDF5Datastore(tmp_path / "alone")) as orchestrator:
        alone = orchestrator.run_many(spec, 12)
    with Orchestrator(datastore=HDF5Datastore(tmp_path / "batched")) as orchestrator:
        batched = orchestrator.run_many(spec, 12, batch=5)
    assert [(r.seed, r.ticks, r.returns, r.state) for r in alone] == [
        (r.seed, r.ticks, r.returns, r.state) for r in batched
    ]
    if not deterministic:  # (two deterministic players play the same game every time)
        assert len({r.ticks for r in batched}) > 1
    _same_recordings(_recorded(tmp_path / "alone", ["player_1", "player_2"]),
                     _recorded(tmp_path / "batched", ["player_1", "player_2"]))  # fmt: skip


def test_run_many_batched_sb3_against_random_on_tictactoe_is_one_by_one(tictactoe_model: Path):
    spec = _tictactoe({"player_1": f"sb3:{tictactoe_model}", "player_2": "random"})
    with Orchestrator() as orchestrator:
        alone = orchestrator.run_many(spec, 10)
        batched = orchestrator.run_many(spec, 10, batch=4)
    assert [(r.ticks, r.returns) for r in alone] == [(r.ticks, r.returns) for r in batched]
    assert len({r.returns["player_1"] for r in batched}) > 1


# -- one forward pass per tick --------------------------------------------------------------


class CountingPolicy:
    """A model whose ``predict`` calls are counted (what a batch saves is visible)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.observation_space = model.observation_space
        self.action_space = model.action_space
        self.calls = 0
        self.rows = 0

    def predict(self, observation: Any, deterministic: bool = False) -> Any:
        self.calls += 1
        self.rows += len(observation)
        return self.model.predict(observation, deterministic=deterministic)


COUNTED: dict[str, CountingPolicy] = {}


def counted_opponent(path: str) -> SB3Actor:
    """``python:tests.wrappers.test_trial_vec_env:counted_opponent``: one counted model."""
    if path not in COUNTED:
        COUNTED[path] = CountingPolicy(PPO.load(path))
    return SB3Actor(COUNTED[path], deterministic=True)


def test_the_sb3_opponents_of_all_trials_act_in_one_predict_per_tick(rendezvous_model: Path):
    COUNTED.clear()
    counted = "python:tests.wrappers.test_trial_vec_env:counted_opponent"
    spec = _rendezvous(counted, max_ticks=1000)
    data = spec.to_dict()
    data["actors"][1]["config"] = {"path": str(rendezvous_model)}
    spec = TrialSpec.from_dict(data)
    env = TrialVecEnv(spec, 8)
    env.reset()
    for _ in range(10):
        env.step(np.array([env.action_space.sample() for _ in range(8)]))
    batches = env.lockstep.batches
    env.close()
    (counted,) = COUNTED.values()
    assert counted.rows == 8 * 10  # every opponent acted on every tick...
    assert counted.calls == batches == 10  # ...in one predict per tick


def test_a_stochastic_sb3_opponent_follows_its_trial_seed_not_the_global_random_state(
    rendezvous_model: Path, tmp_path: Path
):
    import torch

    spec = _rendezvous(f"sb3:{rendezvous_model}", "random", deterministic=False, max_ticks=30)
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        with Orchestrator(datastore=HDF5Datastore(tmp_path / str(global_seed))) as orchestrator:
            orchestrator.run_many(spec, 3, batch=3)
    first, second = (_recorded(tmp_path / str(s), ["walker_1"]) for s in (1, 2))
    _same_recordings(first, second)
    actions = first[0][4]["walker_1"]["actions"]
    assert len(set(np.asarray(actions).tolist())) > 1  # it did sample


# -- Gymnasium's vector API -----------------------------------------------------------------


def test_trial_vector_env_resets_on_the_next_step_as_gymnasium_does():
    spec = make_spec(CARTPOLE, [{"name": "player", "implementation": "external"}], max_ticks=2)
    envs = TrialVectorEnv(spec, 2)
    assert envs.metadata["autoreset_mode"] is gym.vector.AutoresetMode.NEXT_STEP
    assert envs.single_observation_space == gym.spaces.Box(
        envs.single_observation_space.low, envs.single_observation_space.high, (4,), np.float32
    )
    assert envs.observation_space.shape == (2, 4) and envs.action_space.shape == (2,)
    observations, infos = envs.reset(seed=[5, 9])
    assert observations.shape == (2, 4) and infos == {}
    actions = np.array([0, 1])
    envs.step(actions)
    final, rewards, terminations, truncations, _ = envs.step(actions)
    assert truncations.tolist() == [True, True] and terminations.tolist() == [False, False]
    assert rewards.tolist() == [1.0, 1.0]
    restarted, rewards, terminations, truncations, _ = envs.step(actions)  # actions ignored
    assert rewards.tolist() == [0.0, 0.0] and not terminations.any() and not truncations.any()
    alone = TrialGymEnv(spec)
    assert np.array_equal(restarted[0], alone.reset(seed=5 + 2)[0])
    assert np.array_equal(restarted[1], alone.reset(seed=9 + 2)[0])
    alone.close()
    assert not np.array_equal(final, restarted)
    assert envs.get_attr("agent") == ("player", "player")
    envs.close()


def test_trial_vector_env_same_step_reports_final_obs_and_resets_at_once():
    spec = make_spec(CARTPOLE, [{"name": "player", "implementation": "external"}], max_ticks=2)
    envs = TrialVectorEnv(TrialVecEnv(spec, 2), autoreset_mode="SameStep")
    envs.reset(seed=0)
    envs.step(np.array([0, 0]))
    observations, rewards, _, truncations, infos = envs.step(np.array([0, 0]))
    assert truncations.tolist() == [True, True]
    assert infos["_final_obs"].tolist() == [True, True]
    assert infos["final_obs"][0].shape == (4,)
    alone = TrialGymEnv(spec)
    assert np.array_equal(observations[0], alone.reset(seed=2)[0])
    alone.close()
    with pytest.raises(ArgumentError, match="autoreset_mode must be one of"):
        TrialVectorEnv(envs.trials, autoreset_mode="Sometimes")
    envs.close()
    envs.trials.close()


def test_trial_vector_env_with_autoreset_disabled_resets_by_mask():
    spec = make_spec(CARTPOLE, [{"name": "player", "implementation": "external"}], max_ticks=1)
    envs = TrialVectorEnv(spec, 2, autoreset_mode=gym.vector.AutoresetMode.DISABLED)
    envs.reset(seed=0)
    _, _, _, truncations, _ = envs.step(np.array([0, 0]))
    assert truncations.all()
    observations, _ = envs.reset(options={"reset_mask": np.array([True, False])})
    with pytest.raises(Exception, match=r"sub-environment\(s\) \[1\] ended"):
        envs.step(np.array([0, 0]))
    envs.close()


# -- learning through it --------------------------------------------------------------------


@pytest.mark.slow
def test_ppo_through_trial_vec_env_reaches_150_on_cartpole():
    spec = make_spec(CARTPOLE, [{"name": "player", "implementation": "external"}], seed=0)
    env = TrialVecEnv(spec, 4)
    model = PPO("MlpPolicy", env, seed=0, n_steps=256, batch_size=256, learning_rate=3e-3)
    model.learn(6_144)
    env.close()
    evaluation = TrialGymEnv(spec)
    returns = []
    for seed in range(5):
        observation, _ = evaluation.reset(seed=1000 + seed)
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(observation, deterministic=True)
            observation, reward, terminated, truncated, _ = evaluation.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    evaluation.close()
    assert np.mean(returns) >= 150, returns


# -- continuous actions, failures, deadlines ------------------------------------------------


@pytest.mark.parametrize("deterministic", [True, False], ids=["deterministic", "sampled"])
def test_batched_box_actions_agree_with_one_by_one_to_float32_rounding(
    tmp_path: Path, deterministic: bool
):
    path = tmp_path / "pendulum.zip"
    PPO("MlpPolicy", "Pendulum-v1", seed=0, n_steps=32, batch_size=32).save(path)
    actor = {"name": "player", "implementation": f"sb3:{path}",
             "config": {"deterministic": deterministic}}  # fmt: skip
    spec = make_spec("gym:Pendulum-v1", [actor], seed=4, max_ticks=60)
    with Orchestrator() as orchestrator:
        alone = orchestrator.run_many(spec, 4)
        batched = orchestrator.run_many(spec, 4, batch=4)
    assert [r.ticks for r in alone] == [r.ticks for r in batched] == [60] * 4
    for a, b in zip(alone, batched, strict=True):
        assert a.returns["player"] == pytest.approx(b.returns["player"], rel=1e-5)
    assert len({round(r.returns["player"], 3) for r in batched}) == 4


class BatchedCrash:
    """A batchable actor that raises, alone or in a batch, in the trial of seed ``crash``."""

    batch_key = "crash"

    def __init__(self, crash: int) -> None:
        self.crash = crash
        self.seed: int | None = None

    def reset(self, context: Any) -> None:
        self.seed = context.seed

    def act(self, observation: Any) -> int:
        from cogym.lockstep import ask

        return ask(self, observation)

    def act_together(self, actors: list[BatchedCrash], observations: list[Any]) -> list[int]:
        if any(a.seed == a.crash for a in actors):
            raise ValueError("no move for this seed")
        return [0 for _ in actors]


def test_an_actor_that_raises_in_a_batch_fails_its_own_trial_only():
    from cogym.seeding import derive_seed

    crash = derive_seed(2, 1)  # the seed of the first actor of the trial of seed 2
    crashing = "python:tests.wrappers.test_trial_vec_env:BatchedCrash"
    actor = {"name": "player", "implementation": crashing, "config": {"crash": crash}}
    spec = make_spec(CARTPOLE, [actor], seed=0)
    with Orchestrator() as orchestrator:
        alone = orchestrator.run_many(spec, 4)
        batched = orchestrator.run_many(spec, 4, batch=4)
    assert [r.state.value for r in batched] == ["ended", "ended", "failed", "ended"]
    assert "no move for this seed" in (batched[2].error or "")
    assert "'player'" in (batched[2].error or "")
    assert [(r.state, r.ticks, r.returns) for r in alone] == [
        (r.state, r.ticks, r.returns) for r in batched
    ]


def test_trials_with_deadlines_run_one_by_one_in_a_batch_with_the_same_results(
    tictactoe_model: Path,
):
    spec = _tictactoe({"player_1": f"sb3:{tictactoe_model}", "player_2": "random"},
                      max_seconds=60)  # fmt: skip
    with Orchestrator() as orchestrator:
        alone = orchestrator.run_many(spec, 6)
        batched = orchestrator.run_many(spec, 6, batch=3)
    assert [(r.state, r.ticks, r.returns) for r in alone] == [
        (r.state, r.ticks, r.returns) for r in batched
    ]


def test_cogym_run_batch_runs_and_records_trials_in_lockstep(tictactoe_model: Path, tmp_path: Path):
    import yaml
    from click.testing import CliRunner

    from cogym.cli import main

    spec = _tictactoe({"player_1": f"sb3:{tictactoe_model}", "player_2": "random"})
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec.to_dict()))
    store = tmp_path / "trials"
    ran = CliRunner().invoke(
        main, ["run", str(path), "-n", "6", "--batch", "3", "--datastore", str(store), "-q"]
    )
    assert ran.exit_code == 0, ran.output
    assert "6 trials (6 ended)" in ran.output
    with Orchestrator() as orchestrator:
        alone = orchestrator.run_many(spec, 6)
    assert [(r[1], r[2], r[3]) for r in _recorded(store, [])] == [
        (r.state, r.ticks, r.returns) for r in alone
    ]
    refused = CliRunner().invoke(main, ["run", str(path), "-n", "4", "--batch", "2", "-w", "2"])
    assert refused.exit_code == 2
    assert "--batch 2 runs trials in lockstep in this process; leave out --workers" in (
        refused.output + refused.stderr
    )


def test_render_tiles_the_frames_of_every_trial_as_dummy_vec_env_does():
    spec = _rendezvous("random", max_ticks=5, seed=0)
    data = spec.to_dict()
    data["environment"]["config"]["render_mode"] = "rgb_array"
    spec = TrialSpec.from_dict(data)
    env = TrialVecEnv(spec, 4)
    env.reset()
    assert env.render_mode == "rgb_array"
    frames = env.get_images()
    assert len(frames) == 4 and frames[0].shape == (112, 112, 3)
    tiled = env.render(mode="rgb_array")
    assert tiled.shape == (2 * 112, 2 * 112, 3)
    assert np.array_equal(tiled[:112, :112], frames[0])
    vector = TrialVectorEnv(env)
    assert [f.shape for f in vector.render()] == [(112, 112, 3)] * 4
    vector.close()
    env.close()


def test_gymnasium_vector_wrappers_count_the_episodes_of_the_trials():
    from gymnasium.wrappers.vector import RecordEpisodeStatistics

    spec = make_spec(CARTPOLE, [{"name": "player", "implementation": "external"}], max_ticks=4)
    envs = RecordEpisodeStatistics(TrialVectorEnv(spec, 3))
    envs.reset(seed=0)
    for _ in range(4):
        _, _, _, _, infos = envs.step(np.zeros(3, dtype=np.int64))
    assert infos["_episode"].tolist() == [True, True, True]
    assert infos["episode"]["r"].tolist() == [4.0, 4.0, 4.0]
    assert infos["episode"]["l"].tolist() == [4, 4, 4]
    envs.close()


def test_trials_ended_before_the_agents_first_turn_auto_reset_as_one_step_episodes():
    spec = make_spec(
        "pettingzoo:pettingzoo.classic.texas_holdem_v4:env",
        [
            {"name": "player_0", "implementation": "external"},
            {"name": "player_1", "implementation": "python:tests.helpers:Constant",
             "config": {"action": 2}},
        ],
        seed=0,
    )  # fmt: skip
    env = TrialVecEnv(spec, n_envs=4)  # seeds 0-3, then 4-7 ...: seeds 1, 4, 7 end unplayed
    env.reset()
    dones = 0
    for _ in range(6):
        _, rewards, done, infos = env.step(np.ones(4, dtype=np.int64))  # raise: the folder loses
        assert done.all() and all("terminal_observation" in info for info in infos)
        assert set(rewards.tolist()) <= {0.5, 1.0}
        dones += int(done.sum())
    assert dones == 24
    env.close()
