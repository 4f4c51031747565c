"""Trial specs: validation, YAML, round trips, and errors that name every bad field."""

from __future__ import annotations

import pytest

from cogym import ActorSpec, TrialSpec
from cogym.errors import SpecError

GOOD = """\
environment:
  implementation: gym:CartPole-v1
  config: {}
actors:
  - name: player
    implementation: random
    config: {}
max_ticks: 500
seed: 0
tags: {experiment: demo}
"""


def test_design_example_loads_and_round_trips(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(GOOD)
    spec = TrialSpec.from_yaml(path)
    assert spec.environment.implementation == "gym:CartPole-v1"
    assert spec.actors == (ActorSpec(name="player", implementation="random"),)
    assert spec.max_ticks == 500 and spec.seed == 0 and spec.tags == {"experiment": "demo"}
    assert TrialSpec.from_dict(spec.to_dict()) == spec
    assert TrialSpec.from_yaml_text(spec.to_yaml()) == spec


def test_every_bad_field_is_named_at_once_with_its_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        """\
environment:
  implementation: gym:CartPole-v1
actors:
  - name: player
    implementation: random
  - implementation: random
max_tick: 10
seed: -1
"""
    )
    with pytest.raises(SpecError) as info:
        TrialSpec.from_yaml(path)
    problems = dict(info.value.problems)
    message = str(info.value)
    assert str(path) in message
    assert any(p.startswith("actors[1].name") and "line 6" in p for p in problems)
    assert any(p.startswith("max_tick ") and "line 7" in p for p in problems)
    assert any(p.startswith("seed") and "line 8" in p for p in problems)
    unknown = next(m for p, m in problems.items() if p.startswith("max_tick "))
    assert "did you mean 'max_ticks'" in unknown.lower()
    assert len(problems) == 3


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({"actors": [{"name": "p"}]}, "environment", "missing"),
        ({"environment": {"implementation": "gym:X"}, "actors": []}, "actors", "at least 1"),
        (
            {"environment": {"implementation": "gym:X"}, "actors": [{"name": "a"}, {"name": "a"}]},
            "(top level)",
            "appears more than once",
        ),
        (
            {"environment": {"implementation": "python:onlymodule"}, "actors": [{"name": "a"}]},
            "environment.implementation",
            "python:<module>:<factory>",
        ),
        (
            {"environment": {"implementation": "gym:X"}, "actors": [{"name": "a/b"}]},
            "actors[0].name",
            "may hold only",
        ),
        (
            {
                "environment": {"implementation": "gym:X"},
                "actors": [{"name": "a", "implementation": "sb3:"}],
            },
            "actors[0].implementation",
            "missing",
        ),
        (
            {"environment": {"implementation": "gym:X"}, "actors": [{"name": "a"}], "max_ticks": 0},
            "max_ticks",
            "greater than or equal to 1",
        ),
    ],
)
def test_malformed_specs_name_the_field(data, path, words):
    with pytest.raises(SpecError) as info:
        TrialSpec.from_dict(data)
    assert any(p == path and words in m for p, m in info.value.problems), info.value.problems


def test_yaml_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("environment:\n  implementation: [gym\nactors: []\n")
    with pytest.raises(SpecError, match="line"):
        TrialSpec.from_yaml(path)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(SpecError, match="empty"):
        TrialSpec.from_yaml(empty)
    with pytest.raises(SpecError, match="cannot read"):
        TrialSpec.from_yaml(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="mapping"):
        TrialSpec.from_yaml_text("- a\n- b\n")


def test_specs_are_frozen_and_replace_revalidates():
    spec = TrialSpec.from_dict(
        {"environment": {"implementation": "gym:CartPole-v1"}, "actors": [{"name": "p"}]}
    )
    with pytest.raises(SpecError, match=r"seed: TrialSpec is frozen: .* spec\.replace\(seed="):
        spec.seed = 3  # type: ignore[misc]
    with pytest.raises(SpecError, match=r"spec\.replace_actor\('p', implementation=\.\.\.\)"):
        spec.actors[0].implementation = "random"  # type: ignore[misc]
    with pytest.raises(SpecError, match=r"spec\.replace\(environment="):
        del spec.environment.config  # type: ignore[misc]
    assert spec.replace(seed=3).seed == 3
    assert spec.with_seed(4).seed == 4 and spec.with_seed(4).cast_key == spec.cast_key
    with pytest.raises(SpecError):
        spec.replace(max_ticks=-1)
    swapped = spec.replace_actor("p", implementation="python:cogym.bots:CartPoleExpert")
    assert swapped.actor("p").implementation == "python:cogym.bots:CartPoleExpert"
    assert swapped.cast_key != spec.cast_key
    with pytest.raises(KeyError, match="no actor named 'q'"):
        spec.actor("q")
    named = TrialSpec.from_dict(
        {"environment": {"implementation": "gym:X"}, "actors": [{"name": "player"}]}
    )
    with pytest.raises(KeyError, match="Did you mean 'player'"):
        named.actor("playr")


def test_repr_is_short_and_readable():
    spec = TrialSpec.from_dict(
        {"environment": {"implementation": "gym:CartPole-v1"}, "actors": [{"name": "p"}]}
    )
    assert repr(spec) == (
        "TrialSpec(environment=EnvironmentSpec(implementation='gym:CartPole-v1'), "
        "actors=(ActorSpec(name='p'),))"
    )


def test_with_seed_is_the_copy_model_copy_makes():
    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": "gym:CartPole-v1", "config": {"a": 1}},
            "actors": [{"name": "p"}],
            "tags": {"x": 1},
        }
    )
    fast, slow = spec.with_seed(7), spec.model_copy(update={"seed": 7})
    assert fast == slow and fast.to_dict() == slow.to_dict() and repr(fast) == repr(slow)
    assert fast.model_fields_set == slow.model_fields_set and fast.environment is spec.environment
    assert spec.seed is None and fast.replace(max_ticks=3).seed == 7
    with pytest.raises(SpecError, match="seed: TrialSpec is frozen"):
        fast.seed = 1  # type: ignore[misc]
    import pickle

    assert pickle.loads(pickle.dumps(fast)) == fast
