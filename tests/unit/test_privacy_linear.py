"""Every privacy pattern over user text runs in linear time on adversarial 8 KB lines."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dmp.privacy import mask_pii
from tests.hostile_text import LINE_BYTES, hostile_lines

# Seconds allowed per function per 8 KB line. The patterns take well under a second on a
# loaded 2-core machine; the backtracking ones took minutes (a backslash run of 2,000
# characters: 70 s), so the budget separates the two with a wide margin.
BUDGET_SECONDS = 2.5

_MEASURE = textwrap.dedent(
    """
    import functools, json, sys, time
    from dmp import privacy
    from tests.hostile_text import hostile_lines
    from tests.privacy_key import TEST_ID_KEY

    privacy.pseudonymous_id = functools.partial(privacy.pseudonymous_id, key=TEST_ID_KEY)

    functions = [
        "mask_pii", "normalize_email", "normalize_phone", "normalize_name", "normalize_zip",
        "normalize_birth_year", "normalize_city", "normalize_state", "normalize_country",
        "truncate_ip", "email_in_identifier", "phone_in_identifier", "pseudonymous_id",
    ]
    for name, line in hostile_lines().items():
        for function in functions:
            started = time.perf_counter()
            getattr(privacy, function)(line)
            seconds = time.perf_counter() - started
            print(json.dumps([name, function, seconds]), flush=True)
    """
)


def test_generators_make_lines_of_about_8_kb() -> None:
    lines = hostile_lines()
    assert len(lines) >= 15
    assert all(LINE_BYTES * 0.7 <= len(line) <= LINE_BYTES for line in lines.values())


def test_every_pattern_is_linear_on_hostile_lines() -> None:
    # A subprocess, because a backtracking regex cannot be interrupted: a regression must fail
    # this test, not hang the suite.
    limit = 60.0
    root = Path(__file__).resolve().parents[2]
    try:
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=limit,
            check=True,
        )
        output = done.stdout
    except subprocess.TimeoutExpired as expired:
        stdout = expired.stdout
        output = stdout.decode() if isinstance(stdout, bytes) else (stdout or "")
        measured = [json.loads(line)[:2] for line in output.splitlines()]
        pytest.fail(f"gave up after {limit:.0f} s; last finished: {measured[-1:]}")
    slow = [
        (name, function, round(seconds, 2))
        for name, function, seconds in map(json.loads, output.splitlines())
        if seconds > BUDGET_SECONDS
    ]
    assert not slow, f"over {BUDGET_SECONDS} s per 8 KB line: {slow}"


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ('{"e":"jane\\\\\\\\\\\\\\u0040example.com"}', "jane@example.com"),
        ('{"e":"jane\\\\u0040example\\\\u002ecom"}', "jane@example.com"),
        ("a&#00000064;example.com", "a@example.com"),
    ],
)
def test_escaped_emails_are_still_masked(text: str, address: str) -> None:
    masked = mask_pii(text)
    assert masked is not None and "example" not in masked
    assert "<email:" in masked, (text, masked, address)


def test_nested_json_event_is_masked() -> None:
    masked = mask_pii(hostile_lines()["nested_json"])
    assert masked is not None and "jane" not in masked and "<email:" in masked
