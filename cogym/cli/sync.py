"""``cogym trials sync SRC DST``: copy a datastore between a directory and a URL."""

from __future__ import annotations

import click

from cogym.cli import console
from cogym.cli.trials import trials
from cogym.errors import InputError, InvalidArgumentError


@trials.command("sync")
@click.argument("source", metavar="SRC")
@click.argument("target", metavar="DST")
def sync(source: str, target: str) -> None:
    """Copy the shards of datastore SRC that DST lacks (each a directory or a URL such as
    s3://bucket/trials), checking every copy's checksum; run it again to resume."""
    from cogym.datastore.location import local_directory
    from cogym.datastore.objstore.store import ObjectStore
    from cogym.datastore.objstore.sync import sync as copy_shards
    from cogym.datastore.read.catalog import Catalog

    for name, where in (("SRC", source), ("DST", target)):
        try:
            local = local_directory(where)
            if local is None:
                store = ObjectStore(where)
                if name == "SRC":
                    store.require()
                else:
                    store.read_marker()
            elif name == "SRC":
                Catalog(local).check_root()
        except InputError as exc:
            raise InvalidArgumentError(name, str(exc)) from None

    def shown(shard: str, size: int) -> None:
        console.print(f"{shard}  {size / 1e6:.1f} MB", highlight=False, soft_wrap=True)

    report = copy_shards(source, target, progress=shown)
    console.print(f"{source} -> {target}: {report}", highlight=False, soft_wrap=True)
