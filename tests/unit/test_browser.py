"""The browser check itself: a broken page must be reported broken, a sound one sound."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.browser import Browser, check_reports, report_pages

# A 1x1 opaque PNG.
_PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def _page(folder: Path, name: str, body: str) -> Path:
    page = folder / name
    page.write_text(
        f"<!doctype html><html><head><title>{name}</title></head><body>{body}</body></html>"
    )
    return page


def test_a_sound_page_renders_and_is_screenshotted(browser: Browser, tmp_path: Path) -> None:
    (tmp_path / "pixel.png").write_bytes(_PIXEL)
    (tmp_path / "other.html").write_text("<p>other</p>")
    page = _page(
        tmp_path,
        "sound.html",
        '<h1>Sound report</h1><img src="pixel.png" alt="a pixel">'
        '<img src="data:image/png;base64,' + base64.b64encode(_PIXEL).decode() + '" alt="inline">'
        '<a href="other.html">other</a><a href="https://example.org/x">outside</a>',
    )
    report = browser.check(page, screenshot=tmp_path / "shots" / "sound.png")
    assert report.problems == []
    report.assert_renders()
    assert (report.title, report.headline, report.images) == ("sound.html", "Sound report", 2)
    assert report.screenshot is not None
    assert report.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_broken_image_a_console_error_and_a_dead_link_are_reported(
    browser: Browser, tmp_path: Path
) -> None:
    (tmp_path / "not-a-png.png").write_text("this is text, not an image")
    page = _page(
        tmp_path,
        "broken.html",
        '<h1>Broken</h1><img src="missing.png" alt="gone"><img src="not-a-png.png" alt="bad">'
        '<a href="nowhere.html">dead</a>'
        "<script>console.error('boom from the page');</script>"
        "<script>throw new Error('kaput');</script>",
    )
    report = browser.check(page)
    assert report.headline == "Broken"
    assert report.broken_images == ["missing.png", "not-a-png.png"]
    joined = "\n".join(report.console_errors)
    assert "boom from the page" in joined and "kaput" in joined
    assert "missing.png" in joined  # the failed resource load is logged too
    assert [link.rsplit("/", 1)[-1] for link in report.broken_links] == ["nowhere.html"]
    with pytest.raises(AssertionError, match=r"image did not load: missing\.png"):
        report.assert_renders()


def test_a_page_without_its_headline_is_reported(browser: Browser, tmp_path: Path) -> None:
    page = _page(tmp_path, "plain.html", "<p>no heading here</p>")
    report = browser.check(page)
    assert report.problems == ["no headline element"]
    assert browser.check(page, headline="p").problems == []


def test_check_reports_opens_every_report_page_and_stops_at_a_broken_one(
    browser: Browser, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    (reports / "lift" / "a" / "run1").mkdir(parents=True)
    (reports / "quality" / "gx-data-docs").mkdir(parents=True)
    (reports / "lift" / ".tmp-run2").mkdir(parents=True)
    _page(reports, "index.html", '<h1>Index</h1><a href="lift/a/run1/report.html">lift</a>')
    _page(reports / "lift" / "a" / "run1", "report.html", "<h1>Lift</h1>")
    _page(reports / "quality" / "gx-data-docs", "index.html", "<p>GX's own site</p>")
    _page(reports / "lift" / ".tmp-run2", "report.html", "<p>half written</p>")
    assert [p.relative_to(reports).as_posix() for p in report_pages(reports)] == [
        "index.html",
        "lift/a/run1/report.html",
    ]
    shots = tmp_path / "shots"
    checked = check_reports(browser, reports, shots)
    assert sorted(p.as_posix() for p in checked) == ["index.html", "lift/a/run1/report.html"]
    assert sorted(p.name for p in shots.iterdir()) == [
        "index.html.png",
        "lift__a__run1__report.html.png",
    ]
    (reports / "lift" / "a" / "run1" / "report.html").unlink()  # the index now links nowhere
    with pytest.raises(AssertionError, match="link to a missing file"):
        check_reports(browser, reports, shots)
    with pytest.raises(AssertionError, match="no HTML report"):
        check_reports(browser, tmp_path / "empty", shots)
