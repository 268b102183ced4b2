"""Funnel transforms: ordered step matching per person and step statistics, in Spark.

Matching follows ClickHouse's ``windowFunnel``: a person's level is the highest step
reached by any chain that starts with a step-1 event and meets steps 2, 3, ... in order
(later events), every one within ``window_hours`` of that start. For step times the chain
kept is the latest start reaching that level, each of its steps at the earliest event after
the previous step. Everything runs as Spark expressions: one ``collect_list`` of a person's
funnel events, sorted, folded with ``aggregate`` over one small array of chains (one entry
per step), so no Python runs per event and nothing per person reaches the driver.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from dmp.funnels.settings import FunnelSpec, FunnelStep
from dmp.ingest.schema import EVENTS_SCHEMA

__all__ = [
    "DIMENSIONS",
    "dropoff_segments",
    "funnel_events",
    "funnel_progress",
    "funnel_stats",
    "step_filter",
]

DIMENSIONS = ("all", "channel", "segment")
"""How ``gold/funnels`` splits people: everyone, the channel of step 1, each segment."""
_EVENT_COLUMNS = frozenset(EVENTS_SCHEMA.names)
_CHAIN = "struct<times:array<timestamp>,channel:string>"


def step_filter(step: FunnelStep) -> Column:
    """True for the events of ``step``: its event name and every property value it names."""
    condition = F.col("event_name") == F.lit(step.event)
    for key, value in sorted(step.properties.items()):
        if key in _EVENT_COLUMNS:
            condition = condition & (F.col(key) == F.lit(value))
        else:
            text = str(value).lower() if isinstance(value, bool) else str(value)
            found = F.get_json_object(F.col("properties_json"), f"$.{key}")
            condition = condition & (found == F.lit(text))
    return F.coalesce(condition, F.lit(False))


def funnel_events(events: DataFrame, spec: FunnelSpec) -> DataFrame:
    """``person_id, event_time, message_id, channel, step``: one row per event and step it meets.

    Args:
        events: Attributed events (``person_id``, ``event_time``, ``message_id``,
            ``channel``, ``event_name`` and the property columns the steps use).
        spec: The funnel.
    """
    matched = F.filter(
        F.array(*[F.when(step_filter(s), F.lit(i + 1)) for i, s in enumerate(spec.steps)]),
        lambda step: step.isNotNull(),
    )
    return events.select(
        "person_id", "event_time", "message_id", "channel", F.explode(matched).alias("step")
    )


def funnel_progress(steps: DataFrame, spec: FunnelSpec) -> DataFrame:
    """``person_id, level, step_times, channel`` of everyone with a step-1 event.

    ``level`` is the highest step reached in order within the window, ``step_times`` the
    times of steps 1..level on the kept chain, ``channel`` the channel of its step-1 event.
    Events at the same instant are taken in ``message_id`` order, higher steps of one event
    first, so one event never counts as two consecutive steps.

    Args:
        steps: Output of :func:`funnel_events`.
        spec: The funnel.
    """
    window_us = int(spec.window_hours * 3600 * 1_000_000)
    ordered = steps.groupBy("person_id").agg(
        F.array_sort(
            F.collect_list(
                F.struct(
                    F.col("event_time").alias("t"),
                    F.coalesce("message_id", F.lit("")).alias("m"),
                    (-F.col("step")).alias("d"),
                    F.col("step").alias("s"),
                    F.col("channel").alias("c"),
                )
            )
        ).alias("_events")
    )
    # chains[i]: the chain that reached step i+1 with the latest start so far.
    fold = f"""
    aggregate(_events, array_repeat(cast(null as {_CHAIN}), {len(spec.steps)}),
      (acc, e) -> transform(acc, (x, i) ->
        CASE
          WHEN i + 1 != e.s THEN x
          WHEN e.s = 1 THEN named_struct('times', array(e.t), 'channel', e.c)
          WHEN acc[i - 1] IS NOT NULL
               AND unix_micros(e.t) <= unix_micros(acc[i - 1].times[0]) + {window_us}L
               AND (x IS NULL OR x.times[0] != acc[i - 1].times[0])
            THEN named_struct('times', concat(acc[i - 1].times, array(e.t)),
                              'channel', acc[i - 1].channel)
          ELSE x
        END))
    """
    chains = ordered.select("person_id", F.expr(fold).alias("_chains"))
    # A level once reached stays set (later chains only replace it), so the set entries
    # are exactly steps 1..level.
    level = F.size(F.filter("_chains", lambda chain: chain.isNotNull()))
    with_level = chains.select("person_id", "_chains", level.alias("level")).filter("level > 0")
    # greatest(): the optimiser may evaluate this before the level filter (index 0 fails)
    kept = F.element_at("_chains", F.greatest(F.col("level"), F.lit(1)))
    return with_level.select(
        "person_id",
        "level",
        kept["times"].alias("step_times"),
        kept["channel"].alias("channel"),
    )


def funnel_stats(
    spark: SparkSession,
    progress: DataFrame,
    spec: FunnelSpec,
    day: date,
    segments: DataFrame | None = None,
) -> DataFrame:
    """Step statistics of one funnel, for everyone, per channel and per segment.

    Columns: ``funnel, dimension, dimension_value, step, step_name, event, people, dropped,
    step_conversion, overall_conversion, median_seconds_from_previous, as_of``. ``people``
    reached the step; ``dropped`` reached it but not the next; ``step_conversion`` is
    people over the previous step's people (1.0 at step 1), ``overall_conversion`` over
    step 1's; the median is over the people reaching the step (null at step 1).

    Args:
        spark: The session (for the small table of steps).
        progress: Output of :func:`funnel_progress`.
        spec: The funnel.
        day: The ``as_of`` date.
        segments: ``segment, person_id`` memberships of the same snapshot, or None.
    """
    reached = progress.select(
        "person_id",
        "channel",
        F.posexplode("step_times").alias("_pos", "_time"),
        "step_times",
    ).select(
        "person_id",
        "channel",
        (F.col("_pos") + 1).alias("step"),
        F.when(
            F.col("_pos") > 0,
            (
                F.unix_micros("_time")
                # greatest(): Spark may evaluate the branch for step 1 too (index 0 fails)
                - F.unix_micros(F.element_at("step_times", F.greatest(F.col("_pos"), F.lit(1))))
            )
            / F.lit(1_000_000.0),
        ).alias("seconds"),
    )
    split = reached.select(
        F.lit("all").alias("dimension"), F.lit("all").alias("dimension_value"),
        "step", "seconds",
    ).unionByName(
        reached.select(
            F.lit("channel").alias("dimension"),
            F.coalesce("channel", F.lit("unknown")).alias("dimension_value"),
            "step", "seconds",
        )
    )  # fmt: skip
    if segments is not None:
        split = split.unionByName(
            reached.join(segments.select("person_id", "segment"), "person_id").select(
                F.lit("segment").alias("dimension"),
                F.col("segment").alias("dimension_value"),
                "step",
                "seconds",
            )
        )
    counted = split.groupBy("dimension", "dimension_value", "step").agg(
        F.count(F.lit(1)).alias("people"),
        F.median("seconds").alias("median_seconds_from_previous"),
    )
    steps = spark.createDataFrame(
        [(i + 1, s.label, s.event) for i, s in enumerate(spec.steps)],
        "step int, step_name string, event string",
    )
    grid = counted.select("dimension", "dimension_value").distinct().crossJoin(steps)
    full = grid.join(counted, ["dimension", "dimension_value", "step"], "left").withColumn(
        "people", F.coalesce("people", F.lit(0)).cast("long")
    )
    by_split = Window.partitionBy("dimension", "dimension_value").orderBy("step")
    previous = F.lag("people").over(by_split)
    following = F.lead("people").over(by_split)
    first = F.first("people").over(by_split)
    return full.select(
        F.lit(spec.name).alias("funnel"),
        "dimension",
        "dimension_value",
        "step",
        "step_name",
        "event",
        "people",
        F.when(following.isNotNull(), F.col("people") - following).alias("dropped"),
        F.when(previous.isNull(), F.lit(1.0))
        .when(previous > 0, F.col("people") / previous)
        .alias("step_conversion"),
        F.when(first > 0, F.col("people") / first).alias("overall_conversion"),
        F.col("median_seconds_from_previous").cast("double"),
        F.lit(day).alias("as_of"),
    )


def dropoff_segments(progress: DataFrame, spec: FunnelSpec, day: date) -> DataFrame:
    """``segment, person_id, as_of``: who reached step k but not k+1, for k < last step."""
    last = len(spec.steps)
    return progress.filter(F.col("level") < last).select(
        F.concat(F.lit(f"funnel_{spec.name}_dropoff_"), F.col("level").cast("string")).alias(
            "segment"
        ),
        "person_id",
        F.lit(day).alias("as_of"),
    )
