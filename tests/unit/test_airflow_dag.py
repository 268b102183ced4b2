"""The Airflow DAG (jobs/airflow_daily.py) runs the pipeline's stages in the pipeline's order,
and running the stages as separate tasks keeps the runner's skip and resume rules.

Airflow is not installed beside dmp, so the DAG file is read with ``ast``: its stage list,
the task each stage becomes and the chain between them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dmp.cli import main
from dmp.config import Settings, load_config
from dmp.lake import OVERWRITE, Lake
from dmp.pipeline import runner
from dmp.pipeline.runner import PIPELINE_STAGES, run_pipeline
from dmp.pipeline.settings import PipelineAudience
from dmp.runlog import Run
from dmp.stages import Stage

DAG_FILE = Path(__file__).resolve().parents[2] / "jobs" / "airflow_daily.py"


def _dag() -> ast.Module:
    return ast.parse(DAG_FILE.read_text(), filename=str(DAG_FILE))


def _stages_in_dag(tree: ast.Module) -> tuple[str, ...]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "STAGES" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, tuple)
            return value
    raise AssertionError("jobs/airflow_daily.py has no STAGES tuple")


def _operator_call(tree: ast.Module) -> ast.Call:
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "SparkSubmitOperator"
    ]
    assert len(calls) == 1, "one SparkSubmitOperator, built once per stage"
    return calls[0]


def _loop_over_stages(tree: ast.Module) -> ast.For:
    loops = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.For)
        and isinstance(node.iter, ast.Name)
        and node.iter.id == "STAGES"
    ]
    assert len(loops) == 1, "the tasks are built in one loop over STAGES"
    return loops[0]


def test_dag_tasks_are_the_pipeline_stages_in_order() -> None:
    tree = _dag()
    assert _stages_in_dag(tree) == PIPELINE_STAGES


def test_each_task_is_a_spark_submit_of_the_daily_job_for_its_stage() -> None:
    tree = _dag()
    loop = _loop_over_stages(tree)
    assert isinstance(loop.target, ast.Name)
    stage_var = loop.target.id
    call = _operator_call(tree)
    assert any(node is call for node in ast.walk(loop)), "the operator is built in the loop"
    keywords = {kw.arg: kw.value for kw in call.keywords}
    task_id = keywords["task_id"]
    assert isinstance(task_id, ast.Name) and task_id.id == stage_var
    assert "daily.py" in ast.unparse(keywords["application"])
    args = keywords["application_args"]
    assert isinstance(args, ast.List)
    rendered = [ast.unparse(a) for a in args.elts]
    pairs = dict(zip(rendered[::2], rendered[1::2], strict=True))
    assert pairs == {
        "'--date'": "'{{ ds }}'",
        "'--stage'": stage_var,
        "'--run-id'": "'{{ run_id }}'",
    }


def test_tasks_are_chained_one_after_the_other() -> None:
    loop = _loop_over_stages(_dag())
    shifts = [
        node
        for node in ast.walk(loop)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift)
    ]
    assert [ast.unparse(s) for s in shifts] == ["previous >> task"]
    assigned = [
        ast.unparse(node)
        for node in ast.walk(loop)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "previous" for t in node.targets)
    ]
    assert assigned == ["previous = task"]


def test_dag_schedule_is_daily_with_catchup_and_one_run_at_a_time() -> None:
    dag = next(
        node
        for node in ast.walk(_dag())
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "DAG"
    )
    keywords = {kw.arg: ast.unparse(kw.value) for kw in dag.keywords}
    assert keywords["schedule"] == "'@daily'"
    assert keywords["catchup"] == "True"
    assert keywords["max_active_runs"] == "1"


def test_the_runner_runs_its_steps_in_pipeline_stage_order(tmp_path: Path) -> None:
    base = load_config(home=tmp_path, environ={})
    audiences = [
        PipelineAudience(name="a", segment="s", channels=["meta", "email"]),
        PipelineAudience(name="b", segment="s", channels=["meta"]),
    ]
    settings = base.model_copy(
        update={"pipeline": base.pipeline.model_copy(update={"audiences": audiences})}
    )
    jobs = [step.job for step in runner._steps(settings, date(2026, 1, 2))] + ["optimize"]
    first_seen = list(dict.fromkeys(jobs))
    assert first_seen == list(PIPELINE_STAGES)
    # an audience's exports come after its lookalike
    assert jobs.index("export") > jobs.index("lookalike")


# --- stage-by-stage runs keep the runner's skip rules ------------------------------------


@dataclass(frozen=True)
class _Day:
    """A fake stage's request: ``up_to`` (ingest) or ``as_of`` (a dated snapshot)."""

    up_to: date | None = None
    as_of: date | None = None


