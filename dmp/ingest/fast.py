"""The JVM parser of canonical first-party lines: Spark expressions, no Python per row.

Every column mirrors :func:`dmp.ingest.records.parse_first_party_line` for the lines
:class:`dmp.ingest.canonical.CanonicalCheck` lets through (well-formed, plainly typed events
the reference accepts). Personal data goes through the Spark twins of :mod:`dmp.privacy`,
which agree with the pure-Python functions value for value. Python's ``or`` between two
fields (``context.channel or channel``) picks the second when the first is missing or empty:
:func:`_either` says the same in Spark.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dmp.ingest.schema import PARSED_SCHEMA, PRODUCT_TYPE
from dmp.lake._schema import arrow_to_spark
from dmp.privacy.columns import (
    birth_year_normalized,
    country_normalized,
    email_normalized,
    gender_normalized,
    mask_pii_col,
    name_normalized,
    phone_normalized,
    sha256_hex_col,
    state_normalized,
    truncate_ip_col,
    zip_normalized,
)
from dmp.privacy.hashing import EMAIL_ID_PREFIX
from dmp.privacy.masking import MAYBE_PII

# The characters Python's ``str.strip()`` removes (``str.isspace``), for Spark's trim.
PYTHON_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())

_TRAITS = (
    "struct<email:string,phone:string,firstName:string,first_name:string,lastName:string,"
    "last_name:string,gender:string,birthday:string,birth_year:string,city:string,"
    "city_tier:int,address:struct<city:string,state:string,country:string,postalCode:string>>"
)
_PRODUCT = (
    "struct<product_id:string,sku:string,category:string,brand:string,name:string,"
    "price:double,quantity:int>"
)
EVENT_JSON_SCHEMA = (
    "struct<type:string,messageId:string,timestamp:string,userId:string,anonymousId:string,"
    "previousId:string,event:string,name:string,channel:string,sentAt:string,"
    "receivedAt:string,"
    "context:struct<channel:string,userAgent:string,locale:string,timezone:string,ip:string,"
    "library:struct<name:string,version:string>,os:struct<name:string,version:string>,"
    "device:struct<id:string,advertisingId:string,type:string,model:string>,"
    "app:struct<name:string,version:string>,"
    "page:struct<path:string,url:string,referrer:string,title:string>,"
    "campaign:struct<source:string,medium:string,name:string>,"
    "consent:struct<categoryPreferences:map<string,boolean>>,"
    "consentManagement:struct<allowedConsentIds:array<string>,deniedConsentIds:array<string>>,"
    f"traits:{_TRAITS}>,"
    "properties:struct<product_id:string,sku:string,category:string,brand:string,name:string,"
    "price:double,quantity:int,currency:string,order_id:string,revenue:double,total:double,"
    "discount:double,coupon:string,coupon_id:string,query:string,rating:double,"
    f"share_via:string,referrer_user_id:string,products:array<{_PRODUCT}>,path:string,"
    "url:string,referrer:string,title:string>,"
    f"traits:{_TRAITS}>"
)
"""The fields the reference parser reads, typed as canonical lines carry them."""

_APP_CHANNELS = ("mobile", "app", "android", "ios")
_CONSENT_COLUMNS = tuple(n for n in PARSED_SCHEMA.names if n.startswith("consent_"))


def parse_canonical(
    read: DataFrame,
    *,
    default_country_code: str,
    consent_purposes: Mapping[str, Sequence[str]],
) -> DataFrame:
    """Fill in the parsed columns of the rows the reader left to the JVM.

    Args:
        read: The landing reader's rows (``READ_SCHEMA``): a row with a ``line`` is a
            canonical line (it passed :class:`~dmp.ingest.canonical.CanonicalCheck`) with
            only its lineage filled in; a row without one was parsed by the reference.
        default_country_code: For phone numbers without a country code.
        consent_purposes: dmp purpose -> the names it is stated under (lower case).

    Returns:
        ``PARSED_SCHEMA`` rows; canonical lines come out accepted (``reason`` null).
    """
    parsed = (
        read.withColumn("_j", F.from_json("line", EVENT_JSON_SCHEMA))
        .withColumn("_event_time", F.to_timestamp(F.col("_j.timestamp")))
        .withColumn("_received_at", F.try_to_timestamp(F.col("_j.receivedAt")))
    )
    columns = event_columns(
        F.col("_j"), default_country_code=default_country_code, consent_purposes=consent_purposes
    )
    columns.update(
        raw_bytes=F.octet_length("line").cast("long"),
        message_hash=F.substring(F.sha2(F.col("line").cast("binary"), 256), 1, 32),
        received_at=F.coalesce(F.col("_received_at"), F.col("landing_date").cast("timestamp")),
    )
    canonical = F.col("line").isNotNull()
    selected = []
    for field in arrow_to_spark(PARSED_SCHEMA).fields:
        if field.name in columns:
            value = F.when(canonical, columns[field.name].cast(field.dataType))
            selected.append(value.otherwise(F.col(field.name)).alias(field.name))
        else:  # lineage, filled in by the reader for every row
            selected.append(F.col(field.name))
    return parsed.select(*selected)


def event_columns(
    j: Column, *, default_country_code: str, consent_purposes: Mapping[str, Sequence[str]]
) -> dict[str, Column]:
    """Every parsed column but the line's lineage, from the ``from_json`` struct ``j``.

    ``event_time`` reads the ``_event_time`` column the caller computes once (it is used
    twice); ``received_at`` is the caller's (it falls back to the landing date).
    """
    context = j["context"]
    properties = j["properties"]
    event_type = j["type"]
    event_time = F.col("_event_time")
    columns: dict[str, Column] = {
        "message_id": _identifier(j["messageId"]),
        "event_type": event_type,
        "event_name": _strip(F.when(event_type == "track", j["event"]).otherwise(j["name"])),
        "event_time": event_time,
        "event_date": F.to_date(event_time),
        "sent_at": F.try_to_timestamp(j["sentAt"]),
        "channel": _channel(j),
        "user_id": _pseudonymous(_identifier(j["userId"])),
        "anonymous_id": _pseudonymous(_identifier(j["anonymousId"])),
        "previous_id": F.when(event_type == "alias", _pseudonymous(_identifier(j["previousId"]))),
        "device_id": F.lower(_identifier(context["device"]["id"])),
        "advertising_id": F.lower(_identifier(context["device"]["advertisingId"])),
        "partner_uid": F.lit(None),
        "partner_segments": F.lit(None),
        "partner_score": F.lit(None),
        "properties_json": F.lit(None),
        "reason": F.lit(None),
        "raw_masked": F.lit(None),
    }
    columns.update(_personal(j, default_country_code))
    columns.update(_consent(context, consent_purposes))
    columns.update(_context(context, properties))
    columns.update(_commerce(properties))
    return columns


def _strip(value: Column) -> Column:
    return F.trim(value, F.lit(PYTHON_WHITESPACE))


def _identifier(value: Column) -> Column:
    stripped = _strip(value)
    return F.when(stripped != "", stripped)


def _text(value: Column, limit: int = 512) -> Column:
    stripped = _strip(value)
    return F.when(stripped != "", F.substring(stripped, 1, limit))


def _either(first: Column, second: Column) -> Column:
    """Python's ``first or second`` for two optional strings."""
    return F.when(first.isNotNull() & (first != ""), first).otherwise(second)


