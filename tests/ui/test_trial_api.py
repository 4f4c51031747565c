"""A trial's JSON: what the trial page shows, read against the datastore."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from .conftest import record

IMAGE_PROBE = {
    "environment": {
        "implementation": "gym:cogym/Probe-v0",
        "config": {
            "episode_length": 4,
            "observation_space": {
                "type": "Dict",
                "subspaces": {
                    "image": {"type": "Box", "dtype": "|u1", "shape": [24, 24, 3], "low": 0,
                              "high": 255},
                    "pos": {"type": "Box", "dtype": "<f4", "shape": [2], "low": -1.0,
                            "high": 1.0},
                },
            },
        },
    },
    "actors": [{"name": "player", "implementation": "random"}],
    "max_ticks": 4,
    "seed": 3,
}  # fmt: skip


def test_an_image_observation_is_summarised_and_small_values_are_shown_whole(
    tmp_path: Path, ui_server: Any
) -> None:
    datastore = record(tmp_path / "trials", IMAGE_PROBE, 1)
    stored = datastore.trial(datastore.trials()[0].trial_id)
    mounted = ui_server(tmp_path / "trials")
    with urllib.request.urlopen(mounted.url(f"/api/trials/{stored.trial_id}")) as response:
        data = json.loads(response.read())
    first = next(stored.samples()).observations["player"]
    shown = data["ticks"][0]["observations"]["player"]
    assert shown["image"]["shape"] == [24, 24, 3] and shown["image"]["dtype"] == "uint8"
    assert shown["image"]["first"] == first["image"].ravel()[:16].tolist()
    assert shown["image"]["max"] == int(first["image"].max())
    assert np.allclose(shown["pos"], first["pos"])
    assert data["frames"] == {"ticks": [0, 1, 2, 3], "how": "re-rendered", "note": ""}


def test_a_trial_whose_environment_cannot_render_says_why_it_has_no_frames(
    tmp_path: Path, ui_server: Any
) -> None:
    spec = {
        "environment": {"implementation": "python:tests.datastore.actors:noisy"},
        "actors": [{"name": "player", "implementation": "random"}],
        "seed": 1,
    }
    datastore = record(tmp_path / "trials", spec, 1)
    trial_id = datastore.trials()[0].trial_id
    mounted = ui_server(tmp_path / "trials")
    with urllib.request.urlopen(mounted.url(f"/api/trials/{trial_id}")) as response:
        frames = json.loads(response.read())["frames"]
    assert frames["how"] == "none" and frames["ticks"] == []
    assert frames["note"].startswith("the trial has no frames; re-rendering failed: trial ")
    assert "NotImplementedError" in frames["note"]


def test_a_re_render_that_stops_early_says_where_and_why(tmp_path: Path, ui_server: Any) -> None:
    from .actors import Shrinking

    Shrinking.made = 0  # recorded in an instance of 6 ticks, replayed in one of 4
    spec = {
        "environment": {"implementation": "python:tests.ui.actors:shrinking"},
        "actors": [{"name": "player", "implementation": "random"}],
        "seed": 2,
    }
    datastore = record(tmp_path / "trials", spec, 1)
    summary = datastore.trials()[0]
    assert summary.ticks == 6
    mounted = ui_server(tmp_path / "trials")
    with urllib.request.urlopen(mounted.url(f"/api/trials/{summary.trial_id}")) as response:
        frames = json.loads(response.read())["frames"]
    assert frames["how"] == "re-rendered" and frames["ticks"] == [0, 1, 2, 3]
    assert frames["note"] == "re-rendered up to tick 3: at tick 4 the replay had ended (ended)"
