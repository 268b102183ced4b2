"""The behavioural embedding gives the same factors whatever the layout of its input."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from dmp.lookalike.embedding import person_embeddings
from dmp.lookalike.settings import EmbeddingSettings


def _matrix(spark: Any, rows: list[tuple[str, str, float]], partitions: int) -> Any:
    frame = spark.createDataFrame(rows, "person_id string, product_id string, weight double")
    return frame.repartition(partitions)


def test_factors_do_not_depend_on_row_order_or_partitioning(spark: Any) -> None:
    rng = random.Random(7)
    rows = [
        (f"p{person:03d}", f"sku{rng.randrange(40):02d}", float(rng.choice((1, 3, 5))))
        for person in range(150)
        for _ in range(rng.randrange(1, 8))
    ]
    rows = list({(p, s): (p, s, w) for p, s, w in rows}.values())
    settings = EmbeddingSettings(rank=4, iterations=5)
    shuffled = rows[:]
    rng.shuffle(shuffled)

    def factors(data: list[tuple[str, str, float]], partitions: int) -> dict[str, list[float]]:
        out = person_embeddings(_matrix(spark, data, partitions), date(2026, 1, 1), settings, 3)
        return {r["person_id"]: list(r["embedding"]) for r in out.collect()}

    first = factors(rows, 1)
    second = factors(shuffled, 5)
    assert len(first) == len({r[0] for r in rows})
    assert first == second  # bit for bit, not approximately
