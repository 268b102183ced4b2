"""Seed and erasure files in the wrong encoding or shape: one-line errors, no personal data."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmp.erasure.stage import ErasureRequest
from dmp.errors import UserError
from dmp.lookalike.seeds import read_seed_header

ADDRESS = "jos\u00e9.private@example.com"


def test_erasure_file_with_a_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "erase.csv"
    path.write_bytes(f"\ufeffid_type,value\nemail,{ADDRESS}\n".encode())
    assert list(ErasureRequest.from_file(path).emails) == [ADDRESS]
    path.write_bytes(f"\ufeffemail,{ADDRESS}\n".encode())
    assert list(ErasureRequest.from_file(path).emails) == [ADDRESS]


def test_latin1_erasure_file_is_a_one_line_error_without_its_content(tmp_path: Path) -> None:
    path = tmp_path / "erase.csv"
    path.write_bytes(f"id_type,value\nemail,{ADDRESS}\n".encode("latin-1"))
    with pytest.raises(UserError, match="erasure file is not UTF-8 text") as caught:
        ErasureRequest.from_file(path)
    assert "\n" not in str(caught.value) and "private" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("email\njane@example.com\n", ["email"]),
        ("\ufeffemail\njane@example.com\n", ["email"]),
        ("customer,email\n1,jane@example.com\n", ["customer", "email"]),
        ("contact\njane@example.com\n", ["contact"]),
        ("jane@example.com\nbob@example.com\n", None),
        ("\ufeffjane@example.com\n", None),
        ("+1 415 555 0132\n", None),
        ("a3f1c2e4b5d6a7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70\n", None),
        ("6d92078a-8246-4ba4-ae5b-76104861e7dc\n", None),
        ("", []),
    ],
)
def test_seed_header_or_header_less(tmp_path: Path, content: str, expected: object) -> None:
    path = tmp_path / "seed.csv"
    path.write_bytes(content.encode())
    assert read_seed_header(path) == expected


def test_latin1_seed_file_is_a_one_line_error_without_its_content(tmp_path: Path) -> None:
    path = tmp_path / "seed.csv"
    path.write_bytes(("email\n" + "a@example.com\n" * 100_000 + ADDRESS + "\n").encode("latin-1"))
    with pytest.raises(UserError, match=r"seed\.csv is not UTF-8 text") as caught:
        read_seed_header(path)
    assert "\n" not in str(caught.value) and "private" not in str(caught.value)
