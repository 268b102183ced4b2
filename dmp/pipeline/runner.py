"""Run every stage in order for a date, skipping what is up to date.

A stage is skipped when its last successful run with the same parameters read exactly the
table versions that are current now (tables it also writes are left out of the comparison),
so a failed run resumes from the failed stage. Parameters include a digest of the config the
stage depends on, so a config change re-runs it.

Stages computed *as of* a date (profiles, segments, lookalike, export) also record which
landing files up to that date had been ingested. Re-running a completed date whose landed
data is unchanged skips them even though later dates have since moved the shared tables
(events, identity map) on: a date that is done stays done, and re-running it changes no
table. They do re-run when a file for the date (or before it) arrived late, when their
config changed, or when a stage before them re-wrote one of their inputs in this run.
:mod:`dmp.pipeline.lock` keeps two writers (pipelines or single commands) off the same lake.

A scheduler that runs each stage as its own task (``jobs/airflow_daily.py``) calls the
runner once per stage of :data:`PIPELINE_STAGES` with ``stage=`` and one pipeline run id
for the date: what earlier tasks of that run re-wrote is read back from ``ops/runs``, so
the skip and resume rules are the same as in one process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dmp.config import Settings
from dmp.driver import run_stage, session_for
from dmp.errors import UserError
from dmp.lake import Lake
from dmp.pipeline.lock import pipeline_lock
from dmp.registry import stage as registered
from dmp.runlog import RunStatus, params_of, recent_runs
from dmp.stages import Stage
from dmp.tables import RUNS_TABLE

_log = logging.getLogger("dmp")

PIPELINE_STAGES: tuple[str, ...] = (
    "ingest",
    "identity",
    "profiles",
    "segments",
    "funnels",
    "lookalike",
    "export",
    "optimize",
)
"""The pipeline's stages in the order they run (names in :mod:`dmp.registry`). Schedulers
that run one task per stage (``jobs/airflow_daily.py``) follow this order; tests keep them in
step with each other and with the registry."""


@dataclass
class StepOutcome:
    """What happened to one step of one date."""

    day: date
    step: str
    status: str
    seconds: float = 0.0
    detail: str = ""


@dataclass
class PipelineResult:
    """Every step of every date, in order."""

    run_id: str
    steps: list[StepOutcome] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """One line per step."""
        shown = {}
        for step in self.steps:
            detail = f" {step.detail}" if step.detail else ""
            shown[f"{step.day} {step.step}"] = f"{step.status} ({step.seconds:.1f}s){detail}"
        return shown


@dataclass(frozen=True)
class _Step:
    """One registered stage run on one request for one date."""

    name: str
    stage: Stage[Any, Any]
    request: Any
    ready: Callable[[], bool] = lambda: True  # False: nothing to do (e.g. no new files)

    @property
    def job(self) -> str:
        """The stage's job name in ``ops/runs``."""
        return self.stage.name

    def params(self, settings: Settings) -> dict[str, Any]:
        """The request's parameters, plus the digest of the config the stage depends on."""
        params = dict(self.stage.params(self.request))
        if self.stage.config is not None:
            params["config"] = self.stage.config(settings)
        return params

    @property
    def dated(self) -> bool:
        """Computed as of the pipeline date (a snapshot that stays done once done)."""
        return getattr(self.request, "as_of", None) is not None


def run_pipeline(
    settings: Settings,
    dates: list[date],
    *,
    verbose: bool = False,
    stage: str | None = None,
    run_id: str | None = None,
) -> PipelineResult:
    """Run every stage for each date in ``dates`` (oldest first).

    Args:
        settings: Validated configuration.
        dates: The dates to run.
        verbose: Spark INFO logs and progress bars.
        stage: Run only the steps of this stage (one of :data:`PIPELINE_STAGES`), as one
            task of a scheduler that runs each stage separately.
        run_id: Pipeline run id; tables that earlier runs with this id re-wrote count as
            re-written in this run (a scheduler passes one id to every task of a date).

    Raises:
        UserError: ``stage`` is not a pipeline stage.
        PipelineLocked: Another pipeline holds the lake.
        GateFailed: A stage's data-quality gate failed (the pipeline stops there).
        DmpError: A stage failed (the pipeline stops there; re-run to resume).
    """
    if stage is not None and stage not in PIPELINE_STAGES:
        raise UserError(
            f"unknown pipeline stage {stage!r}: choose one of {', '.join(PIPELINE_STAGES)}"
        )
    result = PipelineResult(run_id=run_id or uuid.uuid4().hex[:16])
    lake = Lake(settings.lake_dir)
    with pipeline_lock(settings) as touch:
        earlier = _written_by(lake, result.run_id) if run_id else set()
        for day in sorted(dates):
            written = set(earlier)  # tables re-written for this date in this run
            for step in _steps(settings, day):
                if stage is not None and step.job != stage:
                    continue
                touch()
                started = time.perf_counter()
                params = step.params(settings)
                if step.dated:
                    params["landed"] = _landed_through(lake, day)
                if not step.ready() or _up_to_date(lake, step, params, written):
                    result.steps.append(StepOutcome(day, step.name, RunStatus.SKIPPED))
                    _log.info("pipeline %s: %s up to date, skipped", day, step.name)
                    continue
                outcome = run_stage(
                    step.stage,
                    settings,
                    step.request,
                    spark=session_for(settings, verbose=verbose),
                    verbose=verbose,
                    pipeline_run_id=result.run_id,
                    extra_params=params,
                )
                written |= _last_outputs(lake, step.job)
                result.steps.append(
                    StepOutcome(
                        day,
                        step.name,
                        RunStatus.SUCCEEDED,
                        time.perf_counter() - started,
                        _detail(outcome),
                    )
                )
        wrote = bool(earlier) or any(step.status == RunStatus.SUCCEEDED for step in result.steps)
        if settings.pipeline.optimize and stage in (None, "optimize") and wrote:
            result.steps.append(_maintain(settings, max(dates), result.run_id))
    return result


