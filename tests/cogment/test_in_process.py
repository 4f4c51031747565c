"""In-process Cogment implementations run on a loop of their own in the tick loop's thread: their
deadline holds, and they run from a thread that already runs an asyncio loop (a notebook's)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
import warnings

from cogym import Orchestrator, TrialSpec
from cogym.errors import CloseWarning
from cogym.trial import TrialState
from tests.cogment.conftest import require_cogment

require_cogment()

from tests.cogment.test_trials import IN_PROCESS, duel_spec  # noqa: E402


def test_in_process_environment_that_stops_answering_fails_within_its_timeout():
    fields = duel_spec(f"{IN_PROCESS}:stalling", "random", "random", end_at=0).to_dict()
    fields["environment"]["config"]["timeout"] = 0.5
    spec = TrialSpec.from_dict(fields)
    start = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Orchestrator() as orchestrator:
            result = orchestrator.run(spec)
    assert time.monotonic() - start < 10
    # its session, left waiting, is cancelled as the cast closes (also where this thread runs
    # a loop already, as the suite's browser fixture does)
    assert not [w.message for w in caught if issubclass(w.category, CloseWarning)]
    assert result.state is TrialState.FAILED
    assert "tests.cogment.app:stalling" in result.error and "tick 2" in result.error
    assert "no answer within 0.5 s" in result.error


def test_in_process_trial_runs_from_inside_a_running_asyncio_loop():
    spec = duel_spec(f"{IN_PROCESS}:duel", f"{IN_PROCESS}:chatty", f"{IN_PROCESS}:quiet")

    async def in_a_notebook_cell():
        with Orchestrator() as orchestrator:
            return orchestrator.run(spec)

    # in a thread of its own: the suite's browser fixture may run a loop in this one already
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with concurrent.futures.ThreadPoolExecutor(1) as notebook:
            result = notebook.submit(asyncio.run, in_a_notebook_cell()).result()
    assert not [w.message for w in caught if issubclass(w.category, CloseWarning)]
    assert (result.state, result.ticks) == (TrialState.ENDED, 5), result.error
