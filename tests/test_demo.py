"""cogym demo as a new user meets it: a new folder per run, the same table every run."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from cogym.cli import main

SMALL = ["--trials", "3", "--eval-trials", "2", "--epochs", "2", "--workers", "1"]


def _table(output: str) -> list[str]:
    """The rows of the demo's result table, without the wall-clock time."""
    start = output.index("cogym demo: record, clone, register, play")
    rows = [line for line in output[start:].splitlines() if line.startswith("│")]
    return [row for row in rows if not re.match(r"│ time\b", row)]


@pytest.mark.slow
def test_the_demo_run_twice_gives_the_same_table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = CliRunner().invoke(main, ["demo", *SMALL])
    second = CliRunner().invoke(main, ["demo", *SMALL])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert len(_table(first.output)) == 5 and _table(first.output) == _table(second.output)
    assert "writing into cogym-demo/ (a new folder for this run" in first.output
    assert "writing into cogym-demo-2/" in second.output
    for output in (first.output, second.output):
        assert "registered as cartpole-bc@1" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cogym-demo", "cogym-demo-2"]


def test_the_demo_refuses_an_out_folder_that_holds_files(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("kept")
    result = CliRunner().invoke(main, ["demo", *SMALL, "--out", str(out)])
    assert result.exit_code == 2
    assert f"--out {out}: the folder already holds files" in result.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_demo_help_says_where_files_go_and_how_long_it_takes():
    result = CliRunner().invoke(main, ["demo", "--help"])
    assert result.exit_code == 0
    assert "a new folder" in result.output and "About 20 seconds" in result.output
