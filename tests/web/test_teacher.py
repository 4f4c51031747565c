"""A person as DAgger's teacher: the label window of each tick, over a page stand-in."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from gymnasium import spaces

from cogym import TrialSpec, TrialState
from cogym.cli import main
from cogym.environment import ActorClass
from cogym.errors import ImplementationError, InvalidArgumentError
from cogym.learn import dagger
from cogym.learn.dagger import MIXED_ACTOR
from cogym.web.teacher import HumanTeacher

from .conftest import PROBE

pytestmark = pytest.mark.filterwarnings("ignore:.*No render fps was declared")

RATE = 2.0
"""Ticks per second of the teacher in these tests: a label window of 0.5 s per tick."""
TEACHER = {"rate": RATE, "start_delay": 0, "show_url": False}
PLAYER = ActorClass("player", spaces.Box(-1, 1, (4,)), spaces.Discrete(2))


def labelling_spec(ticks: int) -> TrialSpec:
    """A round-1 DAgger trial: no learner yet, a person labels (and so drives) every tick."""
    config = {"teacher": "human", "teacher_config": TEACHER, "learner": None, "round": 1}
    actors = [{"name": "player", "implementation": MIXED_ACTOR, "config": config}]
    return TrialSpec.from_dict({"environment": PROBE, "actors": actors, "max_ticks": ticks})


def test_a_key_pressed_within_a_tick_labels_it_and_a_tick_without_one_stays_unlabelled(
    background, page
) -> None:
    run = background(labelling_spec(4))
    client = page("player")
    client.wait_tick(0)
    client.act(1)  # tick 0: labelled 1
    client.wait_tick(2)  # tick 1: nothing pressed, its window passes
    client.send({"type": "act", "action": 1, "key": None, "held": False, "tick": 1})  # too late
    client.act(0)  # tick 2: labelled 0
    [result] = run.join()  # tick 3: nothing pressed

    assert result.state is TrialState.ENDED and result.ticks == 4
    notes = [s.annotations["player"] for s in run.datastore.trials[0].samples]
    assert [n.get("label") for n in notes] == [1, None, 0, None]
    assert [n.get("labelled_by") for n in notes] == ["teacher", None, "teacher", None]
    assert [n["teacher_note"] for n in notes] == [
        {"labelled": True},
        {"labelled": False, "reason": "timeout"},
        {"labelled": True},
        {"labelled": False, "reason": "timeout"},
    ]
    assert all(n["asked"] for n in notes)  # no learner yet: every tick is asked
    # the unlabelled ticks were not no-ops: the teacher did not act on them
    assert [n["by"] for n in notes] == ["teacher", "random", "teacher", "random"]
    actions = [int(s.actions["player"]) for s in run.datastore.trials[0].samples]
    assert [actions[0], actions[2]] == [1, 0]
    # the tick without a press lasted its whole label window, and the page was told it is asked
    ticks = {m["tick"]: m for m in client.messages if m.get("type") == "tick"}
    assert ticks[2]["stamp"] - ticks[1]["stamp"] >= 1000.0 / RATE * 0.9
    assert all(ticks[t]["turn"]["asked"] is True for t in range(4))
    hello = client.wait_for(lambda m: m.get("type") == "hello")
    assert hello["labelling"] is True and hello["on_timeout"] == "unlabelled"


def test_the_human_teachers_config_refuses_what_would_make_a_trial_wait_or_not_apply() -> None:
    with pytest.raises(ImplementationError, match="config.rate is null.*label window"):
        HumanTeacher(PLAYER, rate=None, show_url=False)
    with pytest.raises(ImplementationError, match="config.on_timeout does not apply"):
        HumanTeacher(PLAYER, on_timeout="wait", show_url=False)
    with pytest.raises(ImplementationError, match="config.agent does not apply"):
        HumanTeacher(PLAYER, agent="random", show_url=False)
    with pytest.raises(ImplementationError, match=r"human teacher: config.rat: unknown key"):
        HumanTeacher(PLAYER, rat=3)
    assert HumanTeacher(PLAYER, show_url=False).period == pytest.approx(0.1)  # 10 ticks/s


def test_a_human_teacher_naming_a_page_that_is_not_open_fails_its_trial(background) -> None:
    spec = labelling_spec(3)
    config = dict(spec.actors[0].config)
    config["teacher_config"] = {**TEACHER, "page": "nobody"}
    run = background(spec.replace_actor("player", config=config))
    [result] = run.join()
    assert result.state is TrialState.FAILED
    assert "no page 'nobody' is open" in result.error


def test_dagger_with_a_human_teacher_refuses_more_than_one_worker(tmp_path) -> None:
    spec = labelling_spec(3).replace_actor("player", implementation="random", config={})
    with pytest.raises(InvalidArgumentError, match="one page") as caught:
        dagger(spec, "player", "human", registry=tmp_path / "m", model="cp", datastore=tmp_path,
               workers=2)
    assert caught.value.argument == "workers"


def test_cogym_dagger_with_a_human_teacher_prints_the_pages_url(tmp_path) -> None:
    path = tmp_path / "probe.yaml"
    path.write_text(
        "environment: {implementation: gym:cogym/Probe-v0}\n"
        "actors: [{name: player, implementation: random}]\nmax_ticks: 5\n"
    )
    result = CliRunner().invoke(
        main,
        ["dagger", str(path), "--actor", "player", "--teacher", "human",
         "--teacher-config", "connect_timeout=0.5", "--rounds", "1", "--trials-per-round", "1",
         "--model", "cp", "--registry", str(tmp_path / "models"),
         "--datastore", str(tmp_path / "trials"), "--eval-trials", "0"],
    )
    url = r"http://127\.0\.0\.1:\d+/play/player\?token=[\w-]+"
    assert re.search(rf"label as 'player' \(DAgger's teacher\): open {url}", result.output)
    # nobody opened it: the trial does not wait for ever, and says why
    assert result.exit_code == 1, result.output
    assert "nobody opened" in result.output and "within 0.5 s" in result.output
