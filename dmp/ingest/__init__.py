"""Ingest: landing files (Segment-spec JSON lines, partner CSV) -> ``bronze/events`` and
``bronze/quarantine``.

Every line ends as exactly one event, one quarantine row with a reason, or a counted
duplicate; personal data is normalised and hashed (or masked, in quarantine) before it is
written. ``ingest(spark, settings, run)`` is the stage; the bronze gate runs before commit.

Names load on first use, so importing the package does not start the JVM or pull in
every submodule.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmp.ingest.gate import bronze_gate
    from dmp.ingest.partners import PartnerSpec, load_partner_specs, parse_partner_line
    from dmp.ingest.reasons import QuarantineReason
    from dmp.ingest.records import parse_first_party_line
    from dmp.ingest.settings import IngestSettings
    from dmp.ingest.stage import IngestResult, ingest

__all__ = [
    "IngestResult",
    "IngestSettings",
    "PartnerSpec",
    "QuarantineReason",
    "bronze_gate",
    "ingest",
    "load_partner_specs",
    "parse_first_party_line",
    "parse_partner_line",
]
_LAZY = {
    "bronze_gate": "dmp.ingest.gate",
    "PartnerSpec": "dmp.ingest.partners",
    "load_partner_specs": "dmp.ingest.partners",
    "parse_partner_line": "dmp.ingest.partners",
    "QuarantineReason": "dmp.ingest.reasons",
    "parse_first_party_line": "dmp.ingest.records",
    "IngestSettings": "dmp.ingest.settings",
    "IngestResult": "dmp.ingest.stage",
    "ingest": "dmp.ingest.stage",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dmp.ingest' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
