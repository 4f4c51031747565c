"""Offscreen rendering prints nothing from SDL, and leaves a user's own SDL settings alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SPEC = """\
environment:
  implementation: gym:CartPole-v1
  config: {render_mode: rgb_array}
actors: [{name: player, implementation: random}]
record_frames: true
max_ticks: 5
seed: 0
"""

CHECK = """
import os
from cogym import Orchestrator, TrialSpec
spec = TrialSpec.from_dict({"environment": {"implementation": "gym:CartPole-v1",
                                            "config": {"render_mode": "rgb_array"}},
                            "actors": [{"name": "p"}], "record_frames": True, "max_ticks": 2})
with Orchestrator() as orchestrator:
    assert orchestrator.run(spec).state.value == "ended"
print(os.environ.get("SDL_VIDEODRIVER"))
"""


def _without_sdl_settings() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SDL_", "XDG_RUNTIME"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_rendering_run_prints_no_sdl_line(tmp_path: Path, workers: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cogym",
            "run",
            str(spec),
            "-n",
            "2",
            "--workers",
            workers,
            "--datastore",
            str(tmp_path / "trials"),
        ],
        capture_output=True,
        text=True,
        env=_without_sdl_settings(),
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "2 trials (2 ended)" in done.stdout
    assert "XDG_RUNTIME_DIR" not in done.stderr and "SDL" not in done.stderr, done.stderr


def test_sdl_settings_the_user_made_are_kept(tmp_path: Path) -> None:
    env = _without_sdl_settings()
    env["SDL_VIDEODRIVER"] = "offscreen"
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["offscreen"]


MUJOCO_SPEC = """\
environment:
  implementation: gym:InvertedPendulum-v5
  config: {render_mode: rgb_array}
actors: [{name: player, implementation: random}]
record_frames: true
max_ticks: 3
seed: 0
"""


def _headless() -> dict[str, str]:
    env = _without_sdl_settings()
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "MUJOCO_GL", "PYOPENGL_PLATFORM"):
        env.pop(name, None)
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="EGL is Linux's headless GL")
def test_mujoco_frames_are_recorded_on_a_machine_without_a_display(tmp_path: Path) -> None:
    # MuJoCo's default GLFW needs a display: each trial failed at tick 0 with "an OpenGL
    # platform library has not been loaded into this process" (Hopper's crashed the process)
    spec = tmp_path / "spec.yaml"
    spec.write_text(MUJOCO_SPEC)
    store = str(tmp_path / "trials")
    command = [sys.executable, "-m", "cogym", "run", str(spec), "-n", "2", "--datastore", store]
    done = subprocess.run(
        command, capture_output=True, text=True, env=_headless(), cwd=tmp_path, timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 trials (2 ended)" in done.stdout


def test_a_mujoco_gl_the_user_chose_is_kept(tmp_path: Path) -> None:
    env = _headless()
    env["MUJOCO_GL"] = "osmesa"
    check = CHECK.replace('os.environ.get("SDL_VIDEODRIVER")', 'os.environ.get("MUJOCO_GL")')
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, env=env, cwd=tmp_path,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["osmesa"]
