"""Keep personal data out of quality reports: strip GX's samples of values, keep counts.

GX's ``SUMMARY`` results carry ``partial_unexpected_list`` (up to 20 failing values) and
``partial_unexpected_counts``; other formats add full lists, row indexes and queries.
Failing values of a regex check on e-mails are e-mail addresses, so nothing but a
whitelist of counts and percentages survives into a report.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from dmp.privacy import mask_pii

__all__ = ["REDACTED_NOTE", "strip_expectation_result", "strip_validation_result"]

REDACTED_NOTE = (
    "samples of unexpected values were removed from this report; counts and percentages are kept"
)

_KEPT_RESULT_KEYS = frozenset(
    {
        "element_count",
        "unexpected_count",
        "unexpected_percent",
        "unexpected_percent_total",
        "unexpected_percent_nonmissing",
        "missing_count",
        "missing_percent",
        "observed_value",
    }
)
# Expectations whose observed value describes the table's metadata (column names, type
# names), not the data; for all others only numbers are kept.
_METADATA_EXPECTATIONS = frozenset(
    {
        "expect_column_to_exist",
        "expect_column_values_to_be_of_type",
        "expect_column_values_to_be_in_type_list",
        "expect_table_columns_to_match_set",
        "expect_table_columns_to_match_ordered_list",
    }
)


def strip_expectation_result(result: Mapping[str, Any], expectation_type: str) -> dict[str, Any]:
    """The ``result`` block of one GX expectation result with every sample of values removed.

    Args:
        result: GX's ``result`` dict of one expectation (any result format).
        expectation_type: The expectation's snake_case type (``expect_column_values_to_...``).

    Returns:
        A new dict with only counts, percentages and a numeric (or, for metadata
        expectations, textual) ``observed_value``; ``redacted`` lists the keys dropped.
    """
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in result.items():
        unsafe = key == "observed_value" and not _safe_observed(value, expectation_type)
        if key not in _KEPT_RESULT_KEYS or unsafe:
            dropped.append(key)
        else:
            kept[key] = copy.deepcopy(value)
    if dropped:
        kept["redacted"] = sorted(dropped)
    return kept


def strip_validation_result(document: Mapping[str, Any]) -> dict[str, Any]:
    """A GX suite validation result (as JSON dict) with no samples of values left.

    Every expectation's ``result`` goes through :func:`strip_expectation_result`, and
    exception messages and tracebacks are masked (a Spark error can quote a value).

    Args:
        document: ``ExpectationSuiteValidationResult.to_json_dict()``.

    Returns:
        A deep copy safe to write to disk.
    """
    stripped = copy.deepcopy(dict(document))
    for item in stripped.get("results") or []:
        config = item.get("expectation_config") or {}
        kind = str(config.get("type") or config.get("expectation_type") or "")
        item["result"] = strip_expectation_result(item.get("result") or {}, kind)
        if "exception_info" in item:
            item["exception_info"] = mask_exception_info(item["exception_info"])
    return stripped


def mask_exception_info(info: Any) -> Any:
    """GX ``exception_info`` (flat, or keyed by metric) with e-mails and phones masked."""
    if isinstance(info, dict):
        return {key: mask_exception_info(value) for key, value in info.items()}
    if isinstance(info, str):
        return mask_pii(info)
    return info


def _safe_observed(value: Any, expectation_type: str) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return True
    if expectation_type in _METADATA_EXPECTATIONS:
        if isinstance(value, str):
            return True
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return False
