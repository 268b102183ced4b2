"""Per-number cost of phone normalisation: libphonenumber (today) vs the old hand rules.

    python benchmarks/bench_phones.py --numbers 100000

Both paths get the same numbers: the golden world's generator styles (US in three
spellings, China with ``+86``, ``0086`` or national) plus 10% garbage and 10% other
countries. The new path is timed with its cache emptied before every call (its worst case:
numbers never seen before) and with every number already cached (its best case, as when a
person's traits repeat across events). Prints µs per number for each and the ratio, and
how many results differ between the two.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dmp.generate.contacts import phone_number
from dmp.privacy import normalize, normalize_phone

sys.path.insert(0, str(Path(__file__).parent))
from phones_hand_rules import normalize_phone_by_hand

_OTHER = ("+44 20 7946 {:04d}", "+49 (0)30 123{:04d}", "06 12 34 {:04d}", "+7 912 345-{:04d}")


def numbers(count: int, seed: int = 7) -> list[str]:
    """Distinct phone-like texts: generator styles, other countries and garbage."""
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    out = []
    for i in range(count):
        roll = pick.random()
        if roll < 0.1:
            out.append("".join(pick.choices("0123456789 -+()x@a", k=pick.randint(1, 20))))
        elif roll < 0.2:
            out.append(pick.choice(_OTHER).format(i % 10_000))
        else:
            out.append(phone_number(rng, pick.random() < 0.3, i))
    return out


def per_number_us(function: Callable[[str], str | None], values: list[str]) -> float:
    """Microseconds per call of ``function`` over ``values`` (best of three passes)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for value in values:
            function(value)
        best = min(best, time.perf_counter() - start)
    return best / len(values) * 1e6


def main() -> None:
    """Time both paths and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--numbers", type=int, default=100_000)
    args = parser.parse_args()
    values = numbers(args.numbers)

    old_us = per_number_us(normalize_phone_by_hand, values)

    def uncached(value: str) -> str | None:
        normalize._e164.cache_clear()  # every call a miss, as for numbers never seen before
        return normalize_phone(value)

    cold_us = per_number_us(uncached, values) - per_number_us(
        lambda _: normalize._e164.cache_clear(), values
    )
    normalize._e164.cache_clear()
    for value in values:
        normalize_phone(value)
    cached = values[-(normalize._e164.cache_info().maxsize or len(values)) :]
    warm_us = per_number_us(normalize_phone, cached)
    differ = sum(normalize_phone(v) != normalize_phone_by_hand(v) for v in values)

    print(f"numbers                          {len(values):>10,}")
    print(f"hand rules (old)                 {old_us:>10.2f} µs/number")
    print(f"libphonenumber, not cached (new) {cold_us:>10.2f} µs/number")
    print(f"libphonenumber, cached (new)     {warm_us:>10.2f} µs/number")
    print(f"ratio new/old, not cached        {cold_us / old_us:>10.1f}x")
    print(f"ratio new/old, cached            {warm_us / old_us:>10.1f}x")
    print(f"results that differ              {differ:>10,}")


if __name__ == "__main__":
    main()
