"""The report index: ``reports/index.html`` lists the latest report of each kind and subject.

Every stage run rebuilds it (:func:`dmp.driver.execute`), and ``dmp report`` prints its
path. It reads only the report and export folders (no table, no Spark), so it costs
milliseconds. Report folders are named ``<UTC timestamp>-<run id>``, so the newest sorts
last. The page is rendered by Jinja2 with autoescape on and written atomically.
"""

from __future__ import annotations

import json
import logging
import math
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = ["INDEX_FILE", "IndexEntry", "collect_entries", "write_index"]

_log = logging.getLogger("dmp")

INDEX_FILE = "index.html"
_DATA_DOCS = Path("quality") / "gx-data-docs" / "index.html"
_OLDER_SHOWN = 10


@dataclass(frozen=True)
class IndexEntry:
    """One line of the index: the latest report of one kind for one subject.

    Attributes:
        kind: ``quality gate``, ``lookalike``, ``lift``, ``segments``, ``export``, ``erasure``.
        subject: What the report is about (gate, audience, ``audience -> channel``, date).
        when: When it was written (from the folder name or the report), UTC.
        headline: The figure that matters, in words.
        link: Path of the report, relative to the reports folder.
        ok: False when the report says something failed (a gate), else True.
        older: Earlier reports of the same subject, newest first: (when, link).
    """

    kind: str
    subject: str
    when: str
    headline: str
    link: str
    ok: bool = True
    older: tuple[tuple[str, str], ...] = field(default=())


def collect_entries(reports_dir: Path, exports_dir: Path | None = None) -> list[IndexEntry]:
    """Every kind of report found under ``reports_dir`` (and exports under ``exports_dir``)."""
    entries = [
        *_quality(reports_dir),
        *_lookalike(reports_dir),
        *_lift(reports_dir),
        *_segments(reports_dir),
        *_erasure(reports_dir),
    ]
    if exports_dir is not None:
        entries += _exports(reports_dir, exports_dir)
    return entries


def write_index(
    reports_dir: Path, exports_dir: Path | None = None, *, now: datetime | None = None
) -> Path:
    """Write ``reports_dir/index.html`` atomically and return its path.

    Args:
        reports_dir: The reports root (``settings.reports_dir``).
        exports_dir: The exports root, to list the latest export of each audience and channel.
        now: The time shown as "built at" (default: now, UTC).
    """
    reports_dir.mkdir(parents=True, exist_ok=True)
    entries = collect_entries(reports_dir, exports_dir)
    docs = reports_dir / _DATA_DOCS
    page = _render(
        entries,
        data_docs=_DATA_DOCS.as_posix() if docs.exists() else None,
        built=(now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC"),
    )
    target = reports_dir / INDEX_FILE
    temporary = reports_dir / f".{INDEX_FILE}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        temporary.write_text(page, encoding="utf-8")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


# --- collectors ----------------------------------------------------------------------------


def _runs(folder: Path, marker: str) -> list[Path]:
    """Report folders under ``folder`` holding ``marker``, newest first (no temporary ones)."""
    if not folder.is_dir():
        return []
    found = [
        p
        for p in folder.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / marker).is_file()
    ]
    return sorted(found, key=lambda p: p.name, reverse=True)


