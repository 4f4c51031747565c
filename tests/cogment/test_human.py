"""A person plays a served Cogment environment through the human actor's page, as in any
trial: the page's actions are the trial's, recorded with who chose them."""

from __future__ import annotations

from cogym import HDF5Datastore, TrialSpec
from cogym.trial import TrialState
from cogym.web import wait_for_channel
from tests.cogment.conftest import require_cogment
from tests.web.conftest import FAST, Background, PageClient

require_cogment()

from tests.cogment.app import SETTINGS  # noqa: E402


def test_a_person_on_the_page_plays_the_served_cogment_lab_cartpole(served, tmp_path):
    spec = TrialSpec.from_dict(
        {
            "environment": {
                "implementation": f"{served}/cartpole",
                "config": {"cog_settings": SETTINGS, "spaces_from": "CartPole-v1"},
            },
            "actors": [
                {"name": "gym", "implementation": "human", "config": {**FAST, "on_timeout": "wait"}}
            ],
            "max_ticks": 6,
            "seed": 1,
        }
    )
    datastore = HDF5Datastore(tmp_path / "trials")
    run = Background(spec, datastore=datastore)
    client = PageClient(wait_for_channel("gym").url)
    try:
        pressed = []
        for _ in range(6):
            turn = client.wait_turn()
            action = turn["tick"] % 2
            client.act(action)
            pressed.append(action)
        [result] = run.join()
    finally:
        client.close()
        run.close()
    assert result.state is TrialState.ENDED, result.error
    assert result.ticks == 6 and result.returns["gym"] == 6.0
    reader = HDF5Datastore(datastore.path)
    [summary] = reader.trials()
    samples = list(reader.trial(summary.trial_id).samples())
    assert [int(s.actions["gym"]) for s in samples] == pressed
    assert [(s.annotations or {})["gym"]["by"] for s in samples] == ["human"] * 6
