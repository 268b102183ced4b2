"""The GX part of a gate: checks measured in one Spark pass, validated as one GX suite.

great_expectations is imported here, lazily (it takes seconds); ``import dmp.quality``
stays light.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dmp.quality.outcome import CheckOutcome
from dmp.quality.redaction import (
    mask_exception_info,
    strip_expectation_result,
    strip_validation_result,
)
from dmp.quality.spec import (
    Between,
    Check,
    ColumnsExist,
    InSet,
    MatchesRegex,
    NotNull,
    RowCountBetween,
    Unique,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["GxRun", "run_expectations"]

_log = logging.getLogger(__name__)

# A GX result format that counts failures without collecting any sample of them: no
# personal data in memory or reports, and 5 Spark jobs instead of 12 for 10 checks.
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0}
_META_KEY = "dmp_check"


@dataclass(frozen=True)
class GxRun:
    """Outcomes of the GX checks and the redacted validation result.

    Attributes:
        outcomes: Outcome of each check, keyed by its position in the gate spec.
        document: The GX validation result as JSON, samples of values removed.
        result: The (redacted) GX result object, for building Data Docs.
    """

    outcomes: dict[int, CheckOutcome]
    document: dict[str, Any]
    result: Any


def run_expectations(df: DataFrame, checks: Sequence[tuple[int, Check]], suite_name: str) -> GxRun:
    """Measure ``checks`` on ``df`` in one Spark pass and have GX validate the measurements.

    GX's Spark engine runs about one aggregation per expectation (and a window for each
    uniqueness check); here one aggregate of conditional counts measures every check at
    once, exactly as GX counts (nulls ignored where GX ignores them, a value repeated twice
    is two unexpected rows), plus one grouped count per uniqueness key. GX then validates
    the one-row summary of those measurements: one expectation per check, on the check's
    success ratio (``mostly``), row count or missing columns, so the verdicts, the
    validation document and Data Docs are GX's.

    Args:
        df: The batch. It is read once, plus once per uniqueness key: cache it first when it
            is expensive to compute.
        checks: GX-expressible checks with their positions in the gate spec.
        suite_name: Name of the suite (the gate name).

    Returns:
        The outcome of every check and the redacted GX validation result.
    """
    measured = measure(df, checks)
    gx = import_gx()
    context = _ephemeral_context(gx)
    source = context.data_sources.add_pandas(name="dmp")
    asset = source.add_dataframe_asset(name="measurements")
    batch_definition = asset.add_batch_definition_whole_dataframe("whole batch")
    suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
    summary: dict[str, list[float]] = {}
    for position, check in checks:
        column = f"{position:02d} {check.label}"
        summary[column] = [measured[position].value]
        suite.add_expectation(_expectation(gx, position, check, column))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite_name, data=batch_definition, suite=suite)
    )
    import pandas as pd

    result = validation.run(
        batch_parameters={"dataframe": pd.DataFrame(summary)}, result_format=_RESULT_FORMAT
    )
    for item in result.results:
        # Redact the object in place too: it may be rendered into Data Docs later.
        item.result = strip_expectation_result(item.result or {}, item.expectation_config.type)
        item.exception_info = mask_exception_info(item.exception_info)
    by_position = {position: check for position, check in checks}
    outcomes: dict[int, CheckOutcome] = {}
    for item in result.results:
        position = int(item.expectation_config.meta[_META_KEY])
        outcomes[position] = _outcome(by_position[position], item, measured[position])
    return GxRun(outcomes, strip_validation_result(result.to_json_dict()), result)


@dataclass(frozen=True)
class Measurement:
    """What one check measured on the batch.

    Attributes:
        value: What GX validates: the success ratio (non-failing share of the rows the
            check considers), the row count, or the number of missing columns.
        observed: The counts shown in the report, named as GX names them.
    """

    value: float
    observed: dict[str, Any]


def measure(df: DataFrame, checks: Sequence[tuple[int, Check]]) -> dict[int, Measurement]:
    """Measure every check on ``df``: one aggregate, plus one grouped count per unique key.

    Args:
        df: The batch.
        checks: GX-expressible checks with their positions in the gate spec.

    Returns:
        Each check's measurement, keyed by position.
    """
    from pyspark.sql import functions as F

    counts: list[Any] = [F.count(F.lit(1)).alias("rows")]
    for position, check in checks:
        for key, condition in _conditions(check).items():
            counts.append(F.count(F.when(condition, True)).alias(f"{key}{position}"))
    row = df.agg(*counts).first()
    assert row is not None  # a global aggregate always has one row
    totals = row.asDict()
    rows = int(totals["rows"])
    repeated = {
        tuple(check.key): _repeated_rows(df, check.key)
        for _, check in checks
        if isinstance(check, Unique)
    }
    measured: dict[int, Measurement] = {}
    for position, check in checks:
        if isinstance(check, RowCountBetween):
            observed = {"row_count": rows, "min": check.min, "max": check.max}
            measured[position] = Measurement(float(rows), observed)
        elif isinstance(check, ColumnsExist):
            missing = [c for c in check.columns if c not in df.columns]
            measured[position] = Measurement(float(len(missing)), {"missing": missing})
        elif isinstance(check, NotNull):
            nulls = int(totals[f"missing{position}"])
            measured[position] = _ratio(rows, nulls, None)
        else:
            missing_count = int(totals[f"missing{position}"])
            if isinstance(check, Unique):
                unexpected = repeated[tuple(check.key)]
            else:
                unexpected = int(totals[f"unexpected{position}"])
            measured[position] = _ratio(rows, unexpected, missing_count)
    return measured


def _conditions(check: Check) -> dict[str, Any]:
    """The conditional counts a check needs: ``missing`` (nulls GX leaves out) and
    ``unexpected`` (considered rows failing the rule), as Spark conditions."""
    from pyspark.sql import functions as F

    if isinstance(check, NotNull):
        return {"missing": F.col(check.column).isNull()}
    if isinstance(check, Unique):
        # GX ignores a row only when every key column is null.
        nulls = [F.col(c).isNull() for c in check.key]
        all_null = nulls[0]
        for null in nulls[1:]:
            all_null = all_null & null
        return {"missing": all_null}
    if isinstance(check, Between | InSet | MatchesRegex):
        column = F.col(check.column)
        return {"missing": column.isNull(), "unexpected": column.isNotNull() & ~_rule(check)}
    return {}


def _rule(check: Between | InSet | MatchesRegex) -> Any:
    """The condition a non-null value must meet, as GX's Spark engine writes it."""
    from pyspark.sql import functions as F

    column = F.col(check.column)
    if isinstance(check, InSet):
        return column.isin(list(check.values))
    if isinstance(check, MatchesRegex):
        return column.rlike(check.regex)
    condition = F.lit(True)
    if check.min is not None:
        low = F.lit(check.min)
        condition = condition & ((column > low) if check.strict_min else (column >= low))
    if check.max is not None:
        high = F.lit(check.max)
        condition = condition & ((column < high) if check.strict_max else (column <= high))
    return condition


