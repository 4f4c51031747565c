"""The dashboard (``cogym ui``): a datastore's trials, replays, learning curves and models.

Served by the human actors' web server (:class:`~cogym.web.WebServer`) under ``/ui``, behind a
token of its own. Modules: :mod:`~cogym.ui.app` (the views, layout, JSON answers, assets),
:mod:`~cogym.ui.trials` (the trials table and its JSON), :mod:`~cogym.ui.trial` (one trial's
page), :mod:`~cogym.ui.replay` (its frames, recorded or re-rendered).

Needs the ``web`` extra: ``pip install "cogym[web]"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cogym.datastore import HDF5Datastore
    from cogym.web.mounts import MountedApp
    from cogym.web.server import WebServer

__all__ = ["PREFIX", "mount_dashboard"]

PREFIX = "/ui"


def mount_dashboard(
    server: WebServer,
    datastore: HDF5Datastore | str | Path | None,
    registry: str | Path | None = None,
) -> MountedApp:
    """Serve the dashboard of ``datastore`` (a directory or an open datastore, whose index
    read so far is kept) and ``registry`` on ``server`` under ``/ui``; ``.url()`` is its
    address, token included."""
    from cogym.ui.app import Dashboard

    return server.mount(PREFIX, Dashboard(datastore, registry).app())
