"""The Summary parts the verdict rules read, as pandas frames.

The rules accept a Summary or a canonical frame (``analyzer.read_log``); a frame is summarised
first, so that both give the same verdicts.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from ..summary.summary import Summary


def summary_of(data: Summary | pd.DataFrame) -> Summary:
    """``data`` as a Summary (a canonical frame is summarised)."""
    return data if isinstance(data, Summary) else Summary.from_frame(data)


def part_frame(table: pa.Table) -> pd.DataFrame:
    """A part as pandas, strings as objects with None for null (vhost None: the log names none)."""
    frame = table.to_pandas()
    for field in table.schema:
        if pa.types.is_string(field.type):
            column = frame[field.name].astype(object)
            frame[field.name] = column.where(column.notna(), None)
    result: pd.DataFrame = frame
    return result