def _repeated_rows(df: DataFrame, key: Sequence[str]) -> int:
    """Rows whose key value occurs more than once (rows with an all-null key left out)."""
    from pyspark.sql import functions as F

    present = F.lit(False)
    for column in key:
        present = present | F.col(column).isNotNull()
    groups = df.select(*key).where(present).groupBy(*key).count()
    row = groups.where(F.col("count") > 1).agg(F.sum("count")).first()
    return int(row[0] or 0) if row is not None else 0


def _ratio(rows: int, unexpected: int, missing: int | None) -> Measurement:
    """GX's counts for a column check; ``missing`` None for ``not_null`` (it counts nulls
    as unexpected, over every row)."""
    considered = rows - (missing or 0)
    observed: dict[str, Any] = {
        "element_count": rows,
        "unexpected_count": unexpected,
        "unexpected_percent": unexpected / considered * 100 if considered else None,
    }
    if missing is not None:
        observed["missing_count"] = missing
        observed["missing_percent"] = missing / rows * 100 if rows else None
    ratio = (considered - unexpected) / considered if considered else 1.0
    return Measurement(ratio, observed)


def import_gx() -> Any:
    """Import great_expectations with its usage analytics off (read at import time)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


def _ephemeral_context(gx: Any) -> Any:
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _expectation(gx: Any, position: int, check: Check, column: str) -> Any:
    """The GX expectation on a check's column of the one-row measurement summary."""
    common: dict[str, Any] = {
        "meta": {_META_KEY: position, "dmp_name": check.label, "dmp_rule": check.describe()},
        "severity": "critical" if check.severity == "error" else "warning",
    }
    low: float | None
    high: float | None
    if isinstance(check, RowCountBetween):
        low, high = check.min, check.max
    elif isinstance(check, ColumnsExist):
        low, high = 0, 0
    else:
        low, high = getattr(check, "mostly", 1.0), None
    return gx.expectations.ExpectColumnValuesToBeBetween(
        column=column, min_value=low, max_value=high, **common
    )


def _outcome(check: Check, item: Any, measured: Measurement) -> CheckOutcome:
    observed = dict(measured.observed)
    mostly = getattr(check, "mostly", 1.0)
    if mostly < 1.0:
        observed["mostly"] = mostly
    details = ""
    messages = _exception_messages(item.exception_info or {})
    if messages:
        details = "GX could not evaluate the check: " + "; ".join(messages)
        _log.warning("%s: %s", check.label, details)
    elif not item.success and isinstance(check, RowCountBetween):
        details = f"{observed['row_count']} rows, outside the expected range"
    elif not item.success and observed.get("missing") and isinstance(check, ColumnsExist):
        details = f"missing {', '.join(observed['missing'])}"
    elif not item.success and "unexpected_count" in observed:
        base = "non-null values" if "missing_count" in observed else "rows"
        details = f"{observed['unexpected_count']} unexpected of {_checked(observed)} {base}"
    return CheckOutcome(
        name=check.label,
        severity=check.severity,
        passed=bool(item.success) and not messages,
        observed=observed,
        details=details,
        kind="gx",
    )


def _checked(observed: dict[str, Any]) -> int:
    return int(observed.get("element_count", 0)) - int(observed.get("missing_count", 0))


def _exception_messages(info: dict[str, Any]) -> list[str]:
    if "exception_message" in info or "raised_exception" in info:
        message = info.get("exception_message")
        if message or info.get("raised_exception"):
            return [str(message or "unknown error")]
        return []
    messages: list[str] = []
    for value in info.values():
        if isinstance(value, dict):
            messages += _exception_messages(value)
    return messages
