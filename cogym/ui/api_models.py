"""What the dashboard shows of a model registry, as JSON-ready dicts.

A version's lineage (what :mod:`cogym.learn` writes into ``meta.json``) becomes links: the
trials it was trained from (when they are in the dashboard's datastore), the models that acted
in those trials (the datastore records each actor's exact implementation, ``sb3:name@3``), and
the models the lineage names itself (``parent``, ``reward_model``, ``ensemble``, ``teacher``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cogym.datastore import HDF5Datastore
from cogym.errors import InputError, ModelNotFoundError, RegistryFormatError
from cogym.registry import AliasChange, ModelRegistry, ModelVersion, parse_ref
from cogym.ui.links import model_path

__all__ = [
    "TRIAL_LINKS",
    "model_of",
    "model_view",
    "models_index",
    "version_lineage",
    "version_view",
]

TRIAL_LINKS = 50
"""Trials listed by a version on the model page; its version page lists them all."""
MODEL_KEYS = ("parent", "reward_model", "ensemble", "teacher")
"""Lineage keys whose values name models (a reference or an implementation, or a list)."""
SHOWN_KEYS = ("datastore", "trial_ids", "actor", "filter")
_MODEL_SCHEMES = ("sb3:", "reward:")


def model_of(text: Any) -> dict[str, Any] | None:
    """``{"name", "ref", "version", "path"}`` for a model reference (``name@3``,
    ``name@champion``) or an implementation naming one (``sb3:name@3``, ``reward:name@latest``),
    ``path`` being its page in the dashboard; else ``None``."""
    if not isinstance(text, str):
        return None
    for scheme in _MODEL_SCHEMES:
        if text.startswith(scheme):
            text = text[len(scheme) :]
            break
    else:
        if "@" not in text or ":" in text:
            return None
    try:
        ref = parse_ref(text)
    except InputError:
        return None
    path = model_path(ref.name, ref.ref)
    return {"name": ref.name, "ref": str(ref), "version": ref.version, "path": path}


def _same_directory(recorded: Any, store: HDF5Datastore | None) -> bool:
    if store is None or not isinstance(recorded, str) or not recorded:
        return False
    try:
        return Path(recorded).expanduser().resolve() == store.path.resolve()
    except (OSError, RuntimeError, ValueError):
        return False


def _acted(ids: list[str], store: HDF5Datastore, skip: str | None) -> list[dict[str, Any]]:
    """The implementations of the actors of trials ``ids`` (the learner's own actor, ``skip``,
    included: it may have been a model too), with the number of trials each acted in."""
    catalog = store.catalog()
    counts: Counter[tuple[str, str]] = Counter()
    for trial_id in ids:
        entry = catalog.by_id.get(trial_id)
        if entry is None:
            continue
        source, position = entry
        for actor, implementation in source.summaries[position].implementations.items():
            counts[(actor, implementation)] += 1
    rows = []
    for (actor, implementation), count in sorted(counts.items()):
        rows.append(
            {
                "actor": actor,
                "implementation": implementation,
                "trials": count,
                "learner": actor == skip,
                "model": model_of(implementation),
            }
        )
    return rows


def _models_named(lineage: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    for key in MODEL_KEYS:
        values = lineage.get(key)
        for value in values if isinstance(values, list) else [values]:
            model = model_of(value)
            if model is not None:
                found.append({"role": key, "text": value, "model": model})
    return found


def version_lineage(
    info: ModelVersion, store: HDF5Datastore | None, *, limit: int | None = TRIAL_LINKS
) -> dict[str, Any]:
    """The lineage of ``info`` as links (see the module's docstring); ``limit`` caps the trials
    listed (``None``: all). ``here`` says whether the trials are in ``store``, the datastore the
    dashboard shows, so that they can be opened."""
    lineage = info.lineage
    raw_ids = lineage.get("trial_ids")
    ids = [i for i in raw_ids if isinstance(i, str)] if isinstance(raw_ids, list) else []
    here = _same_directory(lineage.get("datastore"), store)
    known = store.catalog().by_id if here and store is not None else {}
    listed = ids if limit is None else ids[:limit]
    trials = [{"id": i, "found": i in known} for i in listed]
    return {
        "datastore": lineage.get("datastore"),
        "here": here,
        "actor": lineage.get("actor"),
        "filter": lineage.get("filter"),
        "trial_count": len(ids),
        "trials": trials,
        "missing": sum(1 for i in ids if i not in known) if here else None,
        "acted": _acted(ids, store, lineage.get("actor")) if here and store is not None else [],
        "models": _models_named(lineage),
        "other": {k: v for k, v in lineage.items() if k not in SHOWN_KEYS},
    }


def _change(change: AliasChange) -> dict[str, Any]:
    return {
        "alias": change.alias,
        "version": change.version,
        "previous": change.previous,
        "time": change.time.isoformat(),
        "user": change.user,
        "host": change.host,
    }


def _unreadable(name: str, version: int, error: Exception) -> dict[str, Any]:
    return {"name": name, "version": version, "ref": f"{name}@{version}", "error": str(error)}


def version_view(
    info: ModelVersion,
    aliases: Mapping[str, int],
    store: HDF5Datastore | None,
    *,
    limit: int | None = TRIAL_LINKS,
) -> dict[str, Any]:
    """One version: its metadata, the aliases pointing at it, and its lineage as links."""
    return {
        "name": info.name,
        "version": info.version,
        "ref": info.ref,
        "created": info.created.isoformat(),
        "kind": info.kind,
        "algorithm": info.algorithm,
        "size": info.size,
        "sha256": info.sha256,
        "observation_space": str(info.observation_space),
        "action_space": str(info.action_space),
        "aliases": sorted(a for a, v in aliases.items() if v == info.version),
        "metrics": dict(info.metrics),
        "properties": dict(info.properties),
        "libraries": dict(info.libraries),
        "lineage": version_lineage(info, store, limit=limit),
    }


def model_view(registry: ModelRegistry, name: str, store: HDF5Datastore | None) -> dict[str, Any]:
    """A model: its versions (newest first), aliases and alias history. An unknown name raises
    :class:`~cogym.errors.ModelNotFoundError` (a bad one :class:`~cogym.errors.ModelNameError`),
    naming it; a version whose ``meta.json`` cannot be read is listed with the reason."""
    numbers = registry.versions(name)
    aliases = registry.aliases(name)
    versions = []
    for number in reversed(numbers):
        try:
            info = registry.info(name, number)
        except ModelNotFoundError:
            continue  # deleted since it was listed
        except RegistryFormatError as exc:
            versions.append(_unreadable(name, number, exc))
            continue
        versions.append(version_view(info, aliases, store))
    return {
        "name": name,
        "aliases": dict(sorted(aliases.items())),
        "alias_history": [_change(c) for c in reversed(registry.alias_history(name))],
        "versions": versions,
    }


def models_index(registry: ModelRegistry) -> list[dict[str, Any]]:
    """Every model with its version count, latest version's metrics and its aliases."""
    rows = []
    for name in registry.models():
        numbers = registry.versions(name)
        try:
            latest = registry.info(name, numbers[-1])
        except RegistryFormatError as exc:
            rows.append({**_unreadable(name, numbers[-1], exc), "versions": len(numbers)})
            continue
        rows.append(
            {
                "name": name,
                "versions": len(numbers),
                "latest": latest.version,
                "created": latest.created.isoformat(),
                "algorithm": latest.algorithm,
                "kind": latest.kind,
                "trained_by": latest.properties.get("trained_by"),
                "aliases": dict(sorted(registry.aliases(name).items())),
                "metrics": dict(latest.metrics),
            }
        )
    return rows
