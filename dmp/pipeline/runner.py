"""Run every stage in order for a date, skipping what is up to date.

A stage is skipped when its last successful run with the same parameters read exactly the
table versions that are current now (tables it also writes are left out of the comparison),
so re-running a completed date changes no table and a failed run resumes from the failed
stage. :mod:`dmp.pipeline.lock` keeps two pipelines from writing the same lake.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dmp.config import Settings
from dmp.driver import execute, session_for
from dmp.lake import Lake
from dmp.pipeline.lock import pipeline_lock
from dmp.runlog import RunStatus, params_of, recent_runs

_log = logging.getLogger("dmp")


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


def run_pipeline(settings: Settings, dates: list[date], *, verbose: bool = False) -> PipelineResult:
    """Run every stage for each date in ``dates`` (oldest first).

    Raises:
        PipelineLocked: Another pipeline holds the lake.
        GateFailed: A stage's data-quality gate failed (the pipeline stops there).
        DmpError: A stage failed (the pipeline stops there; re-run to resume).
    """
    result = PipelineResult(run_id=uuid.uuid4().hex[:16])
    lake = Lake(settings.lake_dir)
    with pipeline_lock(settings) as touch:
        spark = session_for(settings, verbose=verbose)
        for day in sorted(dates):
            for step in _steps(settings, day):
                touch()
                started = time.perf_counter()
                if not step.ready() or _up_to_date(lake, step):
                    result.steps.append(StepOutcome(day, step.name, RunStatus.SKIPPED))
                    _log.info("pipeline %s: %s up to date, skipped", day, step.name)
                    continue
                outcome = execute(
                    step.job,
                    step.stage,
                    settings,
                    params=step.params,
                    spark=spark,
                    verbose=verbose,
                    pipeline_run_id=result.run_id,
                )
                result.steps.append(
                    StepOutcome(
                        day,
                        step.name,
                        RunStatus.SUCCEEDED,
                        time.perf_counter() - started,
                        _detail(outcome),
                    )
                )
    return result


def _steps(settings: Settings, day: date) -> list[_Step]:
    from dmp.export.stage import ExportRequest
    from dmp.ingest.landing import discover, pending
    from dmp.ingest.partners import load_partner_specs
    from dmp.lookalike.stage import SeedRequest
    from dmp.stages import (
        export_stage,
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

    steps = [
        _Step(
            "ingest", "ingest", {"up_to": day}, ingest_stage(settings, None, up_to=day), new_files
        ),
        _Step("identity", "identity", {}, identity_stage(settings)),
        _Step("profiles", "profiles", {"as_of": day}, profiles_stage(settings, day)),
        _Step("segments", "segments", {"as_of": day}, segments_stage(settings, None, day)),
    ]
    for audience in settings.pipeline.audiences:
        params = {
            "name": audience.name,
            "segment": audience.segment,
            "method": audience.method,
            "as_of": day,
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


def _up_to_date(lake: Lake, step: _Step) -> bool:
    """Whether the step's last successful run with these params read today's versions."""
    wanted = params_of(step.params)
    for run in recent_runs(lake, limit=500, jobs=[step.job]):
        if run["status"] != RunStatus.SUCCEEDED or run["params"] != wanted:
            continue
        inputs = {t: v for t, v in run["inputs"].items() if t not in run["outputs"]}
        if not inputs:
            return False
        return all(lake.version(table) == version for table, version in inputs.items())
    return False


def _detail(outcome: Any) -> str:
    summary = outcome.summary() if hasattr(outcome, "summary") else {}
    keys = ("records read", "persons", "segment count", "eligible universe", "people exported")
    return ", ".join(f"{k} {summary[k]}" for k in keys if k in summary)
