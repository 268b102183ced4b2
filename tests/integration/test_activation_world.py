"""Lookalike audiences and exports on the shared generated world."""

from __future__ import annotations

import csv
import gzip
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest
from pyspark.sql import functions as F

from dmp.config import Settings, load_config
from dmp.driver import run_stage
from dmp.errors import UserError
from dmp.export.entry import EXPORT
from dmp.export.files import sha256_of
from dmp.export.stage import ExportRequest
from dmp.lake import Lake
from dmp.lookalike.entry import LOOKALIKE, LookalikeRequest
from tests.browser import check_reports
from tests.integration.conftest import Stages, small_settings

SEED_SEGMENT = "active_buyers"


@dataclass
class Built:
    settings: Settings
    result: Any
    rows: list[dict[str, Any]]


@pytest.fixture(scope="module")
def built(spark, stages: Stages, tmp_path_factory: pytest.TempPathFactory) -> Built:
    settings = small_settings(stages, tmp_path_factory.mktemp("activation"))
    result = run_stage(
        LOOKALIKE,
        settings,
        LookalikeRequest(
            name="lal_buyers", segment=SEED_SEGMENT, method="auto", as_of=stages.as_of
        ),
        spark=spark,
    )
    rows = [
        r.asDict()
        for r in Lake(settings.lake_dir)
        .read(spark, "gold/audiences")
        .filter(F.col("audience") == "lal_buyers")
        .collect()
    ]
    return Built(settings, result, rows)


def seeds(spark, stages: Stages) -> set[str]:
    segments = Lake(stages.world.settings.lake_dir).read(spark, "gold/segments")
    members = segments.filter(
        (F.col("segment") == SEED_SEGMENT) & (F.col("as_of") == F.lit(stages.as_of))
    )
    return {r["person_id"] for r in members.select("person_id").collect()}


def test_audience_excludes_seeds_and_risky_people_and_is_tiered(
    spark, stages: Stages, built: Built
) -> None:
    people = {r["person_id"] for r in built.rows}
    assert people and not (people & seeds(spark, stages))
    profiles = Lake(built.settings.lake_dir).read(spark, "silver/profiles")
    risky = {
        r["person_id"]
        for r in profiles.filter(F.col("bot_flag") | F.col("coupon_abuse_flag")).collect()
    }
    assert not (people & risky)
    by_tier: dict[int, int] = {}
    for row in built.rows:
        by_tier[row["tier"]] = by_tier.get(row["tier"], 0) + 1
    cumulative = 0
    for percent, size in built.result.reach:
        cumulative += by_tier.get(percent, 0)
        assert cumulative == size, percent
    ranked = sorted(built.rows, key=lambda r: r["rank"])
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    assert all(a["score"] >= b["score"] for a, b in itertools.pairwise(ranked))
    assert {r["run_id"] for r in built.rows} == {built.result.mlflow_run_id}
    exclusions = built.result.exclusions
    assert {"seed people flagged as risky", "universe people flagged as risky"} <= set(exclusions)
    assert exclusions["universe people flagged as risky"] == len(risky - seeds(spark, stages))
    assert built.result.importance is not None and not built.result.importance.empty
    assert built.result.insights is not None and (built.result.insights["index"] > 0).all()
    report = Path(built.result.report or "").parent
    assert {"importance.csv", "insights.csv"} <= {p.name for p in report.iterdir()}


def test_value_weighted_build_reports_value_captured(spark, stages: Stages, built: Built) -> None:
    def build(value: str) -> Any:
        request = LookalikeRequest(
            name="lal_value", segment=SEED_SEGMENT, method="pu", as_of=stages.as_of, value=value
        )
        return run_stage(LOOKALIKE, built.settings, request, spark=spark)

    with pytest.raises(UserError, match="--value lifecycle_stage: the column is string"):
        build("lifecycle_stage")
    result = build("revenue_total")
    assert result.value_capture is not None
    assert list(result.value_capture["tier_percent"]) == [1, 5, 10]
    assert (result.value_capture["value_share"].between(0, 1)).all()


