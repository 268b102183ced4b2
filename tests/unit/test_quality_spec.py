"""Quality gates without a JVM: spec validation, report rendering and writing, PII stripping."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from dmp.errors import ConfigError
from dmp.quality import (
    Between,
    CheckOutcome,
    DistributionDrift,
    GateReport,
    GateSpec,
    NotNull,
    Schema,
    Severity,
    ShareAtMost,
    Unique,
    VolumeDrift,
    failure_message,
    load_gate_specs,
    render_html,
)
from dmp.quality.redaction import strip_expectation_result, strip_validation_result
from dmp.quality.report import plan_report_dir, write_report

GOOD = """
silver/profiles:
  description: one row per person
  checks:
    - {type: not_null, column: person_id}
    - {type: unique, column: person_id}
    - {type: unique, columns: [person_id, as_of], severity: warning}
    - {type: between, column: revenue_total, min: 0, mostly: 0.999}
    - {type: between, column: as_of, min: 2020-01-01, max: "2030-12-31"}
    - {type: in_set, column: lifecycle_stage, values: [new, active, churned]}
    - {type: matches_regex, column: person_id, regex: "^P[0-9a-f]{16}$"}
    - {type: columns_exist, columns: [person_id, as_of]}
    - {type: schema, columns: {person_id: string, orders_count: long, user_ids: "array< string >"}}
    - {type: row_count_between, min: 1}
    - {type: share_at_most, expr: "orders_count = 0", max_share: 0.9, name: mostly buyers}
    - {type: share_at_most, column: person_id, max_share: 0.01}
  drift:
    - {type: volume, band: [0.8, 1.5], severity: error}
    - {type: distribution, column: lifecycle_stage, max_shift: 0.1, top_k: 5}
gold/empty:
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gates.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_loads_every_variant(tmp_path: Path) -> None:
    gates = load_gate_specs(write(tmp_path, GOOD))
    assert set(gates) == {"silver/profiles", "gold/empty"}
    spec = gates["silver/profiles"]
    assert spec.name == "silver/profiles"
    assert [c.type for c in spec.checks] == [
        "not_null",
        "unique",
        "unique",
        "between",
        "between",
        "in_set",
        "matches_regex",
        "columns_exist",
        "schema",
        "row_count_between",
        "share_at_most",
        "share_at_most",
    ]
    assert all(c.severity == "error" for c in spec.checks[:2])
    assert spec.checks[2].severity == "warning"
    dates = spec.checks[4]
    assert isinstance(dates, Between)
    assert dates.min == date(2020, 1, 1) and dates.max == date(2030, 12, 31)
    schema = spec.checks[8]
    assert isinstance(schema, Schema)
    assert schema.columns == {
        "person_id": "string",
        "orders_count": "bigint",
        "user_ids": "array<string>",
    }
    assert spec.checks[10].label == "mostly buyers"
    assert spec.checks[11].label == "share_at_most(top value of person_id <= 0.01)"
    volume, distribution = spec.drift
    assert isinstance(volume, VolumeDrift) and volume.severity == "error"
    assert isinstance(distribution, DistributionDrift) and distribution.severity == "warning"
    assert gates["gold/empty"].checks == [] and gates["gold/empty"].drift == []


