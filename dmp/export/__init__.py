"""Activation: audience and segment exports per channel, with holdouts.

``export`` writes consented, suppression-aware files for Meta, Google, The Trade Desk and
owned channels, and records who went out and who was held out in ``gold/export_members``
(what ``dmp.lift`` measures campaigns against and erasure cleans).

Names load on first use, so importing the package does not start the JVM or pull in
every submodule.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dmp.export.channels import channel, load_channels
    from dmp.export.stage import ExportRequest, ExportResult, export
    from dmp.export.suppression import add_to_suppression, suppressed_people

__all__ = [
    "ExportRequest",
    "ExportResult",
    "add_to_suppression",
    "channel",
    "export",
    "load_channels",
    "suppressed_people",
]
_LAZY = {
    "channel": "dmp.export.channels",
    "load_channels": "dmp.export.channels",
    "ExportRequest": "dmp.export.stage",
    "ExportResult": "dmp.export.stage",
    "export": "dmp.export.stage",
    "add_to_suppression": "dmp.export.suppression",
    "suppressed_people": "dmp.export.suppression",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dmp.export' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
