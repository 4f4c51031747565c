"""`cogym play CartPole-v1` as a person meets it, in a real browser: the buttons name the
actions, each trial starts at the first key, and stderr holds the URL and nothing from SDL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cogym.datastore import HDF5Datastore

from .test_browser import wait_until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.filterwarnings("ignore:.*No render fps was declared")


def start_play(*args: str, cwd: Path) -> tuple[subprocess.Popen[str], str, list[str]]:
    """``cogym play ARGS`` in a new process without SDL settings; it, its page's URL, and the
    stderr lines up to the URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SDL_", "XDG_RUNTIME"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    process = subprocess.Popen(
        [sys.executable, "-m", "cogym", "play", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 120
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"open (http\S+)", line)
        if found:
            return process, found.group(1), lines
    process.kill()
    raise AssertionError(f"cogym play printed no URL: {''.join(lines)}")


def test_cogym_play_names_the_actions_and_starts_at_the_first_key(
    chromium: Any, tmp_path: Path
) -> None:
    store = tmp_path / "trials"
    args = ["CartPole-v1", "--trials", "1", "--max-ticks", "10", "--datastore", str(store)]
    process, url, before = start_play(*args, cwd=tmp_path)
    context = chromium.new_context()
    try:
        tab = context.new_page()
        tab.goto(url)
        buttons = tab.locator("#buttons button")
        wait_until(tab, "document.querySelectorAll('#buttons button').length === 2")
        assert buttons.all_inner_texts() == ["push left ← 1", "push right → 2"]
        wait_until(tab, "document.getElementById('overlay').textContent.includes('Press a key')")
        assert "Each trial starts when you press a key." in tab.inner_text("#pacing")
        tab.keyboard.press("ArrowRight")
        out, err = process.communicate(timeout=60)
    finally:
        context.close()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "ended after" in out
    stderr = "".join(before) + err
    assert "XDG_RUNTIME_DIR" not in stderr and "SDL" not in stderr, stderr
    [summary] = HDF5Datastore(store).trials()
    first = next(iter(HDF5Datastore(store).trial(summary.trial_id).samples()))
    assert int(first.actions["player"]) == 1 and first.annotations["player"]["by"] == "human"