def test_universe_scores_rank_everyone_and_agree_with_the_audience(
    spark, stages: Stages, built: Built
) -> None:
    from dmp.tables import UNIVERSE_SCORES_TABLE

    ranked = (
        Lake(built.settings.lake_dir)
        .read(spark, UNIVERSE_SCORES_TABLE)
        .filter((F.col("audience") == "lal_buyers") & (F.col("as_of") == F.lit(stages.as_of)))
        .collect()
    )
    assert len(ranked) == built.result.universe > len(built.rows)
    assert sorted(r["rank"] for r in ranked) == list(range(1, len(ranked) + 1))
    assert not ({r["person_id"] for r in ranked} & seeds(spark, stages))
    inside = {r["person_id"]: (r["score"], r["rank"], r["tier"]) for r in ranked if r["tier"]}
    assert inside == {r["person_id"]: (r["score"], r["rank"], r["tier"]) for r in built.rows}
    outside = [r for r in ranked if r["tier"] is None]
    assert outside and min(r["rank"] for r in outside) == len(built.rows) + 1
    assert {r["run_id"] for r in ranked} == {built.result.mlflow_run_id}


def test_evaluation_reports_methods_and_baselines(built: Built) -> None:
    evaluation = built.result.evaluation
    assert {"similarity", "pu", "ensemble", "random", "activity", "centroid"} <= set(evaluation)
    assert built.result.method in ("similarity", "pu", "ensemble")
    for metrics in evaluation.values():
        assert 0.0 <= metrics["auc"] <= 1.0
    assert "score-activity spearman" in built.result.guardrails
    report = Path(built.result.report)
    assert report.exists() and "<script" not in report.read_text()
    # no snapshot 7 days back (the default horizon): held-out headline, and the report says so
    headline = built.result.headline
    assert headline.kind == "held-out" and "lookalike.headline.horizon_days" in headline.note
    assert "lookalike.headline.horizon_days" in report.read_text()
    assert built.result.heldout == {}


def test_reports_render_in_a_browser(built: Built, browser: Any, screenshots: Path) -> None:
    """Every report of the shared world (its gates, the lookalike, the index) in Chromium."""
    checked = check_reports(browser, built.settings.reports_dir, screenshots)
    kinds = {path.parts[0] for path in checked}
    assert {"index.html", "quality", "lookalike"} <= kinds, kinds
    gates = {path.parts[1] for path in checked if path.parts[0] == "quality"}
    assert len(gates) >= 4, gates  # ingest, identity, profiles, segments, audience
    lookalike = [r for p, r in checked.items() if p.parts[:2] == ("lookalike", "lal_buyers")]
    assert lookalike and all(r.images == 2 for r in lookalike)  # lift and gains charts


def test_same_inputs_and_seed_give_the_same_audience(spark, stages: Stages, built: Built) -> None:
    again = run_stage(
        LOOKALIKE,
        built.settings,
        LookalikeRequest(
            name="lal_buyers", segment=SEED_SEGMENT, method=built.result.method, as_of=stages.as_of
        ),
        spark=spark,
    )
    rows = (
        Lake(built.settings.lake_dir)
        .read(spark, "gold/audiences")
        .filter(F.col("audience") == "lal_buyers")
        .collect()
    )
    first = sorted((r["person_id"], r["rank"], round(r["score"], 12)) for r in built.rows)
    second = sorted((r["person_id"], r["rank"], round(r["score"], 12)) for r in rows)
    assert first == second
    assert again.mlflow_run_id != built.result.mlflow_run_id


def test_the_registered_model_scores_like_the_pipeline(spark, stages: Stages, built: Built) -> None:
    from dmp.lookalike.features import flat_features
    from dmp.lookalike.tracking import load_current_model

    model = load_current_model(built.settings, "lal_buyers")
    spec = model.unwrap_python_model().model.spec
    lake = Lake(built.settings.lake_dir)
    profiles = lake.read(spark, "silver/profiles").filter(F.col("as_of") == F.lit(stages.as_of))
    embeddings = lake.read(spark, "silver/embeddings").filter(F.col("as_of") == F.lit(stages.as_of))
    sample = sorted(built.rows, key=lambda r: r["rank"])[:20]
    wanted = spark.createDataFrame([(r["person_id"],) for r in sample], "person_id string")
    flat = flat_features(profiles.join(wanted, "person_id"), embeddings, spec).toPandas()
    predicted = dict(zip(flat["person_id"], model.predict(flat), strict=True))
    for row in sample:
        assert predicted[row["person_id"]] == pytest.approx(row["score"], abs=1e-9)


