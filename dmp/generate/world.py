"""Generate a whole world: run shards in worker processes, then write the manifest."""

from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dmp.generate.bad_records import BAD_KINDS
from dmp.generate.catalog import build_catalog
from dmp.generate.partners import ALPHA, ALPHA_TAXONOMY, BETA, BETA_TAXONOMY, PARTNER_BAD_KINDS
from dmp.generate.personas import PERSONAS
from dmp.generate.population import build_plan
from dmp.generate.shard import ShardResult, run_shard
from dmp.generate.spec import WorldSpec, WorldSummary
from dmp.generate.truth_tables import SCHEMAS

log = logging.getLogger(__name__)

OUTPUT_FOLDERS = (
    "landing/first_party",
    f"landing/partners/{ALPHA}",
    f"landing/partners/{BETA}",
    "truth",
)
"""Folders under ``home`` the generator owns; they are replaced on every run."""


def _run(args: tuple[str, str, int]) -> ShardResult:
    return run_shard(*args)


def generate_world(
    spec: WorldSpec, home: Path, progress: Callable[[int, int], None] | None = None
) -> WorldSummary:
    """Generate the landing files and the truth datasets of a world.

    Output folders owned by the generator (``landing/first_party``, the two partner folders
    and ``truth``) are replaced; anything else under ``home`` is left alone.

    Args:
        spec: What to generate.
        home: The data root; ``home/landing`` and ``home/truth`` are written.
        progress: Called as ``progress(done_shards, total_shards)`` as shards finish.

    Returns:
        What was written, with counts and throughput.
    """
    began = time.perf_counter()
    home = Path(home)
    for folder in OUTPUT_FOLDERS:
        if (home / folder).exists():
            log.info("replacing %s", home / folder)
            shutil.rmtree(home / folder)
    (home / "landing").mkdir(parents=True, exist_ok=True)
    (home / "truth").mkdir(parents=True, exist_ok=True)
    total = spec.shards
    workers = max(1, min(spec.workers or os.cpu_count() or 1, total))
    tasks = [(spec.model_dump_json(), str(home), shard) for shard in range(total)]
    results: list[ShardResult] = []
    log.info(
        "generating %d users x %d days in %d shards on %d workers",
        spec.users,
        spec.days,
        total,
        workers,
    )
    if workers == 1:
        for task in tasks:
            results.append(_run(task))
            if progress is not None:
                progress(len(results), total)
    else:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(workers) as pool:
            for result in pool.imap_unordered(_run, tasks):
                results.append(result)
                if progress is not None:
                    progress(len(results), total)
    counts: Counter[str] = Counter()
    for result in results:
        counts.update(result.counts)
    _write_campaigns(spec, home / "truth")
    seconds = time.perf_counter() - began
    manifest = _manifest(spec, counts, seconds, results)
    manifest_path = home / "truth" / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    summary = WorldSummary(
        home=home,
        landing=home / "landing",
        truth=home / "truth",
        manifest=manifest_path,
        files=counts["files"],
        counts=_plain_counts(counts),
        bad_by_reason=_by_prefix(counts, "bad:"),
        bytes_written=counts["bytes"],
        seconds=seconds,
        events_per_second=counts["lines"] / seconds if seconds else 0.0,
        mb_per_second=counts["bytes"] / 1e6 / seconds if seconds else 0.0,
    )
    log.info(
        "wrote %d lines (%d bad) in %.1fs: %.0f events/s, %.1f MB/s",
        counts["lines"],
        counts["bad_lines"],
        seconds,
        summary.events_per_second,
        summary.mb_per_second,
    )
    return summary


def _by_prefix(counts: Counter[str], prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: v for k, v in sorted(counts.items()) if k.startswith(prefix)}


def _plain_counts(counts: Counter[str]) -> dict[str, int]:
    out = {k: v for k, v in sorted(counts.items()) if ":" not in k}
    for partner in (ALPHA, BETA):
        out[f"partner_rows_{partner}"] = counts[f"partner_rows:{partner}"]
    out["partner_bad_rows"] = sum(_by_prefix(counts, "partner_bad:").values())
    return out


def _write_campaigns(spec: WorldSpec, truth: Path) -> None:
    catalog = build_catalog(spec.seed)
    folder = truth / "campaigns"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "product_id": [c.product_id for c in catalog.campaigns],
            "name": [c.name for c in catalog.campaigns],
            "category": [c.category for c in catalog.campaigns],
            "brand": [c.brand for c in catalog.campaigns],
            "price": [c.price for c in catalog.campaigns],
            "target_personas": [
                sorted(c.targets, key=lambda k: -c.targets[k]) for c in catalog.campaigns
            ],
            "base_rates": [json.dumps(c.targets, sort_keys=True) for c in catalog.campaigns],
            "background_rate": [c.background_rate for c in catalog.campaigns],
        }
    )
    pq.write_table(table, folder / "part-00000.parquet", compression="zstd")


def _manifest(
    spec: WorldSpec, counts: Counter[str], seconds: float, results: list[ShardResult]
) -> dict[str, object]:
    plan = build_plan(spec.seed, spec.users, spec.days)
    persona_counts = np.bincount(plan.persona, minlength=len(PERSONAS))
    catalog = build_catalog(spec.seed)
    future_end = spec.end_date + dt.timedelta(days=spec.future_days)
    return {
        "spec": spec.model_dump(mode="json"),
        "dates": {
            "first_observed_day": spec.start_date.isoformat(),
            "last_observed_day": spec.end_date.isoformat(),
            "future_window": [
                (spec.end_date + dt.timedelta(days=1)).isoformat(),
                future_end.isoformat(),
            ]
            if spec.future_days
            else None,
        },
        "counts": _plain_counts(counts),
        "bad_lines_by_reason": _by_prefix(counts, "bad:"),
        "partner_bad_rows_by_reason": _by_prefix(counts, "partner_bad:"),
        "bad_kinds": {k: v[0].value for k, v in BAD_KINDS.items()},
        "partner_bad_kinds": {k: v.value for k, v in PARTNER_BAD_KINDS.items()},
        "personas": [
            {"name": p.name, "share": p.share, "persons": int(persona_counts[i])}
            for i, p in enumerate(PERSONAS)
        ],
        "partners": {
            ALPHA: {
                "layout": "email_sha256,segments,score,seen_at",
                "separator": ",",
                "id_type": "email_sha256",
                "timezone": "Asia/Shanghai",
                "timestamp_format": "%Y/%m/%d %H:%M:%S",
                "taxonomy": ALPHA_TAXONOMY,
            },
            BETA: {
                "layout": "ts;maid;beta_uid;interest;conf",
                "separator": ";",
                "id_type": "advertising_id",
                "timezone": "UTC",
                "timestamp_format": "epoch_millis",
                "taxonomy": BETA_TAXONOMY,
            },
        },
        "campaign_products": [
            {
                "product_id": c.product_id,
                "name": c.name,
                "category": c.category,
                "targets": c.targets,
            }
            for c in catalog.campaigns
        ],
        "truth_datasets": sorted([*SCHEMAS, "campaigns"]),
        "timing": {
            "seconds": round(seconds, 3),
            "events_per_second": round(counts["lines"] / seconds, 1) if seconds else None,
            "mb_per_second": round(counts["bytes"] / 1e6 / seconds, 2) if seconds else None,
            "shard_seconds": {
                str(r.shard): round(r.seconds, 3) for r in sorted(results, key=lambda r: r.shard)
            },
        },
    }
