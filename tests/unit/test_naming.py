"""Audience and segment names are checked before they become paths or MLflow models."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmp.cli import main
from dmp.errors import ConfigError, UserError
from dmp.lookalike.tracking import model_name
from dmp.naming import MAX_NAME_LENGTH, check_name
from dmp.pipeline.settings import PipelineAudience

HOSTILE = ["../escape", "../../etc", "/tmp/abs", "lal/vip", "lal.vip", "lal vip", "", "x" * 65,
           "caf\u00e9", "a\nb", ".", "..", "C:\\temp"]  # fmt: skip


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused_in_one_line(name: str) -> None:
    with pytest.raises(UserError) as caught:
        check_name(name, "--name")
    message = str(caught.value)
    assert message.startswith("--name ") and "\n" not in message
    assert len(message) < 200


@pytest.mark.parametrize("name", ["lal_vip", "lal-vip", "LAL2", "x" * MAX_NAME_LENGTH, "7"])
def test_plain_names_pass(name: str) -> None:
    assert check_name(name, "--name") == name


def test_names_differing_in_dash_and_underscore_are_distinct_models() -> None:
    names = ["lal-vip", "lal_vip", "lal__vip", "lal-_vip", "lal_-vip", "lal--vip"]
    models = {model_name(n) for n in names}
    assert len(models) == len(names)
    assert model_name("lal_vip") == "lookalike_lal_vip"  # unchanged for existing models
    with pytest.raises(UserError):
        model_name("lal.vip")


def test_pipeline_audience_names_are_checked() -> None:
    assert PipelineAudience(name="lal-vip", segment="vip").name == "lal-vip"
    with pytest.raises(ValueError, match="letters, digits"):
        PipelineAudience(name="../../outside", segment="vip")


def test_pipeline_config_with_a_path_name_is_a_config_error(tmp_path: Path) -> None:
    from dmp.config import load_config

    extra = tmp_path / "mine.yaml"
    extra.write_text("pipeline:\n  audiences:\n    - name: /etc/x\n      segment: vip\n")
    with pytest.raises(ConfigError, match=r"pipeline\.audiences\.0\.name"):
        load_config(extra, environ={})


@pytest.mark.parametrize(
    "argv",
    [
        ["lookalike", "--name", "../../outside", "--segment", "vip"],
        ["export", "--channel", "meta", "--audience", "/tmp/abs"],
        ["export", "--channel", "meta", "--segment", "a/b"],
        ["lift", "--audience", "../x", "--results", "r.csv"],
    ],
)
def test_cli_refuses_path_names_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    home = tmp_path / "home"
    assert main([*argv, "--home", str(home)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --") and err.count("\n") == 0
    # Refused before any work: no Spark session, no lake, no run recorded.
    assert not (home / "lake").exists()
