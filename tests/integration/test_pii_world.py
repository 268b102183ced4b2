"""Planted personal data in every identifier form and free-text field never reaches the data root.

A small generated world gets one extra landing file of events (and broken lines) carrying
one person's e-mail, phone, name, street address, birthday and IP address in every place a
client can put them: as ``userId``/``anonymousId``/``previousId`` in each form ingest
recognises (``mailto:``, ``Name <address>``, trailing punctuation, a dotless domain,
``tel:``, national digits), in traits, under personal property keys, in search queries,
page URLs, titles and referrers, and in lines that are quarantined. The whole daily
pipeline runs (ingest, identity, profiles, segments, funnels, lookalike with MLflow,
export, lift), then every table, file, report, export, MLflow store and log under the data
root is scanned for the planted values.

Names are planted under keys (``first_name``, ``address``...) only: a name in arbitrary
prose cannot be told from other words by patterns, and ``properties.name`` is the product
name of the Segment e-commerce spec.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dmp.lake import Lake
from dmp.pipeline import run_pipeline
from tests.integration.pii_scan import scan_files, scan_lake
from tests.integration.pipeline_world import DAYS, make_conf, make_home

# a whole daily pipeline in subprocesses: system tier (make test-all), like test_pipeline.py
pytestmark = [pytest.mark.slow, pytest.mark.system]

EMAIL = "zebediah.quill@example.org"
EMAIL_FORMS = [
    "mailto:Zebediah.Quill@example.org",
    "Zebediah Quill <zebediah.quill@example.org>",
    "zebediah.quill@example.org.",
    "zebediah.quill@example.org;",
    "zebquill@localhost",
]
PHONE_FORMS = ["tel:+1 (415) 555-0199", "415-555-0199", "+14155550199"]
FIRST, LAST, STREET, BIRTHDAY, IP = (
    "Zebediah",
    "Quillfeather",
    "12 Wobblewick Lane",
    "1971-07-13",
    "198.51.100.23",
)
SECRETS = [
    EMAIL,
    "zebquill@localhost",
    "4155550199",
    "14155550199",
    "+14155550199",
    "zebediah",
    "quillfeather",
    "wobblewick",
    BIRTHDAY,
    IP,
]


def _planted_lines(day: date) -> list[str]:
    at = f"{day}T10:00:00.000Z"
    traits = {
        "email": EMAIL,
        "phone": PHONE_FORMS[0],
        "firstName": FIRST,
        "lastName": LAST,
        "name": f"{FIRST} {LAST}",
        "address": {"street": STREET, "city": "Springfield", "postalCode": "94103"},
        "birthday": BIRTHDAY,
    }
    context = {
        "ip": IP,
        "page": {
            "url": f"https://shop.example/?email={EMAIL.replace('@', '%40')}&name={FIRST}+{LAST}",
            "title": f"Hello {EMAIL}, call 415 555 0199",
            "referrer": f"https://ref.example/?ip={IP}&full_name={FIRST}%20{LAST}",
        },
    }
    lines: list[dict[str, Any]] = []
    for n, user_id in enumerate(EMAIL_FORMS + PHONE_FORMS):
        base = {"messageId": f"planted-{n}", "timestamp": at, "context": context}
        lines.append({**base, "type": "identify", "userId": user_id, "traits": traits})
        lines.append(
            {
                **base,
                "messageId": f"planted-search-{n}",
                "type": "track",
                "event": "Products Searched",
                "anonymousId": user_id,
                "properties": {
                    "query": f"{EMAIL} 415 555 0199 {IP}",
                    "first_name": FIRST,
                    "last_name": LAST,
                    "address": STREET,
                    "date_of_birth": BIRTHDAY,
                    "client_ip": IP,
                    "note": f"mail {EMAIL} or call +1 415 555 0199 from {IP}",
                },
            }
        )
        lines.append(
            {**base, "messageId": f"planted-alias-{n}", "type": "alias", "userId": "u-planted",
             "previousId": user_id}
        )  # fmt: skip
        lines.append({**base, "messageId": f"planted-page-{n}", "type": "page", "userId": user_id})
    text = [json.dumps(line) for line in lines]
    broken = json.dumps(lines[0])[:-40]  # truncated: quarantined as malformed JSON
    unknown = json.dumps({**lines[1], "type": "shout"})  # quarantined as unknown type
    escaped = json.dumps(json.dumps(lines[1]))  # a JSON string, not an object
    return [*text, broken, unknown, escaped]


@pytest.fixture(scope="module")
def flowed(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pii-world")
    settings = make_home(folder / "home", make_conf(folder))
    day = DAYS[-1]
    landing = settings.landing_dir / "first_party" / f"dt={day}"
    landing.mkdir(parents=True, exist_ok=True)
    (landing / "planted.jsonl").write_text("\n".join(_planted_lines(day)) + "\n")
    result = run_pipeline(settings, [day])
    failed = [s for s in result.steps if s.status not in ("succeeded", "skipped")]
    assert failed == [], failed
    return settings.home


def test_planted_values_are_in_the_input(flowed: Path) -> None:
    # the scan below is only meaningful if the planted values are there to be found
    assert scan_files(flowed / "landing", SECRETS)


def test_no_planted_personal_data_anywhere_in_the_data_root(spark: Any, flowed: Path) -> None:
    lake = Lake(flowed / "lake")
    assert lake.exists("bronze/quarantine") and lake.exists("bronze/events")
    assert scan_lake(spark, lake, SECRETS) == {}
    leaks = [
        path
        for folder in sorted(flowed.iterdir())
        if folder.name not in ("landing", "truth")
        for path in scan_files(folder, SECRETS)
    ]
    assert leaks == []
