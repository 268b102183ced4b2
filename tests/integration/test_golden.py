"""Nothing changes in results: a fixed world through every stage gives the recorded tables.

``tests/golden/expected.json`` holds order-independent digests of every table (and of the
exported files) that the stages produced on the golden world before a change; see
:mod:`tests.golden.flow`. Speed work and refactors must leave them as they are. A change
that alters results on purpose refreshes them with ``DMP_GOLDEN_UPDATE=1`` and says why.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.golden.flow import catalogue_problems, compare, digests, run_flow

EXPECTED = Path(__file__).parents[1] / "golden" / "expected.json"


def test_every_table_matches_the_recorded_output(spark, tmp_path: Path) -> None:
    settings = run_flow(spark, tmp_path / "golden")
    actual = digests(settings)
    if os.environ.get("DMP_GOLDEN_UPDATE") == "1":
        EXPECTED.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
    expected = json.loads(EXPECTED.read_text())
    problems = compare(expected, actual)
    assert not problems, "results changed:\n" + "\n".join(problems)
    wrong = catalogue_problems(settings)
    assert not wrong, "the table catalogue is wrong:\n" + "\n".join(wrong)