def _fake_steps(identity_config: str, landing: dict[str, int]) -> Any:
    """Three steps on tiny tables: ingest (when files are pending) -> identity -> profiles."""

    def writer(job: str, name: str, reads: tuple[str, ...], config: str | None = None) -> Any:
        def run(spark: None, settings: Settings, run: Run, request: _Day) -> None:
            for table in reads:
                version = run.lake.version(table)
                assert version is not None
                run.inputs[table] = version
            run.write_arrow(pa.table({"x": [1]}), name, mode=OVERWRITE)
            if name == "bronze/e":
                landing["pending"] = 0

        return Stage(
            name=job, request=_Day, run=run, reads=reads, writes=(name,), needs_spark=False,
            config=None if config is None else (lambda settings: config),
        )  # fmt: skip

    def steps(settings: Settings, day: date) -> list[runner._Step]:
        return [
            runner._Step(
                "ingest",
                writer("ingest", "bronze/e", ()),
                _Day(up_to=day),
                lambda: landing["pending"] > 0,
            ),
            runner._Step(
                "identity",
                writer("identity", "silver/m", ("bronze/e",), identity_config),
                _Day(),
            ),
            runner._Step(
                "profiles",
                writer("profiles", "silver/p", ("bronze/e", "silver/m")),
                _Day(as_of=day),
            ),
        ]

    return steps


def _ran(result: runner.PipelineResult) -> list[str]:
    return [s.step for s in result.steps if s.status == "succeeded"]


@pytest.mark.parametrize("split", [False, True], ids=["one_process", "one_task_per_stage"])
def test_stage_tasks_keep_the_skip_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split: bool
) -> None:
    settings = load_config(home=tmp_path, environ={"DMP__PIPELINE__OPTIMIZE": "false"})
    assert not settings.pipeline.optimize
    monkeypatch.setattr(runner, "session_for", lambda *a, **k: None)
    landing = {"pending": 1}
    day = date(2026, 1, 2)

    def run_day(run_id: str) -> list[str]:
        if not split:
            return _ran(run_pipeline(settings, [day], run_id=run_id))
        ran: list[str] = []
        for stage in ("ingest", "identity", "profiles"):
            ran += _ran(run_pipeline(settings, [day], stage=stage, run_id=run_id))
        return ran

    monkeypatch.setattr(runner, "_steps", _fake_steps("v1", landing))
    assert run_day("first") == ["ingest", "identity", "profiles"]
    assert run_day("again") == []  # a completed date writes nothing
    # identity's config changes: it re-writes silver/m, so the dated profiles step must re-run
    # even though it reads tables that move with later dates anyway
    monkeypatch.setattr(runner, "_steps", _fake_steps("v2", landing))
    assert run_day("changed") == ["identity", "profiles"]
    assert Lake(settings.lake_dir).version("silver/p") == 1


def test_unknown_stage_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["pipeline", "run", "--home", str(tmp_path), "--date", "2026-01-02",
                 "--stage", "scoring"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown pipeline stage 'scoring'" in err
    code = main(["pipeline", "run", "--home", str(tmp_path), "--from", "2026-01-01",
                 "--to", "2026-01-02", "--run-id", "x"])  # fmt: skip
    assert code == 2
    assert "--run-id needs --date" in capsys.readouterr().err
