"""Contact points per person and each channel's file layout. Pure transforms.

Contact data exists only as the hashes and normalised demographics ingestion kept; each
layout applies its platform's rules on top (Meta hashes its demographic keys, Google keeps
Country and Zip in clear, UID2 wants Base64 of the raw SHA-256 digest).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dmp.export.channels import (
    Channel,
    GoogleCustomerMatch,
    GoogleMobileIds,
    MetaCustomAudience,
    OwnedChannel,
    TradeDeskUid2,
)

ZERO_ADVERTISING_ID = "00000000-0000-0000-0000-000000000000"
CONTACT_FIELDS: tuple[str, ...] = (
    "email_sha256", "email_sha256_google", "email_sha256_uid2", "phone_sha256",
    "phone_sha256_e164", "first_name_sha256", "last_name_sha256", "first_name_sha256_google",
    "last_name_sha256_google", "city", "state", "country", "postal_code", "birth_year", "gender",
)  # fmt: skip


def contact_points(attributed: DataFrame) -> DataFrame:
    """Per person: the latest stated value of every contact field, and advertising ids.

    Args:
        attributed: Bronze events with ``person_id`` (see ``attribute_events``).

    Returns:
        ``person_id``, one column per :data:`CONTACT_FIELDS`, ``advertising_id`` (the most
        recent real one) and ``advertising_ids`` (all real ones, sorted).
    """
    has_contact = F.lit(False)
    for name in (*CONTACT_FIELDS, "advertising_id"):
        has_contact = has_contact | F.col(name).isNotNull()
    rows = attributed.filter(has_contact).withColumn(
        "advertising_id",
        F.when(F.col("advertising_id") != ZERO_ADVERTISING_ID, F.col("advertising_id")),
    )
    latest = [
        F.max_by(F.col(name), F.when(F.col(name).isNotNull(), F.col("event_time"))).alias(name)
        for name in (*CONTACT_FIELDS, "advertising_id")
    ]
    return rows.groupBy("person_id").agg(
        *latest, F.sort_array(F.collect_set("advertising_id")).alias("advertising_ids")
    )


def channel_rows(
    channel: Channel, people: DataFrame, contacts: DataFrame
) -> tuple[DataFrame, list[str]]:
    """The channel's file rows for ``people`` (``person_id``, ``user_ids``).

    Returns:
        ``(rows, columns)``: rows hold ``person_id``, ``_order`` (the deterministic sort key)
        and the file ``columns`` in order; people without any identifier the channel uses
        are left out.
    """
    from dmp.privacy.columns import city_normalized, sha256_hex_col, zip_normalized

    joined = people.join(contacts, "person_id", "left")
    if isinstance(channel, MetaCustomAudience):
        values: dict[str, Column] = {
            "EMAIL": F.col("email_sha256"),
            "PHONE": F.col("phone_sha256"),
            "MADID": F.col("advertising_id"),
            "FN": F.col("first_name_sha256"),
            "LN": F.col("last_name_sha256"),
            "ZIP": sha256_hex_col(F.col("postal_code")),
            "CT": sha256_hex_col(city_normalized(F.col("city"))),
            "ST": sha256_hex_col(F.col("state")),
            "COUNTRY": sha256_hex_col(F.col("country")),
            "DOBY": sha256_hex_col(F.col("birth_year").cast("string")),
            "GEN": sha256_hex_col(F.col("gender")),
            "EXTERN_ID": F.col("person_id"),
        }
        usable = F.coalesce("email_sha256", "phone_sha256", "advertising_id").isNotNull()
        return _rows(joined, values, usable, F.col("person_id"))
    if isinstance(channel, GoogleCustomerMatch):
        values = {
            "Email": F.col("email_sha256_google"),
            "Phone": F.col("phone_sha256_e164"),
            "First Name": F.col("first_name_sha256_google"),
            "Last Name": F.col("last_name_sha256_google"),
            "Country": F.upper(F.col("country")),
            "Zip": zip_normalized(F.col("postal_code"), "google"),
        }
        usable = F.coalesce("email_sha256_google", "phone_sha256_e164").isNotNull()
        return _rows(joined, values, usable, F.col("person_id"))
    if isinstance(channel, GoogleMobileIds):
        exploded = joined.select(
            "person_id", F.explode(F.coalesce("advertising_ids", F.array())).alias("device")
        )
        values = {"Mobile Device ID": F.col("device")}
        return _rows(exploded, values, F.col("device").isNotNull(), F.col("device"))
    if isinstance(channel, TradeDeskUid2):
        digests = F.array(
            *[
                F.struct(F.lit(kind).alias("kind"), _base64(F.col(column)).alias("value"))
                for kind, column in (
                    ("email_hash", "email_sha256_uid2"),
                    ("phone_hash", "phone_sha256_e164"),
                )
            ]
        )
        exploded = joined.select("person_id", F.explode(digests).alias("entry"))
        values = {"identifier_type": F.col("entry.kind"), "uid2_hash": F.col("entry.value")}
        order = F.concat_ws("|", F.col("entry.kind"), F.col("entry.value"))
        return _rows(exploded, values, F.col("entry.value").isNotNull(), order)
    assert isinstance(channel, OwnedChannel)
    required = {
        "phone": F.col("phone_sha256"),
        "email": F.col("email_sha256"),
        "advertising_id": F.col("advertising_id"),
        "user_id": F.try_element_at(F.col("user_ids"), F.lit(1)),
    }[channel.requires]
    values = {
        "dmp_person_id": formula_safe(F.col("person_id")),
        "user_id": formula_safe(F.try_element_at(F.col("user_ids"), F.lit(1))),
    }
    return _rows(joined, values, required.isNotNull(), F.col("person_id"))


FORMULA_START = "^[=+\\-@\t\r]"
"""First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection)."""


def formula_safe(value: Column) -> Column:
    """Prefix a single quote to text a spreadsheet would run as a formula (OWASP guidance).

    Used on owned-channel files, whose values (customer user ids) are opened in
    spreadsheets; never on ad-platform columns, whose hashed values the platforms match
    byte for byte.
    """
    return F.when(value.rlike(FORMULA_START), F.concat(F.lit("'"), value)).otherwise(value)


def _rows(
    frame: DataFrame, values: dict[str, Column], usable: Column, order: Column
) -> tuple[DataFrame, list[str]]:
    columns = list(values)
    rows = frame.filter(usable).select(
        "person_id",
        order.alias("_order"),
        *[
            F.coalesce(value.cast("string"), F.lit("")).alias(name)
            for name, value in values.items()
        ],
    )
    return rows, columns


def _base64(hex_digest: Column) -> Column:
    """Base64 of the raw 32-byte digest behind a SHA-256 hex string (UID2's encoding)."""
    return F.when(hex_digest.isNotNull(), F.base64(F.unhex(hex_digest)))
