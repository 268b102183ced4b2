"""Gate reports on disk: ``validation.json`` + a self-contained ``report.html`` per run.

Layout under the reports folder::

    quality/<gate with / as _>/<UTC timestamp>-<run id>/validation.json
                                                       /report.html
    quality/<gate with / as _>/latest.json             -> the last report

A report folder is written under a temporary name and renamed into place, so readers
never see half a report.
"""

from __future__ import annotations

import json
import math
import os
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from dmp.quality.outcome import GateReport
from dmp.quality.redaction import REDACTED_NOTE
from dmp.reports import publish_files, render

__all__ = ["gate_folder", "plan_report_dir", "render_html", "safe_name", "write_report"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def safe_name(gate: str) -> str:
    """A gate name usable as a file name: ``bronze/events`` -> ``bronze_events``."""
    return _UNSAFE.sub("_", gate.replace("/", "_")).strip("._") or "gate"


def gate_folder(reports_dir: Path, gate: str) -> Path:
    """The folder of a gate's reports: ``<reports_dir>/quality/<gate, / replaced by _>``."""
    return reports_dir / "quality" / safe_name(gate)


def plan_report_dir(reports_dir: Path, gate: str, run_id: str, created_at: datetime) -> Path:
    """A new, unused report folder: ``<gate folder>/<UTC timestamp>-<run id>``."""
    stamp = created_at.strftime("%Y%m%dT%H%M%SZ")
    base = gate_folder(reports_dir, gate) / f"{stamp}-{_UNSAFE.sub('_', run_id)}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def write_report(report: GateReport, gx_document: Mapping[str, Any] | None) -> Path:
    """Write ``validation.json`` and ``report.html`` atomically, then update ``latest.json``.

    Args:
        report: The gate's report; ``report.report_dir`` is where it lands.
        gx_document: GX's validation result as JSON, already stripped of values.

    Returns:
        The report folder.
    """
    document = {
        **report.summary(),
        "outcomes": [o.to_dict() for o in report.outcomes],
        "great_expectations": gx_document,
        "note": REDACTED_NOTE,
    }
    validation = json.dumps(_finite(document), indent=2, default=str, allow_nan=False)
    final = report.report_dir
    publish_files(final, {"validation.json": validation, "report.html": render_html(report)})
    _write_latest(report)
    return final


def _finite(value: Any) -> Any:
    # Strict JSON has no NaN or infinity; a share over zero rows must not break the report.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _write_latest(report: GateReport) -> None:
    latest = report.report_dir.parent / "latest.json"
    pointer = {
        **report.summary(),
        "report": report.report_dir.name,
        "html": str(report.report_dir / "report.html"),
    }
    temporary = latest.with_name(f".latest-{uuid.uuid4().hex[:8]}.json")
    temporary.write_text(json.dumps(pointer, indent=2, default=str), encoding="utf-8")
    os.replace(temporary, latest)


def render_html(report: GateReport) -> str:
    """Render a gate report as one self-contained HTML page (inline CSS, no scripts).

    Args:
        report: The gate's report.

    Returns:
        The HTML text.
    """
    title = f"Quality gate {report.gate}"
    return render("quality.html", title=title, report=report, note=REDACTED_NOTE)
