"""A registry of BC clones with lineage, over a datastore of the trials they came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from cogym import ModelRegistry, Orchestrator
from cogym.cli import main
from cogym.datastore import HDF5Datastore
from tests.conftest import CARTPOLE, make_spec

SCRIPT = "<script>window.injected = 1</script>"
EXPERT = "python:cogym.bots:CartPoleExpert"


@dataclass(frozen=True)
class Lineages:
    datastore: Path
    registry: Path
    random_ids: list[str]
    clone_ids: list[str]


def _record(datastore: Path, registry: Path, implementation: str, phase: str, n: int) -> list[str]:
    spec = make_spec(
        CARTPOLE,
        [{"name": "player", "implementation": implementation}],
        seed=0,
        max_ticks=20,
        tags={"phase": phase},
    )
    with Orchestrator(datastore=HDF5Datastore(datastore), registry=registry) as orchestrator:
        orchestrator.run_many(spec, n)
    return [s.trial_id for s in HDF5Datastore(datastore).trials(tags={"phase": phase})]


def _bc(datastore: Path, registry: Path, phase: str) -> None:
    args = ["bc", "-q", "--epochs", "1", "--eval-trials", "0", "--datastore", str(datastore)]
    args += ["--actor", "player", "--model", "clone", "--registry", str(registry)]
    result = CliRunner().invoke(main, [*args, "--tag", f"phase={phase}"])
    assert result.exit_code == 0, result.output


def build_lineages(root: Path) -> Lineages:
    """``clone@1`` cloned by ``cogym bc`` from 4 random trials; ``clone@2`` from 3 trials that
    ``clone@1`` played; alias ``champion`` moved from 2 to 1; model ``odd`` (a copy of
    ``clone@1``) has a metric, a property and a lineage value that are ``<script>`` tags, a
    ``parent`` and a ``teacher`` that is no model (as ``cogym dagger`` records a bot)."""
    datastore, registry = root / "trials", root / "models"
    random_ids = _record(datastore, registry, "random", "random", 4)
    _bc(datastore, registry, "random")
    clone_ids = _record(datastore, registry, "sb3:clone@1", "clone", 3)
    _bc(datastore, registry, "clone")
    models = ModelRegistry(registry)
    models.alias("clone", "champion", 2)
    models.alias("clone", "champion", 1)
    models.save(
        "odd",
        models.load("clone@1"),
        metrics={SCRIPT: 1.0},
        properties={"note": SCRIPT},
        lineage={"filter": SCRIPT, "parent": "clone@1", "teacher": EXPERT, "round": 2},
    )
    return Lineages(datastore, registry, random_ids, clone_ids)


_built: dict[Path, Lineages] = {}


def shared_lineages(tmp_path_factory: pytest.TempPathFactory) -> Lineages:
    """:func:`build_lineages` once per test session (the tests only read them)."""
    root = tmp_path_factory.getbasetemp() / "lineages"
    if root not in _built:
        root.mkdir()
        _built[root] = build_lineages(root)
    return _built[root]
