"""The stage registry is complete and consistent: every stage is declared once, with
catalogue tables, a command, a ``jobs/`` script, and the pipeline and the Airflow DAG run
only registered stages; a request's parameters are what the pipeline always recorded."""

from __future__ import annotations

import ast
from dataclasses import is_dataclass
from datetime import date
from pathlib import Path

import pytest

from dmp.cli import main
from dmp.config import load_config
from dmp.errors import UserError
from dmp.pipeline.runner import PIPELINE_STAGES
from dmp.registry import STAGE_NAMES, all_stages, stage
from dmp.runlog import params_of
from dmp.stages import Stage
from dmp.tables import TABLES

ROOT = Path(__file__).resolve().parents[2]
JOBS = ROOT / "jobs"
NOT_STAGES = {"_entry", "daily", "airflow_daily"}  # shared body, the pipeline, the DAG


def test_every_registered_stage_is_declared_under_its_name() -> None:
    stages = all_stages()
    assert [s.name for s in stages] == list(STAGE_NAMES)
    for declared in stages:
        assert isinstance(declared, Stage)
        assert is_dataclass(declared.request) or hasattr(declared.request, "model_fields")
    with pytest.raises(UserError, match="unknown stage 'scoring'"):
        stage("scoring")


def test_stages_read_and_write_catalogue_tables_and_own_what_they_write() -> None:
    for declared in all_stages():
        unknown = set(declared.reads + declared.writes) - set(TABLES)
        assert not unknown, f"{declared.name}: {sorted(unknown)} not in dmp/tables.py"
        assert len(set(declared.writes)) == len(declared.writes), declared.name
    # the catalogue names each table's writer: that stage declares it
    for table in TABLES.values():
        if table.writer in STAGE_NAMES:
            assert table.name in stage(table.writer).writes, (table.name, table.writer)


def test_the_pipeline_and_the_airflow_dag_run_registered_stages() -> None:
    assert set(PIPELINE_STAGES) <= set(STAGE_NAMES)
    dag = ast.parse((JOBS / "airflow_daily.py").read_text())
    (stages,) = [
        ast.literal_eval(node.value)
        for node in dag.body
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", "") == "STAGES" for t in node.targets)
    ]
    assert set(stages) <= set(STAGE_NAMES)


def test_every_stage_has_a_job_script_and_every_job_script_a_stage() -> None:
    scripts = {path.stem for path in JOBS.glob("*.py")} - NOT_STAGES
    assert scripts == set(STAGE_NAMES)
    for name in scripts:
        body = ast.parse((JOBS / f"{name}.py").read_text())
        calls = [
            ast.unparse(node)
            for node in ast.walk(body)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "run"
        ]
        assert calls == [f"run({name!r})"], name


def test_every_stage_has_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    for name in STAGE_NAMES:
        assert main([name, "--help"]) == 0, name
    capsys.readouterr()


def test_pipeline_parameters_are_the_requests_fields_as_always_recorded(tmp_path: Path) -> None:
    from dmp.export.entry import ExportRequest
    from dmp.ingest.entry import IngestRequest
    from dmp.lookalike.entry import LookalikeRequest
    from dmp.segments.entry import SegmentsRequest

    day = date(2026, 1, 2)

    def recorded(name: str, request: object) -> dict[str, str]:
        return params_of(stage(name).params(request))

    assert recorded("ingest", IngestRequest(up_to=day)) == {"up_to": '"2026-01-02"'}
    assert recorded("segments", SegmentsRequest(as_of=day)) == {"as_of": '"2026-01-02"'}
    lookalike = LookalikeRequest(name="a", segment="s", method="auto", as_of=day)
    assert recorded("lookalike", lookalike) == params_of(
        {"name": "a", "segment": "s", "method": "auto", "as_of": day}
    )
    export = ExportRequest(channel="meta", audience="a", tier=5, holdout=0.1, as_of=day)
    assert recorded("export", export) == params_of(
        {"channel": "meta", "audience": "a", "tier": 5, "holdout": 0.1, "as_of": day}
    )
    settings = load_config(home=tmp_path, environ={})
    digests = {name: stage(name).config for name in PIPELINE_STAGES}
    assert digests["ingest"] is None  # ingest's own config does not re-run it
    identity = digests["identity"]
    assert identity is not None and identity(settings) == identity(settings)


def test_requests_of_erasure_never_record_identifiers() -> None:
    from dmp.erasure.entry import ErasureRequest

    request = ErasureRequest(emails=["a@example.com"], user_ids=["u1", "u2"])
    assert stage("erase").params(request) == {"emails": 1, "phones": 0, "user_ids": 2}


def test_a_bad_request_is_refused_before_anything_runs(tmp_path: Path) -> None:
    settings = load_config(home=tmp_path, environ={"DMP__FUNNELS__DEFINITIONS": "[]"})
    from dmp.funnels.entry import FunnelsRequest
    from dmp.lookalike.entry import LookalikeRequest

    with pytest.raises(UserError, match="no funnels configured"):
        stage("funnels").bind(settings, FunnelsRequest(date(2026, 1, 2)))
    with pytest.raises(UserError, match="--name"):
        stage("lookalike").bind(settings, LookalikeRequest(name="../up", segment="s"))
    assert not (tmp_path / "lake").exists()
