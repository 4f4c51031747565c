"""Active queries' rules: the measure (entropy, margin, an ensemble) and a budget per round."""

from __future__ import annotations

import math

import numpy as np
import pytest
from stable_baselines3 import PPO

from cogym import ModelRegistry
from cogym.datastore import HDF5Datastore
from cogym.errors import InvalidArgumentError
from cogym.learn import dagger
from cogym.learn.uncertainty import Uncertainty
from tests.learn.test_dagger import EXPERT, _cartpole, _notes

FAST = {"epochs": 3, "min_updates": 300}


def _run(tmp_path, **options):
    return dagger(
        _cartpole(max_ticks=120), "player", EXPERT, registry=tmp_path / "models", model="m",
        datastore=tmp_path / "trials", rounds=2, trials_per_round=1, query="uncertain",
        **{**FAST, **options},
    )


def test_a_budget_asks_about_that_share_of_each_trial_the_most_uncertain_first(tmp_path):
    model = _run(tmp_path, measure="margin", threshold=0.0, budget=0.25)
    first, second = model.cogym_rounds
    assert first.budget is None and first.labels == first.ticks  # the teacher's round
    assert second.budget == 0.25
    notes = _notes(HDF5Datastore(tmp_path / "trials"), second.trial_ids[0])
    assert 0 < second.labels <= math.ceil(0.25 * second.ticks)
    assert second.labels == sum(n["asked"] for n in notes.values())
    seen: list[float] = []
    asked = 0
    for note in notes.values():  # asked iff under a quarter so far are above it, within budget
        seen.append(note["uncertainty"])
        above = sum(u > note["uncertainty"] for u in seen)
        top = above < 0.25 * len(seen)
        assert note["asked"] is (top and asked < math.ceil(0.25 * len(seen))), note
        asked += note["asked"]
        assert ("label" in note) is note["asked"]
        assert note["reason"].startswith(f"margin {note['uncertainty']:.3g} ")
        assert ("budget is spent" in note["reason"]) is (top and not note["asked"])
    lineage = ModelRegistry(tmp_path / "models").info("m@2").lineage
    assert lineage["budget"] == 0.25 and lineage["measure"] == "margin"
    assert lineage["labels"] == first.labels + second.labels


def test_a_budget_that_falls_over_the_rounds_and_a_threshold_below_which_nobody_asks(tmp_path):
    shares = []

    def budget(k):
        shares.append(k)
        return 0.5 / k

    model = _run(tmp_path, threshold=0.3, budget=budget)
    second = model.cogym_rounds[1]
    assert shares == [2] and second.budget == 0.25
    notes = _notes(HDF5Datastore(tmp_path / "trials"), second.trial_ids[0])
    for note in notes.values():
        if note["uncertainty"] < 0.3:  # sure enough: never asked, whatever the budget
            assert not note["asked"] and note["reason"].endswith("< threshold 0.3")
    assert second.labels <= math.ceil(0.25 * second.ticks)


def test_an_ensemble_of_discrete_policies_asks_where_it_disagrees_with_the_learner(tmp_path):
    model = _run(tmp_path, measure="ensemble", ensemble=3, threshold=0.05)
    registry = ModelRegistry(tmp_path / "models")
    members = registry.info("m@1").lineage["ensemble"]
    assert len(members) == 2 and registry.versions("m-ensemble") == [1, 2, 3, 4]
    second = model.cogym_rounds[1]
    notes = _notes(HDF5Datastore(tmp_path / "trials"), second.trial_ids[0])
    for note in notes.values():
        assert note["reason"].startswith("disagreement")
        assert note["asked"] is (note["uncertainty"] >= 0.05)
    assert second.labels == sum(n["asked"] for n in notes.values())


def test_the_measures_of_a_discrete_policy():
    policy = PPO("MlpPolicy", "CartPole-v1", seed=0).policy
    other = PPO("MlpPolicy", "CartPole-v1", seed=1).policy
    states = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    import torch

    with torch.no_grad():
        probs = policy.get_distribution(policy.obs_to_tensor(states)[0]).distribution.probs
        others = other.get_distribution(other.obs_to_tensor(states)[0]).distribution.probs
    probs, others = probs.numpy().astype(np.float64), others.numpy().astype(np.float64)
    margin = Uncertainty(policy, measure="margin").scores(states)
    assert margin == pytest.approx(1 - np.abs(probs[:, 0] - probs[:, 1]), abs=1e-6)
    entropy = Uncertainty(policy).scores(states)
    expected = -(probs * np.log(probs)).sum(axis=1) / np.log(2)
    assert entropy == pytest.approx(np.clip(expected, 0, 1), abs=1e-5)
    chosen = probs.argmax(axis=1)
    ensemble = Uncertainty(policy, [other], measure="ensemble")
    rows = np.arange(len(states))
    expected = 1 - (probs[rows, chosen] + others[rows, chosen]) / 2
    assert ensemble.scores(states) == pytest.approx(expected, abs=1e-6)
    action, score = ensemble(states[0])
    assert action == chosen[0] and score == pytest.approx(expected[0], abs=1e-6)


@pytest.mark.parametrize(
    ("changes", "argument", "words"),
    [
        ({"measure": "margn"}, "measure", "Did you mean 'margin'"),
        ({"measure": "ensemble", "ensemble": 1}, "ensemble", "at least 2 policies"),
        ({"budget": 0}, "budget", "(0, 1]"),
        ({"budget": 1.5}, "budget", "(0, 1]"),
        ({"budget": "half"}, "budget", "'half'"),
    ],
)
def test_bad_rules_are_refused_before_any_trial_runs(tmp_path, changes, argument, words):
    with pytest.raises(InvalidArgumentError) as caught:
        _run(tmp_path, **changes)
    assert caught.value.argument == argument and words in str(caught.value)
    assert not (tmp_path / "trials").exists()


def test_a_budget_function_giving_a_bad_share_is_named(tmp_path):
    with pytest.raises(InvalidArgumentError) as caught:
        _run(tmp_path, budget=lambda k: 2.0)
    assert caught.value.argument == "budget" and "budget(2) gave 2.0" in str(caught.value)
