"""The models data of the dashboard: versions, aliases and their history, lineage as links."""

from __future__ import annotations

import pytest

from cogym import ModelRegistry
from cogym.datastore import HDF5Datastore
from cogym.errors import ModelNameError, ModelNotFoundError
from cogym.ui.api_models import model_of, model_view, models_index, version_lineage
from tests.ui.lineages import SCRIPT, shared_lineages


@pytest.fixture(scope="module")
def lineages(tmp_path_factory):
    return shared_lineages(tmp_path_factory)


def test_a_clone_links_to_its_trials_and_the_models_that_acted_in_them(lineages) -> None:
    view = model_view(ModelRegistry(lineages.registry), "clone", HDF5Datastore(lineages.datastore))
    second, first = view["versions"]
    assert (second["version"], first["version"]) == (2, 1)
    lineage = second["lineage"]
    assert lineage["here"] and lineage["trial_count"] == 3 and lineage["missing"] == 0
    assert sorted(t["id"] for t in lineage["trials"]) == sorted(lineages.clone_ids)
    acted = [(a["implementation"], a["trials"], a["model"]) for a in lineage["acted"]]
    assert acted == [("sb3:clone@1", 3, model_of("clone@1"))]
    assert model_of("clone@1")["path"] == "/models/clone/1"
    assert [a["implementation"] for a in first["lineage"]["acted"]] == ["random"]
    assert first["lineage"]["acted"][0]["model"] is None


def test_aliases_and_their_history_are_shown_newest_change_first(lineages) -> None:
    view = model_view(ModelRegistry(lineages.registry), "clone", None)
    assert view["aliases"] == {"champion": 1}
    history = [(c["alias"], c["previous"], c["version"]) for c in view["alias_history"]]
    assert history == [("champion", 2, 1), ("champion", None, 2)]
    assert [v["aliases"] for v in view["versions"]] == [[], ["champion"]]


def test_trials_of_another_datastore_are_named_but_not_linked(lineages, tmp_path) -> None:
    other = HDF5Datastore(tmp_path / "elsewhere")
    view = model_view(ModelRegistry(lineages.registry), "clone", other)
    lineage = view["versions"][0]["lineage"]
    assert not lineage["here"] and lineage["acted"] == [] and lineage["missing"] is None
    assert lineage["datastore"] == str(lineages.datastore) and lineage["trial_count"] == 3


def test_models_named_by_the_lineage_are_links(lineages) -> None:
    view = model_view(ModelRegistry(lineages.registry), "odd", None)
    (version,) = view["versions"]
    assert version["metrics"] == {SCRIPT: 1.0}
    assert version["lineage"]["models"] == [
        {"role": "parent", "text": "clone@1", "model": model_of("clone@1")}
    ]
    assert version["lineage"]["filter"] == SCRIPT


def test_the_index_lists_every_model_with_its_latest_version(lineages) -> None:
    rows = models_index(ModelRegistry(lineages.registry))
    assert [(r["name"], r["versions"], r["latest"]) for r in rows] == [
        ("clone", 2, 2),
        ("odd", 1, 1),
    ]
    assert rows[0]["trained_by"] == "behavior_cloning" and rows[0]["aliases"] == {"champion": 1}


def test_an_unknown_or_bad_model_name_is_named_in_the_error(lineages) -> None:
    registry = ModelRegistry(lineages.registry)
    with pytest.raises(ModelNotFoundError, match="no model 'clone2'.*clone"):
        model_view(registry, "clone2", None)
    with pytest.raises(ModelNameError, match="contains"):
        model_view(registry, "<b>", None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "sb3:clone@3",
            {"name": "clone", "ref": "clone@3", "version": 3, "path": "/models/clone/3"},
        ),
        (
            "reward:judge@latest",
            {
                "name": "judge",
                "ref": "judge@latest",
                "version": None,
                "path": "/models/judge/latest",
            },
        ),
        (
            "clone@champion",
            {
                "name": "clone",
                "ref": "clone@champion",
                "version": None,
                "path": "/models/clone/champion",
            },
        ),
        ("random", None),
        ("python:cogym.bots:CartPoleExpert", None),
        ("sb3:../x@1", None),
        (3, None),
    ],
)
def test_implementations_and_references_that_name_a_model(text, expected) -> None:
    assert model_of(text) == expected


def test_the_model_page_lists_a_few_trials_and_the_version_page_all(lineages) -> None:
    registry = ModelRegistry(lineages.registry)
    info = registry.info("clone@1")
    store = HDF5Datastore(lineages.datastore)
    few = version_lineage(info, store, limit=2)
    assert (
        few["trial_count"] == 4
        and [t["id"] for t in few["trials"]] == info.lineage["trial_ids"][:2]
    )
    assert len(version_lineage(info, store, limit=None)["trials"]) == 4
