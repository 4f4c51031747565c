"""What the benchmarks share: baseline and cogym runs alternate in one process and medians are
compared; a datastore of recorded trials measured in headless Chromium; ``cogym ui`` served from
its own process; environment variables set for a block."""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.browser import chromium_missing, launch

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Figure:
    """One benchmark's outcome: both measures, their ratio, and the target it is held to."""

    name: str
    unit: str
    baseline_name: str
    baseline: float
    cogym: float
    higher_is_better: bool
    target: float | None = None
    note: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """cogym / baseline."""
        return self.cogym / self.baseline if self.baseline else float("nan")

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ratio=self.ratio, met=self.met)
        return data


def alternate(
    baseline: Callable[[], float],
    cogym: Callable[[], float],
    rounds: int,
    warmup: bool = True,
) -> tuple[list[float], list[float]]:
    """Run ``baseline`` and ``cogym`` alternately; each returns its own measure."""
    if warmup:
        baseline()
        cogym()
    b_values, c_values = [], []
    for i in range(rounds):
        order = (baseline, cogym) if i % 2 == 0 else (cogym, baseline)
        for fn in order:
            gc.collect()
            value = fn()
            (b_values if fn is baseline else c_values).append(value)
    return b_values, c_values


def median(values: list[float]) -> float:
    return statistics.median(values)


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def per_second(amount: float, work: Callable[[], object]) -> float:
    """``amount`` (bytes, rows...) divided by the seconds ``work()`` takes."""
    with Stopwatch() as watch:
        work()
    return amount / watch.seconds


@contextlib.contextmanager
def environ(**values: str) -> Iterator[None]:
    """The environment variables ``values`` set for the block; each is restored after it (and
    any the block sets among them)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def record_cartpole(root: Path, trials: int, tags: dict[str, str]) -> float:
    """Record ``trials`` CartPole trials of 5 ticks (a random player) into a datastore at
    ``root`` with ``run_many``; return the seconds it took."""
    from cogym import HDF5Datastore, Orchestrator, TrialSpec

    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": "gym:CartPole-v1"},
            "actors": [{"name": "player", "implementation": "random"}],
            "max_ticks": 5,
            "seed": 0,
            "tags": tags,
        }
    )
    started = time.perf_counter()
    datastore = HDF5Datastore(root)
    with Orchestrator(datastore=datastore) as orchestrator:
        orchestrator.run_many(spec, trials)
    datastore.close()
    return time.perf_counter() - started


Measure = Callable[[Any, Path, float], list[Figure]]
"""Measures taken in a browser over a recorded datastore: ``(browser, root, seconds it took to
record) -> figures``."""


def in_chromium_over_trials(name: str, trials: int, measure: Measure) -> list[Figure]:
    """Record ``trials`` CartPole trials (:func:`record_cartpole`, tagged ``experiment: name``)
    in a temporary directory, launch headless Chromium, and return ``measure``'s figures; none
    (and a line saying why) where Chromium is missing. ``measure`` may make other datastores
    beside ``root``: the directory is removed afterwards."""
    missing = chromium_missing()
    if missing is not None:
        print(f"  skipped: {missing}")
        return []
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix=f"cogym-{name}-") as tmp:
        root = Path(tmp) / "trials"
        made_s = record_cartpole(root, trials, {"experiment": name})
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                return measure(browser, root, made_s)
            finally:
                browser.close()


@contextlib.contextmanager
def served_dashboard(root: Path) -> Iterator[tuple[subprocess.Popen, str, float]]:
    """``cogym ui --datastore root`` running in its own process for the block: the process,
    the URL it printed, the seconds until it printed it (its index read)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "cogym", "ui", "--datastore", str(root)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"cogym ui printed {url!r} instead of its URL")
        yield process, url, time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(20)
