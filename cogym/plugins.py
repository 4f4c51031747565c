"""Names that installed packages add to cogym through entry points, loaded only when used.

cogym finds implementations, schemes, environment adapters and store openers the way a
third-party package adds its own: through entry points in these groups (cogym's own are in its
``pyproject.toml``)::

    [project.entry-points."cogym.actors"]               # name -> factory(**config)
    [project.entry-points."cogym.environments"]         # name -> factory(**config)
    [project.entry-points."cogym.actor_schemes"]        # scheme -> ActorScheme or resolver
    [project.entry-points."cogym.environment_schemes"]  # scheme -> resolver(rest, config)
    [project.entry-points."cogym.environment_adapters"] # name -> EnvironmentAdapter
    [project.entry-points."cogym.datalogs"]             # default -> opener(directory)
    [project.entry-points."cogym.model_registries"]     # default -> opener(path or URL)

Listing the names of a group imports nothing; an entry point's module is imported the first
time its object is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata
from typing import Any

from cogym.errors import CogymError, ImplementationError

__all__ = [
    "ACTOR_GROUP",
    "ACTOR_SCHEME_GROUP",
    "DATALOG_GROUP",
    "ENVIRONMENT_ADAPTER_GROUP",
    "ENVIRONMENT_GROUP",
    "ENVIRONMENT_SCHEME_GROUP",
    "MODEL_REGISTRY_GROUP",
    "LazyEntryPoint",
    "entry_points",
    "load_default",
    "reinstall_hint",
]

ACTOR_GROUP = "cogym.actors"
ENVIRONMENT_GROUP = "cogym.environments"
ACTOR_SCHEME_GROUP = "cogym.actor_schemes"
ENVIRONMENT_SCHEME_GROUP = "cogym.environment_schemes"
ENVIRONMENT_ADAPTER_GROUP = "cogym.environment_adapters"
DATALOG_GROUP = "cogym.datalogs"
MODEL_REGISTRY_GROUP = "cogym.model_registries"

DEFAULT = "default"
"""The entry point name of a store opener (``cogym.datalogs``, ``cogym.model_registries``)."""


class LazyEntryPoint:
    """An entry point whose object is imported on first :meth:`load`, then kept."""

    def __init__(self, entry_point: metadata.EntryPoint) -> None:
        self.entry_point = entry_point
        self._loaded: Any = None

    @property
    def name(self) -> str:
        return self.entry_point.name

    def load(self) -> Any:
        if self._loaded is None:
            try:
                self._loaded = self.entry_point.load()
            except CogymError:
                raise  # a missing extra says which one to install
            except Exception as exc:
                raise ImplementationError(
                    f"entry point {self.entry_point.name!r} ({self.entry_point.value}) of group "
                    f"{self.entry_point.group!r} failed to load: {exc!r}"
                ) from exc
        return self._loaded

    def __repr__(self) -> str:
        return f"LazyEntryPoint({self.entry_point.group}:{self.entry_point.name})"


def entry_points(groups: Iterable[str]) -> dict[str, dict[str, LazyEntryPoint]]:
    """The entry points of ``groups``, by group and name, read in one pass over the installed
    packages; the first package to give a name keeps it."""
    installed = metadata.entry_points()  # one pass; select() then only filters
    found: dict[str, dict[str, LazyEntryPoint]] = {}
    for group in groups:
        table = found[group] = {}
        for entry_point in installed.select(group=group):
            table.setdefault(entry_point.name, LazyEntryPoint(entry_point))
    return found


_defaults: dict[str, Any] = {}


def load_default(group: str, what: str) -> Any:
    """The object of the ``default`` entry point of ``group`` (a store opener), loaded once per
    process."""
    loaded = _defaults.get(group)
    if loaded is None:
        found = entry_points([group])[group].get(DEFAULT)
        if found is None:
            raise ImplementationError(
                f"no installed package gives {what}: the entry point {DEFAULT!r} of group "
                f"{group!r} is missing.{reinstall_hint()}"
            )
        loaded = _defaults[group] = found.load()
    return loaded


def reinstall_hint() -> str:
    """A sentence for lookups that failed because cogym's own entry points are not installed.

    They are written when cogym is installed: a checkout run from its source directory, or an
    editable install made before a group was added, lacks them.
    """
    try:
        own = {entry_point.group for entry_point in metadata.distribution("cogym").entry_points}
    except metadata.PackageNotFoundError:
        own = set()
    if {ACTOR_SCHEME_GROUP, ENVIRONMENT_SCHEME_GROUP} <= own:
        return ""
    return (
        " cogym's own names (gym:, pettingzoo:, sb3:, human, the datastore) come from its entry "
        "points, which this installation lacks: install cogym (pip install -e . in a checkout)"
    )
