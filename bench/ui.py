"""The dashboard (``cogym ui``) in headless Chromium, against its targets.

- trials table, first paint: a datastore of 100,000 recorded CartPole trials (10,000 with
  ``--quick``); ``cogym ui`` runs as its own process (it reads the datastore's index before
  printing its URL; that start-up time is reported too). Measured for the default view first,
  then for views sorted by other columns (each a new sort of every trial: the server keeps
  only the last answer), on the page's own clock (navigation start to the frame painted with
  the rows). Target 1 s.
- the server's memory (resident set size) with the page open.
- replay frame rate: one trial of 300 ticks with recorded 400x600 frames, played on its page
  with the player's rate set to 60 frames/s; the page counts the frames it draws. Target 30/s.

The 100,000 trials are recorded with ``run_many`` into one datastore (CartPole, a random
player, 5 ticks each: the fastest honest way, about a minute on one core).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from bench.harness import Figure, in_chromium_over_trials, served_dashboard

FIRST_PAINT_MS = 1000.0
REPLAY_FPS = 30.0
SORTS = ["ticks&order=asc", "return", "id&order=asc", "duration", "implementation&order=asc"]


def _record_frames(root: Path, ticks: int) -> str:
    from cogym import HDF5Datastore, Orchestrator, TrialSpec

    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": "python:bench.web:endless_cartpole"},
            "actors": [{"name": "player", "implementation": "random"}],
            "max_ticks": ticks,
            "seed": 0,
            "record_frames": True,
        }
    )
    datastore = HDF5Datastore(root)
    with Orchestrator(datastore=datastore) as orchestrator:
        trial_id = orchestrator.run(spec).trial_id
    datastore.close()
    return trial_id


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _first_paint_ms(page: Any, url: str) -> float:
    """From the navigation's start to the first frame painted with the table's rows (the
    page's own clock: ``performance.now()`` in the frame after the rows are added)."""
    page.goto(url, wait_until="commit")
    handle = page.wait_for_function(
        "() => window.cogymTable && window.cogymTable.shown", timeout=60_000
    )
    return float(handle.json_value())


def _table(browser: Any, root: Path, trials: int, made_s: float) -> list[Figure]:
    with served_dashboard(root) as (process, url, start_s):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        base = url.replace("/ui/?", "/ui/trials?")
        first = _first_paint_ms(page, base)
        sorted_ms = [_first_paint_ms(page, f"{base}&sort={sort}") for sort in SORTS]
        shown = page.text_content("#total")
        rss = _rss_mb(process.pid)
        page.close()
    note = (
        f"{shown} shown; {trials} trials recorded in {made_s:.0f} s; cogym ui started (index "
        f"read) in {start_s:.1f} s; sorted views: {', '.join(f'{v:.0f}' for v in sorted_ms)} ms"
    )
    common = {"baseline_name": "target", "higher_is_better": False, "target": 1.0, "note": note}
    return [
        Figure(
            name=f"ui: trials table first paint, default view ({trials} trials)",
            unit="ms",
            baseline=FIRST_PAINT_MS,
            cogym=first,
            **common,
        ),
        Figure(
            name=f"ui: trials table first paint, median of {len(SORTS)} other sorts",
            unit="ms",
            baseline=FIRST_PAINT_MS,
            cogym=statistics.median(sorted_ms),
            samples={"first paint ms": sorted_ms},
            **common,
        ),
        Figure(
            name=f"ui: server memory (RSS) with the table open ({trials} trials)",
            unit="MB",
            baseline_name="datastore files on disk",
            baseline=sum(f.stat().st_size for f in root.iterdir()) / 2**20,
            cogym=rss,
            higher_is_better=False,
            note=note,
        ),
    ]


def _replay(browser: Any, root: Path, ticks: int) -> list[Figure]:
    trial_id = _record_frames(root, ticks)
    with served_dashboard(root) as (_process, url, _start_s):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url.replace("/ui/?", f"/ui/trials/{trial_id}?"))
        page.wait_for_selector("body[data-loaded=yes]", timeout=60_000)
        page.fill("#fps", "60")
        page.click("#play")
        started = time.perf_counter()
        page.wait_for_function("() => !window.cogymReplay.playing", timeout=120_000)
        elapsed = time.perf_counter() - started
        drawn = page.evaluate("window.cogymReplay.drawn")
        size = page.eval_on_selector("#frame", "c => `${c.width}x${c.height}`")
        page.close()
    fps = (drawn - 1) / elapsed
    return [
        Figure(
            name=f"ui: replay frame rate, {size} frames, rate set to 60/s",
            unit="frames/s",
            baseline_name="target",
            baseline=REPLAY_FPS,
            cogym=fps,
            higher_is_better=True,
            target=1.0,
            note=f"{drawn} frames of {ticks} ticks drawn in {elapsed:.1f} s (loaded as played)",
        )
    ]


def dashboard(quick: bool) -> list[Figure]:
    """First paint of the trials table over 100,000 trials, server memory, replay rate."""
    trials = 10_000 if quick else 100_000
    ticks = 100 if quick else 300

    def measure(browser: Any, root: Path, made_s: float) -> list[Figure]:
        figures = _table(browser, root, trials, made_s)
        return figures + _replay(browser, root.parent / "frames", ticks)

    return in_chromium_over_trials("bench-ui", trials, measure)


BENCHMARKS = {"ui": dashboard}
