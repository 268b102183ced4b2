"""The secret key of internal pseudonyms, kept outside the data root.

Internal ids (a user id that was an e-mail address or phone number) are keyed hashes
(HMAC-SHA256), so nobody holding the lake -- a copy, a backup, an export of ``bronze/events``
-- can recover an address by hashing a list of candidate addresses. The key is read, in this
order, from:

1. the environment variable ``DMP_SECRET`` (the secret itself; for containers and CI), or
2. the file ``privacy.secret_file`` of the configuration (``DMP__PRIVACY__SECRET_FILE``),
   by default ``dmp/secret`` in the user's config folder (``$XDG_CONFIG_HOME`` or
   ``~/.config``). A missing default file is created on first use with 32 random bytes
   (hex) and mode 0600.

A secret file inside the data root, or one that is set but unreadable or too short, is a
user error with a one-line message. Every process that writes or matches internal ids
(ingest, erasure, seed lists, lift, truth scoring) must see the same key, or ids stop
matching: keep the file (or the variable) with the rest of the deployment's secrets and
back it up -- losing it means the next ingest gives every such user a new id.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from dmp.errors import UserError

SECRET_ENV = "DMP_SECRET"
"""Environment variable holding the secret itself (takes precedence over the file)."""

MIN_SECRET_CHARS = 16
"""Shorter secrets are refused: a guessable key would make the pseudonyms reversible."""


def default_secret_file(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/dmp/secret``, or ``~/.config/dmp/secret``.

    Args:
        environ: Environment to read ``XDG_CONFIG_HOME`` from (default ``os.environ``).

    Returns:
        The path of the default secret file (which may not exist yet).
    """
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "dmp" / "secret"


def load_secret(
    secret_file: Path | None, data_root: Path, environ: Mapping[str, str] | None = None
) -> bytes:
    """The key of internal pseudonyms, as bytes.

    Args:
        secret_file: ``privacy.secret_file`` from the configuration, or ``None`` for the
            default file in the user's config folder (created if missing).
        data_root: The data root (``home``); the secret must not live under it.
        environ: Environment to read ``DMP_SECRET`` from (default ``os.environ``).

    Returns:
        The secret's UTF-8 bytes (surrounding whitespace removed).

    Raises:
        UserError: The secret is too short, the file is inside the data root, or it is
            set but cannot be read.
    """
    environ = os.environ if environ is None else environ
    if text := environ.get(SECRET_ENV, "").strip():
        return _checked(text, f"the environment variable {SECRET_ENV}")
    path = (secret_file or default_secret_file(environ)).expanduser().absolute()
    if path.resolve().is_relative_to(data_root.expanduser().resolve()):
        raise UserError(
            f"privacy.secret_file {path} is inside the data root {data_root}: keep the key of "
            "internal ids outside it (anyone with the lake could otherwise reverse them)"
        )
    if secret_file is None and not path.exists():
        _create(path)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise UserError(
            f"privacy.secret_file {path} cannot be read ({reason}): make it readable, or "
            f"point privacy.secret_file or {SECRET_ENV} at the deployment's secret"
        ) from None
    return _checked(text, f"privacy.secret_file {path}")


def _checked(text: str, where: str) -> bytes:
    if len(text) < MIN_SECRET_CHARS:
        raise UserError(
            f"{where} holds a secret of {len(text)} characters: use at least "
            f"{MIN_SECRET_CHARS} random characters (e.g. python -c 'import secrets; "
            "print(secrets.token_hex(32))')"
        )
    return text.encode("utf-8")


def _create(path: Path) -> None:
    """Write a new random secret with mode 0600, atomically (a racing process wins cleanly)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                out.write(secrets.token_hex(32) + "\n")
            # fails if another process created it meanwhile: then that one is the secret
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as error:
        raise UserError(
            f"cannot create the secret file {path} ({error.strerror or error}): create it "
            f"yourself, or set privacy.secret_file or {SECRET_ENV}"
        ) from None
