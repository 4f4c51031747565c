"""Benchmarks of the Ray backend: throughput against one local process, start-up, per-trial cost;
and reading a datastore with `to_ray_dataset` on 2 workers against `arrays()` in one process.

Ray is started once, here (a local cluster with this machine's CPUs, workers at niceness 0 like
the local backend's processes); its start-up is measured and reported apart. Each run starts
its own workers, as ``cogym run`` does: a run's figures are
split into *start-up* (until the first trial is back) and *steady state* (trials/s from the
moment every worker has sent a trial back to the last result), and the whole run is reported
as well.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import Figure, Stopwatch, alternate, median
from cogym import Orchestrator, TrialSpec
from cogym.datastore import HDF5Datastore


@dataclass(frozen=True)
class _Run:
    startup: float
    """Seconds from the call until the first trial was back."""
    steady: float
    """Trials/s once every worker had sent a trial back, until the last result."""
    whole: float
    """Trials/s over the whole run, start-up and shutdown of the workers included."""


def _probe(episode_length: int, step_seconds: float) -> TrialSpec:
    return TrialSpec.from_dict(
        {
            "environment": {
                "implementation": "gym:cogym/Probe-v0",
                "config": {"episode_length": episode_length, "step_seconds": step_seconds},
            },
            "actors": [{"name": "player", "implementation": "random"}],
            "seed": 0,
        }
    )


def _run(spec: TrialSpec, trials: int, workers: int, backend: str) -> _Run:
    reporting: set[int | None] = set()
    ready = 0.0
    done = done_when_ready = 0
    first = last = 0.0
    with Orchestrator() as orchestrator:

        def note(event: Any) -> None:
            nonlocal ready, done_when_ready
            if event.result is not None and not ready:
                reporting.add(event.worker)
                if len(reporting) == workers:
                    ready, done_when_ready = time.perf_counter(), done + 1

        orchestrator.subscribe(note)
        start = time.perf_counter()
        for result in orchestrator.iter_run(spec, trials, workers=workers, backend=backend):
            if result.state.value != "ended":
                raise RuntimeError(f"benchmark trial {result.index} did not end: {result.error}")
            last = time.perf_counter()
            first = first or last
            done += 1
        end = time.perf_counter()
    if done != trials or not ready or done - done_when_ready < min(100, trials // 2):
        raise RuntimeError(
            f"{done} of {trials} benchmark trials came back, {done - done_when_ready} of them once "
            "every worker was up: too few to measure; run more trials"
        )
    return _Run(first - start, (done - done_when_ready) / (last - ready), done / (end - start))


def _alternate(
    baseline: Callable[[], _Run], cogym: Callable[[], _Run], rounds: int, warmup: bool
) -> tuple[list[_Run], list[_Run]]:
    """:func:`bench.harness.alternate` over whole runs (the warm-up runs are dropped)."""
    runs: dict[str, list[_Run]] = {"baseline": [], "cogym": []}

    def keep(name: str, fn: Callable[[], _Run]) -> Callable[[], float]:
        def call() -> float:
            run = fn()
            runs[name].append(run)
            return run.steady

        return call

    alternate(keep("baseline", baseline), keep("cogym", cogym), rounds, warmup)
    skip = 1 if warmup else 0
    return runs["baseline"][skip:], runs["cogym"][skip:]


def _start_ray() -> tuple[Any, float]:
    import ray

    if ray.is_initialized():
        ray.shutdown()
    # Ray starts its workers at niceness 15, below the local backend's processes; on a machine
    # that runs anything else the comparison would measure that, not cogym. Same footing here.
    os.environ.setdefault("RAY_worker_niceness", "0")
    started = time.perf_counter()
    ray.init(
        num_cpus=os.cpu_count() or 2,
        include_dashboard=False,
        object_store_memory=200 * 1024**2,
        logging_level="ERROR",
        log_to_driver=False,
    )
    return ray, time.perf_counter() - started


def ray_backend(quick: bool) -> list[Figure]:
    """``--backend ray --workers 2`` against ``--backend local --workers 1`` and the local pool."""
    ray, init_seconds = _start_ray()
    try:
        return _throughput(quick) + _overhead(quick, init_seconds)
    finally:
        ray.shutdown()


def _throughput(quick: bool) -> list[Figure]:
    trials = 80 if quick else 600
    spec = _probe(episode_length=50, step_seconds=0.001)
    runs: dict[str, list[_Run]] = {"local 1": [], "ray 2": [], "local 2": []}
    if quick:
        del runs["local 2"]  # the control figure is for the full run
    for round_ in range(1 if quick else 3):
        names = list(runs)[round_ % 3 :] + list(runs)[: round_ % 3]  # rotate who goes first
        for name in names:
            backend, workers = name.split()
            gc.collect()
            runs[name].append(_run(spec, trials, int(workers), backend))
    steady = {name: [r.steady for r in found] for name, found in runs.items()}
    whole = {name: [r.whole for r in found] for name, found in runs.items()}
    figures = [
        Figure(
            "--backend ray --workers 2, trials/s, env step about 1 ms (steady state)",
            "trials/s",
            "--backend local --workers 1",
            median(steady["local 1"]),
            median(steady["ray 2"]),
            True,
            target=1.7,
            note="once every worker is up; start-up is measured below",
            samples={"baseline": steady["local 1"], "cogym": steady["ray 2"]},
        ),
        Figure(
            f"--backend ray --workers 2, whole run of {trials} trials (worker start-up included)",
            "trials/s",
            "--backend local --workers 1",
            median(whole["local 1"]),
            median(whole["ray 2"]),
            True,
            note="information: how far a short run is from the steady state",
            samples={"baseline": whole["local 1"], "cogym": whole["ray 2"]},
        ),
    ]
    if "local 2" in runs:
        figures.insert(
            1,
            Figure(
                "control: --backend local --workers 2 on the same env, same moments",
                "trials/s",
                "--backend local --workers 1",
                median(steady["local 1"]),
                median(steady["local 2"]),
                True,
                note="information: what two local processes reach while the machine is as it is",
                samples={"baseline": steady["local 1"], "cogym": steady["local 2"]},
            ),
        )
    return figures


def _overhead(quick: bool, init_seconds: float) -> list[Figure]:
    trials = 1_500 if quick else 10_000
    spec = _probe(episode_length=1, step_seconds=0.0)
    pool, remote = _alternate(
        lambda: _run(spec, trials, 2, "local"),
        lambda: _run(spec, trials, 2, "ray"),
        1 if quick else 3,
        warmup=not quick,
    )
    cost_pool = [1e6 / r.steady for r in pool]
    cost_ray = [1e6 / r.steady for r in remote]
    startup_pool = [r.startup for r in pool]
    startup_ray = [r.startup for r in remote]
    cold_ray = [init_seconds + s for s in startup_ray]
    return [
        Figure(
            "per-trial cost, trivial env (1 tick), 2 workers, steady state",
            "us/trial",
            "--backend local --workers 2 (processes and pipes)",
            median(cost_pool),
            median(cost_ray),
            False,
            note="information: wall time per trial across the pool, where trials cost nothing",
            samples={"baseline": cost_pool, "cogym": cost_ray},
        ),
        Figure(
            "start-up until the first trial is back, 2 workers, Ray already running",
            "s",
            "--backend local --workers 2 (its forkserver already running)",
            median(startup_pool),
            median(startup_ray),
            False,
            note="information: starting the worker processes, importing cogym there, one trial",
            samples={"baseline": startup_pool, "cogym": startup_ray},
        ),
        Figure(
            "cold start: ray.init() of a local cluster, then the same",
            "s",
            "--backend local --workers 2 (its forkserver already running)",
            median(startup_pool),
            median(cold_ray),
            False,
            note=f"information: ray.init() took {init_seconds:.2f} s of it",
            samples={"baseline": startup_pool, "cogym": cold_ray},
        ),
    ]


def _recorded_steps(root: Path, steps: int) -> int:
    """Random CartPole trials of about ``steps`` steps in all, into several shards."""
    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": "gym:CartPole-v1"},
            "actors": [{"name": "player", "implementation": "random"}],
            "seed": 0,
        }
    )
    datastore = HDF5Datastore(root, shard_bytes=4 << 20)
    with Orchestrator(datastore=datastore) as orchestrator:
        orchestrator.run_many(spec, max(1, steps // 22))
    return len(HDF5Datastore(root).arrays("player", ("actions",))["actions"])


def ray_dataset(quick: bool) -> list[Figure]:
    """Rows/s of ``to_ray_dataset`` read by 2 Ray workers (one task per shard), against
    ``arrays()`` in one process, over the same recorded CartPole steps."""
    ray, _ = _start_ray()
    root = Path(tempfile.mkdtemp(prefix="cogym-bench-raydata-"))
    fields = ("observations", "actions")
    try:
        rows = _recorded_steps(root / "trials", 200_000 if quick else 1_000_000)

        def baseline() -> float:
            with Stopwatch() as watch:
                got = len(HDF5Datastore(root / "trials").arrays("player", fields)["actions"])
            assert got == rows
            return rows / watch.seconds

        def cogym() -> float:
            with Stopwatch() as watch:
                dataset = HDF5Datastore(root / "trials").to_ray_dataset("player", fields)
                got = sum(
                    len(batch["actions"])
                    for batch in dataset.iter_batches(batch_size=None, batch_format="numpy")
                )
            assert got == rows
            return rows / watch.seconds

        base, ours = alternate(baseline, cogym, 2 if quick else 3)
        shards = len(HDF5Datastore(root / "trials").catalog().sources)
    finally:
        ray.shutdown()
        shutil.rmtree(root, ignore_errors=True)
    return [
        Figure(
            f"to_ray_dataset rows/s, {rows:,} CartPole steps in {shards} shards, 2 Ray workers",
            "rows/s",
            "arrays() of the same steps in one process",
            median(base),
            median(ours),
            True,
            note="dataset planning and Ray Data start-up included; each row read once",
            samples={"baseline": base, "cogym": ours},
        )
    ]


BENCHMARKS = {"ray": ray_backend, "ray_dataset": ray_dataset}