def _written_by(lake: Lake, pipeline_run_id: str) -> set[str]:
    """Tables that the runs of one pipeline run (earlier tasks of a scheduler) wrote."""
    if not lake.exists(RUNS_TABLE):
        return set()
    rows = lake.read_arrow(RUNS_TABLE, columns=["pipeline_run_id", "outputs"]).to_pylist()
    return {
        table
        for row in rows
        if row["pipeline_run_id"] == pipeline_run_id
        for table, _version in row["outputs"] or []
    }


def _maintain(settings: Settings, day: date, pipeline_run_id: str) -> StepOutcome:
    """Compact and vacuum the lake once the dates are done (only when a stage wrote)."""
    from dmp.maintenance import OPTIMIZE, OptimizeRequest

    started = time.perf_counter()
    outcome = run_stage(OPTIMIZE, settings, OptimizeRequest(), pipeline_run_id=pipeline_run_id)
    seconds = time.perf_counter() - started
    compacted = sum(table.files_compacted for table in outcome.tables)
    return StepOutcome(
        day, "optimize", RunStatus.SUCCEEDED, seconds, f"{compacted} files compacted"
    )


def _steps(settings: Settings, day: date) -> list[_Step]:
    """The requests of one date: every registered pipeline stage, audiences and channels
    expanded from ``pipeline.audiences``."""
    from dmp.export.entry import ExportRequest
    from dmp.funnels.entry import FunnelsRequest
    from dmp.identity.entry import IdentityRequest
    from dmp.ingest.entry import IngestRequest
    from dmp.ingest.landing import discover, pending
    from dmp.ingest.partners import load_partner_specs
    from dmp.lookalike.entry import LookalikeRequest
    from dmp.profiles.entry import ProfilesRequest
    from dmp.segments.entry import SegmentsRequest

    def new_files() -> bool:
        partners = sorted(load_partner_specs(settings.partners_conf_dir))
        options = settings.ingest
        found = discover(
            settings.landing_dir, options.first_party_dir, options.partners_dir, partners
        )
        return bool(pending(Lake(settings.lake_dir), [f for f in found if f.landing_date <= day]))

    steps = [
        _Step("ingest", registered("ingest"), IngestRequest(up_to=day), new_files),
        _Step("identity", registered("identity"), IdentityRequest()),
        _Step("profiles", registered("profiles"), ProfilesRequest(as_of=day)),
        _Step("segments", registered("segments"), SegmentsRequest(as_of=day)),
    ]
    if settings.funnels.definitions:
        steps.append(_Step("funnels", registered("funnels"), FunnelsRequest(as_of=day)))
    for audience in settings.pipeline.audiences:
        request = LookalikeRequest(
            name=audience.name, segment=audience.segment, method=audience.method, as_of=day
        )
        steps.append(_Step(f"lookalike {audience.name}", registered("lookalike"), request))
        for channel in audience.channels:
            export = ExportRequest(
                channel=channel,
                audience=audience.name,
                tier=audience.tier,
                holdout=audience.holdout,
                as_of=day,
            )
            steps.append(
                _Step(f"export {audience.name} -> {channel}", registered("export"), export)
            )
    return steps


def _up_to_date(lake: Lake, step: _Step, params: dict[str, Any], written: set[str]) -> bool:
    """Whether the step's last successful run with these params still stands.

    It stands when every table it read is at the version it read, or, for a dated step,
    when the tables that moved on were not re-written for this date in this run (they moved
    with later dates).
    """
    wanted = params_of(params)
    for run in recent_runs(lake, limit=1_000_000, jobs=[step.job]):
        if run["status"] != RunStatus.SUCCEEDED or run["params"] != wanted:
            continue
        inputs = {t: v for t, v in run["inputs"].items() if t not in run["outputs"]}
        if not inputs:
            return False
        moved = {table for table, version in inputs.items() if lake.changed_since(table, version)}
        return not moved or (step.dated and not moved & written)
    return False


def _last_outputs(lake: Lake, job: str) -> set[str]:
    """Tables the newest run of ``job`` wrote (the step that just ran)."""
    runs = recent_runs(lake, limit=1, jobs=[job])
    return set(runs[0]["outputs"]) if runs else set()


def _landed_through(lake: Lake, day: date) -> str:
    """Digest of the landing files with landing dates up to ``day`` ingested so far."""
    from dmp.tables import INGESTED_FILES_TABLE

    if not lake.exists(INGESTED_FILES_TABLE):
        return "none"
    rows = lake.read_arrow(INGESTED_FILES_TABLE, columns=["landing_date", "path", "size"])
    landed = sorted(
        (row["path"], row["size"]) for row in rows.to_pylist() if row["landing_date"] <= day
    )
    return hashlib.sha256(json.dumps(landed).encode()).hexdigest()[:16]


def _detail(outcome: Any) -> str:
    summary = outcome.summary() if hasattr(outcome, "summary") else {}
    keys = ("records read", "persons", "segment count", "eligible universe", "people exported")
    return ", ".join(f"{k} {summary[k]}" for k in keys if k in summary)
