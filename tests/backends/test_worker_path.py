"""Workers import the cogym their parent runs, from any working directory: from a clone's
parent folder, the clone (a folder named ``cogym``) is no namespace package to them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cogym

ROOT = Path(cogym.__file__).resolve().parent.parent

# what an editable install (pip install -e .) does: a finder after sys.path's own, so that a
# folder named cogym on the path or in the working directory comes first
EDITABLE = """\
import sys
from importlib.machinery import PathFinder
from importlib.util import spec_from_file_location

PACKAGE = {package!r}


class EditableFinder:
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname != "cogym":
            return None
        return spec_from_file_location(
            "cogym", PACKAGE + "/__init__.py", submodule_search_locations=[PACKAGE]
        )


sys.meta_path.insert(sys.meta_path.index(PathFinder) + 1, EditableFinder)
"""


def test_an_example_runs_its_workers_from_the_clones_parent_folder(tmp_path):
    hook = tmp_path / "editable"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(EDITABLE.format(package=str(ROOT / "cogym")))
    parent = tmp_path / "parent"
    parent.mkdir()
    os.symlink(ROOT, parent / "cogym")  # the clone, as `git clone ... cogym` names it
    completed = subprocess.run(
        [sys.executable, "cogym/examples/gym_env_to_trials.py", "--trials", "4", "--workers", "2"],
        cwd=parent,
        env={**os.environ, "PYTHONPATH": str(hook)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
    assert completed.stdout.count("4 trials (4 ended)") == 3
