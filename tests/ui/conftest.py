"""Fixtures for the dashboard: a server with the dashboard mounted, a Chromium tab on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cogym import HDF5Datastore, Orchestrator, TrialSpec

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
"""Where the tests put screenshots of the dashboard's views (a CI artefact; see README)."""


def record(root: Path, spec: dict[str, Any], trials: int) -> HDF5Datastore:
    """``trials`` trials of ``spec`` (a dict) recorded into the datastore at ``root``."""
    datastore = HDF5Datastore(root)
    with Orchestrator(datastore=datastore) as orchestrator:
        orchestrator.run_many(TrialSpec.from_dict(spec), trials)
    datastore.close()
    return HDF5Datastore(root)


@pytest.fixture
def ui_server() -> Iterator[Callable[..., Any]]:
    """``ui_server(datastore_dir, registry_dir=None)``: the dashboard served on a fresh
    server; returns the :class:`~cogym.web.mounts.MountedApp` (``.url("/trials")``)."""
    from cogym.ui import mount_dashboard
    from cogym.web.server import WebServer

    servers: list[WebServer] = []

    def start(datastore: Path | str | None, registry: Path | str | None = None) -> Any:
        server = WebServer()
        servers.append(server)
        return mount_dashboard(server, datastore, registry)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def ui_tab(chromium: Any) -> Iterator[Any]:
    """A Chromium tab (1280×900) for the dashboard; script errors on its pages fail the test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    tab.on("console", lambda m: _console(m, problems))
    yield tab
    context.close()
    if problems:
        pytest.fail(f"the dashboard's page reported errors: {problems}")


def _console(message: Any, problems: list[str]) -> None:
    # an error answer (a 404 page, a refused filter) is what some tests ask for; the browser
    # logs each as an error
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        problems.append(f"console: {message.text}")


def screenshot(tab: Any, name: str) -> Path:
    """Save a full-page screenshot of ``tab`` as ``screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path
