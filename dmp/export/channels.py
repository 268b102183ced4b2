"""Activation channels (``conf/channels.yaml``): each a config entry with its own layout.

Every channel names the consent purpose that must hold for a person to be exported to it,
its minimum audience size and how many rows go into one file part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, ValidationError

from dmp.errors import ConfigError, UserError
from dmp.spec import StrictModel, describe_validation_error, read_yaml


class _Channel(StrictModel):
    description: str = ""
    purpose: Literal["advertising", "email", "push", "sms"] = "advertising"
    min_audience: int = Field(100, ge=1)
    part_rows: int = Field(100_000, ge=1)


class MetaCustomAudience(_Channel):
    """Meta Custom Audiences customer-list file (multi-key schema, SHA-256 hex)."""

    type: Literal["meta_custom_audience"]


class GoogleCustomerMatch(_Channel):
    """Google Ads Customer Match contact list (Email, Phone, names hashed; Country, Zip not)."""

    type: Literal["google_customer_match"]


class GoogleMobileIds(_Channel):
    """Google Ads Customer Match mobile-device-id list (one advertising id per row)."""

    type: Literal["google_mobile_ids"]


class TradeDeskUid2(_Channel):
    """The Trade Desk / UID2: normalised e-mail or phone, SHA-256, then Base64."""

    type: Literal["uid2"]


class OwnedChannel(_Channel):
    """Owned channel (SMS, e-mail, app push): internal ids of people with consent."""

    type: Literal["owned"]
    requires: Literal["phone", "email", "advertising_id", "user_id"] = "user_id"


Channel = Annotated[
    MetaCustomAudience | GoogleCustomerMatch | GoogleMobileIds | TradeDeskUid2 | OwnedChannel,
    Field(discriminator="type"),
]
_FILE = TypeAdapter(dict[str, Channel])


def load_channels(path: Path) -> dict[str, Channel]:
    """Every channel of ``conf/channels.yaml`` (``channels:`` mapping name -> spec)."""
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("channels"), dict):
        raise ConfigError(f"{path}: expected a top-level 'channels:' mapping")
    try:
        return _FILE.validate_python(data["channels"])
    except ValidationError as error:
        raise ConfigError(
            describe_validation_error(error, default_source=f"{path}: channels")
        ) from None


def channel(path: Path, name: str) -> Channel:
    """One channel by name, with a clear error listing the configured ones."""
    channels = load_channels(path)
    if name not in channels:
        raise UserError(f"unknown channel {name!r}; configured: {', '.join(sorted(channels))}")
    return channels[name]
