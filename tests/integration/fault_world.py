"""A tiny generated world for the fault-injection tier, run stage by stage with snapshots.

The uninterrupted chain runs in the test process (the shared Spark session, the real command
line through :func:`dmp.cli.main`) with ``DMP_FAULT_TRACE`` set; before each stage the whole
data root is copied, so a killed run of that stage can start from exactly the state the
uninterrupted run started from. Killed runs are real ``python -m dmp`` subprocesses.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dmp import faults
from dmp.config import Settings, load_config
from dmp.generate import WorldSpec, generate_world
from tests.conf_copy import copy_conf
from tests.golden.flow import digests

ROOT = Path(__file__).resolve().parents[2]
SPEC = WorldSpec(users=260, days=3, seed=13, bad_share=0.02, partner_bad_share=0.02, workers=1)
AUDIENCE = "lal_faults"
CHANNEL = "email"
# Tables whose rows hold wall-clock times or random ids in every row (the run log; the erasure
# journal's request ids and timestamps): checked by their own assertions, not by digest.
UNCOMPARED = frozenset({"ops/runs", "ops/erasure_journal"})

_OVERLAY = """
# --- fault-tier overlay: a 260-person world ---
ingest:
  consent_default: true
lookalike:
  min_seed: 10
  min_universe: 100
  bags: 2
  splits: 2
  evaluation_universe: 100
"""


def make_conf(folder: Path) -> Path:
    """A copy of conf/ with the overlay above and small channel minimums."""
    return copy_conf(folder, overlay=_OVERLAY, min_audience=5)


def settings_for(home: Path, conf: Path) -> Settings:
    """Settings of ``home`` with the tier's conf/, ignoring the caller's environment."""
    return load_config(home=home, conf_dir=conf, environ={"DMP_ENV": "local"})


def job_env(conf: Path, **extra: str) -> dict[str, str]:
    """Environment of a command subprocess: only the tier's DMP_ variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMP_")}
    env.update(
        DMP_CONF_DIR=str(conf),
        DMP_ENV="local",
        GX_ANALYTICS_ENABLED="false",
        MLFLOW_DISABLE_TELEMETRY="true",
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        **extra,
    )
    return env


@contextmanager
def in_process_env(conf: Path, trace: Path | None) -> Iterator[None]:
    """The same DMP_ environment for a command run in this process."""
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("DMP_")]:
            patch.delenv(key)
        patch.setenv("DMP_CONF_DIR", str(conf))
        patch.setenv("DMP_ENV", "local")
        if trace is not None:
            patch.setenv(faults.TRACE_ENV, str(trace))
        faults.reset()
        try:
            yield
        finally:
            faults.reset()


def run_in_process(conf: Path, home: Path, argv: list[str], trace: Path | None = None) -> None:
    """``dmp <argv> --home <home>`` in this process (shared Spark session); must succeed."""
    from dmp.cli import main

    with in_process_env(conf, trace):
        code = main([*argv, "--home", str(home)])
    assert code == 0, f"dmp {' '.join(argv)} exited {code}"


