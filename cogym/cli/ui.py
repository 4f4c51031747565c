"""``cogym ui``: the dashboard of a datastore (and a model registry) in the browser."""

from __future__ import annotations

import gc
import threading

import click

from cogym.cli import main, page_options
from cogym.cli.trials import _DATASTORE, _open


@main.command()
@_DATASTORE
@click.option(
    "--registry",
    "registry_dir",
    envvar="COGYM_REGISTRY",
    metavar="DIR",
    help="The model registry: a directory or an fsspec URL (or set COGYM_REGISTRY).",
)
@page_options
def ui(
    datastore_dir: str,
    registry_dir: str | None,
    host: str,
    port: int,
    allow_remote: bool,
) -> None:
    """Serve the dashboard (trials, replays, learning, models) until Ctrl-C; prints its URL.

    The datastore's index is read before the URL is printed, so that the first page opens at
    once (a few seconds for 100,000 trials).
    """
    from cogym.ui import mount_dashboard
    from cogym.web.server import WebServer

    # reading the index makes only acyclic objects (a fifth of the time went to the collector),
    # and they stay for the server's life: no collection while reading, none of them later
    gc.disable()
    try:
        datastore = _open(datastore_dir)
        datastore.trials()  # the index in order, kept until trials change: the first page is quick
        gc.freeze()
    finally:
        gc.enable()
    server = WebServer(host, port, allow_remote=allow_remote)
    try:
        mounted = mount_dashboard(server, datastore, registry_dir)
        print(mounted.url("/"), flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass  # Ctrl-C: the person is done
    finally:
        server.stop()
