"""The GX part of a gate: checks as one expectation suite, validated once per batch.

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
_COUNT_KEYS = (
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "missing_count",
    "missing_percent",
)


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
    """Validate ``df`` against ``checks`` as one GX suite in an ephemeral context.

    Args:
        df: The batch, already persisted by the caller (GX's own persist is turned off
            because it never releases the cache).
        checks: GX-expressible checks with their positions in the gate spec.
        suite_name: Name of the suite (the gate name).

    Returns:
        The outcome of every check and the redacted GX validation result.
    """
    gx = import_gx()
    context = _ephemeral_context(gx)
    source = context.data_sources.add_spark(name="dmp", persist=False)
    asset = source.add_dataframe_asset(name="batch")
    batch_definition = asset.add_batch_definition_whole_dataframe("whole batch")
    suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
    for position, check in checks:
        suite.add_expectation(_expectation(gx, position, check))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite_name, data=batch_definition, suite=suite)
    )
    result = validation.run(batch_parameters={"dataframe": df}, result_format=_RESULT_FORMAT)
    for item in result.results:
        # Redact the object in place too: it may be rendered into Data Docs later.
        item.result = strip_expectation_result(item.result or {}, item.expectation_config.type)
        item.exception_info = mask_exception_info(item.exception_info)
    by_position = {position: check for position, check in checks}
    outcomes: dict[int, CheckOutcome] = {}
    for item in result.results:
        position = int(item.expectation_config.meta[_META_KEY])
        outcomes[position] = _outcome(by_position[position], item, df.columns)
    return GxRun(outcomes, strip_validation_result(result.to_json_dict()), result)


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


def _expectation(gx: Any, position: int, check: Check) -> Any:
    expectations = gx.expectations
    common: dict[str, Any] = {
        "meta": {_META_KEY: position, "dmp_name": check.label},
        "severity": "critical" if check.severity == "error" else "warning",
    }
    if isinstance(check, NotNull):
        return expectations.ExpectColumnValuesToNotBeNull(
            column=check.column, mostly=check.mostly, **common
        )
    if isinstance(check, Unique):
        if check.column is not None:
            return expectations.ExpectColumnValuesToBeUnique(
                column=check.column, mostly=check.mostly, **common
            )
        return expectations.ExpectCompoundColumnsToBeUnique(
            column_list=check.key, mostly=check.mostly, **common
        )
    if isinstance(check, Between):
        return expectations.ExpectColumnValuesToBeBetween(
            column=check.column,
            min_value=check.min,
            max_value=check.max,
            strict_min=check.strict_min,
            strict_max=check.strict_max,
            mostly=check.mostly,
            **common,
        )
    if isinstance(check, InSet):
        return expectations.ExpectColumnValuesToBeInSet(
            column=check.column, value_set=list(check.values), mostly=check.mostly, **common
        )
    if isinstance(check, MatchesRegex):
        return expectations.ExpectColumnValuesToMatchRegex(
            column=check.column, regex=check.regex, mostly=check.mostly, **common
        )
    if isinstance(check, ColumnsExist):
        return expectations.ExpectTableColumnsToMatchSet(
            column_set=list(check.columns), exact_match=False, **common
        )
    if isinstance(check, RowCountBetween):
        return expectations.ExpectTableRowCountToBeBetween(
            min_value=check.min, max_value=check.max, **common
        )
    raise TypeError(f"{type(check).__name__} is not a GX check")


def _outcome(check: Check, item: Any, columns: Sequence[str]) -> CheckOutcome:
    result: dict[str, Any] = item.result or {}
    observed: dict[str, Any] = {key: result[key] for key in _COUNT_KEYS if key in result}
    if isinstance(check, RowCountBetween):
        observed = {"row_count": result.get("observed_value"), "min": check.min, "max": check.max}
    elif isinstance(check, ColumnsExist):
        observed = {"missing": [c for c in check.columns if c not in columns]}
    mostly = getattr(check, "mostly", 1.0)
    if mostly < 1.0:
        observed["mostly"] = mostly
    details = ""
    info = item.exception_info or {}
    messages = _exception_messages(info)
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
