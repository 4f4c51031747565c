"""``cogym prefer``: the command a person runs to compare clips."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cogym import HDF5Datastore, Orchestrator, TrialSpec
from cogym.cli import main

from .conftest import PageClient, record_with_frames
from .test_prefer_kill import ROOT, page_url


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prefer-cli") / "trials"
    record_with_frames(root, ticks=30)
    return root


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["prefer", *args])
    return result.exit_code, result.output


def test_trials_without_frames_are_refused_naming_them(tmp_path: Path) -> None:
    spec = TrialSpec.from_dict(
        {
            "environment": {
                "implementation": "gym:cogym/Probe-v0",
                "config": {"episode_length": 9},
            },
            "actors": [{"name": "player"}],
            "seed": 0,
            "tags": {"who": "bot"},
        }
    )
    datastore = HDF5Datastore(tmp_path / "plain")
    with Orchestrator(datastore=datastore) as orchestrator:
        orchestrator.run_many(spec, 2)
    datastore.close()
    ids = [s.trial_id for s in HDF5Datastore(tmp_path / "plain").trials()]
    code, output = run("--datastore", str(tmp_path / "plain"), "--tag", "who=bot")
    assert code == 2
    assert "recorded frames" in output and "record_frames: true" in output
    assert all(i in output for i in ids)
    assert "tags={'who': 'bot'}" in output


def test_no_matching_trial_names_the_filters(recorded: Path) -> None:
    code, output = run("--datastore", str(recorded), "--tag", "who=nobody")
    assert code == 2
    assert "no trial" in output and "who" in output


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--select", "disagreement"], "--select"),
        (["--reward", "rm@latest"], "--reward"),
        (["--host", "0.0.0.0"], "--host"),
        (["--actor", "walker"], "--actor"),
        (["--segment", "0"], "--segment"),
    ],
)
def test_bad_arguments_are_named(recorded: Path, args: list[str], named: str) -> None:
    code, output = run("--datastore", str(recorded), *args)
    assert code == 2
    assert named in output


def start(*args: str) -> subprocess.Popen:
    """``cogym prefer ARGS`` in its own process, as a person starts it."""
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    return subprocess.Popen(
        [sys.executable, "-m", "cogym", "prefer", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def test_kill_9_of_cogym_prefer_keeps_the_answers_given(recorded: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "trials"
    shutil.copytree(recorded, root)
    process = start("--datastore", str(root), "--segment", "5", "--queries", "6", "--seed", "0",
                    "--name", "cli")  # fmt: skip
    given = []
    client = None
    try:
        client = PageClient(page_url(process))
        for choice in ("left", "right", "equal"):
            shown = client.wait_for(
                lambda m: m.get("type") == "query" and m["number"] == len(given) + 1, 30
            )
            client.send({"type": "answer", "query_id": shown["query_id"], "answer": choice})
            client.wait_for(
                lambda m, q=shown["query_id"]: m.get("type") == "saved" and m["query_id"] == q, 30
            )
            given.append((shown["query_id"], choice))
        os.kill(process.pid, signal.SIGKILL)
        process.wait(20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(20)
        if client is not None:
            client.close()
    stored = HDF5Datastore(root).preferences()
    assert [(p.query.query_id, p.answer) for p in stored] == given
    assert {p.judge for p in stored} == {"person:cli"}
    for p in stored:
        assert p.query.left.ticks == 5 and p.query.right.ticks == 5


def test_disagreement_selection_asks_with_a_registered_reward_model(tmp_path: Path) -> None:
    from cogym.learn import oracle, propose_queries, reward_model

    env = {
        "implementation": "gym:cogym/Probe-v0",
        "config": {"episode_length": 30, "render_mode": "rgb_array", "reward": "fingerprint"},
    }
    datastore = record_with_frames(tmp_path / "trials", ticks=30, env=env)
    queries = propose_queries(datastore, "player", 12, 5, seed=1)
    for preference in oracle().answer(queries, datastore):
        datastore.add_preference(preference)
    reward_model(datastore, "player", ensemble=2, hidden=(8,), epochs=2, seed=0,
                 registry=tmp_path / "models", model="probe-rm")  # fmt: skip
    process = start("--datastore", str(datastore.path), "--segment", "5", "--queries", "2",
                    "--select", "disagreement", "--reward", "probe-rm@latest",
                    "--registry", str(tmp_path / "models"), "--seed", "0")  # fmt: skip
    client = PageClient(page_url(process))
    try:
        for choice in ("left", "right"):
            shown = client.wait_for(
                lambda m, n=choice: m.get("type") == "query"
                and m["number"] == ("left", "right").index(n) + 1,
                30,
            )
            client.send({"type": "answer", "query_id": shown["query_id"], "answer": choice})
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(20)
        client.close()
    assert process.returncode == 0, err
    assert "2 of 2 answered and stored" in out
    stored = HDF5Datastore(datastore.path).preferences()
    assert [(p.judge, p.answer) for p in stored[-2:]] == [("person", "left"), ("person", "right")]
    assert len(stored) == 14
