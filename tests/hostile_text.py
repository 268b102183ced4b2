"""Adversarial text generators: lines built to make backtracking regexes slow.

Shared by the pure-Python (tests/unit) and the Spark (tests/spark) linear-time tests, so the
two masking twins face the same inputs.
"""

from __future__ import annotations

import json

LINE_BYTES = 8 * 1024


def _fill(unit: str, prefix: str = "", suffix: str = "") -> str:
    room = LINE_BYTES - len(prefix) - len(suffix)
    return prefix + unit * max(1, room // len(unit)) + suffix


def _nested_json() -> str:
    # A real event JSON-encoded again and again: backslash runs double at each level.
    line = json.dumps({"type": "identify", "traits": {"email": "jane@example.com"}})
    while len(json.dumps(line)) < LINE_BYTES:
        line = json.dumps(line)
    return line


def _deep_json() -> str:
    depth = LINE_BYTES // 8 - 2
    return '{"a":[' * depth + '"x@y.z"' + "]}" * depth


def hostile_lines() -> dict[str, str]:
    """Named adversarial lines of about 8 KB each."""
    return {
        "backslash_run": _fill("\\", "a", "x"),
        "backslash_run_before_at": _fill("\\", "jane", "u0040"),
        "backslash_u_cut": _fill("\\u004"),
        "letter_backslash": _fill("a\\"),
        "digit_run": _fill("1"),
        "digits_and_separators": _fill("1 -"),
        "at_run": _fill("@"),
        "letter_at": _fill("a@"),
        "dots": _fill("."),
        "domain_dots": _fill("b.", "a@"),
        "percent_run": _fill("%"),
        "letter_percent": _fill("a%"),
        "html_zero_run": _fill("0", "a&#", "x"),
        "fullwidth_at": _fill("a\uff20"),
        "spaces": _fill(" ", "a", "x"),
        "name_suffix_spaces": _fill(" ,", "mr. a", "x"),
        "parentheses": _fill("( 0 "),
        "local_chars": _fill("a.-+_'"),
        "personal_key_run": _fill('"name":"'),
        "escaped_quotes_in_name": _fill('\\"', '{"first_name":"'),
        "escaped_key_backslashes": _fill("\\", "", '"name\\\\":x'),
        "hex_colons": _fill("a:"),
        "dotted_octets": _fill("1."),
        "double_colons": _fill("1::"),
        "nested_json": _nested_json(),
        "deep_json": _deep_json(),
    }
