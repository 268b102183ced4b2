"""FP-Growth cross-sell rules against a brute-force enumeration; the bought() shorthand."""

from __future__ import annotations

import itertools
import random
from datetime import date

import pytest

from dmp.expressions import expand_shorthands, validate_expressions
from dmp.profiles.product_rules import PRODUCT_RULE_COLUMNS, baskets, product_rules
from dmp.profiles.settings import ProductRuleSettings
from dmp.segments.spec import SegmentSpec

AS_OF = date(2026, 3, 1)


def brute_force_rules(
    transactions: list[frozenset[str]], min_support: float, min_confidence: float
) -> dict[tuple[tuple[str, ...], str], tuple[float, float, float]]:
    """Every rule X -> y over every itemset, by counting (an independent reference)."""
    n = len(transactions)
    items = sorted(set().union(*transactions))

    def support(itemset: frozenset[str]) -> float:
        return sum(itemset <= t for t in transactions) / n

    rules = {}
    for size in range(2, len(items) + 1):
        for combo in itertools.combinations(items, size):
            whole = frozenset(combo)
            s = support(whole)
            if s < min_support:
                continue
            for y in combo:
                antecedent = whole - {y}
                confidence = s / support(antecedent)
                if confidence >= min_confidence:
                    lift = confidence / support(frozenset({y}))
                    rules[(tuple(sorted(antecedent)), y)] = (s, confidence, lift)
    return rules


def hand_made_baskets() -> list[frozenset[str]]:
    rng = random.Random(11)
    fixed = [{"phone", "case"}, {"phone", "case", "charger"}, {"phone", "charger"},
             {"case"}, {"tea", "mug"}, {"tea", "mug", "biscuits"}, {"tea"}, {"mug", "biscuits"},
             {"phone", "case", "screen"}, {"charger"}]  # fmt: skip
    catalog = ["phone", "case", "charger", "screen", "tea", "mug", "biscuits"]
    noisy = [set(rng.sample(catalog, rng.randint(1, 4))) for _ in range(60)]
    return [frozenset(b) for b in fixed + noisy]


def test_rules_match_brute_force_enumeration(spark) -> None:
    transactions = hand_made_baskets()
    rows = [(f"person{i % 7}", f"o{i}", item) for i, t in enumerate(transactions) for item in t]
    lines = spark.createDataFrame(rows, "person_id string, order_id string, product_id string")
    settings = ProductRuleSettings(min_support=0.05, min_confidence=0.3, max_rules=10_000)
    got = product_rules(baskets(lines), settings, AS_OF).collect()
    expected = brute_force_rules(transactions, 0.05, 0.3)
    assert len(got) == len(expected) > 20
    for row in got:
        key = (tuple(row["antecedent"]), row["consequent"])
        assert key in expected, key
        assert (row["support"], row["confidence"], row["lift"]) == pytest.approx(expected[key])
        assert row["as_of"] == AS_OF
    assert tuple(got[0].asDict()) == PRODUCT_RULE_COLUMNS


def test_max_rules_keeps_the_highest_lift(spark) -> None:
    transactions = hand_made_baskets()
    rows = [(f"person{i % 7}", f"o{i}", item) for i, t in enumerate(transactions) for item in t]
    lines = spark.createDataFrame(rows, "person_id string, order_id string, product_id string")
    settings = ProductRuleSettings(min_support=0.05, min_confidence=0.3, max_rules=5)
    got = product_rules(baskets(lines), settings, AS_OF).collect()
    lifts = sorted((v[2] for v in brute_force_rules(transactions, 0.05, 0.3).values()),
                   reverse=True)  # fmt: skip
    assert [r["lift"] for r in got] == pytest.approx(lifts[:5])


def test_no_baskets_no_rules(spark) -> None:
    lines = spark.createDataFrame([], "person_id string, order_id string, product_id string")
    settings = ProductRuleSettings()
    assert product_rules(baskets(lines), settings, AS_OF).count() == 0


def test_bought_shorthand_selects_cross_sell_targets(spark) -> None:
    spec = SegmentSpec(name="phone_no_case", where="bought('phone') AND NOT Bought( 'case' )")
    assert spec.where == (
        "array_contains(purchased_products, 'phone') AND NOT "
        "array_contains(purchased_products, 'case')"
    )
    assert expand_shorthands("rebought('x') = 1") == "rebought('x') = 1"
    profiles = spark.createDataFrame(
        [("a", ["case", "phone"]), ("b", ["phone"]), ("c", []), ("d", ["case"])],
        "person_id string, purchased_products array<string>",
    )
    validate_expressions(spark, profiles.schema, [(spec.name, spec.where)], "segment")
    picked = sorted(r["person_id"] for r in profiles.filter(spec.where).collect())
    assert picked == ["b"]
