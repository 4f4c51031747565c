"""Fixtures of the Cogment tests: the test app served on 127.0.0.1 for the whole session.

The tests need the Cogment SDK and cogment-lab; CI installs both (see the README's test
command), so a run without them skips these tests with that reason, and only these.
"""

from __future__ import annotations

import pytest

pytest.importorskip(
    "cogment",
    reason="the Cogment SDK is not installed: pip install --no-deps --ignore-requires-python "
    "cogment==2.10.1 cogment-lab==0.1.5 (plus the cogment extra)",
)
pytest.importorskip("cogment_lab", reason="cogment-lab is not installed (see the README)")

from tests.cogment.app import IMPLEMENTATIONS, ServedApp  # noqa: E402


@pytest.fixture(scope="session")
def served():
    """The test app's environments and actors, served on a free loopback port."""
    app = ServedApp(IMPLEMENTATIONS["environments"], IMPLEMENTATIONS["actors"])
    yield f"cogment:grpc://127.0.0.1:{app.port}"
    app.stop()
