"""The one pipeline: units of input are read, parsed and summarised (or kept as rows), and the
pieces they give are combined in input order.

A *unit* is a byte range of an uncompressed file, a whole source (compressed, stdin, a URL),
or a source read on from a checkpoint's offset. Every unit is read by the one cutter
(:mod:`analyzer.sources.blocks`), every source's format comes from the one detector (its first
lines), and every unit gives a :class:`Piece`: its Summary (or its rows, for frames), how many
lines of each source it read, the first rejected line (for ``--strict``) and where each read
stopped. :func:`combine` joins adjacent pieces (line numbers of byte ranges move on by the lines
before them); it is associative, so engines may fold pieces in order or reduce them as an
ordered tree, and get what one pass over the inputs gives, line numbers included.

Engines (:mod:`analyzer.engines`) only decide where units run.
"""

from .pieces import (
    Lines,
    Piece,
    Read,
    Rows,
    StrictHit,
    check_strict,
    combine,
    combine_tree,
    shift_lines,
    shift_piece,
)
from .units import (
    BATCH_ROWS,
    RANGE_SIZE,
    UNIT_BLOCK_SIZE,
    Options,
    Resume,
    Source,
    Tracked,
    Unit,
    UnitReader,
    detected,
    empty_block,
    last_line,
    plan,
    read_item,
    read_unit,
    source_for,
    split_block,
    take_head,
    unit_bytes,
    unit_items,
)

__all__ = [
    "BATCH_ROWS", "RANGE_SIZE", "UNIT_BLOCK_SIZE", "Lines", "Options", "Piece", "Read", "Resume",
    "Rows", "Source", "StrictHit", "Tracked", "Unit", "UnitReader", "check_strict", "combine",
    "combine_tree", "detected", "empty_block", "last_line", "plan", "read_item", "read_unit",
    "shift_lines", "shift_piece", "source_for", "split_block", "take_head", "unit_bytes",
    "unit_items",
]
