"""The audience gate: well-formed tiers, never a seed or a risky person in the audience, and a
model that beats the baselines without merely ranking activity."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.config import Settings
from dmp.lookalike.settings import GuardrailSettings
from dmp.runlog import Run
from dmp.tables import AUDIENCES_TABLE

if TYPE_CHECKING:
    from dmp.quality import CheckOutcome

GATE = AUDIENCES_TABLE  # the gate of conf/gates.yaml named after its table


def audience_gate(
    spark: SparkSession,
    settings: Settings,
    run: Run,
    audience: DataFrame,
    seeds: DataFrame,
    profiles: DataFrame,
    guardrails: Sequence[CheckOutcome] = (),
) -> str:
    """Run the audience gate (``conf/gates.yaml`` plus invariants and ``guardrails``, see
    :func:`guardrail_outcomes`); raise when it fails."""
    from dmp.quality import CheckOutcome, load_gate_specs, run_gate

    spec = load_gate_specs(settings.gates_file)[GATE]
    seeds_inside = audience.join(seeds.select("person_id"), "person_id").count()
    risky = profiles.filter(F.col("bot_flag") | F.col("coupon_abuse_flag")).select("person_id")
    risky_inside = audience.join(risky, "person_id").count()
    outcomes = [
        CheckOutcome(
            name="no seed person in the audience",
            severity="error",
            passed=seeds_inside == 0,
            observed={"seeds_in_audience": seeds_inside},
        ),
        CheckOutcome(
            name="no risky person in the audience",
            severity="error" if settings.lookalike.exclude_risky else "warning",
            passed=risky_inside == 0,
            observed={"risky_in_audience": risky_inside},
        ),
        *guardrails,
    ]
    report = run_gate(
        spark,
        audience,
        spec,
        reports_dir=settings.reports_dir,
        run_id=run.run_id,
        data_docs=settings.quality.data_docs,
        extra_outcomes=outcomes,
    )
    return str(report.report_dir)


_TIER_SHARE = {"lift_at_1pct": 0.01, "lift_at_5pct": 0.05, "lift_at_10pct": 0.10}
SPEARMAN = "score-activity spearman"


def guardrail_outcomes(
    methods: Mapping[str, Mapping[str, float]],
    chosen: str,
    guardrails: Mapping[str, float],
    *,
    mixture: int,
    options: GuardrailSettings,
    headline: str = "held-out",
) -> list[CheckOutcome]:
    """The guardrails as gate checks: the chosen method beats the random and the activity
    baseline on the headline metric (``options.metric`` of the headline evaluation: time
    split or held-out) by ``min_lift_ratio``, and its scores do not mostly rank activity.

    Args:
        methods: Method or baseline -> mean evaluation metrics (``lift_at_1pct`` ...) of
            the headline evaluation.
        chosen: The method that scores the audience.
        guardrails: Measured guardrails (``score-activity spearman`` ...).
        mixture: People ranked in each evaluation split.
        options: Thresholds, and whether breaches fail the gate.
        headline: What the headline evaluation is (``time-split`` or ``held-out``).
    """
    from dmp.lookalike.evaluate import metric_words
    from dmp.quality import CheckOutcome

    severity: Literal["error", "warning"] = "error" if options.enforce else "warning"
    metric = options.metric
    share = _TIER_SHARE[metric]
    top = int(mixture * share)
    powered = top >= options.min_top_people
    lift = methods[chosen][metric]
    outcomes: list[CheckOutcome] = []
    for baseline in ("random", "activity"):
        if baseline not in methods:
            continue
        other = methods[baseline][metric]
        # Random order finds about 1x by definition: a low draw must not lower the bar.
        bar = max(other, 1.0) if baseline == "random" else other
        needed = options.min_lift_ratio * bar
        observed: dict[str, object] = {
            "method": chosen, metric: round(lift, 4), baseline: round(other, 4),
            "needed": round(needed, 4), f"people_in_top_{share:.0%}": top,
        }  # fmt: skip
        if not powered:
            observed["note"] = (
                f"top {share:.0%} of the evaluation holds {top} people, fewer than "
                f"{options.min_top_people}: reported, not enforced"
            )
        outcomes.append(
            CheckOutcome(
                name=f"{chosen} beats the {baseline} baseline on {headline} {metric_words(metric)}",
                severity=severity if powered else "warning",
                passed=lift >= needed,
                observed=observed,
            )
        )
    correlation = guardrails.get(SPEARMAN)
    if correlation is not None:
        # NaN: scores or activity constant over the sample, so the score cannot rank activity.
        defined = not math.isnan(correlation)
        outcomes.append(
            CheckOutcome(
                name="scores do not mostly rank activity",
                severity=severity,
                passed=not (defined and correlation > options.max_activity_spearman),
                observed={
                    "spearman": round(correlation, 4) if defined else "undefined (constant)",
                    "max": options.max_activity_spearman,
                },
            )
        )
    return outcomes
