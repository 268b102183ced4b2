"""Airflow DAG of the daily pipeline: one SparkSubmitOperator task per pipeline stage.

Copy (or symlink) this file into Airflow's ``dags/`` folder; Airflow needs
``apache-airflow-providers-apache-spark`` and a Spark connection (``spark_default``, or the
one named by ``DMP_SPARK_CONN_ID``) whose ``spark-submit`` can import dmp. Each task runs

    spark-submit jobs/daily.py --date {{ ds }} --stage <stage> --run-id {{ run_id }}

so every task goes through dmp's pipeline runner: a stage whose inputs did not change since
its last successful run is skipped, a task retried after a failure resumes where it stopped,
and the shared ``--run-id`` tells a later task which tables earlier tasks of the same date
re-wrote (the same rules as ``dmp pipeline run`` in one process). ``catchup`` backfills
oldest first, one date at a time (the lake takes one writer: ``max_active_runs=1``).

The task list mirrors ``dmp.pipeline.runner.PIPELINE_STAGES`` and is written out here
because the Airflow scheduler does not import dmp; ``tests/unit/test_airflow_dag.py`` parses
this file and fails when the two drift apart.

Settings (environment of the Airflow scheduler and workers):
    DMP_JOBS_DIR: folder holding dmp's ``jobs/`` scripts (default: this file's folder).
    DMP_SPARK_CONN_ID: Airflow connection of the Spark cluster (default ``spark_default``).
    DMP_HOME, DMP_ENV, DMP_CONFIG, MLFLOW_TRACKING_URI: passed on to the jobs.
    DMP_START_DATE: first date of the schedule (default 2026-01-01).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

STAGES = (
    "ingest",
    "identity",
    "profiles",
    "segments",
    "funnels",
    "lookalike",
    "export",
    "optimize",
)
PASSED_ON = ("DMP_HOME", "DMP_ENV", "DMP_CONFIG", "MLFLOW_TRACKING_URI")

jobs_dir = Path(os.environ.get("DMP_JOBS_DIR", Path(__file__).resolve().parent))
env_vars = {name: os.environ[name] for name in PASSED_ON if name in os.environ}

with DAG(
    dag_id="dmp_daily",
    description="dmp daily pipeline: ingest -> identity -> profiles -> segments -> "
    "lookalike -> export -> optimize",
    schedule="@daily",
    start_date=datetime.fromisoformat(os.environ.get("DMP_START_DATE", "2026-01-01")),
    catchup=True,
    max_active_runs=1,
    default_args={
        "owner": "dmp",
        "retries": 2,
        "retry_delay": timedelta(minutes=10),
        "depends_on_past": False,
    },
    tags=["dmp"],
) as dag:
    previous = None
    for stage in STAGES:
        task = SparkSubmitOperator(
            task_id=stage,
            application=str(jobs_dir / "daily.py"),
            application_args=[
                "--date",
                "{{ ds }}",
                "--stage",
                stage,
                "--run-id",
                "{{ run_id }}",
            ],
            conn_id=os.environ.get("DMP_SPARK_CONN_ID", "spark_default"),
            name=f"dmp-{stage}",
            env_vars=env_vars,
        )
        if previous is not None:
            previous >> task
        previous = task
