"""What a Cogment actor sees as its trial ends: the environment's final observation after
``LAST`` (``ENDING``), then ``FINAL``, as under Cogment's orchestrator, at both kinds of end,
served and in-process; a failed trial ends it with ``END`` alone."""

from __future__ import annotations

import pytest

from cogym import Orchestrator
from cogym.trial import TrialState
from tests.cogment.conftest import require_cogment

require_cogment()

from tests.cogment.app import SEEN_AT_END  # noqa: E402
from tests.cogment.test_trials import IN_PROCESS, duel_spec  # noqa: E402

ENDS = {
    "the environment ends it at tick 3": ({"end_at": 3}, 3),
    "max_ticks 4 ends it": ({"end_at": 0, "max_ticks": 4}, 4),
}


def _implementations(where: str, served: str) -> tuple[str, str, str]:
    base = served if where == "served" else IN_PROCESS
    separator = "/" if where == "served" else ":"
    return tuple(f"{base}{separator}{name}" for name in ("duel", "chatty", "watching"))


@pytest.mark.parametrize("where", ["served", "in-process"])
@pytest.mark.parametrize("end", list(ENDS))
def test_cogment_actor_gets_the_final_observation_then_final(served, where, end):
    fields, ticks = ENDS[end]
    with Orchestrator() as orchestrator:
        trial = orchestrator.start(duel_spec(*_implementations(where, served), **fields))
        result = trial.run()
    assert (result.state, result.ticks) == (TrialState.ENDED, ticks), result.error
    # b's last observation: [tick, a's action on the tick before], a playing tick % 3
    final = [float(ticks), float((ticks - 1) % 3)]
    assert trial.final_observations["b"].tolist() == final
    assert SEEN_AT_END[result.trial_id] == [("ENDING", (ticks, final)), ("FINAL", None)]


@pytest.mark.parametrize("where", ["served", "in-process"])
def test_cogment_actor_of_a_failed_trial_gets_end_without_a_final_observation(served, where):
    env, a, b = _implementations(where, served)
    env = env.replace("duel", "crashing")
    with Orchestrator() as orchestrator:
        result = orchestrator.run(duel_spec(env, a, b, end_at=0))
    assert result.state is TrialState.FAILED
    assert "the duel service crashed" in result.error
    assert SEEN_AT_END[result.trial_id] == []
