"""Command-line outputs and places that fail: a message and exit 1 or 2, no traceback, the
recorded trials kept; a Ray address where nothing listens fails fast, naming it."""

from __future__ import annotations

import contextlib
import errno
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cogym.cli import main

SPEC = """\
environment:
  implementation: gym:CartPole-v1
actors:
  - name: player
    implementation: python:cogym.bots:CartPoleExpert
max_ticks: 20
seed: 0
"""


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    """A datastore holding two CartPole trials."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    store = tmp_path / "trials"
    result = CliRunner().invoke(
        main, ["run", str(spec), "-n", "2", "-q", "--datastore", str(store)]
    )
    assert result.exit_code == 0, result.output
    return store


def _listed(store: Path) -> int:
    result = CliRunner().invoke(main, ["trials", "ls", "--datastore", str(store)])
    assert result.exit_code == 0, result.output
    return result.output.count("ended")


def _fails_cleanly(result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["export", "--format", "npz", "--out", "{missing}/arrays.npz"],
        ["export", "--video", "{missing}/replay.mp4", "0"],
        ["plot", "-o", "{missing}/returns.png"],
    ],
    ids=["npz", "video", "plot"],
)
def test_an_output_in_a_missing_folder_exits_2_naming_it(recorded, tmp_path, args):
    missing = tmp_path / "no" / "such"
    args = [a.replace("{missing}", str(missing)) for a in args]
    option = "--video" if "--video" in args else "--out"
    result = CliRunner().invoke(main, ["trials", *args, "--datastore", str(recorded)])
    _fails_cleanly(result, 2, f"{option}:", f"the folder {missing} does not exist")
    assert not missing.exists()
    assert _listed(recorded) == 2


def test_a_full_disk_during_an_export_exits_1_and_keeps_the_trials(recorded, tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full)
    out = tmp_path / "arrays.npz"
    result = CliRunner().invoke(
        main,
        ["trials", "export", "--format", "npz", "--out", str(out), "--datastore", str(recorded)],
    )
    _fails_cleanly(result, 1, "a file could not be read or written", "No space left on device")
    assert _listed(recorded) == 2


def test_exporting_to_a_minari_dataset_id_that_exists_exits_2(recorded, tmp_path, monkeypatch):
    pytest.importorskip("minari")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    args = ["trials", "export", "--format", "minari", "--dataset-id", "cartpole/expert-v0"]
    args += ["--datastore", str(recorded)]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(main, args)
    _fails_cleanly(again, 2, "--dataset-id:", "'cartpole/expert-v0' exists already")


@pytest.mark.parametrize("dataset_id", ["x/cartpole-v0", "cartpole/expert"])
def test_a_malformed_minari_dataset_id_exits_2_and_leaves_no_directory_behind(
    recorded, tmp_path, monkeypatch, dataset_id
):
    # Minari made the dataset's directory, then failed parsing the id (a ValueError, or
    # int(None) for a missing version), and that directory broke every later export there
    pytest.importorskip("minari")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    args = ["trials", "export", "--format", "minari", "--datastore", str(recorded)]
    bad = CliRunner().invoke(main, [*args, "--dataset-id", dataset_id])
    _fails_cleanly(bad, 2, "--dataset-id:", "name-v<version>, e.g. cartpole/expert-v0")
    assert not list((tmp_path / "minari").rglob("data"))
    good = CliRunner().invoke(main, [*args, "--dataset-id", "cartpole/expert-v0"])
    assert good.exit_code == 0, good.output


def test_a_ray_address_where_nothing_listens_fails_fast_naming_it(tmp_path):
    pytest.importorskip("ray")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "cogym", "run", str(spec), "-n", "2", "-q"]
        + ["--backend", "ray", "--address", f"127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert time.monotonic() - started < 15
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    assert f"Ray cluster address '127.0.0.1:{port}': nothing accepts connections" in (
        completed.stderr
    )



@contextlib.contextmanager
def _listener(answer: bytes | None) -> Iterator[int]:
    """A TCP server on loopback that accepts connections and sends ``answer`` once it has read
    something (``None``: it never says anything); yields its port."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            held.append(connection)
            if answer is not None:
                connection.settimeout(5)
                with contextlib.suppress(OSError):
                    connection.recv(64)
                    connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for connection in held:
            connection.close()
        server.close()


def _run_on_ray_at(spec: Path, address: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "cogym", "run", str(spec), "-n", "2", "-q"]
        + ["--backend", "ray", "--address", address],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return completed, time.monotonic() - started


def test_a_ray_address_where_something_else_listens_fails_fast_naming_it(tmp_path):
    pytest.importorskip("ray")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    with _listener(None) as port:
        completed, seconds = _run_on_ray_at(spec, f"127.0.0.1:{port}")
    assert seconds < 15
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    assert (
        f"Ray cluster address '127.0.0.1:{port}': something listens at 127.0.0.1:{port}, but "
        "it does not answer as a Ray cluster does"
    ) in completed.stderr



def test_cogym_run_names_a_trial_cut_at_max_seconds_terminated_not_failed(tmp_path):
    # the summary said "2 trials (2 terminated)" and then "trial ... failed: wall-clock limit"
    spec = tmp_path / "slow.yaml"
    spec.write_text(
        "environment: {implementation: 'pettingzoo:pettingzoo.classic.connect_four_v3:env'}\n"
        "actors:\n  - {name: player_0}\n  - name: player_1\n"
        "    implementation: python:tests.blocking:Sleeper\n"
        "    config: {at: 1, how: slow}\n"
        "max_seconds: 0.3\nseed: 0\n"
    )
    result = CliRunner().invoke(main, ["run", str(spec), "-n", "2", "-q"])
    assert result.exit_code == 0, result.output
    assert "2 trials (2 terminated)" in result.output
    assert "terminated: wall-clock limit of 0.3 s reached at tick 2" in result.output
    assert "failed" not in result.output
