"""Shared fixtures: one configurable test environment, temporary datastore and registry roots."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from bench.browser import chromium_missing, launch
from cogym import Orchestrator, TrialSpec

settings.register_profile(
    "cogym", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=40
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "cogym"))

CARTPOLE = "gym:CartPole-v1"
PROBE = "gym:cogym/Probe-v0"
RENDEZVOUS = "pettingzoo:cogym.envs.rendezvous_v0:parallel_env"
NIM = "pettingzoo:cogym.envs.nim_v0:env"


def make_spec(
    environment: str = CARTPOLE,
    actors: list[dict[str, Any]] | None = None,
    config: dict[str, Any] | None = None,
    **fields: Any,
) -> TrialSpec:
    """A spec from a few arguments: ``make_spec(PROBE, [{"name": "p"}], {"episode_length": 5})``."""
    return TrialSpec.from_dict(
        {
            "environment": {"implementation": environment, "config": config or {}},
            "actors": actors or [{"name": "player", "implementation": "random"}],
            **fields,
        }
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The Cogment tests run last. gRPC's threads stay in the process after them, and a child
    forked by a later test (a DataLoader worker, ffmpeg started with a ``preexec_fn``) was seen
    to crash in its after-fork handlers."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/cogment/"))


@pytest.fixture
def orchestrator():
    with Orchestrator(keep_samples=True) as orchestrator:
        yield orchestrator


@pytest.fixture
def datastore_dir(tmp_path: Path) -> Path:
    """An empty directory for a datastore."""
    return tmp_path / "trials"


@pytest.fixture(scope="module")
def ray_session() -> Iterator[ModuleType]:
    """One small local Ray per test module (2 CPUs, a 200 MB object store, no dashboard)."""
    import ray

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=200 * 1024**2,
        logging_level="WARNING",
    )
    yield ray
    ray.shutdown()


@pytest.fixture
def registry_dir(tmp_path: Path) -> Path:
    """An empty directory for a model registry."""
    return tmp_path / "models"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright."""
    missing = chromium_missing()
    if missing is not None:
        pytest.skip(f"{missing} to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()
