"""The oracle judge: answers preference queries from the environment's recorded rewards."""

from __future__ import annotations

import pytest

from cogym.datastore import Query, Segment
from cogym.errors import InputError
from cogym.learn import Judge, oracle
from cogym.learn.judges import resolve_judge, segment_returns
from tests.conftest import PROBE, make_spec


@pytest.fixture
def fingerprinted(record):
    """Probe trials whose every step rewards a hash of observation and action, in [0, 1)."""
    datastore, results = record(make_spec(PROBE, config={"reward": "fingerprint"}, seed=4), 4)
    return datastore, [r.trial_id for r in results]


def true_return(datastore, segment):
    """The segment's return from the trial's samples, tick by tick (not through arrays())."""
    return sum(
        s.env_rewards.get(segment.actor, 0.0)
        for s in datastore.trial(segment.trial_id).samples()
        if segment.first <= s.tick <= segment.last
    )


def queries(ids):
    out = []
    for k, (a, b) in enumerate(zip(ids, ids[1:] + ids[:1], strict=True)):
        for first in (0, 7):
            out.append(
                Query(
                    f"q{k}-{first}",
                    Segment(a, "player", first, first + 9),
                    Segment(b, "player", 10 - first, 19 - first),
                )
            )
    return out


def test_the_oracle_prefers_the_segment_with_the_larger_true_return(fingerprinted):
    datastore, ids = fingerprinted
    asked = queries(ids)
    answers = list(oracle().answer(asked, datastore))
    assert [p.query for p in answers] == asked
    for pref in answers:
        left = true_return(datastore, pref.query.left)
        right = true_return(datastore, pref.query.right)
        assert left != right
        assert pref.answer == ("left" if left > right else "right")
        assert pref.judge == "oracle"


def test_segment_returns_sum_the_environment_rewards_over_the_ticks(fingerprinted):
    datastore, ids = fingerprinted
    segments = [q.left for q in queries(ids)] + [Segment(ids[0], "player", 19, 19)]
    got = segment_returns(datastore, segments)
    assert got.tolist() == pytest.approx([true_return(datastore, s) for s in segments])


def test_equal_returns_are_answered_equal(record):
    datastore, results = record(make_spec(PROBE, seed=0), 2)  # every step rewards 1
    a, b = (r.trial_id for r in results)
    query = Query("tie", Segment(a, "player", 0, 4), Segment(b, "player", 10, 14))
    longer = Query("longer", Segment(a, "player", 0, 5), Segment(b, "player", 10, 14))
    assert [p.answer for p in oracle().answer([query, longer], datastore)] == ["equal", "left"]


def test_a_noisy_oracle_answers_some_queries_at_random_from_its_seed(fingerprinted):
    datastore, ids = fingerprinted
    asked = queries(ids) * 10
    truth = [p.answer for p in oracle().answer(asked, datastore)]
    noisy = [p.answer for p in oracle(noise=0.5, seed=1).answer(asked, datastore)]
    again = [p.answer for p in oracle(noise=0.5, seed=1).answer(asked, datastore)]
    assert noisy == again
    wrong = sum(n != t for n, t in zip(noisy, truth, strict=True))
    assert 0.1 * len(asked) < wrong < 0.45 * len(asked)  # about a quarter: half random, half lucky
    assert oracle(noise=0.5).name == "oracle(noise=0.5)"


def test_the_oracles_answers_can_be_stored(fingerprinted):
    datastore, ids = fingerprinted
    for pref in oracle().answer(queries(ids), datastore):
        datastore.add_preference(pref)
    assert [p.query for p in datastore.preferences()] == queries(ids)


def test_judges_by_name_and_bad_judges(fingerprinted):
    assert isinstance(oracle(), Judge)
    assert resolve_judge("oracle", noise=0.2).name == "oracle(noise=0.2)"
    with pytest.raises(InputError, match="judge must be 'oracle', 'person'"):
        resolve_judge("oracel")
    with pytest.raises(InputError, match="an object with answer"):
        resolve_judge(42)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="noise must be a probability"):
        oracle(noise=1.5)
    with pytest.raises(InputError, match="reward must be one of environment, received"):
        oracle(reward="true")
