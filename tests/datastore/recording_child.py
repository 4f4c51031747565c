"""A process that records trials until it is killed.

``python -m tests.datastore.recording_child ROOT COMMIT_SECONDS``

It prints ``ended <trial id>`` once each trial has ended (and so, with a commit interval of 0,
once the trial is journaled), flushing stdout every line.
"""

from __future__ import annotations

import sys

from cogym import Orchestrator
from cogym.datastore import HDF5Datastore
from tests.conftest import PROBE, make_spec


def main() -> None:
    root, commit_seconds = sys.argv[1], float(sys.argv[2])
    datastore = HDF5Datastore(root, commit_seconds=commit_seconds, shard_bytes=30_000)
    spec = make_spec(
        PROBE, config={"episode_length": 12, "step_seconds": 0.0005}, seed=int(sys.argv[3])
    )
    with Orchestrator(datastore=datastore) as orchestrator:

        def report(event) -> None:
            if event.kind == "ended":
                print("ended", event.trial_id, flush=True)

        orchestrator.subscribe(report)
        print("ready", flush=True)
        for _ in orchestrator.iter_run(spec, trials=10**9):
            pass


if __name__ == "__main__":
    main()
