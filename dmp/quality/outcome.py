"""What a gate found: one outcome per check and the gate's report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dmp.quality.spec import Severity

__all__ = ["CheckOutcome", "GateReport"]


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one check of a gate.

    Attributes:
        name: The check's label in the report.
        severity: ``error`` outcomes that fail fail the gate; ``warning`` ones are reported.
        passed: Whether the check held.
        observed: A small JSON-able summary of what was measured (counts, shares,
            min/max, ratios) -- never samples of values.
        details: A sentence of context (why it was skipped, what went wrong).
        kind: Where the outcome came from: ``gx`` (a GX expectation), ``spark`` (a Spark
            aggregate), ``drift`` (a comparison with the previous version) or ``stage``
            (computed by the stage and passed in).
    """

    name: str
    severity: Severity
    passed: bool
    observed: Mapping[str, Any] = field(default_factory=dict)
    details: str = ""
    kind: str = "stage"

    def to_dict(self) -> dict[str, Any]:
        """The outcome as a JSON-able dict."""
        return {
            "name": self.name,
            "kind": self.kind,
            "severity": self.severity,
            "passed": self.passed,
            "observed": dict(self.observed),
            "details": self.details,
        }


@dataclass(frozen=True)
class GateReport:
    """The verdict of one gate run and where its report was written.

    Attributes:
        gate: Gate name.
        run_id: The stage run that ran the gate.
        passed: No error-severity check failed.
        warnings: Failed warning-severity outcomes.
        failures: Failed error-severity outcomes.
        outcomes: Every outcome, in spec order, then drift rules, then the stage's own.
        report_dir: Folder holding ``validation.json`` and ``report.html``.
        seconds: Wall time of the gate, report included.
        created_at: When the gate started (UTC).
    """

    gate: str
    run_id: str
    passed: bool
    warnings: tuple[CheckOutcome, ...]
    failures: tuple[CheckOutcome, ...]
    outcomes: tuple[CheckOutcome, ...]
    report_dir: Path
    seconds: float
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def from_outcomes(
        cls,
        gate: str,
        run_id: str,
        outcomes: tuple[CheckOutcome, ...],
        *,
        report_dir: Path,
        seconds: float,
        created_at: datetime,
    ) -> GateReport:
        """Build the report, deriving the verdict, warnings and failures from ``outcomes``."""
        failed = [o for o in outcomes if not o.passed]
        failures = tuple(o for o in failed if o.severity == "error")
        return cls(
            gate=gate,
            run_id=run_id,
            passed=not failures,
            warnings=tuple(o for o in failed if o.severity == "warning"),
            failures=failures,
            outcomes=outcomes,
            report_dir=report_dir,
            seconds=seconds,
            created_at=created_at,
        )

    def summary(self) -> dict[str, Any]:
        """A short JSON-able summary for logs, run records and ``latest.json``."""
        return {
            "gate": self.gate,
            "run_id": self.run_id,
            "passed": self.passed,
            "created_at": self.created_at.isoformat(),
            "checks": len(self.outcomes),
            "failed": [o.name for o in self.failures],
            "warnings": [o.name for o in self.warnings],
            "report_dir": str(self.report_dir),
            "seconds": round(self.seconds, 3),
        }
