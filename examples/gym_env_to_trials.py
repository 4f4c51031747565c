"""Turn Gymnasium envs into trials and swap their actors with one line.

    python examples/gym_env_to_trials.py --trials 50 --workers 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

from cogym import Orchestrator, TrialSpec
from cogym.summary import RunSummary

HERE = Path(__file__).resolve().parent


def run(orchestrator: Orchestrator, spec: TrialSpec, trials: int, workers: int) -> RunSummary:
    started = time.perf_counter()
    results = orchestrator.run_many(spec, trials, workers=workers)
    return RunSummary.of(results, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    console = Console()

    cartpole = TrialSpec.from_yaml(HERE / "cartpole.yaml")
    expert = cartpole.replace_actor("player", implementation="python:cogym.bots:CartPoleExpert")
    pendulum = TrialSpec.from_dict(
        {
            "environment": {"implementation": "gym:Pendulum-v1"},
            "actors": [{"name": "pilot", "implementation": "python:cogym.bots:PendulumExpert"}],
            "seed": 0,
        }
    )
    with Orchestrator() as orchestrator:
        for title, spec in [
            ("CartPole, random actor", cartpole),
            ("CartPole, scripted expert (one line changed)", expert),
            ("Pendulum, energy-based swing-up", pendulum),
        ]:
            console.print(run(orchestrator, spec, args.trials, args.workers).table(title))


if __name__ == "__main__":
    main()
