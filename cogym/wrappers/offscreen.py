"""What SDL needs to render offscreen, set before an environment that renders is made.

Gymnasium's and PettingZoo's classic environments draw with pygame, whose SDL probes for a
window system and an audio server even for ``render_mode="rgb_array"`` and prints
``error: XDG_RUNTIME_DIR is invalid or not set`` where there is none. For offscreen rendering
only, :func:`prepare_offscreen_rendering` sets ``SDL_VIDEODRIVER=dummy``,
``SDL_AUDIODRIVER=dummy`` and a private ``XDG_RUNTIME_DIR``, each only when it is not set
already, so a user's own choice always wins. MuJoCo's default GL (GLFW) needs a display: on
Linux without one (no ``DISPLAY`` nor ``WAYLAND_DISPLAY``) it sets ``MUJOCO_GL=egl`` too, if
unset, for MuJoCo imported after it (``gym.make`` imports it for its envs).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["OFFSCREEN_MODES", "prepare_offscreen_rendering"]

OFFSCREEN_MODES = frozenset({"rgb_array", "rgb_array_list", "depth_array", "depth_array_list"})
"""Render modes that draw into arrays, never into a window."""


def prepare_offscreen_rendering(config: Mapping[str, Any]) -> None:
    """Set SDL's drivers (and a runtime directory, and MuJoCo's GL where there is no
    display) for an env made with ``config``, if its
    ``render_mode`` renders offscreen and the variables are not set."""
    mode = config.get("render_mode")
    if not isinstance(mode, str) or mode not in OFFSCREEN_MODES:
        return
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if headless and sys.platform.startswith("linux"):
        # MuJoCo reads this as it is imported, which gym.make does for its envs
        os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = Path(tempfile.gettempdir()) / f"cogym-runtime-{os.getuid()}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
