"""DAgger from Python: the returns users expect, what each tick records, bad input refused early."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3 import PPO

from cogym import ModelRegistry, Orchestrator
from cogym.datastore import HDF5Datastore
from cogym.errors import InvalidArgumentError, SpaceMismatchError
from cogym.learn import behavior_cloning, dagger
from tests.conftest import CARTPOLE, make_spec

EXPERT = "python:cogym.bots:CartPoleExpert"


def _mean_return(spec, actor, implementation, registry, trials=20, seed=777_000):
    evaluation = spec.replace_actor(actor, implementation=implementation).replace(seed=seed)
    with Orchestrator(registry=registry) as orchestrator:
        results = orchestrator.run_many(evaluation, trials)
    assert all(r.state.value == "ended" for r in results), results[0].error
    return float(np.mean([r.returns[actor] for r in results]))


def _cartpole(**fields):
    fields = {"seed": 0, **fields}
    return make_spec(CARTPOLE, [{"name": "player", "implementation": "random"}], **fields)


def _notes(store, trial_id, actor="player"):
    return {t: n[actor] for t, n in sorted(store.trial(trial_id).annotations.items())}


@pytest.mark.slow
def test_dagger_with_the_cartpole_expert_scores_475_within_5_rounds(tmp_path):
    spec = _cartpole()
    model = dagger(
        spec, "player", EXPERT, registry=tmp_path / "models", model="cartpole-dagger",
        datastore=tmp_path / "trials", rounds=5, trials_per_round=2,
    )
    registry = ModelRegistry(tmp_path / "models")
    assert registry.versions("cartpole-dagger") == [1, 2, 3, 4, 5]
    assert _mean_return(spec, "player", "sb3:cartpole-dagger@latest", registry) >= 475
    assert [r.round for r in model.cogym_rounds] == [1, 2, 3, 4, 5]
    # round 1 is the teacher's; from round 2 the learner acts and every tick is labelled
    assert model.cogym_rounds[0].teacher_actions == model.cogym_rounds[0].ticks
    assert all(r.teacher_actions == 0 and r.labels == r.ticks for r in model.cogym_rounds[1:])
    assert model.cogym_rounds[-1].total_labels == sum(r.labels for r in model.cogym_rounds)


@pytest.mark.slow
def test_dagger_with_an_sb3_teacher_from_the_registry_scores_475(tmp_path):
    spec = make_spec(CARTPOLE, [{"name": "player", "implementation": EXPERT}], seed=0)
    with Orchestrator(datastore=HDF5Datastore(tmp_path / "demos")) as orchestrator:
        orchestrator.run_many(spec, 10)
    registry = ModelRegistry(tmp_path / "models")
    clone = behavior_cloning(tmp_path / "demos", "player", epochs=60, validation=0)
    registry.save("cartpole-teacher", clone)
    teacher = "sb3:cartpole-teacher@latest"
    assert _mean_return(spec, "player", teacher, registry) >= 475
    model = dagger(
        _cartpole(), "player", teacher, registry=registry, model="cartpole-student",
        datastore=tmp_path / "trials", rounds=3, trials_per_round=2,
    )
    assert _mean_return(spec, "player", "sb3:cartpole-student@latest", registry) >= 475
    lineage = registry.info("cartpole-student@3").lineage
    assert lineage["teacher"] == "sb3:cartpole-teacher@1"  # the exact version that taught
    assert model.cogym_rounds[-1].version == 3


@pytest.mark.slow
def test_dagger_on_pendulum_goes_80_percent_of_the_way_to_the_teacher(tmp_path):
    """Continuous actions: (dagger - random) / (teacher - random) >= 0.8 (returns are negative)."""
    spec = make_spec("gym:Pendulum-v1", [{"name": "pilot", "implementation": "random"}], seed=0)
    dagger(
        spec, "pilot", "python:cogym.bots:PendulumExpert", registry=tmp_path / "models",
        model="pendulum-dagger", datastore=tmp_path / "trials", rounds=3, trials_per_round=5,
        epochs=100, patience=10,
    )
    registry = ModelRegistry(tmp_path / "models")
    teacher = _mean_return(spec, "pilot", "python:cogym.bots:PendulumExpert", None, seed=10_000)
    random = _mean_return(spec, "pilot", "random", None, seed=10_000)
    learnt = _mean_return(spec, "pilot", "sb3:pendulum-dagger@latest", registry, seed=10_000)
    assert (learnt - random) / (teacher - random) >= 0.8, (learnt, teacher, random)


@pytest.mark.slow
def test_active_queries_need_fewer_labels_than_labelling_every_tick(tmp_path):
    spec = _cartpole(seed=3)
    labels, returns = {}, {}
    for query in ("always", "uncertain"):
        model = dagger(
            spec, "player", EXPERT, registry=tmp_path / "models", model=f"cartpole-{query}",
            datastore=tmp_path / query, rounds=3, trials_per_round=2, query=query,
            threshold=0.2, seed=3,
        )
        labels[query] = model.cogym_rounds[-1].total_labels
        returns[query] = _mean_return(
            spec, "player", f"sb3:cartpole-{query}@latest", tmp_path / "models"
        )
    assert returns["always"] >= 475 and returns["uncertain"] >= 475, returns
    assert labels["uncertain"] < labels["always"], labels


def test_every_tick_notes_who_acted_and_who_labelled(tmp_path):
    spec = _cartpole(max_ticks=60)
    model = dagger(
        spec, "player", EXPERT, registry=tmp_path / "models", model="m",
        datastore=tmp_path / "trials", rounds=2, trials_per_round=1, query="uncertain",
        threshold=0.2, epochs=3, min_updates=300,
    )
    store = HDF5Datastore(tmp_path / "trials")
    first, second = model.cogym_rounds
    notes = _notes(store, first.trial_ids[0])
    assert len(notes) == first.ticks == first.labels == first.teacher_actions
    assert all(n["by"] == "teacher" and n["labelled_by"] == "teacher" for n in notes.values())
    notes = _notes(store, second.trial_ids[0])
    assert {n["by"] for n in notes.values()} == {"learner"} and second.teacher_actions == 0
    for note in notes.values():
        asked = note["uncertainty"] >= 0.2
        assert note["asked"] is asked and ("label" in note) is asked
        sign = ">=" if asked else "<"
        assert note["reason"].startswith(f"entropy {note['uncertainty']:.3g} {sign}")
    assert second.queries == second.labels == sum(n["asked"] for n in notes.values())
    assert 0 < second.labels < second.ticks  # sure of some states, unsure of others
    # the labels are the expert's actions for the states the learner visited
    rows = store.arrays("player", ("observations", "tick"), ids=list(second.trial_ids))
    by_tick = dict(zip(rows["tick"].tolist(), rows["observations"], strict=True))
    from cogym.bots import CartPoleExpert

    expert = CartPoleExpert()
    assert all(n["label"] == expert.act(by_tick[t]) for t, n in notes.items() if n["asked"])
    info = ModelRegistry(tmp_path / "models").info("m@2")
    assert info.lineage["round"] == 2 and info.lineage["labels"] == first.labels + second.labels
    assert sorted(info.lineage["trial_ids"]) == sorted(first.trial_ids + second.trial_ids)
    assert info.lineage["teacher"] == EXPERT and info.lineage["datastore"] == str(store.path)
    summary = store.trials(ids=list(second.trial_ids))[0]
    assert summary.tags["dagger"] == "m" and summary.tags["dagger_round"] == 2


def test_a_teacher_that_declines_leaves_the_tick_unlabelled(tmp_path):
    model = dagger(
        _cartpole(max_ticks=80), "player", "python:tests.learn.teachers:RightHalfOnly",
        registry=tmp_path / "models", model="m", datastore=tmp_path / "trials", rounds=2,
        trials_per_round=1, epochs=2, min_updates=0,
    )
    store = HDF5Datastore(tmp_path / "trials")
    rows = store.arrays("player", ("observations", "tick"))
    position = {
        (trial_id, int(t)): float(o[0])
        for trial_id, start, end in zip(
            rows.trial_ids, rows.offsets[:-1], rows.offsets[1:], strict=True
        )
        for t, o in zip(rows["tick"][start:end], rows["observations"][start:end], strict=True)
    }
    declined = 0
    for stats in model.cogym_rounds:
        for tick, note in _notes(store, stats.trial_ids[0]).items():
            right = position[(stats.trial_ids[0], tick)] > 0.0
            assert note["asked"] and ("label" in note) is not right
            declined += right
            if stats.round == 1:  # no learner yet: a random action where the teacher declined
                assert note["by"] == ("random" if right else "teacher")
    assert declined > 0
    assert model.cogym_rows == sum(s.labels for s in model.cogym_rounds)
    assert model.cogym_rows == sum(s.ticks for s in model.cogym_rounds) - declined


@pytest.mark.parametrize(
    ("changes", "argument", "words"),
    [
        ({"rounds": 0}, "rounds", "whole number >= 1, got 0"),
        ({"trials_per_round": 0}, "trials_per_round", ">= 1"),
        ({"teacher": "python:nowhere.to.be:Found"}, "teacher", "cannot import module"),
        ({"teacher": "expret"}, "teacher", "unknown actor implementation 'expret'"),
        ({"teacher": "sb3:missing@latest"}, "teacher", "missing"),
        ({"actor": "playr"}, "actor", "Did you mean 'player'"),
        ({"query": "sometimes"}, "query", "always, uncertain"),
        ({"beta": 1.5}, "beta", "[0, 1]"),
        ({"model": "../escape"}, "model", "path"),
        ({"epoch": 3}, "epoch", "training options are"),
    ],
)
def test_bad_arguments_are_refused_before_any_trial_runs(tmp_path, changes, argument, words):
    arguments = {"spec": _cartpole(), "actor": "player", "teacher": EXPERT} | changes
    spec, actor, teacher = arguments.pop("spec"), arguments.pop("actor"), arguments.pop("teacher")
    options = {"registry": tmp_path / "models", "model": "m", "datastore": tmp_path / "trials"}
    options |= arguments
    with pytest.raises(InvalidArgumentError) as caught:
        dagger(spec, actor, teacher, **options)
    assert caught.value.argument == argument and words in str(caught.value)
    assert not (tmp_path / "trials").exists()


def test_a_teacher_of_other_actions_is_refused_naming_both_spaces(tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    registry.save("pendulum", PPO("MlpPolicy", "Pendulum-v1", n_steps=64))
    with pytest.raises(SpaceMismatchError) as caught:
        dagger(
            _cartpole(), "player", "sb3:pendulum@1", registry=registry, model="m",
            datastore=tmp_path / "trials",
        )
    assert "Box(-2.0, 2.0, (1,), float32)" in str(caught.value)
    assert "Discrete(2)" in str(caught.value)
    with pytest.raises(SpaceMismatchError, match=r"answered 2, which is not in .*Discrete\(2\)"):
        dagger(
            _cartpole(), "player", "python:tests.learn.teachers:ThreeWays", registry=registry,
            model="m", datastore=tmp_path / "trials",
        )
    assert not (tmp_path / "trials").exists()


def test_beta_mixes_teacher_and_learner_actions(tmp_path):
    model = dagger(
        _cartpole(max_ticks=100), "player", EXPERT, registry=tmp_path / "models", model="m",
        datastore=tmp_path / "trials", rounds=3, trials_per_round=1, beta=0.5, epochs=2,
        min_updates=0,
    )
    first, second, third = model.cogym_rounds
    assert (first.beta, second.beta, third.beta) == (1.0, 0.5, 0.25)
    assert first.teacher_actions == first.ticks
    assert 0 < second.teacher_actions < second.ticks and second.labels == second.ticks
    notes = _notes(HDF5Datastore(tmp_path / "trials"), second.trial_ids[0])
    by_teacher = [n for n in notes.values() if n["by"] == "teacher"]
    assert by_teacher and all(n["reason"] == "beta 0.5: the teacher acts" for n in by_teacher)


@pytest.mark.slow
def test_continuous_actions_query_where_an_ensemble_disagrees(tmp_path):
    spec = make_spec("gym:Pendulum-v1", [{"name": "pilot", "implementation": "random"}], seed=0,
                     max_ticks=40)
    model = dagger(
        spec, "pilot", "python:cogym.bots:PendulumExpert", registry=tmp_path / "models",
        model="p", datastore=tmp_path / "trials", rounds=2, trials_per_round=1,
        query="uncertain", threshold=0.02, ensemble=3, epochs=2, min_updates=400,
    )
    registry = ModelRegistry(tmp_path / "models")
    members = registry.info("p@1").lineage["ensemble"]
    assert len(members) == 2 and all(m.startswith("p-ensemble@") for m in members)
    assert registry.versions("p-ensemble") == [1, 2, 3, 4]
    second = model.cogym_rounds[1]
    notes = _notes(HDF5Datastore(tmp_path / "trials"), second.trial_ids[0], "pilot")
    for note in notes.values():
        asked = note["uncertainty"] >= 0.02
        assert note["reason"].startswith("disagreement") and ("label" in note) is asked
    assert second.labels == sum(n["asked"] for n in notes.values())
    assert 0 < second.labels < second.ticks  # the members agree on some states, not on others
