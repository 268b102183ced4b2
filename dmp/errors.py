"""Error types shared by every stage, mapped to exit codes by the command line and jobs."""

from __future__ import annotations


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