def test_labels_describe_the_rule() -> None:
    assert NotNull(type="not_null", column="a", mostly=0.9).label == "not_null(a, mostly 0.9)"
    assert Unique(type="unique", columns=["a", "b"]).label == "unique(a, b)"
    assert Between(type="between", column="x", min=0).label == "between(x, 0..)"
    share = ShareAtMost(type="share_at_most", column="c", value="n/a", max_share=0.1)
    assert share.label == "share_at_most(c = 'n/a' <= 0.1)"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("checks: [{type: not_null, colum: a}]", r"x/y\.checks\.0\.not_null\.colum: unknown key"),
        ("checks: [{type: not_null, column: a, mostly: lots}]", r"checks\.0\.not_null\.mostly"),
        ("checks: [{type: not_null, column: a, mostly: 1.5}]", r"less than or equal to 1"),
        ("checks: [{type: nonnull, column: a}]", r"checks\.0: .*tag 'nonnull'"),
        ("checks: [{type: unique, column: a, columns: [a, b]}]", r"exactly one of column"),
        ("checks: [{type: unique, columns: [a]}]", r"checks\.0\.unique\.columns"),
        ("checks: [{type: between, column: a}]", r"give min, max or both"),
        ("checks: [{type: in_set, column: a, values: []}]", r"checks\.0\.in_set\.values"),
        ("checks: [{type: matches_regex, column: a, regex: '(['}]", r"not a valid regular"),
        ("checks: [{type: row_count_between, min: 5, max: 1}]", r"min is greater than max"),
        ("checks: [{type: share_at_most, value: 1, max_share: 0.1, expr: x}]", r"value needs"),
        ("checks: [{type: not_null, column: a, severity: fatal}]", r"severity"),
        ("drift: [{type: volume, band: [2, 1]}]", r"x/y\.drift\.0\.volume\.band"),
        ("drift: [{type: distribution, column: a, max_shift: 0}]", r"max_shift"),
        ("chekcs: []", r"x/y\.chekcs: unknown key"),
        ("name: other", r"x/y\.name: differs from the gate's key"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path: Path, body: str, problem: str) -> None:
    path = write(tmp_path, f"x/y:\n  {body}\n")
    with pytest.raises(ConfigError, match=problem) as caught:
        load_gate_specs(path)
    assert str(caught.value).startswith(str(path))


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_gate_specs(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="must map gate names"):
        load_gate_specs(write(tmp_path, "- a\n- b\n"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_gate_specs(write(tmp_path, "a: [unclosed\n"))
    assert load_gate_specs(write(tmp_path, "")) == {}


def test_the_project_gate_file_is_valid() -> None:
    path = Path(__file__).resolve().parents[2] / "conf" / "gates.yaml"
    if not path.exists():
        pytest.skip("no conf/gates.yaml in this checkout")
    gates = load_gate_specs(path)
    assert gates and all(isinstance(spec, GateSpec) for spec in gates.values())


# --- reports -------------------------------------------------------------------------------


def outcome(name: str, passed: bool, severity: Severity = "error", **observed: Any) -> CheckOutcome:
    return CheckOutcome(
        name=name, severity=severity, passed=passed, observed=observed, details="", kind="gx"
    )


def hand_made_report(tmp_path: Path, *outcomes: CheckOutcome) -> GateReport:
    created = datetime(2026, 1, 5, 10, 30, tzinfo=UTC)
    return GateReport.from_outcomes(
        "silver/profiles",
        "run-42",
        outcomes,
        report_dir=plan_report_dir(tmp_path, "silver/profiles", "run-42", created),
        seconds=2.5,
        created_at=created,
    )


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_verdict_warnings_and_failures(tmp_path: Path) -> None:
    report = hand_made_report(
        tmp_path,
        outcome("a", True),
        outcome("b", False, "warning"),
        outcome("c", False, unexpected_count=3),
    )
    assert not report.passed
    assert [o.name for o in report.failures] == ["c"]
    assert [o.name for o in report.warnings] == ["b"]
    summary = report.summary()
    assert summary["failed"] == ["c"] and summary["warnings"] == ["b"] and summary["checks"] == 3
    only_warning = hand_made_report(tmp_path, outcome("a", True), outcome("b", False, "warning"))
    assert only_warning.passed


def test_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    report = hand_made_report(
        tmp_path,
        outcome("not_null(person_id)", True, unexpected_count=0, unexpected_percent=0.0),
        outcome("<script>alert(1)</script>", False, unexpected_count=7, share=0.0123456789),
        outcome("volume", False, "warning", ratio=10.0, band=[0.5, 2.0]),
    )
    page = render_html(report)
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags and "link" not in parser.tags
    assert "http://" not in page and "https://" not in page
    text = " ".join(parser.text)
    assert "Quality gate silver/profiles" in text and "run-42" in text
    assert "FAILED: 1 error(s)" in text
    assert "<script>alert(1)</script>" in text  # shown as text, not markup
    assert "0.0123457" in text and "[0.5, 2.0]" in text
    assert parser.tags.count("tr") == 4  # header + three checks
    passed = render_html(hand_made_report(tmp_path, outcome("b", False, "warning")))
    assert "PASSED with 1 warning(s)" in passed


def test_report_is_written_atomically_with_a_latest_pointer(tmp_path: Path) -> None:
    first = hand_made_report(tmp_path, outcome("a", True, share=float("nan")))
    folder = write_report(first, {"results": []})
    assert folder == tmp_path / "quality" / "silver_profiles" / "20260105T103000Z-run-42"
    document = json.loads((folder / "validation.json").read_text())
    assert document["gate"] == "silver/profiles" and document["passed"] is True
    assert document["outcomes"][0]["observed"]["share"] is None  # NaN is not JSON
    assert document["great_expectations"] == {"results": []}
    assert (folder / "report.html").read_text().startswith("<!DOCTYPE html>")
    second = hand_made_report(tmp_path, outcome("a", False))
    assert second.report_dir.name.endswith("-run-42-2")  # same second, same run: new folder
    write_report(second, None)
    latest = json.loads((folder.parent / "latest.json").read_text())
    assert latest["report_dir"] == str(second.report_dir) and latest["passed"] is False
    leftovers = [p.name for p in folder.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_failure_message_is_one_line_naming_gate_checks_and_report(tmp_path: Path) -> None:
    report = hand_made_report(
        tmp_path, outcome("unique(person_id)", False), outcome("not_null(as_of)", False)
    )
    message = failure_message(report)
    assert "\n" not in message
    assert message.startswith("quality gate silver/profiles failed: 2 error-level checks failed")
    assert "unique(person_id), not_null(as_of)" in message
    assert str(report.report_dir / "report.html") in message


# --- no personal data in reports ---------------------------------------------------------

EMAILS = ["jane.doe@example.com", "john+ads@example.org", "x@y.co"]


def gx_like_result() -> dict[str, Any]:
    """The shape of ``ExpectationSuiteValidationResult.to_json_dict()`` with samples."""
    return {
        "success": False,
        "suite_name": "bronze_events",
        "statistics": {"evaluated_expectations": 2, "successful_expectations": 0},
        "results": [
            {
                "success": False,
                "expectation_config": {
                    "type": "expect_column_values_to_match_regex",
                    "kwargs": {"column": "email_sha256", "regex": "^[0-9a-f]{64}$"},
                },
                "result": {
                    "element_count": 3,
                    "unexpected_count": 3,
                    "unexpected_percent": 100.0,
                    "missing_count": 0,
                    "partial_unexpected_list": EMAILS,
                    "partial_unexpected_counts": [{"value": e, "count": 1} for e in EMAILS],
                    "partial_unexpected_index_list": [{"email": e} for e in EMAILS],
                    "unexpected_list": EMAILS,
                    "unexpected_index_query": f"df.filter(F.col('email').isin({EMAILS}))",
                    "details": {"value_counts": [{"value": EMAILS[0], "count": 3}]},
                },
                "exception_info": {
                    "raised_exception": True,
                    "exception_message": f"cannot cast '{EMAILS[0]}'",
                    "exception_traceback": f"Traceback ...\nValueError: {EMAILS[1]}",
                },
            },
            {
                "success": False,
                "expectation_config": {"type": "expect_column_max_to_be_between", "kwargs": {}},
                "result": {"observed_value": EMAILS[2]},
                "exception_info": {"raised_exception": False},
            },
        ],
    }


def test_every_sample_of_values_is_stripped() -> None:
    stripped = strip_validation_result(gx_like_result())
    text = json.dumps(stripped)
    for email in EMAILS:
        assert email not in text
    first = stripped["results"][0]["result"]
    assert first == {
        "element_count": 3,
        "unexpected_count": 3,
        "unexpected_percent": 100.0,
        "missing_count": 0,
        "redacted": [
            "details",
            "partial_unexpected_counts",
            "partial_unexpected_index_list",
            "partial_unexpected_list",
            "unexpected_index_query",
            "unexpected_list",
        ],
    }
    assert "<email:" in stripped["results"][0]["exception_info"]["exception_message"]
    assert stripped["results"][1]["result"] == {"redacted": ["observed_value"]}
    assert stripped["statistics"] == gx_like_result()["statistics"]
    assert gx_like_result()["results"][0]["result"]["unexpected_list"] == EMAILS  # a copy


def test_metadata_observed_values_are_kept() -> None:
    kept = strip_expectation_result(
        {"observed_value": ["id", "email"]}, "expect_table_columns_to_match_set"
    )
    assert kept == {"observed_value": ["id", "email"]}
    assert strip_expectation_result({"observed_value": 12}, "expect_table_row_count_to_equal") == {
        "observed_value": 12
    }


def test_importing_quality_does_not_load_gx_or_spark() -> None:
    code = (
        "import sys, dmp.quality; "
        "print(sorted(m for m in ('great_expectations', 'pyspark') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
