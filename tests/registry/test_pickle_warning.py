"""The warning that SB3 files hold pickled code: once per process and run, one plain sentence,
and not for a model the same process saved."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cogym.trust import PICKLE_WARNING

ROOT = Path(__file__).resolve().parents[2]

SAVE = """
from tests.registry.conftest import tiny_ppo
registry.save("cartpole-ppo", tiny_ppo())
"""

RUN = """
spec = TrialSpec.from_dict({"environment": {"implementation": "gym:CartPole-v1"},
                            "actors": [{"name": "player",
                                        "implementation": "sb3:cartpole-ppo@latest"}],
                            "seed": 0, "max_ticks": 5})
with Orchestrator(registry=registry) as orchestrator:
    results = orchestrator.run_many(spec, 4, workers=2)
assert [r.state.value for r in results] == ["ended"] * 4, [r.error for r in results]
registry.load("cartpole-ppo")
"""


def _python(root: Path, *parts: str) -> str:
    """Run ``parts`` in a new interpreter with ``registry`` at ``root``; return its stderr."""
    code = "\n".join(
        [
            "from cogym import Orchestrator, TrialSpec",
            "from cogym.registry import ModelRegistry",
            f"registry = ModelRegistry({str(root)!r})",
            "if __name__ == '__main__':",
            *(textwrap.indent(part, "    ") for part in parts),
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


@pytest.mark.slow
def test_a_run_with_workers_warns_once_in_one_plain_sentence(tmp_path: Path) -> None:
    _python(tmp_path, SAVE)
    stderr = _python(tmp_path, RUN)  # the parent and two workers each load the model
    assert stderr.count("pickled Python code") == 1
    assert f"warning: {PICKLE_WARNING}\n" in stderr
    assert "UserWarning" not in stderr and ".py:" not in stderr


RAY = """
import ray
ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024**2,
         logging_level="WARNING")
""" + RUN.replace("workers=2)", "workers=2, backend='ray')")


@pytest.mark.slow
@pytest.mark.ray
def test_a_run_on_ray_warns_once_too(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    _python(tmp_path, SAVE)
    stderr = _python(tmp_path, RAY)
    assert stderr.count("pickled Python code") == 1, stderr


@pytest.mark.slow
def test_a_model_this_process_saved_loads_without_the_warning(tmp_path: Path) -> None:
    stderr = _python(tmp_path, SAVE, RUN)
    assert "pickled" not in stderr


def test_the_warning_goes_through_the_warnings_machinery(tmp_path: Path) -> None:
    stderr = _python(
        tmp_path,
        SAVE,
        "import warnings",
        "from tests.registry.conftest import tiny_ppo",
        "from cogym.errors import PickledCodeWarning",
        "other = str(registry.root) + '/elsewhere.zip'",
        "tiny_ppo(seed=1).save(other)  # by SB3 itself: cogym did not save this one",
        "with warnings.catch_warnings(record=True) as caught:",
        "    warnings.simplefilter('always')",
        "    from cogym.wrappers.sb3_actor import load_sb3_model",
        "    load_sb3_model(other)",
        "    load_sb3_model(other)",
        "    registry.load('cartpole-ppo')",
        "assert [w.category for w in caught] == [PickledCodeWarning], caught",
        "warnings.simplefilter('ignore', PickledCodeWarning)",
    )
    assert "pickled" not in stderr
