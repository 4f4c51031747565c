"""The models page in Chromium: lineage links to the trials a BC clone came from, 404, escaping."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from tests.ui.conftest import screenshot
from tests.ui.lineages import EXPERT, SCRIPT, shared_lineages


@pytest.fixture(scope="module")
def lineages(tmp_path_factory):
    return shared_lineages(tmp_path_factory)


@pytest.fixture
def dashboard(lineages, ui_server):
    return ui_server(lineages.datastore, lineages.registry)


def test_the_lineage_link_of_a_clone_opens_a_trial_it_came_from(lineages, dashboard, ui_tab):
    ui_tab.goto(dashboard.url("/models"))
    assert ui_tab.locator("table.models a.model").all_inner_texts() == ["clone", "odd"]
    screenshot(ui_tab, "models")
    ui_tab.click("table.models a.model >> text=clone")
    ui_tab.wait_for_url(re.compile(r"/ui/models/clone\?"))
    second = ui_tab.locator("section#v2")
    links = second.locator("ul.lineage-trials a.trial-link")
    assert sorted(links.all_inner_texts()) == sorted(lineages.clone_ids)
    assert "Trained from 3 trials" in second.locator(".trained-from").inner_text()
    assert second.locator("a.datastore-link").inner_text() == str(lineages.datastore)
    screenshot(ui_tab, "model")
    trial_id = links.first.inner_text()
    links.first.click()
    ui_tab.wait_for_url(re.compile(rf"/ui/trials/{trial_id}\?"))
    assert ui_tab.locator("#trial-id").inner_text() == trial_id
    ui_tab.locator("#summary dd").first.wait_for()
    assert "sb3:clone@1" in ui_tab.locator("#summary").inner_text()


def test_the_model_that_acted_in_those_trials_links_to_its_version(lineages, dashboard, ui_tab):
    ui_tab.goto(dashboard.url("/models/clone"))
    acted = ui_tab.locator("section#v2 table.acted a.model-link")
    assert acted.all_inner_texts() == ["sb3:clone@1"]
    acted.click()
    ui_tab.wait_for_url(re.compile(r"/ui/models/clone/1\?"))
    assert ui_tab.locator("section.version h2").inner_text().startswith("clone@1")
    shown = ui_tab.locator("ul.lineage-trials a.trial-link").all_inner_texts()
    assert sorted(shown) == sorted(lineages.random_ids)
    assert ui_tab.locator("table.acted td:nth-child(2)").all_inner_texts() == ["random"]


def test_aliases_and_their_history_are_on_the_model_page(dashboard, ui_tab):
    ui_tab.goto(dashboard.url("/models/clone"))
    assert ui_tab.locator("section#v1 h2 .alias").inner_text() == "champion"
    rows = ui_tab.locator("table.alias-history tr").all_inner_texts()
    assert [r.split("\t")[1:4] for r in rows[1:]] == [
        ["champion", "2", "1"],
        ["champion", "–", "2"],
    ]


@pytest.mark.parametrize(
    ("path", "named"),
    [("/models/clone2", "clone2"), ("/models/clone/7", "clone@7"), ("/models/clone/best", "best")],
)
def test_an_unknown_model_version_or_alias_is_a_404_page_naming_it(dashboard, ui_tab, path, named):
    response = ui_tab.goto(dashboard.url(path))
    assert response.status == 404
    text = ui_tab.locator("main").inner_text()
    assert "Not found" in text and named in text


def test_names_from_the_registry_show_as_text(dashboard, ui_tab):
    ui_tab.goto(dashboard.url("/models/odd"))
    assert ui_tab.locator("table.metrics th").inner_text() == SCRIPT
    assert ui_tab.locator("p.filter code").inner_text() == SCRIPT
    assert ui_tab.locator("ul.lineage-models a.model-link").all_inner_texts() == ["clone@1"]
    keys, values = (ui_tab.locator(f"table.other {c}").all_inner_texts() for c in ("th", "td"))
    recorded = dict(zip(keys, values, strict=True))
    assert recorded == {"teacher": EXPERT, "round": "2"}
    assert ui_tab.evaluate("window.injected") is None
    response = ui_tab.goto(dashboard.url("/models/%3Cscript%3Ex"))
    assert response.status == 404 and "<script>x" in ui_tab.locator("main").inner_text()
    assert ui_tab.evaluate("window.injected") is None


def test_the_models_routes_refuse_a_request_without_the_token(dashboard):
    for path in ("/models", "/models/clone", "/models/clone/1", "/api/models/clone"):
        url = dashboard.url(path).split("?")[0]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url)
        assert refused.value.code == 403, path


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_the_json_routes_answer_the_model_and_name_an_unknown_one(lineages, dashboard):
    status, body = _get(dashboard.url("/api/models/clone/champion"))
    version = json.loads(body)
    assert status == 200 and version["ref"] == "clone@1" and version["aliases"] == ["champion"]
    assert sorted(t["id"] for t in version["lineage"]["trials"]) == sorted(lineages.random_ids)
    status, body = _get(dashboard.url("/api/models/nothing"))
    assert status == 404 and "no model 'nothing'" in json.loads(body)["error"]


def test_without_a_registry_there_is_no_models_view(lineages, ui_server):
    dashboard = ui_server(lineages.datastore)
    status, body = _get(dashboard.url("/trials"))
    assert status == 200 and ">Trials</a>" in body and ">Runs</a>" in body
    assert ">Models</a>" not in body
    assert _get(dashboard.url("/models"))[0] == 404


def test_a_registry_without_a_datastore_has_models_and_no_runs(lineages, ui_server):
    dashboard = ui_server(None, lineages.registry)
    status, body = _get(dashboard.url("/models/clone"))
    assert status == 200 and ">Models</a>" in body and ">Runs</a>" not in body
    assert "Trained from 3 trials" in body and "trial-link" not in body
    assert _get(dashboard.url("/runs"))[0] == 404


def test_a_version_whose_meta_json_is_damaged_is_named_and_the_others_shown(
    lineages, ui_server, tmp_path
):
    from cogym import ModelRegistry

    models = ModelRegistry(tmp_path / "models")
    policy = ModelRegistry(lineages.registry).load("clone@1")
    for _ in range(2):
        models.save("twice", policy, metrics={"kept": 1.0})
    (tmp_path / "models" / "twice" / "2" / "meta.json").write_text("{")
    dashboard = ui_server(lineages.datastore, tmp_path / "models")
    status, body = _get(dashboard.url("/models/twice"))
    assert status == 200 and "This version cannot be read" in body and "not valid JSON" in body
    assert "twice@1" in body and "kept" in body
    status, body = _get(dashboard.url("/models"))
    assert status == 200 and "cannot be read" in body
    status, body = _get(dashboard.url("/models/twice/2"))
    assert status == 500 and "meta.json is not valid JSON" in body


def test_a_long_list_in_the_lineage_is_cut_on_the_page_and_whole_in_the_json(
    lineages, ui_server, tmp_path
):
    from cogym import ModelRegistry

    ids = [f"query-{i}" for i in range(500)]
    models = ModelRegistry(tmp_path / "models")
    models.save("rlhf", ModelRegistry(lineages.registry).load("clone@1"), lineage={"ids": ids})
    dashboard = ui_server(lineages.datastore, tmp_path / "models")
    status, body = _get(dashboard.url("/models/rlhf"))
    assert status == 200 and "query-19&quot;, … (500 in all)]" in body and "query-20" not in body
    status, body = _get(dashboard.url("/api/models/rlhf/1"))
    assert json.loads(body)["lineage"]["other"]["ids"] == ids
