"""``cogym models ls|show|alias``: look into a model registry and move its aliases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from cogym.cli import FAILURE, console, errors, main
from cogym.cli.tables import is_narrow, new_table
from cogym.errors import InputError, RegistryFormatError

_registry_option = click.option(
    "--registry",
    "registry_root",
    required=True,
    envvar="COGYM_REGISTRY",
    metavar="DIR",
    help="The registry: a directory, or an fsspec URL (s3://..., gs://...). Env: COGYM_REGISTRY.",
)


def _open(root: str) -> Any:
    from cogym.registry import ModelRegistry
    from cogym.registry.storage import local_root

    local = local_root(root)
    if local is not None:
        path = Path(local).expanduser()
        if path.is_file():
            raise InputError(f"--registry {root}: this is a file, not a model registry directory")
        if not path.exists():
            raise InputError(
                f"--registry {root}: no model registry there, the directory does not exist; "
                "check the path, or save a model into it first (cogym bc ... --registry DIR, "
                "or ModelRegistry(DIR).save(...))"
            )
    return ModelRegistry(root)


@main.group()
def models() -> None:
    """Look into a model registry and move its aliases."""


@models.command("ls")
@_registry_option
def list_models(registry_root: str) -> None:
    """List the models: versions, latest, aliases."""
    registry = _open(registry_root)
    names = registry.models()
    if not names:
        console.print(f"no models in {registry_root}", highlight=False, markup=False)
        return
    table = Table(title=f"models in {registry_root}")
    for column in ("model", "versions", "latest", "created", "algorithm", "aliases"):
        table.add_column(column, justify="right" if column in ("versions", "latest") else "left")
    unreadable: list[str] = []
    for name in names:
        versions = registry.versions(name)
        aliases = ", ".join(f"{a}={v}" for a, v in sorted(registry.aliases(name).items()))
        try:
            latest = registry.info(name, versions[-1])
        except RegistryFormatError as exc:
            unreadable.append(str(exc))
            table.add_row(name, str(len(versions)), str(versions[-1]), "unreadable", "-", aliases)
            continue
        created = f"{latest.created:%Y-%m-%d %H:%M}"
        table.add_row(
            name, str(len(versions)), str(latest.version), created, latest.algorithm, aliases
        )
    console.print(table)
    _fail_on(unreadable)


@models.command()
@click.argument("reference", metavar="NAME[@REF]")
@_registry_option
@click.option("--json", "as_json", is_flag=True, help="Print the version's meta.json (needs @REF).")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(min=0),
    help="Newest versions to list for a bare NAME (0: all).",
)
def show(reference: str, registry_root: str, as_json: bool, limit: int) -> None:
    """Show NAME's versions and alias history, or one version with NAME@REF (3, alias, latest)."""
    from cogym.registry import parse_ref

    registry = _open(registry_root)
    wanted = parse_ref(reference)
    if "@" in reference or as_json:
        info = registry.info(reference)
        if as_json:
            click.echo(json.dumps(info.to_dict(), indent=2))
        else:
            console.print(_version_table(info, registry.aliases(info.name)))
        return
    versions = registry.versions(wanted.name)
    aliases = registry.aliases(wanted.name)
    by_version: dict[int, list[str]] = {}
    for alias, version in sorted(aliases.items()):
        by_version.setdefault(version, []).append(alias)
    shown = versions if limit == 0 else versions[-limit:]
    title = f"{wanted.name}: {len(versions)} version(s) in {registry_root}"
    narrow = is_narrow(console)
    table = new_table(console, title)
    columns = ["version", "created", "algorithm", "size", "sha256", "aliases", "metrics"]
    if narrow:  # the date above the time, the file's figures in one cell, a metric a line
        columns = ["version", "created", "file", "aliases", "metrics"]
    for column in columns:
        table.add_column(column, no_wrap=column != "metrics", overflow="fold")
    unreadable: list[str] = []
    for number in reversed(shown):
        try:
            info = registry.info(wanted.name, number)
        except RegistryFormatError as exc:
            unreadable.append(str(exc))
            table.add_row(str(number), "unreadable", *["-"] * (len(columns) - 2))
            continue
        cells = [
            str(number),
            f"{info.created:%Y-%m-%d %H:%M:%S}",
            info.algorithm,
            f"{info.size:,}",
            info.sha256[:12],
            ", ".join(by_version.get(number, [])),
            escape(_compact(info.metrics)),
        ]
        if narrow:
            cells = [
                cells[0],
                f"{info.created:%Y-%m-%d}\n{info.created:%H:%M:%S}",
                f"{cells[2]}\n{cells[3]} B\n{cells[4]}",
                "\n".join(by_version.get(number, [])),
                escape("\n".join(_metric(k, v) for k, v in info.metrics.items()) or "-"),
            ]
        table.add_row(*cells)
    console.print(table)
    if len(shown) < len(versions):
        console.print(f"... and {len(versions) - len(shown)} older version(s); --limit 0 shows all")
    _print_alias_history(registry.alias_history(wanted.name))
    _fail_on(unreadable)


def _print_alias_history(history: list[Any]) -> None:
    """The last 20 alias changes, if any."""
    if history:
        changes = Table(title="alias changes")
        for column in ("time", "alias", "from", "to", "by"):
            changes.add_column(column)
        for change in history[-20:]:
            changes.add_row(
                f"{change.time:%Y-%m-%d %H:%M:%S}",
                change.alias,
                "-" if change.previous is None else str(change.previous),
                "removed" if change.version is None else str(change.version),
                escape(f"{change.user}@{change.host}"),
            )
        console.print(changes)


def _fail_on(unreadable: list[str]) -> None:
    """After the table: each version that could not be read, and exit 1 if there was one."""
    for message in unreadable:
        errors.print("[red]error:[/red]", escape(message), highlight=False, soft_wrap=True)
    if unreadable:
        raise SystemExit(FAILURE)


@models.command()
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=click.IntRange(min=1))
@_registry_option
def alias(name: str, alias: str, version: int, registry_root: str) -> None:
    """Point ALIAS of model NAME at VERSION (set it, or move it)."""
    registry = _open(registry_root)
    change = registry.alias(name, alias, version)
    before = "new alias" if change.previous is None else f"was {change.previous}"
    console.print(f"{name}@{alias} -> {change.version} ({before})", highlight=False)


def _version_table(info: Any, aliases: dict[str, int]) -> Table:
    from cogym.registry.meta import format_size

    table = Table(title=info.ref, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    pointing = sorted(a for a, v in aliases.items() if v == info.version)
    rows = [
        ("aliases", ", ".join(pointing) or "-"),
        ("created", info.created.isoformat()),
        ("kind", info.kind),
        ("algorithm", info.algorithm),
        ("file", info.file),
        ("size", f"{format_size(info.size)} ({info.size:,} bytes)"),
        ("sha256", info.sha256),
        ("observation space", str(info.observation_space)),
        ("action space", str(info.action_space)),
        ("libraries", ", ".join(f"{k} {v}" for k, v in info.libraries.items())),
        ("metrics", _json_block(info.metrics)),
        ("properties", _json_block(info.properties)),
        ("lineage", _json_block(info.lineage)),
    ]
    for field, value in rows:
        table.add_row(field, escape(value))
    return table


def _metric(key: str, value: Any) -> str:
    return f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}"


def _compact(values: dict[str, Any]) -> str:
    parts = [_metric(k, v) for k, v in values.items()]
    text = ", ".join(parts)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_block(values: dict[str, Any]) -> str:
    return json.dumps(values) if values else "-"
