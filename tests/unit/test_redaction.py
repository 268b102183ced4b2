"""Credentials in URLs never reach the console, the logs or ops/runs."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from dmp.errors import RedactingFormatter, StageFailed, redact_secrets, root_cause
from dmp.lake import Lake
from dmp.runlog import Run, recent_runs, record_run

URI = "https://alice:s3cr%40t@mlflow.example.com:5000"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"API request to {URI}/api/2.0 failed", "API request to https://***@mlflow.example.com"),
        ("sqlite:////tmp/mlflow.db", "sqlite:////tmp/mlflow.db"),
        ("postgresql+psycopg2://u:p@db/x", "postgresql+psycopg2://***@db/x"),
        ("http://token@host/x", "http://***@host/x"),
        (
            "s3://bucket/k?X-Amz-Signature=abc&token=xyz",
            "s3://bucket/k?X-Amz-Signature=abc&token=***",
        ),
        ("mail jane@example.com", "mail jane@example.com"),
    ],
)
def test_redact_secrets(text: str, expected: str) -> None:
    assert redact_secrets(text).startswith(expected)
    assert "s3cr" not in redact_secrets(text) and ":p@" not in redact_secrets(text)


def test_redaction_is_linear_on_hostile_text() -> None:
    for text in ("a" * 20_000 + "@", "a:" * 10_000 + "//x@", "h://" * 5_000, "?key=" * 5_000):
        started = time.perf_counter()
        redact_secrets(text)
        assert time.perf_counter() - started < 0.5, text[:20]


def test_root_cause_and_log_lines_are_redacted() -> None:
    error = RuntimeError(f"MlflowException: API request to {URI}/api failed")
    assert "alice" not in root_cause(error)
    record = logging.LogRecord("dmp", logging.ERROR, __file__, 1, "%s", (URI,), None)
    assert "alice" not in RedactingFormatter("%(message)s").format(record)


def test_ops_runs_message_and_params_are_redacted(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    run = Run(job="lookalike", lake=lake, params={"tracking": URI})
    record_run(run, "failed", str(StageFailed(f"lookalike failed: cannot reach {URI}")))
    [row] = recent_runs(lake, limit=1)
    assert "alice" not in str(row) and "s3cr" not in str(row)
    assert "https://***@mlflow.example.com" in row["message"]


def test_cli_error_line_is_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dmp.cli import main

    monkeypatch.setenv("DMP__SPARK__SHUFFLE_PARTITIONS", URI)
    assert main(["tables", "--home", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "alice" not in err and "s3cr" not in err and err.count("\n") == 1
