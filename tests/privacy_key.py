"""The fixed secret every test runs with, so keyed internal ids are deterministic.

``tests/conftest.py`` puts it in ``DMP_SECRET`` before anything runs; subprocesses (the
command line, jobs) inherit it.
"""

from __future__ import annotations

TEST_SECRET = "dmp-test-secret-0123456789abcdef"
TEST_ID_KEY = TEST_SECRET.encode("utf-8")
