"""Gate reports on disk: ``validation.json`` + a self-contained ``report.html`` per run.

Layout under the reports folder::

    quality/<gate with / as _>/<UTC timestamp>-<run id>/validation.json
                                                       /report.html
    quality/<gate with / as _>/latest.json             -> the last report

A report folder is written under a temporary name and renamed into place, so readers
never see half a report.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from dmp.quality.outcome import CheckOutcome, GateReport
from dmp.quality.redaction import REDACTED_NOTE

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
    final = report.report_dir
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
    temporary.mkdir()
    try:
        document = {
            **report.summary(),
            "outcomes": [o.to_dict() for o in report.outcomes],
            "great_expectations": gx_document,
            "note": REDACTED_NOTE,
        }
        (temporary / "validation.json").write_text(
            json.dumps(_finite(document), indent=2, default=str, allow_nan=False),
            encoding="utf-8",
        )
        (temporary / "report.html").write_text(render_html(report), encoding="utf-8")
        os.rename(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
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


_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem;
       color: #1d2733; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; }
.meta { color: #5b6876; margin-bottom: 1rem; }
.verdict { display: inline-block; padding: .25rem .7rem; border-radius: 4px; font-weight: 600;
           color: #fff; }
.passed { background: #2f8f4e; } .failed { background: #c0392b; } .warn { background: #c98a0b; }
table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
th, td { border-bottom: 1px solid #dde3ea; padding: .4rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f3f6f9; }
td.result { font-weight: 600; white-space: nowrap; }
tr.fail-error td.result { color: #c0392b; } tr.fail-warning td.result { color: #c98a0b; }
tr.pass td.result { color: #2f8f4e; }
dl { margin: 0; display: grid; grid-template-columns: max-content auto; gap: 0 .6rem; }
dt { color: #5b6876; } dd { margin: 0; font-family: ui-monospace, monospace; }
.note { color: #5b6876; font-size: .9em; margin-top: 1.5rem; }
"""


def render_html(report: GateReport) -> str:
    """Render a gate report as one self-contained HTML page (inline CSS, no scripts).

    Args:
        report: The gate's report.

    Returns:
        The HTML text.
    """
    if not report.passed:
        verdict = f'<span class="verdict failed">FAILED: {len(report.failures)} error(s)</span>'
    elif report.warnings:
        verdict = f'<span class="verdict warn">PASSED with {len(report.warnings)} warning(s)</span>'
    else:
        verdict = '<span class="verdict passed">PASSED</span>'
    rows = "\n".join(_row(outcome) for outcome in report.outcomes)
    title = html.escape(f"Quality gate {report.gate}")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{title}</h1>
<div class="meta">run <code>{html.escape(report.run_id)}</code> &middot;
{html.escape(report.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"))} &middot;
{report.seconds:.1f} s &middot; {len(report.outcomes)} checks</div>
{verdict}
<table>
<thead><tr><th>Check</th><th>Kind</th><th>Severity</th><th>Result</th><th>Observed</th>
<th>Details</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<p class="note">{html.escape(REDACTED_NOTE)}. Full results: <code>validation.json</code>.</p>
</body>
</html>
"""


def _row(outcome: CheckOutcome) -> str:
    if outcome.passed:
        css, result = "pass", "pass"
    else:
        css, result = f"fail-{outcome.severity}", "FAIL" if outcome.severity == "error" else "warn"
    return (
        f'<tr class="{css}"><td>{html.escape(outcome.name)}</td>'
        f"<td>{html.escape(outcome.kind)}</td><td>{html.escape(outcome.severity)}</td>"
        f'<td class="result">{result}</td><td>{_observed(outcome.observed)}</td>'
        f"<td>{html.escape(outcome.details)}</td></tr>"
    )


def _observed(observed: Mapping[str, Any]) -> str:
    if not observed:
        return ""
    items = "".join(
        f"<dt>{html.escape(str(key))}</dt><dd>{html.escape(_shown(value))}</dd>"
        for key, value in observed.items()
    )
    return f"<dl>{items}</dl>"


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | dict):
        return json.dumps(value, default=str, separators=(", ", ": "))
    return str(value)
