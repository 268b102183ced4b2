"""A lookalike and a lift through a real MLflow tracking server, and the same with it down.

One ``mlflow server`` per module (loopback port, its own SQLite backend store,
``--serve-artifacts`` into a tmp folder); dmp reaches it through ``MLFLOW_TRACKING_URI``
only. The stages run on a copy of the shared integration world (identity, profiles and
segments already done), so the shared world stays as it was: a real lookalike build, an
export with a holdout, simulated outcomes and a real lift stage. The registered model is
loaded back from the server by its alias and must score like the audience. Then the server
is stopped: both commands fail fast in one line and publish nothing.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import functions as F

from dmp.config import Settings
from dmp.driver import run_stage
from dmp.errors import StageFailed
from dmp.export.entry import EXPORT
from dmp.export.stage import ExportRequest
from dmp.generate.outcomes import simulate_outcomes
from dmp.lake import Lake
from dmp.lift.entry import LIFT, LiftRequest
from dmp.lookalike.entry import LOOKALIKE, LookalikeRequest
from tests.integration.conftest import Stages, small_settings
from tests.integration.mlflow_server import TrackingServer, start_server

pytestmark = pytest.mark.slow

AUDIENCE = "lal_served"
SEED_SEGMENT = "active_buyers"
DOWN = re.compile(r"MLflow tracking server http://127\.0\.0\.1:\d+ is not reachable")


@dataclass
class Served:
    """The copied world after a lookalike, an export and a lift tracked on the server."""

    settings: Settings
    server: TrackingServer
    lookalike: Any
    lift: Any
    results: Path
    as_of: Any


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackingServer]:
    """One tracking server for the module (it starts in 10-60 s on a busy 2-core machine)."""
    started = start_server(tmp_path_factory.mktemp("mlflow-server"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def served(
    spark: Any, stages: Stages, server: TrackingServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served")
    home = tmp / "home"
    # a copy: the lift lands outcome events in landing/, which the shared world must not get
    shutil.copytree(stages.world.home, home, ignore=shutil.ignore_patterns("mlflow", "reports"))
    settings = small_settings(stages, tmp, home=home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", server.url)
        lookalike = run_stage(
            LOOKALIKE, settings,
            LookalikeRequest(
                name=AUDIENCE, segment=SEED_SEGMENT, method="similarity", as_of=stages.as_of
            ),
            spark=spark,
        )  # fmt: skip
        request = ExportRequest(channel="meta", audience=AUDIENCE, holdout=0.3)
        run_stage(EXPORT, settings, request, spark=spark)
        results = simulate_outcomes(  # draws outcomes from the planted truth
            spark, settings.with_truth(), audience=AUDIENCE, out=tmp / "results.csv", true_lift=0.5,
            base_rate=0.3, seed=11,
        )  # fmt: skip
        lift = run_stage(
            LIFT, settings, LiftRequest(audience=AUDIENCE, results=results), spark=spark
        )
        yield Served(settings, server, lookalike, lift, results, stages.as_of)


def test_builds_are_tracked_on_the_server_with_served_artifacts(served: Served) -> None:
    import mlflow

    mlflow.set_tracking_uri(served.server.url)
    build = mlflow.get_run(served.lookalike.mlflow_run_id)
    lift = mlflow.get_run(served.lift.mlflow_run_id)
    assert build.info.artifact_uri.startswith("mlflow-artifacts:")
    assert lift.info.artifact_uri.startswith("mlflow-artifacts:")
    assert build.data.tags["dmp.audience"] == AUDIENCE
    assert lift.data.tags["dmp.kind"] == "campaign_lift"
    assert lift.data.tags["dmp.audience_run_id"] == served.lookalike.mlflow_run_id
    assert "relative_lift" in lift.data.metrics
    # artifacts went through the server into its own store, none into the client's data root
    stored = served.server.artifacts
    assert list(stored.rglob("MLmodel"))
    assert [p for p in stored.rglob("report.html") if served.lift.mlflow_run_id in str(p)]
    assert not (served.settings.mlflow_dir / "artifacts").exists()
    assert Path(served.lookalike.report).is_file() and Path(served.lift.report).is_file()


def test_the_registered_model_loads_from_the_server_and_scores_like_the_audience(
    spark: Any, served: Served
) -> None:
    import mlflow

    from dmp.lookalike.features import flat_features
    from dmp.lookalike.tracking import load_current_model

    mlflow.set_tracking_uri(served.server.url)
    model = mlflow.pyfunc.load_model(f"models:/lookalike_{AUDIENCE}@current")
    assert model.metadata.run_id == served.lookalike.mlflow_run_id
    assert load_current_model(served.settings, AUDIENCE).metadata.run_id == model.metadata.run_id
    lake = Lake(served.settings.lake_dir)
    on_day = F.col("as_of") == F.lit(served.as_of)
    rows = (
        lake.read(spark, "gold/audiences")
        .filter((F.col("audience") == AUDIENCE) & on_day)
        .orderBy("rank")
        .limit(20)
        .collect()
    )
    assert len(rows) == 20
    spec = model.unwrap_python_model().model.spec
    wanted = spark.createDataFrame([(r["person_id"],) for r in rows], "person_id string")
    profiles = lake.read(spark, "silver/profiles").filter(on_day).join(wanted, "person_id")
    embeddings = lake.read(spark, "silver/embeddings").filter(on_day)
    flat = flat_features(profiles, embeddings, spec).toPandas()
    predicted = dict(zip(flat["person_id"], model.predict(flat), strict=True))
    for row in rows:
        assert predicted[row["person_id"]] == pytest.approx(row["score"], abs=1e-9)


def _published(settings: Settings) -> tuple[set[str], set[str], set[str]]:
    """Report folders of lookalikes and lifts, and landed campaign files."""
    reports = settings.reports_dir
    return (
        {str(p) for p in (reports / "lookalike").glob("*/*")},
        {str(p) for p in (reports / "lift").glob("*/*")},
        {str(p) for p in settings.landing_dir.rglob("campaign-*.jsonl")},
    )


def test_a_down_server_fails_fast_in_one_line_and_publishes_nothing(
    spark: Any,
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from dmp.cli import main

    settings = served.settings
    monkeypatch.setenv("MLFLOW_TRACKING_URI", served.server.url)
    served.server.stop()
    before = _published(settings)
    lake = Lake(settings.lake_dir)
    versions = {t: lake.version(t) for t in ("gold/audiences", "gold/export_members")}
    capsys.readouterr()  # the builds' own log lines
    home = str(settings.home)
    commands = {
        "lookalike": ["lookalike", "--home", home, "--name", "lal_down", "--segment", SEED_SEGMENT],
        "lift": ["lift", "--home", home, "--audience", AUDIENCE, "--results", str(served.results)],
    }
    for name, argv in commands.items():
        started = time.perf_counter()
        code = main(argv)
        elapsed = time.perf_counter() - started
        err = capsys.readouterr().err.strip()
        assert code == 1, name
        assert err.count("\n") == 0, err
        assert DOWN.search(err), err
        assert elapsed < 20, f"{name}: a down server took {elapsed:.1f}s to report"
    # the stage functions check too (the pipeline and jobs/ do not go through the CLI)
    with pytest.raises(StageFailed, match="is not reachable"):
        run_stage(
            LIFT, settings, LiftRequest(audience=AUDIENCE, results=served.results), spark=spark
        )
    assert _published(settings) == before
    assert {t: lake.version(t) for t in versions} == versions
    audiences = lake.read(spark, "gold/audiences").filter(F.col("audience") == "lal_down")
    assert audiences.count() == 0