def _masked(text: Column) -> Column:
    return F.when(text.rlike(MAYBE_PII), mask_pii_col(text)).otherwise(text)


def _pseudonymous(value: Column) -> Column:
    email = email_normalized(value, "basic")
    hashed = F.concat(F.lit(EMAIL_ID_PREFIX), F.sha2(email, 256))
    return F.when(value.contains("@") & email.isNotNull(), hashed).otherwise(value)


def _channel(j: Column) -> Column:
    context = j["context"]
    stated = _either(context["channel"], j["channel"])
    lowered = F.lower(_strip(stated))
    device_id = context["device"]["id"]
    user_agent = context["userAgent"]
    fallback = (
        F.when(device_id.isNotNull() & (device_id != ""), F.lit("app"))
        .when(user_agent.isNotNull() & (user_agent != ""), F.lit("web"))
        .otherwise(F.lit("server"))
    )
    return (
        F.when(lowered.isin(*_APP_CHANNELS), F.lit("app"))
        .when(lowered.isin("web", "browser"), F.lit("web"))
        .when(lowered == "server", F.lit("server"))
        .otherwise(fallback)
    )


def _personal(j: Column, country_code: str) -> dict[str, Column]:
    traits, context_traits = j["traits"], j["context"]["traits"]

    def trait(name: str) -> Column:
        # Canonical lines never carry both: the merge is one or the other.
        return F.coalesce(traits[name], context_traits[name])

    address = F.coalesce(traits["address"], context_traits["address"])
    email, phone = trait("email"), trait("phone")
    first = _either(trait("firstName"), trait("first_name"))
    last = _either(trait("lastName"), trait("last_name"))
    birth = birth_year_normalized(_either(trait("birthday"), trait("birth_year")))
    city = _either(address["city"], trait("city"))
    tier = trait("city_tier")
    return {
        "email_sha256": sha256_hex_col(email_normalized(email, "basic")),
        "email_sha256_google": sha256_hex_col(email_normalized(email, "google")),
        "email_sha256_uid2": sha256_hex_col(email_normalized(email, "uid2")),
        "phone_sha256": sha256_hex_col(phone_normalized(phone, "meta", country_code)),
        "phone_sha256_e164": sha256_hex_col(phone_normalized(phone, "e164", country_code)),
        "first_name_sha256": sha256_hex_col(name_normalized(first, "meta")),
        "last_name_sha256": sha256_hex_col(name_normalized(last, "meta")),
        "first_name_sha256_google": sha256_hex_col(name_normalized(first, "google")),
        "last_name_sha256_google": sha256_hex_col(name_normalized(last, "google")),
        "gender": gender_normalized(trait("gender")),
        "birth_year": birth.cast("int"),
        # Canonical cities are ASCII words with single spaces: title() is initcap().
        "city": F.when(city != "", F.substring(F.initcap(city), 1, 80)),
        "state": state_normalized(address["state"]),
        "country": country_normalized(address["country"]),
        "postal_code": zip_normalized(address["postalCode"], "meta"),
        "city_tier": F.when(tier.between(1, 6), tier),
    }


