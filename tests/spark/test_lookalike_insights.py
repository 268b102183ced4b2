"""Audience insights (known answers), the --value column check, and risky people left out of
exports, on tiny hand-made frames."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dmp.config import load_config
from dmp.errors import UserError
from dmp.export import stage as export_module
from dmp.export.channels import channel
from dmp.lookalike.explain import audience_insights
from dmp.lookalike.value import check_value_column

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]


def test_insights_index_is_the_top_share_over_the_universe_share(spark) -> None:
    rows = []
    for i in range(100):
        stage = "active" if (i < 8 or 10 <= i < 22) else "churned"  # 8 of the top 10, 20 in all
        interests = ["garden"] if i % 2 == 0 else []  # as common in the top as anywhere
        rows.append((f"p{i:03d}", stage, 2 if i < 3 else 0, interests))
    profiles = spark.createDataFrame(
        rows, "person_id string, lifecycle_stage string, vip_level int, top_interests array<string>"
    )
    top = profiles.filter("person_id < 'p010'").select("person_id")
    found = audience_insights(profiles, profiles.select("person_id"), top, min_people=3)
    by_trait = found.set_index("trait")
    assert by_trait.loc["lifecycle_stage=active", "index"] == pytest.approx(400.0)
    assert by_trait.loc["lifecycle_stage=active", "top_people"] == 8
    assert by_trait.loc["interest=garden", "index"] == pytest.approx(100.0)
    assert "vip_level=V2" in by_trait.index  # 3 people, all in the top: index 1000
    assert by_trait.loc["vip_level=V2", "index"] == pytest.approx(1000.0)
    assert list(found["index"]) == sorted(found["index"], reverse=True)
    # traits held by fewer top-tier people than min_people are left out
    strict = audience_insights(profiles, profiles.select("person_id"), top, min_people=4)
    assert "vip_level=V2" not in set(strict["trait"])
    assert "lifecycle_stage=churned" not in set(strict["trait"])  # 2 in the top tier


def test_value_column_must_exist_and_be_numeric(spark) -> None:
    profiles = spark.createDataFrame(
        [], "person_id string, revenue_total double, orders_count long, lifecycle_stage string"
    )
    check_value_column(profiles, "revenue_total")
    check_value_column(profiles, "orders_count")
    with pytest.raises(UserError, match="no such profile column; numeric columns: orders_count"):
        check_value_column(profiles, "revenue")
    with pytest.raises(UserError, match="lifecycle_stage: the column is string, not numeric"):
        check_value_column(profiles, "lifecycle_stage")


def test_risky_people_are_left_out_of_exports_unless_configured(
    spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = date(2026, 1, 5)
    profiles = spark.createDataFrame(
        [("ok", ["u1"], False, False), ("bot", ["u2"], True, False),
         ("abuser", ["u3"], False, True), ("bot_no_consent", ["u4"], True, False)],
        "person_id string, user_ids array<string>, bot_flag boolean, coupon_abuse_flag boolean",
    ).selectExpr("*", "DATE'2026-01-05' AS as_of")  # fmt: skip
    consent = spark.createDataFrame(
        [("ok", True, "US"), ("bot", True, "US"), ("abuser", True, "US"),
         ("bot_no_consent", False, "US")],
        "person_id string, consent_advertising boolean, _country string",
    )  # fmt: skip
    monkeypatch.setattr(export_module, "_consent_on", lambda *_: consent)
    monkeypatch.setattr(
        export_module, "suppressed_people", lambda *_: spark.createDataFrame([], "person_id string")
    )
    run: Any = SimpleNamespace(read=lambda _spark, _table: profiles)
    spec = channel(ROOT / "conf" / "channels.yaml", "meta")
    candidates = profiles.select("person_id")

    def eligible(exclude: bool) -> tuple[list[str], dict[str, int]]:
        settings = load_config(home=tmp_path, environ={})
        segments = settings.segments.model_copy(update={"exclude_risky_from_exports": exclude})
        settings = settings.model_copy(update={"segments": segments})
        result = export_module.ExportResult(export_id="x", name="s", channel="meta")
        result.consent_on, result.candidates = day, 4
        kept = export_module._eligible(spark, settings, run, spec, candidates, day, result)
        return sorted(r.person_id for r in kept.collect()), result.excluded

    people, excluded = eligible(True)
    assert people == ["ok"]
    assert excluded["flagged as bot or coupon abuser"] == 2  # the third had no consent anyway
    people, excluded = eligible(False)
    assert people == ["abuser", "bot", "ok"]
    assert "flagged as bot or coupon abuser" not in excluded
