"""Headless Chromium as the browser tests and the benchmarks launch it: Debian's package, driven
by Playwright.

It imports only the standard library, so that ``tests/conftest.py`` takes its settings from here
without loading any benchmark.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "chromium_missing", "launch"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_missing() -> str | None:
    """Why the browser cannot be launched here (no Chromium at :data:`CHROMIUM`), or ``None``."""
    if os.path.exists(CHROMIUM):
        return None
    return f"no Chromium at {CHROMIUM}: install Debian's chromium package"


def launch(playwright: Any) -> Any:
    """A headless Chromium browser from a started Playwright (``sync_playwright()``)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
