"""Normalisation, hashing and masking of personal data (e-mail, phone, names, IP addresses).

Raw personal data never lands in a table, log or report: it is normalised and hashed at
ingest, with one hash per ad-platform rule where platforms differ, and free text is masked.
Each function exists twice and the two agree value for value:

- pure Python (:mod:`~dmp.privacy.normalize`, :mod:`~dmp.privacy.hashing`,
  :mod:`~dmp.privacy.masking`): the reference, used on the driver and in tests;
- Spark ``Column`` expressions (:mod:`~dmp.privacy.columns`) built from Spark's built-in
  functions, for tables of any size -- except phone numbers, whose twins are pandas UDFs
  calling the reference (libphonenumber's metadata lives in Python). They are loaded on
  first use, so importing this package does not import PySpark.

Example:
    >>> from dmp.privacy import normalize_email, uid2_hash
    >>> uid2_hash(normalize_email(" User@Example.com ", "uid2"))
    'tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ='
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dmp.privacy.hashing import (
    hmac_sha256_hex,
    pseudonymous_id,
    sha256_hex,
    truncate_ip,
    uid2_hash,
)
from dmp.privacy.masking import mask_pii
from dmp.privacy.normalize import (
    email_in_identifier,
    normalize_birth_year,
    normalize_city,
    normalize_country,
    normalize_email,
    normalize_gender,
    normalize_name,
    normalize_phone,
    normalize_state,
    normalize_zip,
    phone_in_identifier,
)
from dmp.privacy.rules import EmailRule, NameRule, PhoneRule, ZipRule

if TYPE_CHECKING:
    from dmp.privacy.columns import (
        birth_year_normalized,
        city_normalized,
        country_normalized,
        email_in_identifier_col,
        email_normalized,
        gender_normalized,
        hmac_sha256_hex_col,
        mask_pii_col,
        name_normalized,
        phone_in_identifier_col,
        phone_normalized,
        pseudonymous_id_col,
        sha256_hex_col,
        state_normalized,
        truncate_ip_col,
        uid2_hash_col,
        zip_normalized,
    )

_COLUMN_FUNCTIONS = frozenset(
    {
        "birth_year_normalized",
        "city_normalized",
        "country_normalized",
        "email_in_identifier_col",
        "email_normalized",
        "gender_normalized",
        "hmac_sha256_hex_col",
        "mask_pii_col",
        "name_normalized",
        "phone_in_identifier_col",
        "phone_normalized",
        "pseudonymous_id_col",
        "sha256_hex_col",
        "state_normalized",
        "truncate_ip_col",
        "uid2_hash_col",
        "zip_normalized",
    }
)

__all__ = [
    "EmailRule",
    "NameRule",
    "PhoneRule",
    "ZipRule",
    "birth_year_normalized",
    "city_normalized",
    "country_normalized",
    "email_in_identifier",
    "email_in_identifier_col",
    "email_normalized",
    "gender_normalized",
    "hmac_sha256_hex",
    "hmac_sha256_hex_col",
    "mask_pii",
    "mask_pii_col",
    "name_normalized",
    "normalize_birth_year",
    "normalize_city",
    "normalize_country",
    "normalize_email",
    "normalize_gender",
    "normalize_name",
    "normalize_phone",
    "normalize_state",
    "normalize_zip",
    "phone_in_identifier",
    "phone_in_identifier_col",
    "phone_normalized",
    "pseudonymous_id",
    "pseudonymous_id_col",
    "sha256_hex",
    "sha256_hex_col",
    "state_normalized",
    "truncate_ip",
    "truncate_ip_col",
    "uid2_hash",
    "uid2_hash_col",
    "zip_normalized",
]


def __getattr__(name: str) -> Any:
    # The Spark expressions import PySpark; load them only when first asked for.
    if name in _COLUMN_FUNCTIONS:
        from dmp.privacy import columns

        return getattr(columns, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
