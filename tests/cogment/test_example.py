"""examples/cogment_cartpole.py as a user runs it: serve in one process, train in another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cogment.conftest import require_cogment

require_cogment()

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cogment_cartpole.py"


@pytest.mark.slow
def test_served_cogment_cartpole_example_trains_and_evaluates():
    root = EXAMPLE.parents[1]
    server = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "serve", "--port", "0"],
        stdout=subprocess.PIPE, text=True, cwd=root,
    )
    try:
        line = server.stdout.readline()
        assert line.startswith("serving on 127.0.0.1:"), line
        port = line.rsplit(":", 1)[1].strip()
        completed = subprocess.run(
            [sys.executable, str(EXAMPLE), "train", "--port", port, "--timesteps", "512",
             "--trials", "2"],
            capture_output=True, text=True, timeout=300, check=False, cwd=root,
        )
    finally:
        server.terminate()
        server.wait(10)
    assert completed.returncode == 0, completed.stderr
    assert "PPO: mean return over 2 trials" in completed.stdout
    assert "cogment-lab random actor: mean return over 2 trials" in completed.stdout
