"""Reward models fitted to oracle preferences and to people's feedback, saved in the registry."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cogym.cli import main
from cogym.errors import InputError
from cogym.learn import load_reward_model, oracle, propose_queries, reward_model
from cogym.learn.reward_model import ranking_agreement
from cogym.registry import ModelRegistry
from tests.conftest import make_spec

PENDULUM = "gym:Pendulum-v1"


@pytest.fixture
def pendulum(record):
    """Random Pendulum trials: the true reward is a smooth function of observation and action."""
    datastore, results = record(make_spec(PENDULUM, seed=0, max_ticks=100), trials=12)
    return datastore


def answered(datastore, count, seed):
    queries = propose_queries(datastore, "player", count, segment=20, seed=seed)
    for pref in oracle().answer(queries, datastore):
        datastore.add_preference(pref)
    return queries


def test_a_reward_fitted_to_oracle_preferences_ranks_held_out_segments_as_the_true_reward(
    pendulum,
):
    answered(pendulum, 200, seed=1)
    held_out = propose_queries(pendulum, "player", 200, segment=20, seed=2)
    model = reward_model(pendulum, "player", epochs=30, seed=0)
    assert model.lineage["preference_count"] == 200
    assert ranking_agreement(model, pendulum, held_out) > 0.9


def test_a_reward_model_is_saved_as_its_own_kind_and_loads_back(pendulum, registry_dir):
    answered(pendulum, 40, seed=3)
    model = reward_model(pendulum, "player", epochs=2, registry=registry_dir, model="rm", seed=0)
    assert model.ref == "rm@1"
    meta = json.loads((registry_dir / "rm" / "1" / "meta.json").read_text())
    assert (meta["kind"], meta["file"], meta["format_version"]) == (
        "reward_model", "reward_model.pt", 2
    )
    assert meta["lineage"]["preference_count"] == 40
    assert meta["properties"]["ensemble"] == 3
    loaded = load_reward_model(registry_dir, "rm@1")
    arrays = pendulum.arrays("player", ("observations", "actions"))
    np.testing.assert_allclose(
        loaded.predict(arrays["observations"], arrays["actions"])[0],
        model.predict(arrays["observations"], arrays["actions"])[0], rtol=1e-5,
    )
    with pytest.raises(InputError, match="rm@1 is a reward model, not a Stable-Baselines3 model"):
        ModelRegistry(registry_dir).load("rm@1")
    shown = CliRunner().invoke(main, ["models", "show", "rm@1", "--registry", str(registry_dir)])
    assert shown.exit_code == 0 and "reward_model" in shown.output


def test_cogym_reward_train_saves_a_version(pendulum, registry_dir):
    answered(pendulum, 30, seed=4)
    done = CliRunner().invoke(main, [
        "reward", "train", "--datastore", str(pendulum.path), "--actor", "player",
        "--model", "pend", "--registry", str(registry_dir), "--epochs", "2",
    ])
    assert done.exit_code == 0, done.output
    assert "pend@1" in done.output
    listed = CliRunner().invoke(main, ["models", "ls", "--registry", str(registry_dir)])
    assert "pend" in listed.output and "RewardModel" in listed.output


def test_nothing_to_learn_from_is_refused(pendulum):
    with pytest.raises(InputError, match="nothing to learn a reward from"):
        reward_model(pendulum, "player")
    done = CliRunner().invoke(main, ["reward", "train", "--datastore", str(pendulum.path)])
    assert done.exit_code == 2 and "nothing to learn" in done.output


def test_a_reward_fitted_to_feedback_alone_gives_the_sign_people_sent(record):
    coach = {"name": "coach", "implementation": "python:tests.learn.feedback_actors:SignCoach",
             "actor_class": "observer"}  # fmt: skip
    spec = make_spec(PENDULUM, [{"name": "player"}, coach], seed=5, max_ticks=100)
    datastore, _ = record(spec, trials=6)
    model = reward_model(datastore, "player", epochs=40, seed=0)
    assert model.lineage["preference_count"] == 0
    assert model.lineage["feedback_count"] == 600
    arrays = datastore.arrays("player", ("observations", "actions"))
    mean, std = model.predict(arrays["observations"], arrays["actions"])
    sent = np.where(arrays["observations"][:, 2] > 0, 1.0, -1.0)
    assert np.mean(np.sign(mean) == sent) > 0.9
    assert (std >= 0).all()


def test_disagreement_picks_the_pairs_the_ensemble_is_least_sure_about(pendulum):
    answered(pendulum, 60, seed=6)
    model = reward_model(pendulum, "player", epochs=5, seed=0)
    picked = propose_queries(pendulum, "player", 20, segment=20, select="disagreement",
                             reward=model, seed=7)  # fmt: skip
    drawn = propose_queries(pendulum, "player", 20, segment=20, seed=7)

    def spread(queries):
        arrays = pendulum.arrays("player", ("observations", "actions", "tick"))
        values = model.members(arrays["observations"], arrays["actions"])
        where = {t: k for k, t in enumerate(arrays.trial_ids)}
        out = []
        for q in queries:
            sums = []
            for s in (q.left, q.right):
                k = where[s.trial_id]
                rows = slice(int(arrays.offsets[k]), int(arrays.offsets[k + 1]))
                ticks = arrays["tick"][rows]
                sums.append(values[:, rows][:, (ticks >= s.first) & (ticks <= s.last)].sum(axis=1))
            out.append(np.var(1 / (1 + np.exp(-(sums[0] - sums[1])))))
        return float(np.mean(out))

    assert len(picked) == 20 and all(q.left.ticks == 20 for q in picked)
    assert spread(picked) > spread(drawn)
    with pytest.raises(InputError, match="needs a reward model"):
        propose_queries(pendulum, "player", 5, select="disagreement")


HOLDEM = "pettingzoo:pettingzoo.classic.texas_holdem_v4:env"


def test_queries_skip_trials_the_actor_never_acted_in_and_a_reward_is_learnt(record):
    # player_1 always folds: in the hands it opens, player_0 has no recorded tick
    folder = {"name": "player_1", "implementation": "python:tests.helpers:Constant",
              "config": {"action": 2}}  # fmt: skip
    datastore, results = record(make_spec(HOLDEM, [{"name": "player_0"}, folder], seed=0), 8)
    unplayed = [r.trial_id for r in results
                if not len(datastore.trial(r.trial_id).arrays("player_0")["tick"])]  # fmt: skip
    assert unplayed and len(unplayed) < len(results)
    queries = propose_queries(datastore, "player_0", 20, segment=3, seed=0)
    assert not {s.trial_id for q in queries for s in (q.left, q.right)} & set(unplayed)
    for preference in oracle().answer(queries, datastore):
        datastore.add_preference(preference)
    model = reward_model(datastore, "player_0", epochs=2, seed=0)
    assert model.lineage["preference_count"] == 20
    with pytest.raises(InputError, match="'player_0' acted on no tick of the 2 recorded"):
        propose_queries(datastore, "player_0", 5, segment=3, ids=unplayed[:2])
