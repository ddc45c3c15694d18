"""Typed columns from field text, one vectorised conversion per field kind."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..formats.fields import FieldSpec, Kind
from ..formats.times import PART_SEPARATOR

TIME_TYPE = pa.timestamp("us", tz="UTC")
_NULL_STRING = pa.scalar(None, pa.string())
_INT32_MAX = 2**31 - 1


def dash_to_null(text: pa.Array) -> pa.Array:
    """``-`` is how servers log "no value"."""
    return pc.if_else(pc.equal(text, "-"), _NULL_STRING, text)


def missing_to_null(text: pa.Array) -> pa.Array:
    """``-`` or nothing (NGINX's escape=json logs a missing variable as ``""``) in a number."""
    missing = pc.or_(pc.equal(text, "-"), pc.equal(text, ""))
    return pc.if_else(missing, _NULL_STRING, text)


def typed(field: FieldSpec, text: pa.Array) -> pa.Array:
    """The field's column from its text (already unescaped); nulls where the text is ``-``."""
    kind = field.kind
    if kind is Kind.STATUS:  # "-": a request without a status
        return pc.cast(dash_to_null(text), pa.int16())
    if kind is Kind.INT:
        return pc.cast(missing_to_null(text), pa.int64())
    if kind is Kind.PORT:
        wide = pc.cast(missing_to_null(text), pa.int64())
        fits = pc.less_equal(wide, _INT32_MAX)
        return pc.cast(pc.if_else(fits, wide, pa.scalar(None, pa.int64())), pa.int32())
    if kind is Kind.SECONDS:
        number = pc.cast(missing_to_null(text), pa.float64())
        if field.scale == 1.0:
            return number
        if field.scale < 1.0:  # 1234 us -> 0.001234 s exactly as written: divide, not multiply
            return pc.divide(number, float(round(1 / field.scale)))
        return pc.multiply(number, field.scale)
    if field.optional:  # a failed condition: "-"
        text = dash_to_null(text)
    if kind is Kind.TIME:
        return parse_times(text, field.strptime)
    if kind is Kind.EPOCH:
        return epoch_times(text, field.scale)
    if kind is Kind.TIME_PART:  # joined with the other pieces of its instant (assembled_time)
        return text
    if kind is Kind.REQUEST:
        return text
    return dash_to_null(text)


def epoch_times(text: pa.Array, scale: float) -> pa.Array:
    """Seconds, milliseconds or microseconds since the epoch (``$msec``, ``%{msec}t``) -> UTC.

    Whole numbers are converted exactly; a fraction goes through float64 (microseconds kept).
    """
    per_unit = round(scale * 1e6)  # microseconds per unit: 1_000_000, 1_000 or 1
    fractional = pc.fill_null(pc.match_substring(text, "."), False)
    whole = pc.if_else(fractional, _NULL_STRING, text)
    units = pc.cast(whole, pa.int64())
    too_big = pc.greater(units, (2**63 - 1) // per_unit)
    units = pc.if_else(too_big, pa.scalar(None, pa.int64()), units)
    micros = pc.multiply(units, per_unit)
    if pc.any(fractional).as_py():
        exact = pc.if_else(fractional, text, _NULL_STRING)
        approx = pc.round(pc.multiply(pc.cast(exact, pa.float64()), float(per_unit)))
        approx = pc.if_else(pc.less(approx, 9.2e18), approx, pa.scalar(None, pa.float64()))
        micros = pc.coalesce(micros, pc.cast(approx, pa.int64()))
    return pc.cast(micros, TIME_TYPE)


def assembled_time(texts: list[pa.Array], strptimes: list[str]) -> pa.Array:
    """One instant from the pieces a format writes apart (``%{%F}t %{%T}t %{%z}t``): the pieces
    joined and parsed as one. Without a year in the pieces: null (no year is invented)."""
    strptime = PART_SEPARATOR.join(strptimes)
    if "%Y" not in strptime and "%y" not in strptime:
        return pa.nulls(len(texts[0]), TIME_TYPE)
    plain = [t.dictionary_decode() if isinstance(t, pa.DictionaryArray) else t for t in texts]
    joined = pc.binary_join_element_wise(*[dash_to_null(t) for t in plain], PART_SEPARATOR)
    return parse_times(joined, strptime)


def parse_times(text: pa.Array, strptime: str) -> pa.Array:
    """Each distinct timestamp string is parsed once: logs repeat them heavily (``text`` may
    come dictionary-encoded already)."""
    if not strptime.strip():  # Arrow's strptime crashes the interpreter on an empty format
        raise ValueError("empty strptime format")
    encoded = text if isinstance(text, pa.DictionaryArray) else pc.dictionary_encode(text)
    parsed = pc.strptime(encoded.dictionary, format=strptime, unit="s", error_is_null=True)
    if parsed.type.tz is None:
        parsed = pc.assume_timezone(parsed, "UTC")
    return pc.cast(pc.take(parsed, encoded.indices), TIME_TYPE)
