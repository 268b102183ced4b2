"""The report kit: atomic folders, escaped templates, reproducible charts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import jinja2
import pytest

from dmp.reports import data_uri, new_figure, png, publish_files, render
from dmp.reports.publish import exchange_paths


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_new_folder_appears_whole_and_html_is_written_last(tmp_path: Path) -> None:
    paths = publish_files(
        tmp_path / "r", {"report.html": "<p>", "a.png": b"\x89PNG", "s.json": "{}"}
    )
    assert list(paths) == ["a.png", "s.json", "report.html"]
    assert _listing(tmp_path) == ["r"]  # no temporary folder left
    assert (tmp_path / "r" / "a.png").read_bytes() == b"\x89PNG"


def test_files_mode_keeps_other_files_and_folder_mode_swaps_the_whole_folder(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "r"
    publish_files(folder, {"report.html": "old", "old.png": b"1"})
    (folder / "notes.txt").write_text("mine")
    publish_files(folder, {"report.html": "new"})
    assert _listing(folder) == ["notes.txt", "old.png", "report.html"]
    assert (folder / "report.html").read_text() == "new"
    publish_files(folder, {"report.html": "newer"}, replace="folder")
    assert _listing(folder) == ["report.html"]
    assert _listing(tmp_path) == ["r"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_a_folder_swap_never_leaves_a_moment_without_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old report is exchanged with the new one in one step: a kill or a reader between
    two renames (old aside, new in) would find no report at all."""
    folder = tmp_path / "r"
    publish_files(folder, {"report.html": "old", "old.png": b"1"})
    real_rename = os.rename

    def rename(source: object, destination: object) -> None:
        assert Path(str(source)) != folder, "the report folder was moved aside"
        real_rename(source, destination)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", rename)
    publish_files(folder, {"report.html": "new"}, replace="folder")
    assert _listing(folder) == ["report.html"]
    assert (folder / "report.html").read_text() == "new"
    assert _listing(tmp_path) == ["r"]


def test_exchange_swaps_two_folders_or_says_it_cannot(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "x").write_text("in a")
    (second / "y").write_text("in b")
    if not exchange_paths(first, second):
        pytest.skip("no atomic exchange on this system")
    assert _listing(first) == ["y"] and _listing(second) == ["x"]
    with pytest.raises(FileNotFoundError):
        exchange_paths(first, tmp_path / "missing")


def test_a_failed_publish_leaves_the_old_report(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    publish_files(folder, {"report.html": "old"})
    with pytest.raises(TypeError):
        publish_files(folder, {"a.png": b"1", "report.html": 3}, replace="folder")  # type: ignore[dict-item]
    assert (folder / "report.html").read_text() == "old"
    assert _listing(tmp_path) == ["r"]
    with pytest.raises(ValueError, match="cannot contain folders"):
        publish_files(folder, {"../escape.html": "x"})


def test_templates_escape_every_value_and_refuse_unknown_names() -> None:
    page = render(
        "lift.html", title="<b>t</b>", audience="<img src=x onerror=alert(1)>", results_file="f",
        created="now", run_id='r"', mood="up", verdict="v", groups_head=["g"], groups=[["x"]],
        lift_head=["l"], lift_rows=[["y"]], chart=data_uri(b"\x89PNG"), level="95%",
        alpha="0.05", detectable="d", notes=[("k", "<i>v</i>")], split_warning=False,
        mlflow_url="javascript:alert(1)", mlflow_linkable=False, audience_run_id=None,
    )  # fmt: skip
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<i>v</i>" not in page and "<a " not in page and "r&#34;" in page
    assert "font: 15px/1.5 system-ui" in page  # the shared stylesheet, inline
    assert 'src="data:image/png;base64,iVBORw==' in page
    with pytest.raises(jinja2.UndefinedError):
        render("quality.html", title="t")


def test_the_same_chart_gives_the_same_png_bytes() -> None:
    def draw() -> bytes:
        figure, (axis,) = new_figure(3, 2)
        axis.bar([0, 1], [3, 5])
        return png(figure)

    first = draw()
    assert first.startswith(b"\x89PNG") and first == draw()
