"""The notebooks in notebooks/ run from a clean kernel, top to bottom."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def _failures(notebook: nbformat.NotebookNode, cwd: Path) -> list[str]:
    """Run every cell (going on past errors) and name each cell that raised or did not run."""
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    ).execute()
    failures = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count") is None:
            failures.append(f"cell {index} did not run")
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                failures.append(f"cell {index}: {output['ename']}: {output['evalue']}")
    return failures


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    failures = _failures(nbformat.read(path, as_version=4), tmp_path)
    assert not failures, f"{path.name}: " + "; ".join(failures)


def test_a_cell_that_raises_is_reported(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("x = 1"),
            nbformat.v4.new_markdown_cell("text"),
            nbformat.v4.new_code_cell("x / 0"),
        ]
    )
    assert _failures(notebook, tmp_path) == ["cell 2: ZeroDivisionError: division by zero"]


def test_there_are_four_notebooks():
    assert len(NOTEBOOKS) == 4