def run_killed(conf: Path, home: Path, argv: list[str], kill_at: str, log: Path) -> int:
    """``python -m dmp <argv>`` with ``DMP_KILL_AT=kill_at``; returns its exit status.

    The command runs in its own session; whatever it leaves running after its death (the
    JVM, Python workers) is SIGKILLed too, as a machine crash would.
    """
    command = [sys.executable, "-m", "dmp", *argv, "--home", str(home)]
    with log.open("wb") as output:
        job = subprocess.Popen(
            command,
            env=job_env(conf, DMP_KILL_AT=kill_at),
            cwd=home.parent,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = job.wait(timeout=900)
        finally:
            with suppress(ProcessLookupError):
                os.killpg(job.pid, signal.SIGKILL)
    return code


def state(settings: Settings) -> dict[str, Any]:
    """Order-independent digests of every table (but :data:`UNCOMPARED`) and of the
    *published* export files (hidden temporary folders of unfinished exports left out)."""
    found = {k: v for k, v in digests(settings).items() if k not in UNCOMPARED}
    found["exports/files"] = published_export_rows(settings.exports_dir)
    return found


def published_export_rows(exports: Path) -> list[str]:
    """Sorted data rows of every CSV part in published export folders."""
    rows: list[str] = []
    if not exports.exists():
        return rows
    for part in sorted(exports.rglob("*.csv.gz")):
        if any(p.startswith(".") for p in part.relative_to(exports).parts):
            continue
        with gzip.open(part, "rt") as handle:
            rows.extend(handle.read().splitlines()[1:])
    return sorted(rows)


@dataclass
class StageRun:
    """One stage of the uninterrupted chain."""

    name: str
    argv: list[str]
    before: Path  # copy of the data root as the stage found it
    trace: list[str]
    state_before: dict[str, Any]
    state_after: dict[str, Any]

    def occurrences(self) -> list[str]:
        """Every commit point of the run as ``name:n`` (the n-th time it was reached)."""
        seen: dict[str, int] = {}
        found = []
        for name in self.trace:
            seen[name] = seen.get(name, 0) + 1
            found.append(f"{name}:{seen[name]}")
        return found


@dataclass
class Chain:
    """The uninterrupted run of the writing stages on the tiny world, built lazily: asking for
    a stage runs the stages before it that have not run yet (``make test`` needs only the
    first ones)."""

    folder: Path
    conf: Path
    home: Path
    stages: dict[str, StageRun] = field(default_factory=dict)
    _pending: Iterator[tuple[str, list[str]]] | None = None

    @property
    def settings(self) -> Settings:
        return settings_for(self.home, self.conf)

    def stage(self, name: str) -> StageRun:
        """The run of stage ``name``, running it (and those before it) if needed."""
        if self._pending is None:
            self._pending = stage_commands(self)
        while name not in self.stages:
            step, argv = next(self._pending)
            saved = self.folder / f"stage-{step}.json"
            if saved.exists():  # a chain kept from an earlier session (DMP_FAULTS_DIR)
                data = json.loads(saved.read_text())
                self.stages[step] = StageRun(**{**data, "before": Path(data["before"])})
                continue
            before = self.folder / f"before-{step}"
            shutil.rmtree(before, ignore_errors=True)
            shutil.copytree(self.home, before)
            trace = self.folder / f"trace-{step}"
            trace.unlink(missing_ok=True)
            state_before = state(self.settings)
            run_in_process(self.conf, self.home, argv, trace)
            run = StageRun(
                name=step,
                argv=argv,
                before=before,
                trace=trace.read_text().splitlines(),
                state_before=state_before,
                state_after=state(self.settings),
            )
            saved.write_text(json.dumps({**run.__dict__, "before": str(before)}))
            self.stages[step] = run
        return self.stages[name]


def stage_commands(chain: Chain) -> Iterator[tuple[str, list[str]]]:
    """The writing stages in order with their command lines (erasure's person is chosen from
    the lake the earlier stages wrote: the exported person with the smallest user id)."""
    from dmp.stages import latest_event_date

    yield "ingest", ["ingest"]
    yield "identity", ["identity"]
    day = latest_event_date(chain.settings).isoformat()
    yield "profiles", ["profiles", "--as-of", day]
    yield "segments", ["segments", "--as-of", day]
    yield "lookalike", ["lookalike", "--name", AUDIENCE, "--segment", "active_buyers",
                        "--method", "pu", "--as-of", day]  # fmt: skip
    yield "export", ["export", "--channel", CHANNEL, "--audience", AUDIENCE, "--holdout", "10%",
                     "--on", day]  # fmt: skip
    yield "erase", ["erase", "--user-id", erased_user(chain.settings)]


def erased_user(settings: Settings) -> str:
    """The user id of the exported person with the smallest user id."""
    from dmp.lake import Lake

    lake = Lake(settings.lake_dir)
    exported = {
        r["person_id"]
        for r in lake.read_arrow("gold/export_members").to_pylist()
        if r["group"] == "exported"
    }
    users = [
        r["id_value"]
        for r in lake.read_arrow("silver/identity_map").to_pylist()
        if r["id_type"] == "user_id" and r["person_id"] in exported
    ]
    assert users, "nobody exported has a user id"
    return min(users)


def new_chain(folder: Path) -> Chain:
    """Generate the world under ``folder``; stages run when :meth:`Chain.stage` asks.

    A folder that already holds a chain (``DMP_FAULTS_DIR`` kept from an earlier session,
    for working on one stage's points) is reused as it is.
    """
    conf = folder / "conf"
    home = folder / "home"
    if not (folder / "generated").exists():
        shutil.rmtree(conf, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        make_conf(folder)
        generate_world(SPEC, home)
        shutil.rmtree(home / "truth")
        (folder / "generated").touch()
    return Chain(folder, conf, home)
