"""The data-scientist notebooks run top to bottom on a small demo data root.

``dmp demo`` runs once on a small generated world (on the shared Spark session). Each notebook
then runs in a fresh Jupyter kernel through nbclient (the engine behind nbmake), with
``DMP_HOME`` pointing at that data root and ``DMP_CONF_DIR``/``DMP_CONFIG`` at a copy of
``conf/`` sized for it; the kernel starts its own small Spark session from that config. Any
cell error fails the test.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest

from dmp.config import load_config
from dmp.demo import run_demo

# Whole jobs in subprocesses (every notebook, top to bottom): `make test-all`.
pytestmark = pytest.mark.system

ROOT = Path(__file__).parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
USERS, DAYS = 600, 14
CELL_TIMEOUT_S = 400
NOTEBOOK_TIMEOUT_S = 900

# A world this small has few buyers of a campaign product (the demo's seed) and few people
# in an audience: smaller seeds are allowed, the models are quicker to fit, and the audience
# goes up to half of the universe so the export's 10% holdout has a few dozen people.
# run_demo reuses the shared session and re-applies the runtime settings below to it, so
# they match the `spark` fixture's; the kernels build their own session from them.
OVERLAY = """\
spark:
  master: local[2]
  shuffle_partitions: 2
  driver_memory: 1g
  ui_enabled: false
  conf:
    spark.sql.adaptive.enabled: "false"
lookalike:
  min_seed: 10
  min_universe: 100
  classifier: logistic
  bags: 2
  splits: 2
  evaluation_universe: 200
  tiers: [1, 2, 5, 10, 20, 50]
segments:
  clusters:
    max_iterations: 20
"""


def _small_conf(folder: Path) -> Path:
    """A copy of conf/ whose channels take small audiences and whose gate takes 50% tiers."""
    conf = folder / "conf"
    shutil.copytree(ROOT / "conf", conf)
    channels = conf / "channels.yaml"
    channels.write_text(
        channels.read_text().replace(
            "    purpose: advertising\n", "    purpose: advertising\n    min_audience: 10\n"
        )
    )
    gates = conf / "gates.yaml"
    tier_check = "{type: between, column: tier, min: 1, max: 10}"
    assert tier_check in gates.read_text(), "the audience gate's tier check moved"
    gates.write_text(
        gates.read_text().replace(tier_check, "{type: between, column: tier, min: 1, max: 50}")
    )
    return conf


@pytest.fixture(scope="module")
def notebook_env(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of the notebook kernels: a data root after ``dmp demo`` and its config."""
    folder = tmp_path_factory.mktemp("notebooks")
    conf = _small_conf(folder)
    overlay = folder / "notebooks.yaml"
    overlay.write_text(OVERLAY)
    home = folder / "dmp-data"
    settings = load_config(overlay, home=home, conf_dir=conf, environ={})
    done = dict(run_demo(settings, users=USERS, days=DAYS))
    assert {"lookalike", "export", "lift"} <= set(done), f"the demo stopped early: {list(done)}"
    # The kernel must not inherit this process's dmp settings, Spark gateway or plot backend.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DMP_", "PYSPARK_GATEWAY_", "MPLBACKEND")) or key == "DMP_SECRET"
    }
    env.update(
        DMP_HOME=str(home),
        DMP_CONF_DIR=str(conf),
        DMP_CONFIG=str(overlay),
        GX_ANALYTICS_ENABLED="false",
        MLFLOW_DISABLE_TELEMETRY="true",
        MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false",
    )
    return env


@pytest.mark.slow
@pytest.mark.timeout(NOTEBOOK_TIMEOUT_S, func_only=True)  # the demo fixture runs before
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(
    path: Path, notebook_env: dict[str, str], tmp_path: Path
) -> None:
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working folder
    )
    try:
        client.execute(env=notebook_env)  # raises CellExecutionError at the first failing cell
    finally:
        nbformat.write(notebook, tmp_path / path.name)  # the executed copy, to look at
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    charts = [o for o in outputs if "image/png" in o.get("data", {})]
    assert charts, f"{path.name} drew no chart"
