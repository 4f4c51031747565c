"""Take docs/images/play-cartpole.png: the page of `cogym play CartPole-v1` in headless Chromium.

python docs/screenshot_play.py        # needs the web and test extras and /usr/bin/chromium
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
OUT = HERE / "images" / "play-cartpole.png"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        play = subprocess.Popen(
            [sys.executable, "-m", "cogym", "play", "CartPole-v1", "--trials", "1", "--no-record"],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            cwd=folder,
            # this clone's cogym, whatever the installed one is
            env={**os.environ, "PYTHONPATH": str(HERE.parent)},
        )
        assert play.stderr is not None
        url = None
        while url is None:
            line = play.stderr.readline()
            if not line:
                raise SystemExit("cogym play ended before printing its URL")
            found = re.search(r"open (http\S+)", line)
            url = found.group(1) if found else None
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=["--headless=new", "--no-sandbox"]
                )
                tab = browser.new_page(viewport={"width": 1100, "height": 470})
                tab.goto(url)
                tab.locator("#overlay", has_text="Press a key").wait_for()
                time.sleep(0.5)  # the first frame drawn on the canvas
                OUT.parent.mkdir(exist_ok=True)
                tab.screenshot(path=str(OUT), full_page=True)
                browser.close()
            play.send_signal(signal.SIGINT)  # as Ctrl-C: the trial ends, the page closes
            play.wait(60)
        finally:
            if play.poll() is None:
                play.kill()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
