"""Fixtures of the Cogment tests: the test app served on 127.0.0.1 for the whole session.

The tests need the Cogment SDK and cogment-lab; CI installs both (see the README's test
command). Each test module skips, with that reason, where they are missing
(:func:`require_cogment`).
"""

from __future__ import annotations

import pytest

REASON = (
    "the Cogment SDK and cogment-lab are not installed: pip install -e '.[cogment]' then pip "
    "install --no-deps --ignore-requires-python cogment==2.10.1 cogment-lab==0.1.5"
)


def require_cogment() -> None:
    """Skip the calling test module unless the SDK and cogment-lab import."""
    pytest.importorskip("cogment", reason=REASON)
    pytest.importorskip("cogment_lab", reason=REASON)


@pytest.fixture(scope="session")
def served_process(tmp_path_factory):
    """The test app served by another process (``python -m tests.cogment.app``), for runs
    where the service must not share this process's interpreter (training)."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    port_file = tmp_path_factory.mktemp("served") / "port"
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "tests.cogment.app", str(port_file)]
    process = subprocess.Popen(command, cwd=root)
    deadline = time.monotonic() + 60
    while not port_file.exists():
        assert process.poll() is None and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    yield f"cogment:grpc://127.0.0.1:{port_file.read_text()}"
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="session")
def served():
    """The test app's environments and actors, served on a free loopback port."""
    from tests.cogment.app import IMPLEMENTATIONS, ServedApp

    app = ServedApp(IMPLEMENTATIONS["environments"], IMPLEMENTATIONS["actors"])
    yield f"cogment:grpc://127.0.0.1:{app.port}"
    app.stop()
