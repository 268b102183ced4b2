"""The table catalogue: every Delta table of the lake, in one place.

Each entry says where a table lives (``layer/name`` under ``lake/``), how it is partitioned,
which columns identify a row, which stage writes it and which columns hold a person id
(erasure deletes or clears those). Stages import table names from here, never from each
other, so a stage module depends only on the tables it reads and writes.

The golden flow checks this catalogue against the lake it writes: every table it finds is
listed here with the same partition columns (``tests/integration/test_golden.py``).

>>> from dmp.tables import PROFILES_TABLE, TABLES
>>> TABLES[PROFILES_TABLE].partition_by
('as_of',)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Layer = Literal["bronze", "silver", "gold", "ops"]


@dataclass(frozen=True)
class Table:
    """One Delta table of the lake.

    Attributes:
        name: ``layer/name``, the path under ``lake/``.
        writer: The stage (command) that writes it.
        partition_by: Partition columns, outermost first.
        key: Columns that identify one row within the table.
        person_columns: Columns holding a person id: erasure deletes every row where one of
            them is an erased person.
        description: One line for ``dmp show`` and the docs.
        link_columns: Columns that only point at a person (who referred whom): erasure
            clears them and keeps the row, which is someone else's.
        identifier_keyed: Rows are hashed identifiers (``id_type, id_value``): erasure
            deletes the erased persons' identifiers.
    """

    name: str
    writer: str
    partition_by: tuple[str, ...]
    key: tuple[str, ...]
    person_columns: tuple[str, ...]
    description: str
    link_columns: tuple[str, ...] = ()
    identifier_keyed: bool = False

    @property
    def layer(self) -> Layer:
        """``bronze``, ``silver``, ``gold`` or ``ops``."""
        layer = self.name.split("/", 1)[0]
        assert layer in ("bronze", "silver", "gold", "ops"), self.name
        return layer  # type: ignore[return-value]


EVENTS_TABLE = "bronze/events"
QUARANTINE_TABLE = "bronze/quarantine"
INGESTED_FILES_TABLE = "ops/ingested_files"
IDENTITY_MAP_TABLE = "silver/identity_map"
IDENTITY_CHANGES_TABLE = "silver/identity_changes"
PROFILES_TABLE = "silver/profiles"
PRODUCT_RULES_TABLE = "gold/product_rules"
EMBEDDINGS_TABLE = "silver/embeddings"
SEGMENTS_TABLE = "gold/segments"
SEGMENT_SIZES_TABLE = "gold/segment_sizes"
OVERLAPS_TABLE = "gold/segment_overlaps"
SCORES_TABLE = "gold/scores"
CLUSTERS_TABLE = "gold/persona_clusters"
CLUSTER_TRAITS_TABLE = "gold/persona_cluster_traits"
LISTS_TABLE = "gold/lists"
FUNNELS_TABLE = "gold/funnels"
FUNNEL_SEGMENTS_TABLE = "gold/funnel_segments"
AUDIENCES_TABLE = "gold/audiences"
REACH_TABLE = "gold/audience_reach"
UNIVERSE_SCORES_TABLE = "gold/universe_scores"
MEMBERS_TABLE = "gold/export_members"
SUPPRESSION_TABLE = "ops/suppression"
RUNS_TABLE = "ops/runs"
JOURNAL_TABLE = "ops/erasure_journal"

_ALL = (
    Table(EVENTS_TABLE, "ingest", ("event_date",), ("source", "message_id"), (),
          "Accepted events, personal data normalised and hashed."),
    Table(QUARANTINE_TABLE, "ingest", ("landing_date",), ("source_file", "source_line"), (),
          "Rejected lines with a reason, personal data masked."),
    Table(INGESTED_FILES_TABLE, "ingest", (), ("path",), (),
          "Landing files already ingested (what makes ingest idempotent)."),
    Table(IDENTITY_MAP_TABLE, "identity", (), ("id_type", "id_value"), ("person_id",),
          "Every identifier and the person it belongs to."),
    Table(IDENTITY_CHANGES_TABLE, "identity", (), ("from_person_id", "to_person_id"),
          ("from_person_id", "to_person_id"), "Merges and splits of person ids between runs."),
    Table(PROFILES_TABLE, "profiles", ("as_of",), ("as_of", "person_id"),
          ("person_id",), "One row per person per snapshot date.", ("referred_by",)),
    Table(PRODUCT_RULES_TABLE, "profiles", ("as_of",), ("as_of", "antecedent", "consequent"), (),
          "Cross-sell association rules (FP-Growth)."),
    Table(EMBEDDINGS_TABLE, "lookalike", ("as_of",), ("as_of", "person_id"), ("person_id",),
          "ALS person vectors used as lookalike features."),
    Table(SEGMENTS_TABLE, "segments", ("as_of",), ("as_of", "segment", "person_id"),
          ("person_id",), "Segment membership per snapshot."),
    Table(SEGMENT_SIZES_TABLE, "segments", ("as_of",), ("as_of", "segment"), (),
          "Segment sizes and the rule that defined each."),
    Table(OVERLAPS_TABLE, "segments", ("as_of",), ("as_of", "segment_a", "segment_b"), (),
          "Pairwise segment overlaps."),
    Table(SCORES_TABLE, "segments", ("as_of",), ("as_of", "person_id"), ("person_id",),
          "Per-person scores (value, engagement, ...)."),
    Table(CLUSTERS_TABLE, "segments", ("as_of",), ("as_of", "person_id"), ("person_id",),
          "Persona cluster of each person."),
    Table(CLUSTER_TRAITS_TABLE, "segments", ("as_of",), ("as_of", "cluster", "trait"), (),
          "What sets each persona cluster apart."),
    Table(LISTS_TABLE, "lists", ("list",), ("list", "id_type", "id_value"), (),
          "Uploaded lists, identifiers hashed.", identifier_keyed=True),
    Table(FUNNELS_TABLE, "funnels", ("as_of",), ("as_of", "funnel", "dimension",
          "dimension_value", "step"), (), "Funnel step counts and conversion."),
    Table(FUNNEL_SEGMENTS_TABLE, "funnels", ("as_of",), ("as_of", "segment", "person_id"),
          ("person_id",), "Drop-off audiences of each funnel."),
    Table(AUDIENCES_TABLE, "lookalike", ("audience", "as_of"), ("audience", "as_of",
          "person_id"), ("person_id",), "Lookalike audiences: tiered, scored people."),
    Table(REACH_TABLE, "lookalike", ("audience", "as_of"), ("audience", "as_of", "tier"), (),
          "Audience reach per tier and channel."),
    Table(UNIVERSE_SCORES_TABLE, "lookalike", ("audience", "as_of"), ("audience", "as_of",
          "person_id"), ("person_id",),
          "Every eligible person's lookalike score and rank (tier NULL outside the tiers)."),
    Table(MEMBERS_TABLE, "export", ("name",), ("name", "export_id", "person_id"),
          ("person_id",), "Who went into each export, and the holdout group."),
    Table(SUPPRESSION_TABLE, "erase", (), ("id_type", "id_value"), (),
          "Hashed identifiers never to be exported again."),
    Table(RUNS_TABLE, "every command", (), ("run_id",), (), "One row per command run."),
    Table(JOURNAL_TABLE, "erase", (), ("request_id", "step"), (),
          "Erasure requests and the steps done (what makes erasure resumable)."),
)  # fmt: skip

TABLES: dict[str, Table] = {table.name: table for table in _ALL}
# What erasure must clean beyond bronze, in the order it does it.
PERSON_TABLES: tuple[Table, ...] = tuple(t for t in _ALL if t.person_columns)
IDENTIFIER_TABLES: tuple[Table, ...] = tuple(t for t in _ALL if t.identifier_keyed)


def table(name: str) -> Table:
    """The catalogue entry of ``name`` (``layer/name``); ``KeyError`` when unknown."""
    return TABLES[name]
