"""Lookalike honesty: a segment seed's own rule columns never become features, and the audience
gate refuses a model that does not beat the baselines or that merely ranks activity."""

from __future__ import annotations

import pandas as pd
import pytest

from dmp.expressions import referenced_columns
from dmp.lookalike.features import FeatureSpec, source_column
from dmp.lookalike.gate import guardrail_outcomes
from dmp.lookalike.settings import GuardrailSettings

PROFILE_COLUMNS = ["person_id", "vip_level", "lifecycle_stage", "aov", "tags", "events_total"]


def test_referenced_columns_ignore_literals_and_read_quoted_names() -> None:
    rule = "lifecycle_stage = 'sleeping' AND `VIP_LEVEL` >= 4 AND array_contains(tags, 'aov')"
    assert referenced_columns(rule, PROFILE_COLUMNS) == {"lifecycle_stage", "vip_level", "tags"}
    assert referenced_columns("x = 'it''s events_total'", PROFILE_COLUMNS) == set()
    assert referenced_columns("size(user_ids) > 0", PROFILE_COLUMNS) == set()


def _spec() -> FeatureSpec:
    return FeatureSpec.build(["toys", "baby_care"], ["auto_intenders"], embedding_dims=2)


def test_a_rule_column_takes_every_feature_computed_from_it_out() -> None:
    spec = _spec().without(["lifecycle_stage", "vip_level", "tags"])
    assert not [n for n in spec.names if n.startswith("lifecycle_stage_")]
    assert "vip_level" not in spec.names
    assert {"log_events", "aff_toys", "emb_0", "price_band_premium"} <= set(spec.names)
    # only columns that had features are named as left out (tags never was a feature)
    assert spec.left_out == ("lifecycle_stage", "vip_level")
    assert len(spec.names) == len(_spec().names) - 6 - 1


def test_every_feature_has_a_source_column() -> None:
    assert {source_column(n) for n in _spec().names} >= {
        "category_affinity", "partner_segments", "embedding", "recency_days", "gender",
    }  # fmt: skip


def test_features_cannot_be_left_out_after_fitting() -> None:
    spec = _spec()
    fitted = spec.fitted(pd.DataFrame([[0.0] * len(spec.names)], columns=list(spec.names)))
    with pytest.raises(ValueError, match="before fitting"):
        fitted.without(["vip_level"])


def _methods(pu: float, activity: float, random: float = 1.0) -> dict[str, dict[str, float]]:
    return {
        "pu": {"lift_at_1pct": pu},
        "activity": {"lift_at_1pct": activity},
        "random": {"lift_at_1pct": random},
        "centroid": {"lift_at_1pct": 0.0},
    }


def _failed(outcomes: list) -> list[str]:  # type: ignore[type-arg]
    return [o.name for o in outcomes if o.severity == "error" and not o.passed]


def test_a_model_that_beats_both_baselines_passes() -> None:
    outcomes = guardrail_outcomes(
        _methods(8.0, 3.0), "pu", {"score-activity spearman": 0.4}, mixture=5000,
        options=GuardrailSettings(),
    )  # fmt: skip
    assert len(outcomes) == 3 and all(o.passed for o in outcomes)
    assert all(o.severity == "error" for o in outcomes)


def test_a_model_no_better_than_ranking_by_activity_fails() -> None:
    outcomes = guardrail_outcomes(
        _methods(3.2, 3.0), "pu", {"score-activity spearman": 0.4}, mixture=5000,
        options=GuardrailSettings(min_lift_ratio=1.1),
    )  # fmt: skip
    assert _failed(outcomes) == ["pu beats the activity baseline on held-out lift@1%"]


def test_a_model_that_mostly_ranks_activity_fails() -> None:
    outcomes = guardrail_outcomes(
        _methods(8.0, 3.0), "pu", {"score-activity spearman": 0.95}, mixture=5000,
        options=GuardrailSettings(),
    )  # fmt: skip
    assert _failed(outcomes) == ["scores do not mostly rank activity"]


def test_too_small_an_evaluation_reports_the_lift_check_without_enforcing_it() -> None:
    outcomes = guardrail_outcomes(
        _methods(1.0, 3.0), "pu", {"score-activity spearman": 0.4}, mixture=500,
        options=GuardrailSettings(min_top_people=20),
    )  # fmt: skip
    lift_checks = [o for o in outcomes if "baseline" in o.name]
    assert all(o.severity == "warning" for o in lift_checks)
    assert not lift_checks[1].passed and "not enforced" in str(lift_checks[1].observed["note"])
    assert _failed(outcomes) == []


def test_guardrails_can_be_reported_only() -> None:
    outcomes = guardrail_outcomes(
        _methods(1.0, 3.0), "pu", {"score-activity spearman": 0.99}, mixture=5000,
        options=GuardrailSettings(enforce=False),
    )  # fmt: skip
    assert _failed(outcomes) == [] and sum(not o.passed for o in outcomes) == 3


def test_an_undefined_correlation_is_not_a_breach() -> None:
    # constant scores (or constant activity) over the sample: the score cannot rank activity
    outcomes = guardrail_outcomes(
        _methods(8.0, 3.0), "pu", {"score-activity spearman": float("nan")}, mixture=5000,
        options=GuardrailSettings(),
    )  # fmt: skip
    assert _failed(outcomes) == []


def test_a_lucky_low_random_draw_does_not_lower_the_bar() -> None:
    # random found 0x in this evaluation; its expected lift is 1, so 1.05x must still fail
    outcomes = guardrail_outcomes(
        _methods(1.05, 0.5, random=0.0), "pu", {"score-activity spearman": 0.1}, mixture=5000,
        options=GuardrailSettings(min_lift_ratio=1.1),
    )  # fmt: skip
    assert _failed(outcomes) == ["pu beats the random baseline on held-out lift@1%"]


def test_the_metric_and_the_headline_kind_are_configurable() -> None:
    methods = {
        name: {"lift_at_1pct": 9.0, "lift_at_10pct": lift}
        for name, lift in {"pu": 2.0, "activity": 1.9, "random": 1.0}.items()
    }
    options = GuardrailSettings(metric="lift_at_10pct", min_lift_ratio=1.2, min_top_people=20)
    outcomes = guardrail_outcomes(
        methods, "pu", {}, mixture=300, options=options, headline="time-split"
    )  # 10% of 300 = 30 people: enforced
    assert _failed(outcomes) == ["pu beats the activity baseline on time-split lift@10%"]
    small = guardrail_outcomes(methods, "pu", {}, mixture=150, options=options)
    assert _failed(small) == []  # 15 people in the top 10%: reported only
