"""A script that runs trials with workers but lacks `if __name__ == "__main__":`, or a program
read from standard input: one cogym error saying what to add, not a traceback per trial."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """\
from cogym import Orchestrator, TrialSpec

spec = TrialSpec.from_dict({"environment": {"implementation": "gym:CartPole-v1"},
                            "actors": [{"name": "player"}], "max_ticks": 5, "seed": 0})
with Orchestrator() as orchestrator:
    results = orchestrator.run_many(spec, 20, workers=2)
print("ran", len(results))
"""


def _python(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_a_script_without_the_main_guard_gets_one_message_saying_what_to_add(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(SCRIPT)
    completed = _python(tmp_path, str(script))
    assert completed.returncode == 1
    assert "ran" not in completed.stdout
    assert completed.stderr.count("Traceback") == 1  # the one error, raised in the parent
    assert "MainModuleError" in completed.stderr
    assert f"{script} runs trials when it is imported" in completed.stderr
    assert 'under `if __name__ == "__main__":`' in completed.stderr


def test_the_same_script_with_the_guard_runs(tmp_path):
    script = tmp_path / "guarded.py"
    body = "".join(f"    {line}\n" if line else "\n" for line in SCRIPT.splitlines())
    script.write_text('if __name__ == "__main__":\n' + body)
    completed = _python(tmp_path, str(script))
    assert completed.returncode == 0, completed.stderr
    assert "ran 20" in completed.stdout


def test_a_program_from_standard_input_is_told_it_has_no_script(tmp_path):
    completed = _python(tmp_path, "-", stdin=SCRIPT)
    assert completed.returncode == 1
    assert completed.stderr.count("Traceback") == 1
    assert "BrokenPipeError" not in completed.stderr
    assert "the program runs from <stdin>, not from a file" in completed.stderr
    assert "workers=1" in completed.stderr