def _consent(context: Column, purposes: Mapping[str, Sequence[str]]) -> dict[str, Column]:
    preferences = F.transform_keys(
        context["consent"]["categoryPreferences"], lambda key, _value: F.lower(_strip(key))
    )
    management = context["consentManagement"]

    def ids(values: Column) -> Column:
        return F.transform(values, lambda value: F.lower(_strip(value)))

    allowed, denied = ids(management["allowedConsentIds"]), ids(management["deniedConsentIds"])
    columns: dict[str, Column] = {}
    for column in _CONSENT_COLUMNS:
        names = purposes.get(column.removeprefix("consent_"))
        if not names:
            columns[column] = F.lit(None)
            continue
        # The reference walks the names in order: the last one present wins.
        stated = F.coalesce(*[F.try_element_at(preferences, F.lit(n)) for n in reversed(names)])
        listed = _one_of(names)
        columns[column] = (
            F.when(F.exists(denied, listed), F.lit(False))
            .when(F.exists(allowed, listed), F.lit(True))
            .otherwise(stated)
        )
    return columns


def _one_of(names: Sequence[str]) -> Callable[[Column], Column]:
    """A one-argument predicate for ``exists`` (Spark reads a lambda's arity)."""

    def listed(value: Column) -> Column:
        return value.isin(*names)

    return listed


def _context(context: Column, properties: Column) -> dict[str, Column]:
    page, campaign = context["page"], context["campaign"]
    return {
        "ip_truncated": truncate_ip_col(context["ip"]),
        "user_agent": _text(context["userAgent"]),
        "locale": _text(context["locale"], 32),
        "timezone": _text(context["timezone"], 64),
        "library_name": _text(context["library"]["name"], 64),
        "library_version": _text(context["library"]["version"], 32),
        "os_name": _text(context["os"]["name"], 32),
        "device_type": _text(context["device"]["type"], 32),
        "device_model": _text(context["device"]["model"], 64),
        "app_version": _text(context["app"]["version"], 32),
        "page_path": _masked(_text(_either(properties["path"], page["path"]))),
        "page_url": _masked(_text(_either(properties["url"], page["url"]), 1024)),
        "page_referrer": _masked(_text(_either(properties["referrer"], page["referrer"]), 1024)),
        "page_title": _masked(_text(_either(properties["title"], page["title"]))),
        "campaign_source": _text(campaign["source"], 128),
        "campaign_medium": _text(campaign["medium"], 128),
        "campaign_name": _text(campaign["name"], 256),
    }


def _commerce(properties: Column) -> dict[str, Column]:
    def product(item: Column) -> Column:
        return F.struct(
            _identifier(item["product_id"]).alias("product_id"),
            _text(item["sku"]).alias("sku"),
            F.lower(_text(item["category"])).alias("category"),
            _text(item["brand"]).alias("brand"),
            _text(item["name"]).alias("name"),
            item["price"].alias("price"),
            item["quantity"].alias("quantity"),
        )

    product_type = arrow_to_spark_type(PRODUCT_TYPE)
    return {
        "product_id": _identifier(properties["product_id"]),
        "sku": _text(properties["sku"]),
        "category": F.lower(_text(properties["category"])),
        "brand": _text(properties["brand"]),
        "product_name": _text(properties["name"]),
        "price": properties["price"],
        "quantity": properties["quantity"],
        "currency": _text(properties["currency"], 8),
        "order_id": _identifier(properties["order_id"]),
        "revenue": properties["revenue"],
        "total": properties["total"],
        "discount": properties["discount"],
        "coupon": _text(_either(properties["coupon"], properties["coupon_id"])),
        "search_query": _masked(_text(properties["query"])),
        "rating": properties["rating"],
        "share_via": _text(properties["share_via"]),
        "referrer_user_id": _identifier(properties["referrer_user_id"]),
        "products": F.transform(properties["products"], product).cast(f"array<{product_type}>"),
    }


def arrow_to_spark_type(arrow_type: object) -> str:
    """The Spark DDL of one Arrow type (through a one-field schema)."""
    import pyarrow as pa

    field = arrow_to_spark(pa.schema([("x", arrow_type)])).fields[0]
    return field.dataType.simpleString()
