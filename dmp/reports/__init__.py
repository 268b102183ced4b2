"""The report kit: every HTML report dmp writes is built with it.

- :func:`publish_files`: write a report's files into its folder atomically (a temporary
  sibling folder renamed into place, or each file replaced with the HTML last).
- :func:`render`: Jinja2 templates under ``dmp/reports/templates`` with autoescaping on, one
  shared stylesheet (``style.css``) and a base layout (``base.html``).
- :func:`new_figure` and :func:`png`: matplotlib figures on an Agg canvas (no pyplot state)
  and their PNG bytes without a software stamp, so the same data gives the same bytes.
"""

from __future__ import annotations

from dmp.reports.charts import new_figure, png
from dmp.reports.publish import publish_files
from dmp.reports.templates import data_uri, render

__all__ = ["data_uri", "new_figure", "png", "publish_files", "render"]
