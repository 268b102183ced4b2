"""Error types shared by every stage, mapped to exit codes by the command line and jobs."""

from __future__ import annotations

import logging
import re

_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception)): (.+)$")
_WRAPPER_PREFIXES = ("org.", "java.", "py4j", "pyspark.errors", "scala.")
_OUT_OF_MEMORY = re.compile(
    r"OutOfMemoryError|UNABLE_TO_ACQUIRE_MEMORY|Java heap space|GC overhead limit exceeded"
    r"|Not enough memory to build and broadcast"
)


# Credentials in a URL (``scheme://user:password@host``) and secret-looking query parameters.
# Possessive repeats and a look-behind keep both scans linear on any text.
_URL_USERINFO = re.compile(r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]*+://)[^/?#\s@]++@")
_SECRET_PARAMETER = re.compile(
    r"(?i)([?&;](?:password|passwd|pwd|token|access_token|auth|secret|api_key|apikey|key|sig)=)"
    r"[^&#\s]++"
)
REDACTED = "***"


def redact_secrets(text: str) -> str:
    """Replace credentials in URLs (and secret query parameters) with ``***``.

    ``https://user:pass@mlflow.example/api`` becomes ``https://***@mlflow.example/api``.
    Used on every message that leaves the process: logs, ``ops/runs.message``, the command
    line's error line, reports.

    Args:
        text: Any message.

    Returns:
        The message without user names, passwords or tokens in URLs.
    """
    if "@" not in text and "=" not in text:
        return text
    text = _URL_USERINFO.sub(rf"\1{REDACTED}@", text)
    return _SECRET_PARAMETER.sub(rf"\1{REDACTED}", text)


class RedactingFormatter(logging.Formatter):
    """A log formatter whose output never carries credentials (see :func:`redact_secrets`)."""

    def format(self, record: logging.LogRecord) -> str:
        """Format the record as usual, then redact secrets from the whole text."""
        return redact_secrets(super().format(record))


class DmpError(Exception):
    """Base class of every error dmp raises on purpose."""

    exit_code: int = 1


class UserError(DmpError):
    """A mistake the user can fix (bad argument, bad config, missing input).

    The command line prints it as one line, without a traceback, and exits 2.
    """

    exit_code = 2


class ConfigError(UserError):
    """The configuration is invalid; the message names the file and the key."""


class GateFailed(DmpError):
    """A data-quality gate failed: nothing was published. Exits 3."""

    exit_code = 3

    def __init__(self, message: str, report_path: str | None = None) -> None:
        super().__init__(message)
        self.report_path = report_path


class StageFailed(DmpError):
    """A stage failed for a reason that is not a user mistake. Exits 1."""

    exit_code = 1


def root_cause(error: BaseException) -> str:
    """One line saying why ``error`` happened, even when Spark wrapped it.

    A failure inside a Spark task reaches Python as a long text with the Java stack trace
    and the Python traceback of the task; the line that says what went wrong is the last
    exception line that is not a Java or py4j wrapper. Other errors give their first line.
    """
    found = None
    for line in str(error).splitlines():
        match = _EXCEPTION_LINE.match(line.strip())
        if match and not match.group(1).startswith(_WRAPPER_PREFIXES):
            found = f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(2)}"
    if found:
        return redact_secrets(found)[:500]
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    wrapped = type(error).__module__.startswith(("py4j", "pyspark"))
    if not first:
        return type(error).__name__
    return redact_secrets(first if wrapped else f"{type(error).__name__}: {first}")[:500]


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` (or the Spark failure it wraps) is the JVM running out of memory."""
    return _OUT_OF_MEMORY.search(str(error)) is not None