def test_seed_file_of_emails_resolves_and_small_seeds_are_refused(
    spark, stages: Stages, built: Built, tmp_path: Path
) -> None:
    truth = ds.dataset(stages.world.truth / "identifiers").to_table().to_pylist()
    emails = sorted({r["value"] for r in truth if r["id_type"] == "email" and not r["shared"]})
    seed_file = tmp_path / "buyers.csv"
    seed_file.write_text("email\n" + "\n".join(emails[:80]) + "\nnobody@example.org\n")
    result = run_stage(
        LOOKALIKE,
        built.settings,
        LookalikeRequest(
            name="lal_from_file",
            seed_file=seed_file,
            id_type="email",
            method="similarity",
            as_of=stages.as_of,
        ),
        spark=spark,
    )
    assert result.seed_rows == 81 and 30 <= result.seed_matched <= 80
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("email\n" + "\n".join(emails[:3]) + "\n")
    with pytest.raises(UserError, match=r"the seed matched \d people .* at least 30"):
        run_stage(
            LOOKALIKE,
            built.settings,
            LookalikeRequest(
                name="lal_tiny",
                seed_file=tiny,
                id_type="email",
                method="similarity",
                as_of=stages.as_of,
            ),
            spark=spark,
        )


def read_export(folder: Path) -> tuple[dict[str, Any], list[dict[str, str]]]:
    manifest = json.loads((folder / "manifest.json").read_text())
    rows: list[dict[str, str]] = []
    for part in manifest["files"]:
        path = folder / part["name"]
        assert sha256_of(path) == part["sha256"]
        with gzip.open(path, "rt", newline="") as handle:
            found = list(csv.DictReader(handle))
        assert len(found) == part["rows"]
        rows += found
    return manifest, rows


# push has its own consent purpose, which the generated world never states (so no one may
# get a push); tests/spark/test_export_consent.py exports to push.
@pytest.mark.parametrize("channel", ["meta", "google", "google_devices", "ttd"])
def test_exports_respect_consent_suppression_and_seeds(
    spark, stages: Stages, built: Built, channel: str
) -> None:
    request = ExportRequest(channel=channel, audience="lal_buyers", holdout=0.2)
    result = run_stage(EXPORT, built.settings, request, spark=spark)
    manifest, rows = read_export(result.folder)
    assert manifest["rows"] == len(rows) == result.rows
    lake = Lake(built.settings.lake_dir)
    members = lake.read(spark, "gold/export_members").filter(F.col("export_id") == result.export_id)
    exported = {r["person_id"] for r in members.filter(F.col("group") == "exported").collect()}
    held = {r["person_id"] for r in members.filter(F.col("group") == "holdout").collect()}
    assert exported and not (exported & held) and not (exported & seeds(spark, stages))
    purpose = manifest["channel"]["purpose"]
    profiles = lake.read(spark, "silver/profiles").filter(F.col("as_of") == F.lit(stages.as_of))
    no_consent = {r["person_id"] for r in profiles.filter(~F.col(f"consent_{purpose}")).collect()}
    assert not (exported & no_consent)
    if channel == "meta":
        assert {r["EXTERN_ID"] for r in rows} <= exported
        assert all(len(r["EMAIL"]) in (0, 64) for r in rows)
    if channel == "ttd":
        assert all(r["identifier_type"] in ("email_hash", "phone_hash") for r in rows)
        assert all(len(r["uid2_hash"]) == 44 for r in rows)  # Base64 of 32 bytes


def test_reexport_diff_holdout_determinism_and_refusal(spark, stages: Stages, built: Built) -> None:
    request = ExportRequest(channel="meta", audience="lal_buyers", holdout=0.2)
    first = run_stage(EXPORT, built.settings, request, spark=spark)
    second = run_stage(EXPORT, built.settings, request, spark=spark)
    assert second.previous_export == first.export_id
    assert (second.added, second.removed) == (0, 0)
    assert second.holdout == first.holdout
    assert read_export(first.folder)[1] == read_export(second.folder)[1]  # deterministic order
    default = load_config(home=stages.world.home, environ={})
    with pytest.raises(UserError, match=r"meta: only \d+ people can be exported \(minimum 100\)"):
        run_stage(EXPORT, default, ExportRequest(channel="meta", segment="champions"), spark=spark)


def test_a_killed_export_leaves_nothing_visible(
    spark, built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dmp.export.stage as stage

    def killed(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(stage, "publish", killed)
    request = ExportRequest(channel="google", audience="lal_buyers")
    base = built.settings.exports_dir / "lal_buyers" / "google"
    before = {p.name for p in base.iterdir()} if base.exists() else set()
    with pytest.raises(KeyboardInterrupt):
        run_stage(EXPORT, built.settings, request, spark=spark)
    visible = {p.name for p in base.iterdir() if not p.name.startswith(".")}
    assert visible == {n for n in before if not n.startswith(".")}
    monkeypatch.undo()
    run_stage(EXPORT, built.settings, request, spark=spark)
    assert not [p for p in base.iterdir() if p.name.startswith(".tmp-")]
