"""Instructions per tick of cogym's trial loop in two checkouts, counted by callgrind.

``python bench/instructions.py OTHER_CHECKOUT [--modes solo recorded expert onetick]``

Wall-clock time on a shared machine mostly measures the other processes; the number of
instructions a run executes does not depend on them. For each mode this runs the same workload
(this file's :func:`workload`, importing cogym from each checkout in turn) under
``valgrind --tool=callgrind`` twice per checkout, with a short and a long count of ticks
(trials, for ``onetick``), and prints the difference divided by the extra ticks: the cost of
one tick (or one trial) with start-up and imports taken out, for this checkout and for
``OTHER_CHECKOUT`` (a second clone or ``git worktree`` of cogym at another commit), and their
ratio. Counts vary by a few tenths of a percent between runs (hash seeds are fixed; trial ids
and clocks are not). Needs valgrind (Debian's package); a mode takes about two minutes.

Modes: ``solo`` random CartPole trials (about 22 ticks each), no datalog; ``recorded`` the same
into an HDF5Datastore; ``expert`` CartPole trials of 500 ticks (the loop itself); ``onetick``
trials cut after one tick (the cost of a trial).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

COUNTS = {"solo": (2_000, 22_000), "recorded": (2_000, 22_000), "expert": (2_000, 22_000),
          "onetick": (1_000, 6_000)}  # fmt: skip


def workload(mode: str, count: int) -> None:
    """Run ``count`` ticks (``onetick``: trials) of ``mode``."""
    from cogym import HDF5Datastore, Orchestrator, TrialSpec

    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": "gym:CartPole-v1"},
            "actors": [{"name": "player", "implementation": "random"}],
            "seed": 0,
            **({"max_ticks": 1} if mode == "onetick" else {}),
        }
    )
    if mode == "expert":
        spec = spec.replace_actor("player", implementation="python:cogym.bots:CartPoleExpert")
    root = tempfile.mkdtemp() if mode == "recorded" else None
    datastore = HDF5Datastore(root) if root is not None else None
    done = 0
    try:
        with Orchestrator(datastore=datastore) as orchestrator:
            for result in orchestrator.iter_run(spec, trials=10**9):
                done += 1 if mode == "onetick" else result.ticks
                if done >= count:
                    break
    finally:
        if root is not None:
            shutil.rmtree(root)


def _instructions(checkout: Path, mode: str, count: int) -> int:
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONHASHSEED": "0"}
    completed = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--workload", mode, str(count)],
        cwd=tempfile.gettempdir(), env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = re.search(r"Collected : (\d+)", completed.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count:\n{completed.stderr[-2000:]}")
    return int(found.group(1))


def per_unit(checkout: Path, mode: str) -> float:
    short, long = COUNTS[mode]
    return (_instructions(checkout, mode, long) - _instructions(checkout, mode, short)) / (
        long - short
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/instructions.py", description=__doc__)
    parser.add_argument("other", nargs="?", type=Path, help="another checkout of cogym")
    parser.add_argument("--modes", nargs="+", choices=sorted(COUNTS), default=["solo"])
    parser.add_argument("--workload", nargs=2, metavar=("MODE", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.workload:
        workload(args.workload[0], int(args.workload[1]))
        return 0
    if args.other is None or not (args.other / "cogym").is_dir():
        parser.error("give the path of another checkout of cogym (a folder holding cogym/)")
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (apt-get install valgrind)")
    other = args.other.resolve()
    print(f"{'mode':<10} {'this checkout':>14} {'other':>14} {'ratio':>7}")
    for mode in args.modes:
        ours, theirs = per_unit(HERE, mode), per_unit(other, mode)
        unit = "/trial" if mode == "onetick" else "/tick"
        print(f"{mode:<10} {ours:>12,.0f}{unit:<2} {theirs:>12,.0f} {ours / theirs:>7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
