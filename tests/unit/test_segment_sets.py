"""Segment set operations and funnels config: refused before Spark, one line, exit 2."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from dmp.cli import main
from dmp.config import load_config
from dmp.errors import ConfigError, UserError
from dmp.segments.combined import CombinedSegment, evaluation_order


def combined(name: str, include: list[str], exclude: list[str] | None = None) -> CombinedSegment:
    return CombinedSegment(name=name, include=include, exclude=exclude or [])


def test_combined_segments_come_after_what_they_reference() -> None:
    order = evaluation_order(
        ["a", "b"],
        [combined("z", ["y", "a"]), combined("y", ["x"], ["list:stop"]), combined("x", ["b"])],
        ["stop"],
    )
    assert [c.name for c in order] == ["x", "y", "z"]


@pytest.mark.parametrize(
    ("segments", "lists", "message"),
    [
        ([combined("x", ["nope"])], [], "segment x: unknown segment 'nope'"),
        ([combined("x", ["a"], ["list:gone"])], ["other"], "segment x: unknown list 'list:gone'"),
        ([combined("x", ["x"])], [], "cycle: x -> x"),
        (
            [combined("x", ["a"], ["z"]), combined("y", ["x"]), combined("z", ["y"])],
            [],
            "cycle: x -> z -> y -> x",
        ),
    ],
)
def test_unknown_references_and_cycles_are_refused(
    segments: list[CombinedSegment], lists: list[str], message: str
) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluation_order(["a"], segments, lists)


def test_cli_refuses_a_cycle_before_spark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "segments.yaml"
    spec.write_text(
        "segments:\n  - {name: a, where: 'vip_level > 1'}\n"
        "combined:\n  - {name: x, include: [a, y]}\n  - {name: y, include: [x]}\n"
    )
    for command in (
        ["segments", "--file", str(spec)],
        ["segments", "preview", "--file", str(spec)],
    ):
        assert main([*command, "--home", str(tmp_path)]) == 2
        err = capsys.readouterr().err.strip()
        assert err == "error: segments reference each other in a cycle: x -> y -> x"
    assert not (tmp_path / "lake").exists()


def test_cli_preview_needs_one_of_where_or_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["segments", "preview", "--home", str(tmp_path)]) == 2
    assert "exactly one of --where or --file" in capsys.readouterr().err
    assert main(["lists", "remove", "nobody", "--home", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == "error: no list named 'nobody' (lists: none)"
    assert main(["lists", "add", "Bad Name", "--file", "x.csv", "--id-type", "email",
                 "--home", str(tmp_path)]) == 2  # fmt: skip
    assert "must be lower-case snake_case" in capsys.readouterr().err


def test_segments_without_subcommand_still_builds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["segments", "--help"]) == 0
    out = capsys.readouterr().out
    assert "preview" in out and "--file" in out and "--as-of" in out
    calls = []

    class Built:
        def summary(self) -> dict[str, object]:
            return {"persons": 3}

    def execute(job: str, stage: object, settings: object, **options: object) -> Built:
        calls.append((job, options["params"]))
        return Built()

    import dmp.driver

    monkeypatch.setattr(dmp.driver, "execute", execute)
    assert main(["segments", "--as-of", "2026-01-05", "--home", str(tmp_path)]) == 0
    assert calls == [("segments", {"as_of": date(2026, 1, 5), "file": None})]
    assert "persons" in capsys.readouterr().out


def test_default_funnel_follows_the_ecommerce_spec() -> None:
    settings = load_config(environ={})
    (funnel,) = settings.funnels.definitions
    assert [s.event for s in funnel.steps] == [
        "Product Viewed", "Product Added", "Checkout Started", "Order Completed",
    ]  # fmt: skip
    assert funnel.segment_name(2) == "funnel_purchase_dropoff_2"


def test_funnel_config_mistakes_name_the_key(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "funnels:\n  definitions:\n    - name: Bad\n      steps: [{event: A}, {event: B}]\n"
    )
    with pytest.raises(ConfigError, match=r"funnels\.definitions\.0\.name"):
        load_config(extra, environ={})
    extra.write_text("funnels:\n  definitions:\n    - name: one\n      steps: [{event: A}]\n")
    with pytest.raises(ConfigError, match=r"funnels\.definitions\.0\.steps"):
        load_config(extra, environ={})
