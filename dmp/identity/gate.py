"""The identity gate: one user id per person, no oversized person, every identifier mapped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dmp.config import Settings
from dmp.runlog import Run
from dmp.tables import IDENTITY_MAP_TABLE

if TYPE_CHECKING:
    from dmp.quality import CheckOutcome

GATE = IDENTITY_MAP_TABLE  # the gate of conf/gates.yaml named after its table


def identity_gate(
    spark: SparkSession,
    settings: Settings,
    run: Run,
    identity_map: DataFrame,
    *,
    identifiers: int,
    identifiers_in_bronze: int,
    largest_person: int,
) -> str:
    """Run the identity gate; raise ``GateFailed`` when it fails.

    Adds to the batch checks of ``conf/gates.yaml`` the graph rules no column check can
    express: no person with two user ids and no person above
    ``identity.max_component_size`` identifiers.

    Returns:
        The folder of the written report.
    """
    from dmp.quality import load_gate_specs, run_gate

    spec = load_gate_specs(settings.gates_file)[GATE]
    report = run_gate(
        spark,
        identity_map,
        spec,
        reports_dir=settings.reports_dir,
        run_id=run.run_id,
        data_docs=settings.quality.data_docs,
        extra_outcomes=_graph_rules(
            settings, identity_map, identifiers, identifiers_in_bronze, largest_person
        ),
    )
    return str(report.report_dir)


def _graph_rules(
    settings: Settings,
    identity_map: DataFrame,
    identifiers: int,
    identifiers_in_bronze: int,
    largest_person: int,
) -> list[CheckOutcome]:
    from dmp.quality import CheckOutcome

    per_person = identity_map.groupBy("person_id").agg(
        F.sum((F.col("id_type") == "user_id").cast("int")).alias("user_ids")
    )
    two_users = per_person.filter(F.col("user_ids") > 1).count()
    limit = settings.identity.max_component_size
    return [
        CheckOutcome(
            name="no person holds two user ids",
            severity="error",
            passed=two_users == 0,
            observed={"persons_with_several_user_ids": two_users},
            details="a person holds at most one user id",
        ),
        CheckOutcome(
            name="every identifier in bronze is mapped",
            severity="error",
            passed=identifiers == identifiers_in_bronze,
            observed={
                "mapped": identifiers,
                "in_bronze_not_blocked": identifiers_in_bronze,
            },
            details="blocked placeholder values are excluded and counted as rejected",
        ),
        CheckOutcome(
            name=f"no person above {limit} identifiers",
            severity="error",
            passed=largest_person <= limit,
            observed={"largest_person": largest_person, "limit": limit},
            details="an oversized person is the sign of a bad link",
        ),
    ]
