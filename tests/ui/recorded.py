"""The datastore the dashboard tests look at: trials of two specs, one with a hostile tag."""

from __future__ import annotations

from pathlib import Path

from tests.ui.conftest import record

PROBE = {
    "environment": {
        "implementation": "gym:cogym/Probe-v0",
        "config": {"episode_length": 12, "render_mode": "rgb_array"},
    },
    "actors": [
        {"name": "player", "implementation": "random"},
        {
            "name": "critic",
            "implementation": "python:tests.datastore.actors:Critic",
            "actor_class": "observer",
        },
    ],
    "max_ticks": 12,
    "seed": 0,
    "record_frames": True,
    "tags": {"experiment": "probe"},
}
CARTPOLE = {
    "environment": {"implementation": "gym:CartPole-v1"},
    "actors": [{"name": "player", "implementation": "python:tests.ui.actors:Chooser"}],
    "max_ticks": 8,
    "seed": 100,
    "tags": {"experiment": "cartpole"},
}
HOSTILE = "<script>document.body.dataset.hacked='yes'</script>"
PROBE_TRIALS, CARTPOLE_TRIALS = 120, 180


def record_two_specs(root: Path) -> None:
    """120 probe trials (frames recorded, a critic rewarding and messaging), 180 CartPole trials
    (no frames, notes of who chose), and one CartPole trial tagged with a ``<script>`` tag."""
    record(root, PROBE, PROBE_TRIALS)
    record(root, CARTPOLE, CARTPOLE_TRIALS)
    record(root, {**CARTPOLE, "seed": 7, "tags": {"experiment": "hostile", "note": HOSTILE}}, 1)
