"""The report index (reports/index.html): the latest report of each kind and subject, older
ones, Data Docs, escaped text, atomic writes, `dmp report`, and a rebuild after every stage."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pytest

from dmp.cli import main
from dmp.config import load_config
from dmp.driver import execute
from dmp.report_index import collect_entries, write_index
from dmp.runlog import Run

HOSTILE = "<img src=x onerror=alert(1)>"  # a folder name: no slash


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links += [v for k, v in attrs if k == "href" and v]
        if tag in ("script", "img"):
            self.scripts += 1


def _write(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _plant(home: Path) -> None:
    reports, exports = home / "reports", home / "exports"
    for stamp, passed in (("20260101T010000Z-r1", True), ("20260102T010000Z-r2", False)):
        run = reports / "quality" / "bronze_events" / stamp
        _write(run / "report.html")
        summary = {"gate": "bronze/events", "passed": passed, "checks": 9,
                   "failed": [] if passed else ["messageId unique"]}  # fmt: skip
        _write(run / "validation.json", json.dumps(summary))
    _write(reports / "quality" / "bronze_events" / ".tmp-20260103T010000Z-r3" / "report.html")
    _write(reports / "quality" / "gx-data-docs" / "index.html")
    for stamp, lift in (("20260101T020000Z-l1", 3.0), ("20260102T020000Z-l2", 12.34)):
        run = reports / "lookalike" / "lal_vips" / stamp
        _write(run / "report.html")
        summary = {"audience": "lal_vips", "method": "pu", "lift_at_1pct": lift,
                   "universe": 2500, "as_of": "2026-01-02"}  # fmt: skip
        _write(run / "summary.json", json.dumps(summary))
    odd = reports / "lookalike" / HOSTILE / "20260102T030000Z-l3"
    _write(odd / "report.html")
    _write(odd / "summary.json", json.dumps({"method": HOSTILE}))
    lift = reports / "lift" / "lal_vips" / "20260105T010000Z-x1"
    _write(lift / "report.html")
    _write(lift / "summary.json", json.dumps({"verdict": "conversion up 21% (95% CI 4% to 40%)"}))
    _write(reports / "segments" / "2026-01-01" / "overlaps.png")
    _write(reports / "segments" / "2026-01-02" / "overlaps.png")
    for export_id, created, people in (("b-older", "2026-01-01T05:00:00", 900),
                                       ("a-newer", "2026-01-02T05:00:00", 1234)):  # fmt: skip
        manifest = {"created_at": created, "people": people, "as_of": "2026-01-02"}
        _write(exports / "lal_vips" / "meta" / export_id / "manifest.json", json.dumps(manifest))


def test_index_lists_the_latest_of_each_kind_with_its_headline(tmp_path: Path) -> None:
    _plant(tmp_path)
    entries = {(e.kind, e.subject): e for e in collect_entries(tmp_path / "reports",
                                                               tmp_path / "exports")}  # fmt: skip
    gate = entries["quality gate", "bronze/events"]
    assert gate.link == "quality/bronze_events/20260102T010000Z-r2/report.html"
    assert not gate.ok and gate.headline == "FAILED: messageId unique (9 checks)"
    assert gate.older == (
        ("2026-01-01 01:00:00", "quality/bronze_events/20260101T010000Z-r1/report.html"),
    )  # the temporary folder of a report being written is not listed
    lal = entries["lookalike", "lal_vips"]
    assert lal.link.endswith("20260102T020000Z-l2/report.html")
    assert (
        lal.headline == "method pu, held-out lift@1% 12.3×, 2,500 people ranked, as of 2026-01-02"
    )
    assert entries["lift", "lal_vips"].headline.startswith("conversion up 21%")
    assert entries["segments", "segment overlaps"].when == "as of 2026-01-02"
    export = entries["export", "lal_vips -> meta"]
    assert export.headline == "1,234 people, as of 2026-01-02"  # newest by creation time
    assert export.link == "../exports/lal_vips/meta/a-newer/manifest.json"
    assert [link for _, link in export.older] == ["../exports/lal_vips/meta/b-older/manifest.json"]


def test_page_links_resolve_and_text_is_escaped(tmp_path: Path) -> None:
    _plant(tmp_path)
    reports = tmp_path / "reports"
    path = write_index(reports, tmp_path / "exports")
    assert path == reports / "index.html"
    page = path.read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(page)
    assert parser.scripts == 0 and HOSTILE not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "quality/gx-data-docs/index.html" in parser.links
    assert len(parser.links) == 11  # 7 latest, 3 older, Data Docs
    for link in parser.links:
        assert (reports / unquote(link)).exists(), link
    assert sorted(p.name for p in reports.iterdir() if p.is_file()) == ["index.html"]


def test_rewrite_replaces_the_page_and_an_empty_folder_says_so(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    first = write_index(reports).read_text(encoding="utf-8")
    assert "No reports yet" in first and "Data Docs" not in first
    _plant(tmp_path)
    assert "lal_vips" in write_index(reports).read_text(encoding="utf-8")
    assert [p.name for p in reports.iterdir() if p.is_file()] == ["index.html"]


def test_dmp_report_prints_the_path_and_opens_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _plant(tmp_path)
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url) or True)
    assert main(["report", "--home", str(tmp_path)]) == 0
    shown = capsys.readouterr().out.strip()
    assert Path(shown) == tmp_path / "reports" / "index.html" and Path(shown).is_file()
    assert opened == []
    assert main(["report", "--home", str(tmp_path), "--open"]) == 0
    assert opened == [(tmp_path / "reports" / "index.html").absolute().as_uri()]


def test_every_stage_run_rebuilds_the_index(tmp_path: Path) -> None:
    settings = load_config(home=tmp_path, environ={})

    def stage(spark: None, run: Run) -> None:
        folder = settings.reports_dir / "lift" / "aud" / f"20260102T000000Z-{run.run_id}"
        _write(folder / "report.html")
        _write(folder / "summary.json", json.dumps({"verdict": "no detectable lift"}))
        run.write_arrow(pa.table({"x": [1]}), "gold/x")

    execute("lift", stage, settings, needs_spark=False)
    page = (settings.reports_dir / "index.html").read_text(encoding="utf-8")
    assert "no detectable lift" in page


def test_data_docs_are_on_by_default_and_can_be_turned_off(tmp_path: Path) -> None:
    assert load_config(home=tmp_path, environ={}).quality.data_docs is True
    off = load_config(home=tmp_path, environ={"DMP__QUALITY__DATA_DOCS": "false"})
    assert off.quality.data_docs is False


def test_a_lookalike_build_summary_gives_the_index_its_headline(tmp_path: Path) -> None:
    from datetime import date

    from dmp.lookalike.stage import LookalikeResult, _write_summary

    folder = tmp_path / "reports" / "lookalike" / "lal_x" / "20260102T000000Z-r1"
    _write(folder / "report.html")
    result = LookalikeResult(
        audience="lal_x", as_of=date(2026, 1, 2), universe=1800, seed_matched=150,
        method="similarity", evaluation={"similarity": {"lift_at_1pct": 7.25, "auc": 0.9}},
        mlflow_run_id="abc", model_version="3",
    )  # fmt: skip
    _write_summary(folder, result)
    assert json.loads((folder / "summary.json").read_text())["model_version"] == "3"
    [entry] = collect_entries(tmp_path / "reports")
    assert entry.headline == (
        "method similarity, held-out lift@1% 7.2×, 1,800 people ranked, as of 2026-01-02"
    )
    assert {p.name for p in folder.iterdir()} == {"report.html", "summary.json"}  # no temp file
