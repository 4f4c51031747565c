"""The trials listing's API, as the trials page reads it."""

from __future__ import annotations

import json
import urllib.request
import warnings
from pathlib import Path
from typing import Any

from cogym.datastore import UnreadableFileWarning

from .conftest import record

CARTPOLE = {
    "environment": {"implementation": "gym:CartPole-v1"},
    "actors": [{"name": "player", "implementation": "random"}],
    "max_ticks": 5,
}


def test_a_truncated_shard_is_named_on_the_trials_page_beside_the_readable_trials(
    tmp_path: Path, ui_server: Any
) -> None:
    record(tmp_path / "trials", CARTPOLE, 2)
    record(tmp_path / "trials", CARTPOLE, 3)
    shard = sorted((tmp_path / "trials").glob("*.h5"))[0]
    shard.write_bytes(shard.read_bytes()[:4000])  # a copy cut short, a disk that filled up
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        mounted = ui_server(tmp_path / "trials")
        with urllib.request.urlopen(mounted.url("/api/trials")) as response:
            data = json.loads(response.read())
    assert any(issubclass(w.category, UnreadableFileWarning) for w in warned)
    assert data["total"] == 3  # the second run's trials; the first run's shard is cut
    [problem] = data["problems"]
    assert shard.name in problem and "the file is damaged and cannot be read" in problem
    with urllib.request.urlopen(mounted.url("/trials")) as response:
        assert 'id="problems"' in response.read().decode()


def test_a_readable_datastore_has_no_problems_listed(tmp_path: Path, ui_server: Any) -> None:
    record(tmp_path / "trials", CARTPOLE, 2)
    mounted = ui_server(tmp_path / "trials")
    with urllib.request.urlopen(mounted.url("/api/trials")) as response:
        data = json.loads(response.read())
    assert data["total"] == 2 and data["problems"] == []
