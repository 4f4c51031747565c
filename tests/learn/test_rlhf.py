"""cogym.learn.rlhf and cogym rlhf: collect, ask a judge, fit the reward, train on it."""

from __future__ import annotations

import time

import numpy as np
import pytest
from click.testing import CliRunner

from cogym import HDF5Datastore, Orchestrator
from cogym.cli import main
from cogym.datastore.preferences import Preference
from cogym.errors import InputError
from cogym.learn import oracle, rlhf
from cogym.registry import ModelRegistry
from tests.conftest import make_spec

CARTPOLE = "gym:CartPole-v1"
TINY_PPO = {"n_steps": 64, "batch_size": 64, "n_epochs": 1}


def test_each_iteration_publishes_a_reward_model_and_a_policy_with_lineage(tmp_path):
    models, trials = tmp_path / "models", tmp_path / "trials"
    policy, reward = rlhf(
        make_spec(CARTPOLE, seed=0, max_ticks=60), "player", oracle(seed=0), iterations=2,
        queries_per_iteration=12, timesteps_per_iteration=128, trials_per_iteration=3,
        segment=10, registry=models, model="cp", datastore=trials,
        algorithm_options=TINY_PPO, reward_options={"epochs": 2}, seed=1,
    )  # fmt: skip
    registry = ModelRegistry(models)
    assert registry.versions("cp") == [1, 2] and registry.versions("cp-reward") == [1, 2]
    assert reward.ref == "cp-reward@2" and policy.num_timesteps == 256
    store = HDF5Datastore(trials)
    answers = store.preferences()
    assert len(answers) == 24 and {a.judge for a in answers} == {"oracle"}
    first, second = policy.cogym_iterations
    assert (first.preferences, second.preferences) == (12, 24)
    # the trials collected: the spec's random player first, then the latest policy
    collected = {s.trial_id: s for s in store.trials()}
    assert len(collected) == 6
    assert {collected[t].implementations["player"] for t in first.trial_ids} == {"random"}
    assert {collected[t].implementations["player"] for t in second.trial_ids} == {"sb3:cp@1"}
    assert {collected[t].tags["rlhf_iteration"] for t in second.trial_ids} == {2}
    lineage = registry.info("cp@2").lineage
    assert lineage["iteration"] == 2 and lineage["reward_model"] == "cp-reward@2"
    assert lineage["preference_count"] == 24 and sorted(lineage["trial_ids"]) == sorted(collected)
    assert sorted(lineage["preference_ids"]) == sorted(a.query.query_id for a in answers)
    reward_lineage = registry.info("cp-reward@1").lineage
    assert reward_lineage["iteration"] == 1 and reward_lineage["preference_count"] == 12
    assert sorted(reward_lineage["trial_ids"]) == sorted(first.trial_ids)
    assert reward_lineage["judge"] == "oracle"


class ClipWatcher:
    """A judge that watches clips and stores its own answers, as a person on the page does:
    it always prefers the left clip."""

    stores_answers = True
    shows_clips = True
    name = "watcher"

    def __init__(self):
        self.frames_seen = 0

    def answer(self, queries, datastore):
        for query in queries:
            frames = datastore.trial(query.left.trial_id).frames()
            self.frames_seen += 0 if frames is None else len(frames)
            preference = Preference(query, "left", "person:watcher", time.time())
            datastore.add_preference(preference)
            yield preference


def test_a_judge_that_watches_clips_gets_trials_with_frames_and_stores_its_own_answers(
    tmp_path,
):
    judge = ClipWatcher()
    _, reward = rlhf(
        make_spec(CARTPOLE, seed=0, max_ticks=20), "player", judge, iterations=1,
        queries_per_iteration=5, timesteps_per_iteration=64, trials_per_iteration=2,
        segment=5, registry=tmp_path / "models", model="cp", datastore=tmp_path / "trials",
        algorithm_options=TINY_PPO, reward_options={"epochs": 1},
    )  # fmt: skip
    assert judge.frames_seen > 0
    answers = HDF5Datastore(tmp_path / "trials").preferences()
    assert len(answers) == 5 and {a.answer for a in answers} == {"left"}  # stored once each
    assert reward.lineage["preference_count"] == 5 and reward.lineage["judge"] == "watcher"


