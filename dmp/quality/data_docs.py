"""Optional GX Data Docs: a browsable site of the (redacted) validation results of every gate.

The site is built into ``<reports>/quality/gx-data-docs/`` from a file-backed GX project in
``<reports>/quality/gx/`` that keeps the redacted results, so its index lists past runs.
It is a convenience, not the artifact: GX's pages load CSS and JavaScript from public
CDNs and a logo from GX's S3 bucket (with the context id in the URL), so they do not
render offline and ping a third party when opened. ``report.html`` and
``validation.json`` are the artifact.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from dmp.quality.expectations import import_gx

__all__ = ["DATA_DOCS_FOLDER", "build_data_docs"]

_log = logging.getLogger(__name__)

DATA_DOCS_FOLDER = "gx-data-docs"
_SITE = "dmp"


def build_data_docs(
    reports_dir: Path, suite_name: str, run_id: str, created_at: datetime, result: Any
) -> Path:
    """Store a redacted GX validation result and rebuild the Data Docs pages for it.

    Args:
        reports_dir: The reports root (``<home>/reports``).
        suite_name: The gate's suite name.
        run_id: The stage run.
        created_at: When the gate ran (the result's run time).
        result: The GX ``ExpectationSuiteValidationResult``, already redacted.

    Returns:
        The site's ``index.html``.
    """
    gx = import_gx()
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    quality = reports_dir / "quality"
    site_dir = quality / DATA_DOCS_FOLDER
    context = gx.get_context(mode="file", project_root_dir=str(quality))
    if _SITE not in context.list_data_docs_sites():
        context.add_data_docs_site(
            _SITE,
            {
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(site_dir),
                },
            },
        )
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
        run_id=RunIdentifier(run_name=run_id, run_time=created_at),
        batch_identifier="batch",
    )
    context.validation_results_store.set(key, result)
    context.build_data_docs(site_names=[_SITE], resource_identifiers=[key])
    _log.info("GX Data Docs updated: %s", site_dir / "index.html")
    return site_dir / "index.html"
