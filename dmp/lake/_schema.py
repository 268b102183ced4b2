"""Schema conversion between Spark and Arrow/Delta, and the rules for evolving a table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from dmp.lake.errors import LakeSchemaError

if TYPE_CHECKING:
    from pyspark.sql.types import StructType

_WIDENINGS: dict[pa.DataType, tuple[pa.DataType, ...]] = {
    pa.int8(): (pa.int16(), pa.int32(), pa.int64()),
    pa.int16(): (pa.int32(), pa.int64()),
    pa.int32(): (pa.int64(),),
    pa.float32(): (pa.float64(),),
}
PARTITION_TYPES = (pa.string(), pa.date32(), pa.int32(), pa.int64(), pa.bool_())


def spark_to_arrow(schema: StructType) -> pa.Schema:
    """Arrow schema for a Spark schema, every field nullable, timestamps in UTC microseconds."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return nullable_schema(to_arrow_schema(schema, timestamp_utc=True))


def arrow_to_spark(schema: pa.Schema) -> StructType:
    """Spark schema for an Arrow schema read from a Delta table."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(_normalise_strings(schema))


def nullable_schema(schema: pa.Schema) -> pa.Schema:
    """Copy of ``schema`` with every field, list element and map value nullable.

    Tables are always written nullable: delta-rs does not enforce NOT NULL, and Spark reads
    a non-nullable column holding a null as a wrong value rather than an error.
    """
    return pa.schema([_nullable_field(f) for f in _normalise_strings(schema)])


def _nullable_field(field: pa.Field) -> pa.Field:
    return pa.field(field.name, _nullable_type(field.type), nullable=True)


def _nullable_type(dtype: pa.DataType) -> pa.DataType:
    if pa.types.is_struct(dtype):
        return pa.struct([_nullable_field(dtype.field(i)) for i in range(dtype.num_fields)])
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return pa.list_(_nullable_field(dtype.value_field))
    if pa.types.is_map(dtype):
        return pa.map_(dtype.key_type, _nullable_type(dtype.item_type))
    if pa.types.is_timestamp(dtype):
        return pa.timestamp("us", tz="UTC" if dtype.tz else None)
    return dtype


def _normalise_strings(schema: pa.Schema) -> pa.Schema:
    """Map large/view string and binary types to their plain forms (Delta has one of each)."""

    def fix(dtype: pa.DataType) -> pa.DataType:
        if pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype):
            return pa.string()
        if pa.types.is_large_binary(dtype) or pa.types.is_binary_view(dtype):
            return pa.binary()
        if pa.types.is_struct(dtype):
            return pa.struct(
                [
                    pa.field(dtype.field(i).name, fix(dtype.field(i).type), dtype.field(i).nullable)
                    for i in range(dtype.num_fields)
                ]
            )
        if pa.types.is_list(dtype) or pa.types.is_large_list(dtype) or pa.types.is_list_view(dtype):
            value = dtype.value_field
            return pa.list_(pa.field(value.name, fix(value.type), value.nullable))
        if pa.types.is_map(dtype):
            return pa.map_(fix(dtype.key_type), fix(dtype.item_type))
        return dtype

    return pa.schema([pa.field(f.name, fix(f.type), f.nullable) for f in schema])


@dataclass(frozen=True)
class SchemaPlan:
    """How incoming data maps onto a table.

    Attributes:
        target: The table schema after this write (existing columns first, new ones last).
        new_fields: Columns this write adds to the table (schema evolution).
        missing: Table columns absent from the incoming data (written as nulls).
        casts: Incoming columns widened to the table's type, name -> table type.
    """

    target: pa.Schema
    new_fields: tuple[pa.Field, ...]
    missing: tuple[str, ...]
    casts: dict[str, pa.DataType]


def plan_schema(
    table_name: str,
    existing: pa.Schema | None,
    incoming: pa.Schema,
    partition_by: Sequence[str],
    *,
    allow_new_columns: bool = True,
) -> SchemaPlan:
    """Check incoming data against a table's schema and decide how to write it.

    Args:
        table_name: For error messages.
        existing: The table's schema, or None when the table does not exist yet.
        incoming: The data's schema (already nullable, see :func:`spark_to_arrow`).
        partition_by: The table's partition columns.
        allow_new_columns: Whether columns absent from the table may be added.

    Raises:
        LakeSchemaError: A column changes type, a partition column is missing or of a type
            Delta cannot partition by, or new columns arrive when they are not allowed.
    """
    names = [f.name for f in incoming]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise LakeSchemaError(f"{table_name}: duplicate column names {duplicates}")
    for column in partition_by:
        if column not in names:
            raise LakeSchemaError(f"{table_name}: partition column {column!r} is not in the data")
        dtype = incoming.field(column).type
        if dtype not in PARTITION_TYPES:
            raise LakeSchemaError(
                f"{table_name}: partition column {column!r} has type {dtype}; "
                "use string, date, int, bigint or boolean"
            )
    if existing is None:
        return SchemaPlan(incoming, (), (), {})

    existing = nullable_schema(existing)
    casts: dict[str, pa.DataType] = {}
    for field in incoming:
        index = existing.get_field_index(field.name)
        if index < 0:
            continue
        table_type = existing.field(index).type
        if field.type == table_type:
            continue
        if table_type in _WIDENINGS.get(field.type, ()) or pa.types.is_null(field.type):
            casts[field.name] = table_type
            continue
        raise LakeSchemaError(
            f"{table_name}: column {field.name!r} is {table_type} in the table "
            f"but {field.type} in the data"
        )
    new_fields = tuple(f for f in incoming if existing.get_field_index(f.name) < 0)
    if new_fields and not allow_new_columns:
        raise LakeSchemaError(
            f"{table_name}: new columns {[f.name for f in new_fields]} are not allowed here"
        )
    missing = tuple(f.name for f in existing if incoming.get_field_index(f.name) < 0)
    target = pa.schema(list(existing) + list(new_fields))
    return SchemaPlan(target, new_fields, missing, casts)