def _subjects(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _when(name: str) -> str:
    """``20260102T030405Z-<run>`` -> ``2026-01-02 03:04:05``; other names as they are."""
    try:
        stamp = datetime.strptime(name[:16], "%Y%m%dT%H%M%SZ")
    except ValueError:
        return name
    return stamp.strftime("%Y-%m-%d %H:%M:%S")


def _json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _rel(reports_dir: Path, path: Path) -> str:
    """A URL path relative to the reports folder (names with spaces or ``#`` still link)."""
    return quote(Path(os.path.relpath(path, reports_dir)).as_posix())


def _older(reports_dir: Path, runs: list[Path], page: str) -> tuple[tuple[str, str], ...]:
    return tuple((_when(r.name), _rel(reports_dir, r / page)) for r in runs[1 : 1 + _OLDER_SHOWN])


def _quality(reports_dir: Path) -> Iterable[IndexEntry]:
    for gate in _subjects(reports_dir / "quality"):
        runs = _runs(gate, "report.html")
        if not runs:
            continue
        latest = _json(runs[0] / "validation.json")
        failed = latest.get("failed") or []
        passed = bool(latest.get("passed", not failed))
        checks = latest.get("checks")
        headline = ("passed" if passed else f"FAILED: {', '.join(map(str, failed[:3]))}") + (
            f" ({checks} checks)" if isinstance(checks, int) else ""
        )
        yield IndexEntry(
            "quality gate",
            str(latest.get("gate") or gate.name),
            _when(runs[0].name),
            headline,
            _rel(reports_dir, runs[0] / "report.html"),
            ok=passed,
            older=_older(reports_dir, runs, "report.html"),
        )


def _lookalike(reports_dir: Path) -> Iterable[IndexEntry]:
    for audience in _subjects(reports_dir / "lookalike"):
        runs = _runs(audience, "report.html")
        if not runs:
            continue
        summary = _json(runs[0] / "summary.json")
        parts = []
        if summary.get("method"):
            parts.append(f"method {summary['method']}")
        lift = _number(summary.get("lift_at_1pct"))
        if lift is not None:
            kind = summary.get("headline") or "held-out"
            parts.append(f"{kind} lift@1% {lift:.1f}×")
        if isinstance(summary.get("universe"), int):
            parts.append(f"{summary['universe']:,} people ranked")
        if summary.get("as_of"):
            parts.append(f"as of {summary['as_of']}")
        yield IndexEntry(
            "lookalike",
            audience.name,
            _when(runs[0].name),
            ", ".join(parts) or "report",
            _rel(reports_dir, runs[0] / "report.html"),
            older=_older(reports_dir, runs, "report.html"),
        )


def _lift(reports_dir: Path) -> Iterable[IndexEntry]:
    for audience in _subjects(reports_dir / "lift"):
        runs = _runs(audience, "report.html")
        if not runs:
            continue
        summary = _json(runs[0] / "summary.json")
        yield IndexEntry(
            "lift",
            audience.name,
            _when(runs[0].name),
            str(summary.get("verdict") or "report"),
            _rel(reports_dir, runs[0] / "report.html"),
            older=_older(reports_dir, runs, "report.html"),
        )


def _segments(reports_dir: Path) -> Iterable[IndexEntry]:
    snapshots = _runs(reports_dir / "segments", "overlaps.png")  # one folder per as_of date
    if snapshots:
        yield IndexEntry(
            "segments",
            "segment overlaps",
            f"as of {snapshots[0].name}",
            "overlap heatmap",
            _rel(reports_dir, snapshots[0] / "overlaps.png"),
            older=tuple(
                (f"as of {s.name}", _rel(reports_dir, s / "overlaps.png"))
                for s in snapshots[1 : 1 + _OLDER_SHOWN]
            ),
        )


def _erasure(reports_dir: Path) -> Iterable[IndexEntry]:
    folder = reports_dir / "erasure"
    if not folder.is_dir():
        return
    found = sorted(
        (p for p in folder.glob("*.json") if not p.name.startswith(".")),
        key=lambda p: p.name,
        reverse=True,
    )
    if found:
        yield IndexEntry(
            "erasure",
            "erasure requests",
            _when(found[0].name),
            f"{len(found)} report{'s' if len(found) != 1 else ''}",
            _rel(reports_dir, found[0]),
            older=tuple((_when(p.name), _rel(reports_dir, p)) for p in found[1 : 1 + _OLDER_SHOWN]),
        )


def _exports(reports_dir: Path, exports_dir: Path) -> Iterable[IndexEntry]:
    for source in _subjects(exports_dir):
        for channel in _subjects(source):
            manifests = _runs(channel, "manifest.json")
            if not manifests:
                continue
            # export ids need not sort by time: order by the manifest's creation time
            dated = sorted(
                ((_json(p / "manifest.json"), p) for p in manifests),
                key=lambda item: str(item[0].get("created_at", "")),
                reverse=True,
            )
            manifest, latest = dated[0]
            people = manifest.get("people")
            headline = (f"{people:,} people" if isinstance(people, int) else "export") + (
                f", as of {manifest['as_of']}" if manifest.get("as_of") else ""
            )
            yield IndexEntry(
                "export",
                f"{source.name} -> {channel.name}",
                _created(manifest),
                headline,
                _rel(reports_dir, latest / "manifest.json"),
                older=tuple(
                    (_created(m), _rel(reports_dir, p / "manifest.json"))
                    for m, p in dated[1 : 1 + _OLDER_SHOWN]
                ),
            )


def _created(manifest: dict[str, Any]) -> str:
    return str(manifest.get("created_at", ""))[:19].replace("T", " ")


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


# --- page ----------------------------------------------------------------------------------

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>dmp reports</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 70rem; padding: 0 1rem; color: #1d2733; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; } h2 { font-size: 1.1rem; margin: 1.6rem 0 .3rem; }
.meta { color: #5b6876; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #dde3ea; padding: .35rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f3f6f9; } td.failed { color: #c0392b; font-weight: 600; }
details { color: #5b6876; } details a { margin-right: .6rem; }
</style></head><body>
<h1>dmp reports</h1>
<p class="meta">Built {{ built }}. The latest report of each kind; earlier ones under
"older".{% if data_docs %} <a href="{{ data_docs }}">GX Data Docs</a> (every validation
result; its pages load CSS from public CDNs).{% endif %}</p>
{% if not sections %}<p>No reports yet: run a stage (e.g. <code>dmp demo</code>).</p>{% endif %}
{% for kind, entries in sections %}
<h2>{{ kind }}</h2>
<table><thead><tr><th>subject</th><th>latest</th><th>headline</th><th>older</th></tr></thead>
<tbody>
{% for e in entries %}<tr>
<td><a href="{{ e.link }}">{{ e.subject }}</a></td><td>{{ e.when }}</td>
<td{% if not e.ok %} class="failed"{% endif %}>{{ e.headline }}</td>
<td>{% if e.older %}<details><summary>{{ e.older|length }}</summary>
{% for when, link in e.older %}<a href="{{ link }}">{{ when }}</a>{% endfor %}
</details>{% endif %}</td>
</tr>
{% endfor %}</tbody></table>
{% endfor %}
</body></html>
"""

_ORDER = ("quality gate", "lookalike", "lift", "export", "segments", "erasure")
_TITLES = {
    "quality gate": "Data-quality gates",
    "lookalike": "Lookalike audiences",
    "lift": "Campaign lift",
    "export": "Exports",
    "segments": "Segments",
    "erasure": "Erasure",
}


def _render(entries: list[IndexEntry], *, data_docs: str | None, built: str) -> str:
    from jinja2 import Environment

    environment = Environment(autoescape=True, keep_trailing_newline=True)
    sections = [
        (_TITLES[kind], [e for e in entries if e.kind == kind])
        for kind in _ORDER
        if any(e.kind == kind for e in entries)
    ]
    return environment.from_string(_TEMPLATE).render(
        sections=sections, data_docs=data_docs, built=built
    )
