"""``dmp demo``: every stage that exists, end to end, on a generated world."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from dmp.config import Settings
from dmp.driver import run_stage

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
    from dmp.funnels.entry import FUNNELS, FunnelsRequest
    from dmp.generate import WorldSpec
    from dmp.generate.entry import GENERATE
    from dmp.identity.entry import IDENTITY, IdentityRequest
    from dmp.ingest.entry import INGEST, IngestRequest
    from dmp.lookalike.entry import LOOKALIKE, LookalikeRequest
    from dmp.profiles.entry import PROFILES, ProfilesRequest
    from dmp.segments.entry import SEGMENTS, SegmentsRequest
    from dmp.stages import latest_event_date

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
        world = run_stage(GENERATE, settings, spec)
        record("generate", world.summary())
    planted = settings.home / "truth" / "manifest.json"
    if settings.evaluation.truth_dir is None and planted.exists():
        settings = settings.with_truth()  # a generated world: score every stage against it
    ingested = run_stage(INGEST, settings, IngestRequest(), verbose=verbose)
    record("ingest", ingested.summary())
    identities = run_stage(IDENTITY, settings, IdentityRequest(), verbose=verbose)
    record("identity", identities.summary())
    as_of = latest_event_date(settings)
    early = _earlier_snapshot_date(settings, as_of)
    if early is not None:
        # The lookalike's headline is a time split: the seed as of this earlier snapshot,
        # success = people who join it by as_of (without it: held-out seeds, with a note).
        earlier = run_stage(PROFILES, settings, ProfilesRequest(early), verbose=verbose)
        record("profiles (earlier snapshot)", earlier.summary())
    profiled = run_stage(PROFILES, settings, ProfilesRequest(as_of), verbose=verbose)
    record("profiles", profiled.summary())
    segment_file, product = _demo_segments(settings)
    segmented = run_stage(
        SEGMENTS, settings, SegmentsRequest(as_of=as_of, file=segment_file), verbose=verbose
    )
    record("segments", segmented.summary())
    if settings.funnels.definitions:
        funnelled = run_stage(FUNNELS, settings, FunnelsRequest(as_of), verbose=verbose)
        record("funnels", funnelled.summary())
    if product is not None:
        request = LookalikeRequest(
            name=f"lal_{product.lower()}", segment=f"bought_{product.lower()}", as_of=as_of,
            truth_product=product,
        )  # fmt: skip
        audience = run_stage(LOOKALIKE, settings, request, verbose=verbose)
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
    from dmp.export.entry import EXPORT, ExportRequest
    from dmp.generate.outcomes import simulate_outcomes
    from dmp.lift.entry import LIFT, LiftRequest

    request = ExportRequest(channel="meta", audience=audience, holdout=0.1)
    exported = run_stage(EXPORT, settings, request, verbose=verbose)
    record("export", exported.summary())
    results = settings.home / "campaign_results" / f"{audience}.csv"
    simulate_outcomes(
        session_for(settings, verbose=verbose), settings, audience=audience, out=results,
        true_lift=0.2, base_rate=0.08,
    )  # fmt: skip
    measured = run_stage(
        LIFT, settings, LiftRequest(audience=audience, results=results), verbose=verbose
    )
    record("lift", measured.summary())
