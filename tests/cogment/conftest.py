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
def served():
    """The test app's environments and actors, served on a free loopback port."""
    from tests.cogment.app import IMPLEMENTATIONS, ServedApp

    app = ServedApp(IMPLEMENTATIONS["environments"], IMPLEMENTATIONS["actors"])
    yield f"cogment:grpc://127.0.0.1:{app.port}"
    app.stop()
