"""``dmp demo``: every stage that exists, end to end, on a generated world."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from dmp.config import Settings
from dmp.driver import execute

__all__ = ["run_demo"]

_log = logging.getLogger("dmp")


def run_demo(
    settings: Settings,
    *,
    users: int = 3000,
    days: int = 30,
    seed: int = 42,
    start_date: date = date(2026, 1, 1),
    verbose: bool = False,
    report: Callable[[str, dict[str, Any]], None] | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """Generate a world (unless one is already landed) and run every stage on it.

    Args:
        settings: Configuration; the world lands under ``settings.home``.
        users: People in the generated world.
        days: Observed days.
        seed: World seed (same seed, same world).
        start_date: First observed day.
        verbose: Spark logs and progress bars.
        report: Called with each stage's name and summary as it finishes.

    Returns:
        ``(stage, summary)`` for every stage run, in order.
    """
    from dmp.generate import WorldSpec
    from dmp.stages import (
        funnels_stage,
        generate_stage,
        identity_stage,
        ingest_stage,
        latest_event_date,
        lookalike_stage,
        profiles_stage,
        segments_stage,
    )

    done: list[tuple[str, dict[str, Any]]] = []

    def record(name: str, summary: dict[str, Any]) -> None:
        done.append((name, summary))
        if report is not None:
            report(name, summary)

    first_party = settings.landing_dir / settings.ingest.first_party_dir
    if first_party.exists() and any(first_party.iterdir()):
        _log.info("demo: landing data already present under %s, not generating", first_party)
    else:
        spec = WorldSpec(users=users, days=days, seed=seed, start_date=start_date)
        world = execute(
            "generate", generate_stage(settings, spec), settings, params=spec.model_dump(),
            needs_spark=False,
        )  # fmt: skip
        record("generate", world.summary())
    planted = settings.home / "truth" / "manifest.json"
    if settings.evaluation.truth_dir is None and planted.exists():
        settings = settings.with_truth()  # a generated world: score every stage against it
    ingested = execute("ingest", ingest_stage(settings, None), settings, verbose=verbose)
    record("ingest", ingested.summary())
    identities = execute("identity", identity_stage(settings), settings, verbose=verbose)
    record("identity", identities.summary())
    as_of = latest_event_date(settings)
    early = _earlier_snapshot_date(settings, as_of)
    if early is not None:
        # The lookalike's headline is a time split: the seed as of this earlier snapshot,
        # success = people who join it by as_of (without it: held-out seeds, with a note).
        earlier = execute(
            "profiles", profiles_stage(settings, early), settings, params={"as_of": early},
            verbose=verbose,
        )  # fmt: skip
        record("profiles (earlier snapshot)", earlier.summary())
    profiled = execute(
        "profiles", profiles_stage(settings, as_of), settings, params={"as_of": as_of},
        verbose=verbose,
    )  # fmt: skip
    record("profiles", profiled.summary())
    segment_file, product = _demo_segments(settings)
    segmented = execute(
        "segments", segments_stage(settings, segment_file, as_of), settings,
        params={"as_of": as_of, "file": str(segment_file)}, verbose=verbose,
    )  # fmt: skip
    record("segments", segmented.summary())
    if settings.funnels.definitions:
        funnelled = execute(
            "funnels", funnels_stage(settings, as_of), settings, params={"as_of": as_of},
            verbose=verbose,
        )  # fmt: skip
        record("funnels", funnelled.summary())
    if product is not None:
        from dmp.lookalike.stage import SeedRequest

        audience = execute(
            "lookalike",
            lookalike_stage(
                settings, name=f"lal_{product.lower()}",
                seed=SeedRequest(segment=f"bought_{product.lower()}"), method=None,
                as_of=as_of, truth_product=product,
            ),
            settings, params={"as_of": as_of, "segment": f"bought_{product.lower()}"},
            verbose=verbose,
        )  # fmt: skip
        record("lookalike", audience.summary())
        _activate(settings, f"lal_{product.lower()}", verbose, record)
    return done


def _earlier_snapshot_date(settings: Settings, as_of: date) -> date | None:
    """``as_of`` minus the lookalike headline's horizon, when the events reach back that far
    with at least as many days again before it (a profile needs some history)."""
    from datetime import timedelta

    from dmp.lake import Lake
    from dmp.tables import EVENTS_TABLE

    horizon = timedelta(days=settings.lookalike.headline.horizon_days)
    days = Lake(settings.lake_dir).partition_values(EVENTS_TABLE, "event_date")
    first = min(date.fromisoformat(d) for d in days)
    early = as_of - horizon
    return early if early - horizon >= first else None


def _demo_segments(settings: Settings) -> tuple[Path, str | None]:
    """The configured segments plus one "bought <campaign product>" segment per product the
    generated world planted (from its manifest); returns the file and the product to expand.
    """
    import json

    import yaml

    from dmp.segments.spec import load_segment_file

    spec = load_segment_file(settings.segments_file).model_dump()
    manifest = settings.home / "truth" / "manifest.json"
    products = []
    if manifest.exists():
        products = [p["product_id"] for p in json.loads(manifest.read_text())["campaign_products"]]
    for product in products:
        spec["segments"].append(
            {
                "name": f"bought_{product.lower()}",
                "description": f"Bought campaign product {product}",
                "where": f"array_contains(purchased_products, '{product}')",
            }
        )
    path = settings.home / "demo_segments.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path, (products[0] if products else None)


def _activate(
    settings: Settings, audience: str, verbose: bool, record: Callable[[str, dict[str, Any]], None]
) -> None:
    """Export the audience to Meta with a 10% holdout, simulate a campaign with a planted
    +20% lift, and measure it."""
    from dmp.driver import session_for
    from dmp.export.stage import ExportRequest
    from dmp.generate.outcomes import simulate_outcomes
    from dmp.stages import export_stage, lift_stage

    request = ExportRequest(channel="meta", audience=audience, holdout=0.1)
    exported = execute(
        "export", export_stage(settings, request), settings, verbose=verbose,
        params={"channel": "meta", "audience": audience, "holdout": "10%"},
    )  # fmt: skip
    record("export", exported.summary())
    results = settings.home / "campaign_results" / f"{audience}.csv"
    simulate_outcomes(
        session_for(settings, verbose=verbose), settings, audience=audience, out=results,
        true_lift=0.2, base_rate=0.08,
    )  # fmt: skip
    measured = execute(
        "lift", lift_stage(settings, audience=audience, results=results, export_id=None),
        settings, verbose=verbose, params={"audience": audience, "results": results.name},
    )  # fmt: skip
    record("lift", measured.summary())
