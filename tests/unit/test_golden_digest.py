"""The golden digests: exact for every column but floats, which match within a tolerance."""

from __future__ import annotations

from typing import Any

from tests.golden.flow import FLOAT_RTOL, _table_digest, compare

_ROWS = [
    {"person_id": f"P{i}", "score": 0.1 * i + 0.01, "embedding": [i / 7, -i / 3, 1.5]}
    for i in range(50)
]


def _digest(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"t": _table_digest(["person_id"], ["embedding", "score"], rows)}


def _changed(**edits: Any) -> list[dict[str, Any]]:
    rows = [dict(r, embedding=list(r["embedding"])) for r in _ROWS]
    for column, (index, value) in edits.items():
        if column == "embedding":
            rows[index]["embedding"][0] = value
        else:
            rows[index][column] = value
    return rows


def test_the_same_rows_in_any_order_give_the_same_digest_to_the_last_bit() -> None:
    # The fault tier compares digests for equality: float fingerprints must not depend on
    # the order the rows are read in.
    shuffled = _ROWS[17:] + _ROWS[:17]
    assert _digest(list(reversed(_ROWS))) == _digest(_ROWS) == _digest(shuffled)


def test_row_order_and_last_bit_noise_do_not_count() -> None:
    noisy = [dict(r, score=r["score"] * (1 + 1e-13)) for r in reversed(_ROWS)]
    assert compare(_digest(_ROWS), _digest(noisy)) == []


def test_a_value_moved_beyond_the_tolerance_is_reported() -> None:
    score = _ROWS[10]["score"]
    problems = compare(_digest(_ROWS), _digest(_changed(score=(10, score * (1 + 1e-3)))))
    assert problems == [f"t: columns differ: score (floats beyond a relative {FLOAT_RTOL:g})"]
    element = _ROWS[3]["embedding"][0]
    problems = compare(_digest(_ROWS), _digest(_changed(embedding=(3, element + 1e-3))))
    assert problems and "embedding" in problems[0] and "score" not in problems[0]


def test_values_trading_places_between_rows_are_reported() -> None:
    swapped = _changed(score=(4, _ROWS[5]["score"]))
    swapped[5]["score"] = _ROWS[4]["score"]  # same multiset of scores, other owners
    assert compare(_digest(_ROWS), _digest(swapped)) != []


def test_nulls_nans_and_exact_columns_are_exact() -> None:
    assert compare(_digest(_ROWS), _digest(_changed(score=(7, None)))) != []
    assert compare(_digest(_ROWS), _digest(_changed(score=(7, float("nan"))))) != []
    renamed = [dict(r) for r in _ROWS]
    renamed[0] = dict(renamed[0], person_id="P999")
    (problem,) = compare(_digest(_ROWS), _digest(renamed))
    # The row's floats now belong to another key, so they are reported with it.
    assert problem.startswith("t: columns differ: person_id, ")
