"""The human actor in trials, driven by a page stand-in over its websocket."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from cogym import TrialSpec, TrialState
from cogym.bots import CartPoleExpert
from cogym.trial import Sample
from cogym.web import wait_for_channel

from .conftest import CARTPOLE, FAST, PROBE, PageClient

pytestmark = pytest.mark.filterwarnings("ignore:.*No render fps was declared")


def cartpole(player: dict[str, Any], *others: dict[str, Any], **fields: Any) -> TrialSpec:
    actors = [{"name": "player", "implementation": "human", "config": {**FAST, **player}}, *others]
    return TrialSpec.from_dict({"environment": CARTPOLE, "actors": actors, "seed": 3, **fields})


def probe(player: dict[str, Any], **fields: Any) -> TrialSpec:
    actors = [{"name": "player", "implementation": "human", "config": {**FAST, **player}}]
    return TrialSpec.from_dict({"environment": PROBE, "actors": actors, "seed": 3, **fields})


def notes(samples: list[Sample], actor: str = "player") -> list[dict[str, Any]]:
    return [(s.annotations or {}).get(actor) for s in samples]


def actions(samples: list[Sample], actor: str = "player") -> list[Any]:
    return [int(s.actions[actor]) for s in samples if actor in s.actions]


def play_presses(page: PageClient, presses: list[int], every: int = 3) -> None:
    """Press each action once, ``every`` ticks apart (as a person tapping keys)."""
    for action in presses:
        tick = page.tick
        page.act(action)
        page.wait_tick(tick + every)


def test_presses_decide_ticks_and_each_tick_records_who_chose(background, page) -> None:
    run = background(cartpole({}, max_ticks=25))
    client = page("player")
    client.wait_tick(1)
    play_presses(client, [1, 0, 1, 0])
    [result] = run.join()
    assert result.state is TrialState.ENDED
    samples = run.datastore.trials[0].samples
    assert len(samples) == result.ticks
    by = [n["by"] for n in notes(samples)]
    assert set(by) <= {"human", "repeat", "noop"}
    human = [a for a, n in zip(actions(samples), notes(samples), strict=True) if n["by"] == "human"]
    assert human == [1, 0, 1, 0]
    # between presses the last action repeats; before the first, the no-op (action 0) applies
    last = None
    for action, note in zip(actions(samples), notes(samples), strict=True):
        if note["by"] == "repeat":
            assert action == last and note["reason"] == "timeout"
        if note["by"] == "noop":
            assert last is None and action == 0
        last = action


def test_noop_policy_applies_the_configured_noop(background, page) -> None:
    run = background(cartpole({"on_timeout": "noop", "noop": 1}, max_ticks=6))
    page("player")
    [result] = run.join()
    samples = run.datastore.trials[0].samples
    assert actions(samples) == [1] * result.ticks
    assert notes(samples) == [{"by": "noop", "reason": "timeout"}] * result.ticks


def test_the_rate_paces_the_trial(background, page) -> None:
    run = background(probe({"rate": 40}, max_ticks=12))
    page("player")
    started = time.monotonic()
    [result] = run.join()
    assert result.ticks == 12
    assert time.monotonic() - started >= 11 / 40


def test_wait_policy_waits_for_the_person_and_records_the_wait(background, page) -> None:
    run = background(cartpole({"on_timeout": "wait", "rate": 50}, max_ticks=3))
    client = page("player")
    client.wait_tick(0)
    time.sleep(0.3)  # the person takes 0.3 s to press
    client.act(1, held=True, key="ArrowRight")
    client.wait_tick(1)
    time.sleep(0.2)  # and 0.2 s to press again, the key still down
    client.release("ArrowRight")
    client.act(1)
    client.wait_tick(2)
    client.act(0)
    run.join()
    samples = run.datastore.trials[0].samples
    assert actions(samples) == [1, 1, 0]
    assert all(n["by"] == "human" for n in notes(samples))
    assert notes(samples)[0]["late_ms"] >= 250
    # a key held down does not act again: tick 1 waited for the second press
    assert notes(samples)[1]["late_ms"] >= 150 and not any("held" in n for n in notes(samples))


def test_start_on_key_makes_the_first_tick_wait_for_the_persons_first_key(background, page) -> None:
    run = background(cartpole({"start_on_key": True, "rate": 50}, max_ticks=3))
    client = page("player")
    assert client.wait_tick(0)["turn"] is not None
    time.sleep(0.3)  # the person reads the page for 15 ticks' time, then presses
    client.act(1)
    run.join()
    samples = run.datastore.trials[0].samples
    assert actions(samples)[0] == 1 and notes(samples)[0]["by"] == "human"
    assert notes(samples)[0]["late_ms"] >= 250
    # from then on the rate paces the trial: the pressed action repeats
    assert [n["by"] for n in notes(samples)[1:]] == ["repeat", "repeat"]


def test_a_held_key_keeps_acting_until_released(background, page) -> None:
    run = background(cartpole({}, max_ticks=30))
    client = page("player")
    client.wait_tick(1)
    client.act(1, held=True, key="ArrowRight")
    start = client.tick
    client.wait_tick(start + 5)
    client.release("ArrowRight")
    run.join()
    samples = run.datastore.trials[0].samples
    held = [s.tick for s in samples if notes([s])[0].get("held")]
    assert len(held) >= 3
    assert all(int(samples[t].actions["player"]) == 1 for t in held)
    assert held == list(range(held[0], held[0] + len(held)))  # one run, ended by the release
    after = [n["by"] for n in notes(samples)[held[-1] + 1 :]]
    assert after and set(after) == {"repeat"}


def test_teacher_mode_records_whose_action_was_applied(background, page) -> None:
    teacher = {"agent": "python:cogym.bots:CartPoleExpert"}
    run = background(cartpole(teacher, max_ticks=24))
    client = page("player")
    client.wait_tick(3)
    client.act(0, held=True, key="ArrowLeft")
    client.wait_tick(client.tick + 4)
    client.release("ArrowLeft")
    run.join()
    samples = run.datastore.trials[0].samples
    expert = CartPoleExpert()
    by = [n["by"] for n in notes(samples)]
    assert set(by) == {"agent", "human"}
    for sample, note in zip(samples, notes(samples), strict=True):
        if note["by"] == "agent":
            assert int(sample.actions["player"]) == expert.act(sample.observations["player"])
        else:
            assert int(sample.actions["player"]) == 0
    assert by.count("human") >= 3


def test_feedback_from_a_watcher_reaches_the_player_and_is_recorded(background, page) -> None:
    watcher = {
        "name": "watcher",
        "implementation": "human",
        "actor_class": "observer",
        "config": FAST,
    }
    spec = TrialSpec.from_dict(
        {
            "environment": CARTPOLE,
            "actors": [
                {"name": "player", "implementation": "python:cogym.bots:CartPoleExpert"},
                watcher,
            ],
            "max_ticks": 20,
        }
    )
    run = background(spec)
    client = page("watcher")
    hello = client.wait_for(lambda m: m.get("type") == "hello")
    assert hello["feedback_to"] == ["player"] and hello["action_space"] is None
    client.wait_tick(4)
    client.feedback("player", 1.0, 0.5, tick=4)
    sent = client.wait_for(lambda m: m.get("type") == "feedback_sent")
    assert sent == {
        "type": "feedback_sent",
        "to": "player",
        "value": 1.0,
        "confidence": 0.5,
        "tick": 4,
    }
    client.act(1)
    assert (
        "watches and does not act" in client.wait_for(lambda m: m.get("type") == "error")["message"]
    )
    [result] = run.join()
    rewards = [r for s in run.datastore.trials[0].samples for r in s.rewards_sent]
    assert [(r.sender, r.receiver, r.value, r.confidence, r.tick) for r in rewards] == [
        ("watcher", "player", 1.0, 0.5, 4)
    ]
    # the player's return counts the feedback: tick 4 is the mean of 1 (env) and 1 (feedback)
    assert result.returns["player"] == pytest.approx(result.ticks)


def test_feedback_to_someone_not_listed_is_refused(background, page) -> None:
    run = background(cartpole({"feedback_to": ["player"]}, max_ticks=8))
    client = page("player")
    client.wait_tick(1)
    client.feedback("coach", 1.0, 1.0)
    error = client.wait_for(lambda m: m.get("type") == "error")["message"]
    assert "may send feedback to 'player', not to 'coach'" in error
    run.join()


def test_malformed_messages_are_refused_on_the_page_and_never_reach_the_environment(
    background, page
) -> None:
    probe = {"implementation": "gym:cogym/Probe-v0", "config": {"episode_length": 200}}
    spec = TrialSpec.from_dict(
        {
            "environment": probe,
            "actors": [
                {
                    "name": "player",
                    "implementation": "human",
                    "config": {**FAST, "on_timeout": "wait"},
                }
            ],
            "max_ticks": 2,
        }
    )
    run = background(spec)
    client = page("player")
    client.wait_tick(0)
    [trial] = run.orchestrator.running()
    environment = trial.cast.environment
    bad = [
        {"type": "act", "action": "left", "tick": 0},
        {"type": "act", "action": 2, "tick": 0},
        {"type": "act", "action": [1], "tick": 0},
        {"type": "act", "action": 1.5, "tick": 0},
        '{"type": "act", "action": 1, "tick": 0, "pad": "' + "x" * 5000 + '"}',
        "{not json",
        {"type": "teleport", "where": "home"},
    ]
    for message in bad:
        client.send(message)
    client.wait_for(lambda m: len(client.errors()) >= len(bad))
    errors = client.errors()
    assert "must be an integer for the action space Discrete(2), got 'left'" in errors[0]
    assert "action 2 is not in the action space Discrete(2)" in errors[1]
    assert "limit is 4096 bytes" in errors[4]
    client.act(1)
    client.wait_tick(1)
    client.act(0)
    [result] = run.join()
    assert result.state is TrialState.ENDED
    # every one was refused, so the two presses decided the two ticks
    assert actions(run.datastore.trials[0].samples) == [1, 0]
    assert all(n["by"] == "human" for n in notes(run.datastore.trials[0].samples))
    assert [int(a) for a in environment.env.unwrapped.received] == [1, 0]


def test_a_closed_page_ends_the_trial_when_configured_and_keeps_its_ticks(background, page) -> None:
    run = background(probe({"on_disconnect": "end", "rate": 30}, max_ticks=400))
    client = page("player")
    client.wait_tick(5)
    client.close()
    [result] = run.join()
    assert result.state is TrialState.TERMINATED
    assert "page of human actor 'player' was closed" in result.error
    samples = run.datastore.trials[0].samples
    assert 5 <= result.ticks == len(samples) < 400
    assert notes(samples)[-1]["reason"] == "disconnected"


def test_a_dropped_connection_pauses_the_trial_until_the_page_is_back(background, page) -> None:
    run = background(probe({"rate": 30}, max_ticks=20))
    client = page("player")
    client.wait_tick(3)
    client.drop()
    channel = wait_for_channel("player")
    with channel.condition:
        assert channel.condition.wait_for(lambda: not channel.connected, timeout=10)
    # the tick under way when the page went may end; then the trial waits for the page
    paused = run.orchestrator.running()[0].tick
    time.sleep(0.4)  # the page stays away
    assert run.orchestrator.running()[0].tick <= paused + 1
    back = page("player")
    trial = back.wait_for(lambda m: m.get("type") == "trial")
    assert trial["state"] == "running"  # the page learns where the trial is
    [result] = run.join()
    assert result.state is TrialState.ENDED and result.ticks == 20
    assert len(run.datastore.trials[0].samples) == 20


def test_a_pause_longer_than_disconnect_timeout_ends_the_trial(background, page) -> None:
    run = background(probe({"disconnect_timeout": 0.3}, max_ticks=400))
    client = page("player")
    client.wait_tick(2)
    client.drop()
    [result] = run.join()
    assert result.state is TrialState.TERMINATED
    assert "stayed away for more than 0.3 s" in result.error
    assert len(run.datastore.trials[0].samples) == result.ticks


def test_nobody_opening_the_page_fails_the_trial_naming_the_url(background) -> None:
    run = background(cartpole({"connect_timeout": 0.2}, max_ticks=5))
    [result] = run.join()
    assert result.state is TrialState.FAILED
    assert "nobody opened http://127.0.0.1:" in result.error and "connect_timeout" in result.error


def test_the_page_carries_over_to_the_next_trial(background, page) -> None:
    run = background(cartpole({}, max_ticks=4), trials=2)
    client = page("player")
    first, second = run.join()
    status = client.wait_for(lambda m: m.get("type") == "trial" and m.get("previous"))
    assert status["trial_id"] == second.trial_id
    assert status["previous"] == {
        "trial_id": first.trial_id,
        "ticks": 4,
        "return": 4.0,
        "feedback": 0.0,
    }
    # Frames are coalesced for a slow page, so not every tick need arrive; the second trial's
    # frames come on the same connection, after its status.
    after = client.wait_for(lambda m: m.get("type") == "tick" and _after(client, status, m))
    assert after["image"][:2] == b"\xff\xd8"  # JPEG
    frames = [m for m in client.messages if m.get("type") == "tick"]
    assert all(m["image"][:2] == b"\xff\xd8" for m in frames)


def _after(client: PageClient, first: dict[str, Any], later: dict[str, Any]) -> bool:
    ids = [id(m) for m in client.messages]
    return ids.index(id(later)) > ids.index(id(first))


def test_two_people_in_one_parallel_trial_each_on_their_own_url(background, page) -> None:
    walkers = [
        {"name": f"walker_{i}", "implementation": "human", "config": {**FAST, "on_timeout": "noop"}}
        for i in range(2)
    ]
    spec = TrialSpec.from_dict(
        {
            "environment": {
                "implementation": "pettingzoo:cogym.envs.rendezvous_v0:parallel_env",
                "config": {"walkers": 2, "size": 9, "render_mode": "rgb_array", "max_cycles": 10},
            },
            "actors": walkers,
            "seed": 0,
            "max_ticks": 10,
        }
    )
    run = background(spec)
    first, second = page("walker_0"), page("walker_1")
    assert first.url != second.url
    for client, move in ((first, 1), (second, 2)):
        client.wait_tick(1)
        client.act(move, held=True, key="x")
    [result] = run.join()
    samples = run.datastore.trials[0].samples
    by_0 = [s.annotations["walker_0"]["by"] for s in samples if "walker_0" in s.actions]
    assert "human" in by_0
    assert {
        int(s.actions["walker_0"]) for s in samples if s.annotations["walker_0"]["by"] == "human"
    } == {1}
    assert {
        int(s.actions["walker_1"])
        for s in samples
        if s.annotations.get("walker_1", {}).get("by") == "human"
    } == {2}
    # both pages were shown every tick's frame, rendered once for both
    for client in (first, second):
        ticks = [m["tick"] for m in client.messages if m.get("type") == "tick"]
        assert ticks == list(range(result.ticks))


def test_two_people_take_turns_and_masked_moves_are_refused(background, page) -> None:
    players = [
        {"name": f"player_{i}", "implementation": "human", "config": {**FAST, "on_timeout": "wait"}}
        for i in range(2)
    ]
    spec = TrialSpec.from_dict(
        {
            "environment": {
                "implementation": "pettingzoo:cogym.envs.nim_v0:env",
                "config": {"stones": 4},
            },
            "actors": players,
        }
    )
    run = background(spec)
    one, two = page("player_0"), page("player_1")
    turn = one.wait_turn()
    assert turn["mask"] == [1, 1, 1] and turn["observation"]["observation"] == [4]
    one.act(2)  # takes 3, one stone left
    turn = two.wait_turn()
    assert turn["mask"] == [1, 0, 0] and turn["tick"] == 1
    two.act(1)
    assert (
        "not allowed on tick 1 (masked out)"
        in two.wait_for(lambda m: m.get("type") == "error")["message"]
    )
    two.act(0)
    [result] = run.join()
    assert result.returns == {"player_0": -1.0, "player_1": 1.0}
    samples = run.datastore.trials[0].samples
    assert [dict(s.actions) for s in samples] == [{"player_0": 2}, {"player_1": 0}]


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({"rat": 20}, "config.rat: unknown key. Did you mean 'rate'?"),
        ({"rate": -1}, "config.rate: Input should be greater than 0"),
        ({"on_timeout": "panic"}, "config.on_timeout"),
        (
            {"agent": "python:cogym.bots:CartPoleExpert", "rate": None},
            "teacher mode (config.agent) needs a rate",
        ),
        (
            {"agent": "python:cogym.bots:CartPoleExpert", "on_timeout": "noop"},
            "on_timeout does not apply",
        ),
        ({"keys": {"a": 5}}, "config.keys['a'] 5 is not in the action space"),
        ({"host": "0.0.0.0"}, "allow_remote"),
        (
            {"action_labels": ["left"]},
            "config.action_labels has 1 name(s) for the 2 actions of Discrete(2)",
        ),
        (
            {"agent": "python:cogym.bots:CartPoleExpert", "start_on_key": True},
            "config.start_on_key does not apply",
        ),
    ],
)
def test_bad_configs_are_named(orchestrator, config: dict[str, Any], says: str) -> None:
    spec = cartpole(config, max_ticks=2)
    result = orchestrator.run(spec)
    assert result.state is TrialState.FAILED
    assert says in result.error


def test_a_watcher_takes_no_keys(orchestrator) -> None:
    watcher = {
        "name": "w",
        "implementation": "human",
        "actor_class": "observer",
        "config": {"keys": {"a": 0}},
    }
    spec = TrialSpec.from_dict({"environment": CARTPOLE, "actors": [{"name": "player"}, watcher]})
    result = orchestrator.run(spec)
    assert "watches (it has no action space)" in result.error


def test_spaces_without_default_keys_ask_for_a_key_map(orchestrator) -> None:
    spec = TrialSpec.from_dict(
        {
            "environment": {
                "implementation": "gym:cogym/Probe-v0",
                "config": {"action_space": {"type": "MultiBinary", "n": 3}},
            },
            "actors": [{"name": "player", "implementation": "human"}],
        }
    )
    result = orchestrator.run(spec)
    assert "no default keys for the action space MultiBinary(3); give config.keys" in result.error


def test_importing_cogym_does_not_import_the_web_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys, cogym, cogym.directory; "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'cogym.web') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_frames_are_the_rendered_environment(background, page) -> None:
    from io import BytesIO

    from PIL import Image

    run = background(cartpole({"frame_format": "png"}, max_ticks=2))
    client = page("player")
    frame = client.wait_tick(0)
    run.join()
    assert frame["mime"] == "image/png"
    image = np.asarray(Image.open(BytesIO(frame["image"])))
    assert image.shape == (400, 600, 3)


def test_without_the_web_extra_the_error_names_it() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['uvicorn'] = None\n"
        "from gymnasium import spaces\n"
        "from cogym.directory import directory\n"
        "from cogym.environment import ActorClass\n"
        "try:\n"
        "    player = ActorClass('player', spaces.Discrete(2), spaces.Discrete(2))\n"
        "    directory.make_actor('human', player)\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("MissingExtraError")
    assert 'pip install "cogym[web]"' in out