def test_bad_arguments_are_refused_before_anything_runs(tmp_path):
    spec = make_spec(CARTPOLE)
    common = {"registry": tmp_path / "m", "model": "cp", "datastore": tmp_path / "t"}
    with pytest.raises(InputError, match="no actor named 'playr'"):
        rlhf(spec, "playr", **common)
    with pytest.raises(InputError, match="iterations must be a whole number of at least 1"):
        rlhf(spec, iterations=0, **common)
    with pytest.raises(InputError, match="judge must be 'oracle', 'person'"):
        rlhf(spec, judge="crowd", **common)
    assert not (tmp_path / "t").exists() and not (tmp_path / "m").exists()


def test_cogym_rlhf_trains_and_saves_both_models(tmp_path):
    spec = tmp_path / "cartpole.yaml"
    spec.write_text(make_spec(CARTPOLE, seed=0, max_ticks=40).to_yaml())
    done = CliRunner().invoke(main, [
        "rlhf", str(spec), "--actor", "player", "--judge", "oracle", "--iterations", "1",
        "--queries-per-iteration", "8", "--timesteps-per-iteration", "64",
        "--trials-per-iteration", "2", "--segment", "8", "--model", "cp",
        "--registry", str(tmp_path / "models"), "--datastore", str(tmp_path / "trials"),
        "--algorithm-option", "n_steps=64", "--algorithm-option", "batch_size=32",
        "--reward-option", "epochs=1",
    ])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "saved cp@1 and cp-reward@1" in done.output
    assert ModelRegistry(tmp_path / "models").info("cp@1").lineage["preference_count"] == 8
    bad = CliRunner().invoke(main, [
        "rlhf", str(spec), "--model", "cp", "--registry", str(tmp_path / "models"),
        "--datastore", str(tmp_path / "trials"), "--algorithm-option", "n_steps",
    ])  # fmt: skip
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.output


@pytest.mark.slow
def test_ppo_on_a_reward_from_at_most_200_oracle_preferences_reaches_450_on_cartpole(tmp_path):
    """PPO through TrialGymEnv on the learnt reward alone (the environment's hidden), the
    reward fitted to at most 200 oracle preferences, reaches a true mean return of 450."""
    models = tmp_path / "models"
    # rl-zoo's CartPole settings with a longer horizon: the learnt reward is positive on every
    # state but higher on some, and with gamma 0.98 a policy can trade survival for them. Six
    # iterations of the same steps and preferences: with three, the policy of some seeds (this
    # one among them) learns to exploit an early model's errors (the pole falls after about
    # 190 ticks) before trials of it are judged
    ppo = {"n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.99, "n_epochs": 20,
           "ent_coef": 0.0, "learning_rate": 1e-3}
    policy, reward = rlhf(
        make_spec(CARTPOLE, seed=0, max_ticks=500), "player", oracle(seed=1), iterations=6,
        queries_per_iteration=33, timesteps_per_iteration=10_000, trials_per_iteration=8,
        segment=50, registry=models, model="cp", datastore=tmp_path / "trials",
        algorithm_options=ppo, n_envs=8, seed=1,
    )  # fmt: skip
    assert reward.lineage["preference_count"] <= 200
    assert ModelRegistry(models).info("cp@latest").lineage["reward_model"] == reward.ref
    evaluation = make_spec(CARTPOLE, [{"name": "player", "implementation": "sb3:cp@latest"}],
                           seed=100)  # fmt: skip
    with Orchestrator(registry=models) as orchestrator:
        results = orchestrator.run_many(evaluation, 10)
    assert np.mean([r.returns["player"] for r in results]) >= 450


def test_cogym_rlhf_with_a_person_refuses_a_public_host_without_allow_remote(tmp_path):
    spec = tmp_path / "cartpole.yaml"
    spec.write_text(make_spec(CARTPOLE, seed=0).to_yaml())
    refused = CliRunner().invoke(main, [
        "rlhf", str(spec), "--judge", "person", "--host", "0.0.0.0", "--model", "cp",
        "--registry", str(tmp_path / "models"), "--datastore", str(tmp_path / "trials"),
    ])  # fmt: skip
    assert refused.exit_code == 2 and "--allow-remote" in refused.output
    assert not (tmp_path / "trials").exists()
