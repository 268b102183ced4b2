"""Committed notebooks are clean: no outputs, no execution counts, a parameters cell first.

Outputs would put data (and whatever a cell printed) into git and make every run a diff;
tests/integration/test_notebooks.py executes the notebooks instead.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))
REQUIRED = ("01_profiles_and_segments", "02_lookalike_models", "03_campaign_lift")


def test_the_required_notebooks_exist() -> None:
    assert set(REQUIRED) <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_outputs_and_execution_counts_are_stripped(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"{path.name} cell {index} has outputs: clear them"
        assert cell.execution_count is None, f"{path.name} cell {index} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_first_code_cell_holds_the_parameters(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    first = next(c for c in notebook.cells if c.cell_type == "code")
    assert "parameters" in first.metadata.get("tags", []), "tag the first code cell 'parameters'"
    assert 'home = os.environ.get("DMP_HOME", "dmp-data")' in first.source
