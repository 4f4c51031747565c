"""Latency of the human actor's page, in headless Chromium, against the 50 ms target.

CartPole (400x600 frames, JPEG) runs at 20 ticks/s with a human player whose page is open in
Chromium; the benchmark presses arrow keys at human-like intervals. Measured:

- frame latency: from the end of the environment step to the frame drawn on the page's canvas
  (the page notes the draw time; the frame carries the server's time);
- action latency: from the key event in the page to the environment's ``step`` receiving the
  action (the key event's time comes with the action; the environment notes when it steps).

The browser's clock and Python's are compared once before measuring; the offset (normally
under a millisecond: both read the system clock) is taken out.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from typing import Any

import gymnasium as gym
import numpy as np

from bench.browser import chromium_missing, launch
from bench.harness import Figure

RATE = 20
TARGET_MS = 50.0


class EndlessCartPole(gym.Wrapper):
    """CartPole that starts over instead of ending, and notes when each step happens."""

    def __init__(self) -> None:
        super().__init__(gym.make("CartPole-v1", render_mode="rgb_array"))
        self.step_times: list[float] = []

    def step(self, action: Any) -> Any:
        self.step_times.append(time.time())
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            obs, info = self.env.reset()
        return obs, reward, False, False, info


def endless_cartpole() -> EndlessCartPole:
    return EndlessCartPole()


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def _clock_offset_ms(page: Any) -> float:
    """The page's wall clock minus Python's, in ms (the best of a few round trips)."""
    best = None
    for _ in range(9):
        before = time.time()
        page_now = page.evaluate("performance.timeOrigin + performance.now()")
        after = time.time()
        if best is None or after - before < best[0]:
            best = (after - before, page_now - (before + after) * 500.0)
    return best[1]


def page_latency(quick: bool) -> list[Figure]:
    """Frame and action latency of the human actor's page at 20 ticks/s, 400x600 frames."""
    missing = chromium_missing()
    if missing is not None:
        print(f"  skipped: {missing}")
        return []
    from playwright.sync_api import sync_playwright

    from cogym import Orchestrator, TrialSpec
    from cogym.datalog import MemoryDatalog
    from cogym.web import wait_for_channel

    seconds = 6.0 if quick else 45.0
    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": "python:bench.web:endless_cartpole"},
            "actors": [
                {
                    "name": "player",
                    "implementation": "human",
                    "config": {
                        "rate": RATE,
                        "on_timeout": "repeat",
                        "start_delay": 0.5,
                        "show_url": False,
                    },
                }
            ],
            "seed": 0,
        }
    )
    log = MemoryDatalog()
    orchestrator = Orchestrator(datastore=log)
    trial = orchestrator.start(spec)
    environment = trial.environment.env
    runner = threading.Thread(target=trial.run, daemon=True)
    runner.start()
    rng = random.Random(0)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(wait_for_channel("player", 20).url)
        while (
            page.evaluate("window.cogym.tick") < 20
        ):  # past the first frames (window system start)
            time.sleep(0.05)
        offset = _clock_offset_ms(page)
        page.evaluate("window.cogym.stats.frame.length = 0")
        started_at = len(environment.step_times)
        first_tick = page.evaluate("window.cogym.tick")
        keys = ["ArrowLeft", "ArrowRight"]
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            page.keyboard.press(keys[rng.randrange(2)])
            time.sleep(rng.uniform(0.15, 0.35))
        time.sleep(0.3)
        trial.terminate("benchmark over")
        runner.join(10)
        frames = page.evaluate("window.cogym.stats.frame")
        sent = page.evaluate("window.cogym.stats.sent")
        browser.close()
    orchestrator.close()

    frame_ms = [f - offset for f in frames]
    samples = log.trials[0].samples
    presses = [
        s.tick
        for s in samples
        if s.tick >= first_tick and s.annotations and s.annotations["player"] == {"by": "human"}
    ]
    steps = environment.step_times
    action_ms = [
        steps[tick] * 1000.0 - s["time"] + offset for tick, s in zip(presses, sent, strict=False)
    ]
    ticks = len(steps) - started_at
    elapsed = steps[-1] - steps[started_at]
    note = (
        f"{ticks} ticks in {elapsed:.1f} s ({(ticks - 1) / elapsed:.1f}/s), "
        f"{len(frame_ms)} frames, "
        f"{len(action_ms)} key presses; browser clock offset {offset:+.2f} ms removed"
    )
    figures = []
    for name, values in (("frame latency", frame_ms), ("action latency", action_ms)):
        for label, value in (
            ("median", statistics.median(values)),
            ("p95", _percentile(values, 95)),
        ):
            figures.append(
                Figure(
                    name=f"human page: {name} {label} (20 ticks/s, 400x600 JPEG)",
                    unit="ms",
                    baseline_name="target",
                    baseline=TARGET_MS,
                    cogym=value,
                    higher_is_better=False,
                    target=1.0,
                    note=note,
                    samples={name: values},
                )
            )
    return figures


BENCHMARKS = {"web": page_latency}
