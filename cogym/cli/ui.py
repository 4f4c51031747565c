"""``cogym ui``: the dashboard of a datastore (and a model registry) in the browser."""

from __future__ import annotations

import threading

import click

from cogym.cli import main, page_options


@main.command()
@click.option(
    "--datastore",
    "-d",
    "datastore_dir",
    required=True,
    envvar="COGYM_DATASTORE",
    type=click.Path(file_okay=False),
    help="The datastore directory (or set COGYM_DATASTORE).",
)
@click.option(
    "--registry",
    "registry_dir",
    envvar="COGYM_REGISTRY",
    type=click.Path(file_okay=False),
    help="The model registry directory (or set COGYM_REGISTRY).",
)
@page_options
def ui(
    datastore_dir: str,
    registry_dir: str | None,
    host: str,
    port: int,
    allow_remote: bool,
) -> None:
    """Serve the dashboard (trials, replays, learning, models) until Ctrl-C; prints its URL."""
    from cogym.datastore import HDF5Datastore
    from cogym.ui import mount_dashboard
    from cogym.web.server import WebServer

    HDF5Datastore(datastore_dir).catalog()  # a missing or foreign directory: exit 2, named
    server = WebServer(host, port, allow_remote=allow_remote)
    try:
        mounted = mount_dashboard(server, datastore_dir, registry_dir)
        print(mounted.url("/"), flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass  # Ctrl-C: the person is done
    finally:
        server.stop()
