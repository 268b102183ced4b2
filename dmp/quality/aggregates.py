"""The Spark part of a gate: rules GX does not express, and drift against the previous version.

Everything here is a small aggregate: the current batch is read in one ``agg`` job (plus
one grouped job per "top value" share rule), the previous version once for its row count
and once per distribution column. Results have one row, or ``top_k`` rows -- never a
number of rows that grows with the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dmp.privacy import mask_pii
from dmp.quality.outcome import CheckOutcome
from dmp.quality.spec import (
    DistributionDrift,
    DriftRule,
    Schema,
    Severity,
    ShareAtMost,
    VolumeDrift,
    normalise_spark_type,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = ["DatasetProfile", "profile_for_drift", "spark_outcomes"]

SparkCheck = Schema | ShareAtMost


@dataclass(frozen=True)
class DatasetProfile:
    """What drift rules need to know about the previous published version.

    Attributes:
        row_count: Rows of the previous version.
        top_values: Per distribution column, its most frequent values (``None`` for
            null) with their row counts, most frequent first.
    """

    row_count: int
    top_values: Mapping[str, tuple[tuple[Any, int], ...]] = field(default_factory=dict)


def profile_for_drift(df: DataFrame, drift: Sequence[DriftRule]) -> DatasetProfile:
    """Profile a DataFrame (the previous version) for the given drift rules.

    Args:
        df: The previous published version.
        drift: The gate's drift rules; each distribution rule adds its column's top values.

    Returns:
        The row count and, per distribution column present in ``df``, its top values.
    """
    from pyspark.sql import functions as F

    top_values: dict[str, tuple[tuple[Any, int], ...]] = {}
    for rule in drift:
        if not isinstance(rule, DistributionDrift) or rule.column not in df.columns:
            continue
        k = max(rule.top_k, len(top_values.get(rule.column, ())))
        rows = (
            df.groupBy(rule.column)
            .count()
            .orderBy(F.desc("count"), F.asc_nulls_first(rule.column))
            .limit(k)
            .collect()
        )
        top_values[rule.column] = tuple((row[0], int(row[1])) for row in rows)
    return DatasetProfile(row_count=df.count(), top_values=top_values)


def spark_outcomes(
    df: DataFrame,
    checks: Sequence[tuple[int, SparkCheck]],
    drift: Sequence[DriftRule],
    previous: DatasetProfile | None,
) -> tuple[dict[int, CheckOutcome], list[CheckOutcome]]:
    """Evaluate the Spark checks and the drift rules on the current batch.

    Args:
        df: The current batch (persisted by the caller).
        checks: ``schema`` and ``share_at_most`` checks with their positions in the spec.
        drift: Drift rules.
        previous: Profile of the previous version; ``None`` when there is none (drift
            rules then pass with a note).

    Returns:
        Outcomes of the checks keyed by position, and outcomes of the drift rules in order.
    """
    columns = dict(df.dtypes)
    plan = _Aggregates()
    for position, check in checks:
        if isinstance(check, ShareAtMost) and _share_column_ok(check, columns):
            if check.expr is not None:
                plan.add(f"check{position}", _expr(check.expr))
            elif check.value is not None:
                plan.add(f"check{position}", _column(check.column).eqNullSafe(_lit(check.value)))
    if previous is not None:
        for j, rule in enumerate(drift):
            if isinstance(rule, DistributionDrift) and _distribution_ready(rule, columns, previous):
                for i, (value, _) in enumerate(_top(previous, rule)):
                    plan.add(f"drift{j}#{i}", _column(rule.column).eqNullSafe(_lit(value)))
    counts = plan.run(df)

    check_outcomes: dict[int, CheckOutcome] = {}
    for position, check in checks:
        if isinstance(check, Schema):
            check_outcomes[position] = _schema(check, columns)
        else:
            check_outcomes[position] = _share(df, position, check, columns, counts)
    drift_outcomes = [_drift(j, rule, columns, counts, previous) for j, rule in enumerate(drift)]
    return check_outcomes, drift_outcomes


class _Aggregates:
    """Conditional counts gathered into one aggregation over the batch."""

    def __init__(self) -> None:
        self._conditions: list[tuple[str, Column]] = []

    def add(self, key: str, condition: Column) -> None:
        self._conditions.append((key, condition))

    def run(self, df: DataFrame) -> dict[str, int]:
        from pyspark.sql import functions as F

        expressions = [F.count(F.lit(1)).alias("rows")]
        for i, (_, condition) in enumerate(self._conditions):
            expressions.append(F.count(F.when(condition, True)).alias(f"c{i}"))
        row = df.agg(*expressions).first()
        assert row is not None  # a global aggregate always has one row
        counts = {"rows": int(row["rows"])}
        for i, (key, _) in enumerate(self._conditions):
            counts[key] = int(row[f"c{i}"])
        return counts


def _schema(check: Schema, columns: Mapping[str, str]) -> CheckOutcome:
    missing = [name for name in check.columns if name not in columns]
    mismatched = {
        name: {"expected": expected, "actual": columns[name]}
        for name, expected in check.columns.items()
        if name in columns and normalise_spark_type(columns[name]) != expected
    }
    unexpected = [name for name in columns if name not in check.columns] if check.exact else []
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if mismatched:
        problems.append(
            "wrong type of "
            + ", ".join(f"{n} ({t['actual']}, not {t['expected']})" for n, t in mismatched.items())
        )
    if unexpected:
        problems.append(f"unexpected {', '.join(unexpected)}")
    return CheckOutcome(
        name=check.label,
        severity=check.severity,
        passed=not problems,
        observed={"missing": missing, "mismatched": mismatched, "unexpected": unexpected},
        details="; ".join(problems),
        kind="spark",
    )


def _share(
    df: DataFrame,
    position: int,
    check: ShareAtMost,
    columns: Mapping[str, str],
    counts: Mapping[str, int],
) -> CheckOutcome:
    rows = counts["rows"]
    if not _share_column_ok(check, columns):
        return _failed(check.label, check.severity, f"column {check.column} not found", "spark")
    if check.expr is not None or check.value is not None:
        matching = counts[f"check{position}"]
        what = "rows meeting the condition"
    else:
        matching = _top_value_count(df, str(check.column))
        what = "rows holding the most frequent value"
    share = matching / rows if rows else 0.0
    passed = share <= check.max_share
    return CheckOutcome(
        name=check.label,
        severity=check.severity,
        passed=passed,
        observed={
            "rows": rows,
            "matching": matching,
            "share": _r(share),
            "max_share": check.max_share,
        },
        details="" if passed else f"{share:.2%} of {rows} {what}, above {check.max_share:.2%}",
        kind="spark",
    )


def _top_value_count(df: DataFrame, column: str) -> int:
    from pyspark.sql import functions as F

    top = (
        df.filter(F.col(column).isNotNull())
        .groupBy(column)
        .count()
        .agg(F.max("count").alias("top"))
        .first()
    )
    return int(top["top"]) if top is not None and top["top"] is not None else 0


def _drift(
    index: int,
    rule: DriftRule,
    columns: Mapping[str, str],
    counts: Mapping[str, int],
    previous: DatasetProfile | None,
) -> CheckOutcome:
    rows = counts["rows"]
    if previous is None:
        return _skipped(rule, {"rows": rows}, "no previous version to compare with")
    if isinstance(rule, VolumeDrift):
        return _volume(rule, rows, previous.row_count)
    if rule.column not in columns:
        return _failed(rule.label, rule.severity, f"column {rule.column} not found", "drift")
    if not _atomic(columns[rule.column]):
        why = f"{rule.column} is a {columns[rule.column]}: distribution needs an atomic type"
        return _failed(rule.label, rule.severity, why, "drift")
    if rule.column not in previous.top_values:
        return _skipped(rule, {"rows": rows}, f"the previous version has no {rule.column}")
    if previous.row_count == 0 or rows == 0:
        return _skipped(rule, {"rows": rows}, "the previous or current version is empty")
    return _distribution(index, rule, counts, previous)


def _volume(rule: VolumeDrift, rows: int, before: int) -> CheckOutcome:
    low, high = rule.band
    observed: dict[str, Any] = {"rows": rows, "previous_rows": before, "band": [low, high]}
    if before == 0:
        observed["ratio"] = None
        return _skipped(rule, observed, "the previous version is empty: no ratio")
    ratio = rows / before
    observed["ratio"] = ratio
    passed = low <= ratio <= high
    return CheckOutcome(
        name=rule.label,
        severity=rule.severity,
        passed=passed,
        observed=observed,
        details="" if passed else f"{rows} rows is {ratio:.3g}x the previous {before}",
        kind="drift",
    )


def _distribution(
    index: int, rule: DistributionDrift, counts: Mapping[str, int], previous: DatasetProfile
) -> CheckOutcome:
    rows, before = counts["rows"], previous.row_count
    shares: list[tuple[str, float, float]] = [
        (_category(value), count / before, counts[f"drift{index}#{i}"] / rows)
        for i, (value, count) in enumerate(_top(previous, rule))
    ]
    other_previous = max(0.0, 1.0 - sum(p for _, p, _ in shares))
    other_current = max(0.0, 1.0 - sum(c for _, _, c in shares))
    moves = [abs(c - p) for _, p, c in shares]
    shift = 0.5 * (sum(moves) + abs(other_current - other_previous))
    passed = shift <= rule.max_shift
    largest = sorted(range(len(shares)), key=lambda i: moves[i], reverse=True)[:5]
    moved = [
        {"value": shares[i][0], "previous": _r(shares[i][1]), "current": _r(shares[i][2])}
        for i in largest
    ]
    return CheckOutcome(
        name=rule.label,
        severity=rule.severity,
        passed=passed,
        observed={
            "shift": _r(shift),
            "max_shift": rule.max_shift,
            "rows": rows,
            "previous_rows": before,
            "categories": len(shares),
            "other": {"previous": _r(other_previous), "current": _r(other_current)},
            "largest_moves": moved,
        },
        details="" if passed else f"shares moved by {shift:.3f} (total variation)",
        kind="drift",
    )


def _top(previous: DatasetProfile, rule: DistributionDrift) -> tuple[tuple[Any, int], ...]:
    # A profile may hold more values than this rule's top_k (another rule asked for more).
    return previous.top_values[rule.column][: rule.top_k]


def _distribution_ready(
    rule: DistributionDrift, columns: Mapping[str, str], previous: DatasetProfile
) -> bool:
    return (
        rule.column in columns
        and _atomic(columns[rule.column])
        and rule.column in previous.top_values
        and previous.row_count > 0
    )


def _share_column_ok(check: ShareAtMost, columns: Mapping[str, str]) -> bool:
    return check.column is None or check.column in columns


def _atomic(spark_type: str) -> bool:
    return not spark_type.startswith(("array", "map", "struct"))


def _r(share: float) -> float:
    # Shares are reported to 6 decimals: 1e-16 left over from 1 - sum(...) is noise.
    return round(share, 6)


def _category(value: Any) -> str:
    # Category labels of a categorical column; masked in case one is an e-mail or phone.
    return "(null)" if value is None else str(mask_pii(str(value)))


def _skipped(rule: DriftRule, observed: dict[str, Any], why: str) -> CheckOutcome:
    return CheckOutcome(
        name=rule.label,
        severity=rule.severity,
        passed=True,
        observed=observed,
        details=f"skipped: {why}",
        kind="drift",
    )


def _failed(name: str, severity: Severity, why: str, kind: str) -> CheckOutcome:
    return CheckOutcome(
        name=name, severity=severity, passed=False, observed={}, details=why, kind=kind
    )


def _column(name: str | None) -> Column:
    from pyspark.sql import functions as F

    return F.col(str(name))


def _lit(value: Any) -> Column:
    from pyspark.sql import functions as F

    return F.lit(value)


def _expr(text: str) -> Column:
    from pyspark.sql import functions as F

    return F.expr(text)
