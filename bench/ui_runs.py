"""The dashboard's runs page over 100,000 recorded trials (10,000 with ``--quick``).

``cogym ui`` runs as its own process over a datastore recorded as :mod:`bench.ui` records its
own (:func:`bench.harness.record_cartpole`); measured: the time from navigation to the frame
painted with the first curves, on the page's clock (default view, then split by tag), the JSON
answer's time and size, and the answer to a poll when nothing changed (the page asks every
second). Target for the first curves: 1 s, as for the trials table.
"""

from __future__ import annotations

import json
import statistics
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.harness import Figure, in_chromium_over_trials, served_dashboard

FIRST_CURVES_MS = 1000.0
VIEWS = {"default": "", "split by tag": "&split=tag:experiment&window=500"}


def _drawn_ms(page: Any, url: str) -> float:
    page.goto(url, wait_until="commit")
    handle = page.wait_for_function(
        "() => window.cogymRuns && window.cogymRuns.drawn", timeout=60_000
    )
    return float(handle.json_value())


def _get(url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(url) as answer:
        body = answer.read()
    return (time.perf_counter() - started) * 1000, body


def _measure(browser: Any, root: Path, trials: int, made_s: float) -> list[Figure]:
    with served_dashboard(root) as (_process, url, _start_s):
        base = url.replace("/ui/?", "/ui/runs?")
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        drawn = {name: _drawn_ms(page, base + extra) for name, extra in VIEWS.items()}
        count = page.text_content("#runs-count")
        page.close()
        api = url.replace("/ui/?", "/ui/api/runs?")
        answers = [_get(f"{api}&window={w}") for w in (100, 101, 102)]  # each computed anew
        stamp = json.loads(answers[-1][1])["stamp"]
        polls = [_get(f"{api}&known={stamp}")[0] for _ in range(10)]
    answer_ms = statistics.median(a[0] for a in answers)
    note = (
        f"{count} trials shown ({trials} recorded in {made_s:.0f} s); JSON answer (computed) "
        f"{answer_ms:.0f} ms, {len(answers[-1][1]) / 1024:.0f} kB; split by tag: "
        f"{drawn['split by tag']:.0f} ms"
    )
    common = {"baseline_name": "target", "higher_is_better": False, "target": 1.0}
    return [
        Figure(
            name=f"ui: runs page first curves, default view ({trials} trials)",
            unit="ms",
            baseline=FIRST_CURVES_MS,
            cogym=drawn["default"],
            note=note,
            samples={"drawn ms": list(drawn.values())},
            **common,
        ),
        Figure(
            name=f"ui: runs poll answered unchanged ({trials} trials)",
            unit="ms",
            baseline=FIRST_CURVES_MS,
            cogym=statistics.median(polls),
            note=f"median of {len(polls)}; the page polls every second",
            samples={"poll ms": polls},
            **common,
        ),
    ]


def runs_page(quick: bool) -> list[Figure]:
    """First curves of the runs page over 100,000 trials; a poll when nothing changed."""
    trials = 10_000 if quick else 100_000

    def measure(browser: Any, root: Path, made_s: float) -> list[Figure]:
        return _measure(browser, root, trials, made_s)

    return in_chromium_over_trials("bench-runs", trials, measure)


BENCHMARKS = {"ui-runs": runs_page}
