"""Typed columns from field text, one vectorised conversion per field kind."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from .formats.fields import FieldSpec, Kind

TIME_TYPE = pa.timestamp("us", tz="UTC")
_NULL_STRING = pa.scalar(None, pa.string())
_INT32_MAX = 2**31 - 1


def dash_to_null(text: pa.Array) -> pa.Array:
    """``-`` is how servers log "no value"."""
    return pc.if_else(pc.equal(text, "-"), _NULL_STRING, text)


def typed(field: FieldSpec, text: pa.Array) -> pa.Array:
    """The field's column from its text (already unescaped); nulls where the text is ``-``."""
    kind = field.kind
    if kind is Kind.STATUS:
        return pc.cast(text, pa.int16())
    if kind is Kind.INT:
        return pc.cast(dash_to_null(text), pa.int64())
    if kind is Kind.PORT:
        wide = pc.cast(dash_to_null(text), pa.int64())
        fits = pc.less_equal(wide, _INT32_MAX)
        return pc.cast(pc.if_else(fits, wide, pa.scalar(None, pa.int64())), pa.int32())
    if kind is Kind.SECONDS:
        number = pc.cast(dash_to_null(text), pa.float64())
        return number if field.scale == 1.0 else pc.multiply(number, field.scale)
    if kind is Kind.TIME:
        return parse_times(text, field.strptime)
    if kind is Kind.EPOCH:
        seconds = pc.multiply(pc.cast(text, pa.float64()), field.scale * 1e6)
        return pc.cast(pc.cast(pc.round(seconds), pa.int64()), TIME_TYPE)
    if kind is Kind.REQUEST:
        return text
    return dash_to_null(text)


def parse_times(text: pa.Array, strptime: str) -> pa.Array:
    """Each distinct timestamp string is parsed once: logs repeat them heavily."""
    encoded = pc.dictionary_encode(text)
    parsed = pc.strptime(encoded.dictionary, format=strptime, unit="s", error_is_null=True)
    if parsed.type.tz is None:
        parsed = pc.assume_timezone(parsed, "UTC")
    return pc.cast(pc.take(parsed, encoded.indices), TIME_TYPE)
