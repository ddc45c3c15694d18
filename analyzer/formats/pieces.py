"""Format pieces: literal text and fields, and the naming of their columns."""

from __future__ import annotations

from dataclasses import replace

from .fields import FieldSpec

Piece = str | FieldSpec


def assign_columns(
    pieces: list[Piece], wanted: list[tuple[int, tuple[str, ...], FieldSpec]]
) -> list[Piece]:
    """Give each field the first of its preferred columns still free, by priority.

    ``%>s`` outranks ``%s`` for ``status``, ``%b`` outranks ``%O`` for ``bytes``, and so on; a
    field whose names are all taken gets a numbered column (``header_x_2``).
    """
    taken: set[str] = set()
    chosen: dict[int, str] = {}
    order = sorted(range(len(wanted)), key=lambda i: (wanted[i][0], i))
    for i in order:
        _, names, _ = wanted[i]
        name = next((n for n in names if n not in taken), None)
        if name is None:
            n = 2
            while f"{names[-1]}_{n}" in taken:
                n += 1
            name = f"{names[-1]}_{n}"
        taken.add(name)
        chosen[i] = name
    renamed = {id(spec): replace(spec, column=chosen[i]) for i, (_, _, spec) in enumerate(wanted)}
    return [renamed.get(id(p), p) if isinstance(p, FieldSpec) else p for p in pieces]


def merge_literals(pieces: list[Piece]) -> list[Piece]:
    """Join adjacent literal pieces."""
    out: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + piece
        elif piece != "":
            out.append(piece)
    return out
