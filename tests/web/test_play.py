"""`cogym play`: the person plays, watches or teaches; each trial is recorded."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from cogym.cli import main
from cogym.datastore import HDF5Datastore
from cogym.web import wait_for_channel

from .conftest import PageClient

pytestmark = pytest.mark.filterwarnings("ignore:.*No render fps was declared")

FAST = ["--rate", "50", "--start-delay", "0", "--no-start-on-key"]


def person(actor: str, plays: Callable[[PageClient], None]) -> threading.Thread:
    """A person who opens ``actor``'s page when it exists and does ``plays`` on it."""

    def run() -> None:
        client = PageClient(wait_for_channel(actor, 20).url)
        try:
            plays(client)
        finally:
            client.wait_for(lambda m: m.get("type") == "closed", 20)
            client.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def press_right_then_left(client: PageClient) -> None:
    client.wait_tick(1)
    client.act(1)
    client.wait_tick(4)
    client.act(0)


def test_play_records_what_the_person_did(datastore_dir: Path) -> None:
    thread = person("player", press_right_then_left)
    args = ["play", "CartPole-v1", "--trials", "1", "--max-ticks", "8", "--seed", "4", *FAST]
    result = CliRunner().invoke(main, [*args, "--datastore", str(datastore_dir)])
    thread.join(20)
    assert result.exit_code == 0, result.output + result.stderr
    assert "play as 'player': open http://127.0.0.1:" in result.stderr
    assert "ended after 8 ticks" in result.output
    assert f"1 trial(s) recorded in {datastore_dir}" in result.output
    [summary] = HDF5Datastore(datastore_dir).trials()
    samples = list(HDF5Datastore(datastore_dir).trial(summary.trial_id).samples())
    human = [int(s.actions["player"]) for s in samples if s.annotations["player"]["by"] == "human"]
    assert human == [1, 0]


def test_watch_mode_records_the_persons_feedback_to_the_agent(datastore_dir: Path) -> None:
    def reward(client: PageClient) -> None:
        client.wait_tick(2)
        client.feedback("player", -1.0, 0.25, tick=2)

    thread = person("watcher", reward)
    args = ["play", "CartPole-v1", "--watch", "python:cogym.bots:CartPoleExpert", "--trials", "1"]
    result = CliRunner().invoke(
        main, [*args, "--max-ticks", "6", *FAST, "--datastore", str(datastore_dir)]
    )
    thread.join(20)
    assert result.exit_code == 0, result.output + result.stderr
    assert "watch as 'watcher'" in result.stderr
    [summary] = HDF5Datastore(datastore_dir).trials()
    stored = HDF5Datastore(datastore_dir).trial(summary.trial_id)
    assert [(r.sender, r.receiver, r.value, r.confidence, r.tick) for r in stored.rewards_sent] == [
        ("watcher", "player", -1.0, 0.25, 2)
    ]


def test_teach_mode_records_the_corrections(datastore_dir: Path) -> None:
    def correct(client: PageClient) -> None:
        client.wait_tick(2)
        client.act(0, held=True, key="ArrowLeft")
        client.wait_tick(client.tick + 3)
        client.release("ArrowLeft")

    thread = person("player", correct)
    args = ["play", "CartPole-v1", "--teach", "python:cogym.bots:CartPoleExpert", "--trials", "1"]
    result = CliRunner().invoke(
        main, [*args, "--max-ticks", "12", *FAST, "--datastore", str(datastore_dir)]
    )
    thread.join(20)
    assert result.exit_code == 0, result.output + result.stderr
    [summary] = HDF5Datastore(datastore_dir).trials()
    notes = HDF5Datastore(datastore_dir).trial(summary.trial_id).annotations
    by = [notes[t]["player"]["by"] for t in sorted(notes)]
    assert set(by) == {"agent", "human"} and by.count("human") >= 2
    # and behaviour cloning learns from the recording like from any other
    from cogym.learn import behavior_cloning

    model = behavior_cloning(datastore_dir, "player", epochs=2, validation=0.0)
    assert list(model.cogym_trial_ids) == [summary.trial_id]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["CartPole-v1", "--watch", "random", "--teach", "random"], "exclude each other"),
        (["CartPole-v1", "--keys", "{a: 0}"], "--keys: not valid JSON"),
        (["CartPole-v1", "--host", "0.0.0.0"], "add --allow-remote"),
        (["nowhere.yaml"], "there is no such file"),
        (["NoSuchEnv-v0"], "unknown environment implementation 'gym:NoSuchEnv-v0'"),
        (
            ["CartPole-v1", "--keys", '{"a": 7}'],
            "config.keys['a'] 7 is not in the action space Discrete(2)",
        ),
    ],
)
def test_bad_input_exits_2_naming_it(args: list[str], says: str) -> None:
    result = CliRunner().invoke(main, ["play", *args, "--no-record"])
    assert result.exit_code == 2, result.output + result.stderr
    assert says in result.stderr


def test_a_spec_without_a_human_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("environment: {implementation: gym:CartPole-v1}\nactors: [{name: player}]\n")
    result = CliRunner().invoke(main, ["play", str(spec), "--no-record"])
    assert result.exit_code == 2
    assert "no actor has 'implementation: human'" in result.stderr


def test_a_trial_that_cannot_start_stops_the_session(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "environment: {implementation: gym:CartPole-v1}\n"
        "actors: [{name: player, implementation: human, config: {feedback_to: [coach]}}]\n"
    )
    result = CliRunner().invoke(main, ["play", str(spec), "--no-record"])
    assert result.exit_code == 1
    assert "config.feedback_to names ['coach'], which are not actors of this trial" in result.output
    assert "failed before its first tick" in result.stderr


@pytest.mark.parametrize("command", ["play", "ui"])
def test_a_port_in_use_exits_2_naming_the_port_and_the_fix(command: str, tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        if command == "play":
            args = ["play", "CartPole-v1", "--no-record", "--port", str(port)]
        else:
            spec = tmp_path / "spec.yaml"
            spec.write_text("environment: {implementation: gym:CartPole-v1}\nactors: [{name: p}]\n")
            run = ["run", str(spec), "-q", "--datastore", str(tmp_path / "trials")]
            assert CliRunner().invoke(main, run).exit_code == 0
            args = ["ui", "--datastore", str(tmp_path / "trials"), "--port", str(port)]
        result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output + result.stderr
    assert f"cannot serve cogym's pages on 127.0.0.1:{port}" in result.stderr
    assert "choose another port (--port" in result.stderr
