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
from pathlib import Path
from typing import Any

from dmp.config import Settings
from dmp.driver import execute, session_for
from dmp.errors import UserError
from dmp.lake import Lake
from dmp.pipeline.lock import pipeline_lock
from dmp.runlog import RunStatus, params_of, recent_runs
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
"""The pipeline's stages in the order they run (the jobs a step runs as). Schedulers that run
one task per stage (``jobs/airflow_daily.py``) follow this order; a test keeps them in step."""


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
    name: str
    job: str
    params: dict[str, Any]
    stage: Callable[..., Any]
    ready: Callable[[], bool] = lambda: True  # False: nothing to do (e.g. no new files)

    @property
    def dated(self) -> bool:
        """Computed as of the pipeline date (a snapshot that stays done once done)."""
        return "as_of" in self.params


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
                params = dict(step.params)
                if step.dated:
                    params["landed"] = _landed_through(lake, day)
                if not step.ready() or _up_to_date(lake, step, params, written):
                    result.steps.append(StepOutcome(day, step.name, RunStatus.SKIPPED))
                    _log.info("pipeline %s: %s up to date, skipped", day, step.name)
                    continue
                outcome = execute(
                    step.job,
                    step.stage,
                    settings,
                    params=params,
                    spark=session_for(settings, verbose=verbose),
                    verbose=verbose,
                    pipeline_run_id=result.run_id,
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
    from dmp.maintenance import OptimizeRequest
    from dmp.stages import optimize_stage

    started = time.perf_counter()
    outcome = execute(
        "optimize",
        optimize_stage(settings, OptimizeRequest()),
        settings,
        needs_spark=False,
        pipeline_run_id=pipeline_run_id,
    )
    seconds = time.perf_counter() - started
    compacted = sum(table.files_compacted for table in outcome.tables)
    return StepOutcome(
        day, "optimize", RunStatus.SUCCEEDED, seconds, f"{compacted} files compacted"
    )


def _steps(settings: Settings, day: date) -> list[_Step]:
    from dmp.export.stage import ExportRequest
    from dmp.ingest.landing import discover, pending
    from dmp.ingest.partners import load_partner_specs
    from dmp.lookalike.stage import SeedRequest
    from dmp.stages import (
        export_stage,
        funnels_stage,
        identity_stage,
        ingest_stage,
        lookalike_stage,
        profiles_stage,
        segments_stage,
    )

    def new_files() -> bool:
        partners = sorted(load_partner_specs(settings.partners_conf_dir))
        options = settings.ingest
        found = discover(
            settings.landing_dir, options.first_party_dir, options.partners_dir, partners
        )
        return bool(pending(Lake(settings.lake_dir), [f for f in found if f.landing_date <= day]))

    identity_conf = _digest(settings.identity.model_dump(mode="json"))
    profiles_conf = _digest(settings.profiles.model_dump(mode="json"), settings.tags_file)
    segments_conf = _digest(settings.segments.model_dump(mode="json"), settings.segments_file)
    lookalike_conf = _digest(settings.lookalike.model_dump(mode="json"))
    channels_conf = _digest(None, settings.channels_file)
    steps = [
        _Step(
            "ingest", "ingest", {"up_to": day}, ingest_stage(settings, None, up_to=day), new_files
        ),
        _Step("identity", "identity", {"config": identity_conf}, identity_stage(settings)),
        _Step(
            "profiles",
            "profiles",
            {"as_of": day, "config": profiles_conf},
            profiles_stage(settings, day),
        ),
        _Step(
            "segments",
            "segments",
            {"as_of": day, "config": segments_conf},
            segments_stage(settings, None, day),
        ),
    ]
    if settings.funnels.definitions:
        funnels_conf = _digest(settings.funnels.model_dump(mode="json"))
        steps.append(
            _Step(
                "funnels",
                "funnels",
                {"as_of": day, "config": funnels_conf},
                funnels_stage(settings, day),
            )
        )
    for audience in settings.pipeline.audiences:
        params = {
            "name": audience.name,
            "segment": audience.segment,
            "method": audience.method,
            "as_of": day,
            "config": lookalike_conf,
        }
        stage = lookalike_stage(
            settings,
            name=audience.name,
            seed=SeedRequest(segment=audience.segment),
            method=audience.method,
            as_of=day,
        )
        steps.append(_Step(f"lookalike {audience.name}", "lookalike", params, stage))
        for channel in audience.channels:
            request = ExportRequest(
                channel=channel,
                audience=audience.name,
                tier=audience.tier,
                holdout=audience.holdout,
                as_of=day,
            )
            export_params = {
                "channel": channel,
                "audience": audience.name,
                "tier": audience.tier,
                "holdout": audience.holdout,
                "as_of": day,
                "config": channels_conf,
            }
            steps.append(
                _Step(
                    f"export {audience.name} -> {channel}",
                    "export",
                    export_params,
                    export_stage(settings, request),
                )
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


def _digest(section: Any, *files: Path) -> str:
    """Digest of a config section and the config files a stage reads."""
    parts = [json.dumps(section, sort_keys=True, default=str)]
    parts += [path.read_text() if path.exists() else "" for path in files]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def _detail(outcome: Any) -> str:
    summary = outcome.summary() if hasattr(outcome, "summary") else {}
    keys = ("records read", "persons", "segment count", "eligible universe", "people exported")
    return ", ".join(f"{k} {summary[k]}" for k in keys if k in summary)
