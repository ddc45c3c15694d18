"""Every notebook in notebooks/ runs from top to bottom without an error with the kernel in
notebooks/ (where Jupyter starts it), is stored without outputs, and opens with a short summary
rather than the whole HTML report."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is in the 'test' extra")
nbclient = pytest.importorskip("nbclient", reason="nbclient is in the 'test' extra")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS if p.name == "find_capability_gaps.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: strip the outputs before committing"
            assert cell.execution_count is None, f"{path.name}: strip the execution counts"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, monkeypatch):
    # a headless backend for the kernel, whatever the environment says
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(path.parent)}},  # as Jupyter does
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    errors = [
        output
        for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.outputs if output.output_type == "error"
    ]  # fmt: skip
    assert errors == []
    first = next(out for cell in notebook.cells if cell.cell_type == "code"
                 for out in cell.outputs)
    if path.name == "find_capability_gaps.ipynb":
        assert first.output_type == "stream", first
        assert first.text.startswith("logscan report: 380 lines: 380 parsed, 0 rejected")
        assert len(first.text.splitlines()) <= 40
        assert "What to act on first (19 findings)" in first.text
