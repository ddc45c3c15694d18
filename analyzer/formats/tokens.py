"""The bulk-tokenizer plan of a format: which space-separated columns hold which fields.

Most access-log formats are fields separated by single spaces, free text in double quotes. For
them, Arrow's CSV reader (space as delimiter, ``"`` as quote, no escape character) splits a whole
block into columns at C++ speed. A plan maps those columns back to fields. Only lines that match
the format's *fast* pattern (no backslashes, no stray quotes) are handed to the tokenizer, so its
split is the one the format defines.
"""

from __future__ import annotations

from dataclasses import dataclass

from .fields import FieldSpec
from .pieces import Piece


@dataclass(frozen=True)
class Group:
    """Consecutive tokenizer columns that together hold some fields (joined with spaces)."""

    columns: tuple[int, ...]
    pieces: tuple[Piece, ...]
    quoted: bool = False

    @property
    def regex(self) -> str:
        """Pattern with a named group per field, for the group's escape-free text."""
        from .apache import regex_escape

        parts = [
            regex_escape(p) if isinstance(p, str)
            else f"(?P<{p.column}>{p.pattern(quoted=self.quoted, fast=True)})"
            for p in self.pieces
        ]
        return "^" + "".join(parts) + "$"

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        return tuple(p for p in self.pieces if isinstance(p, FieldSpec))

    @property
    def single(self) -> tuple[FieldSpec, str, str] | None:
        """(field, literal prefix, literal suffix) when the group is one field between literals."""
        pieces = list(self.pieces)
        prefix = pieces.pop(0) if pieces and isinstance(pieces[0], str) else ""
        suffix = pieces.pop() if pieces and isinstance(pieces[-1], str) else ""
        if len(pieces) == 1 and isinstance(pieces[0], FieldSpec):
            return pieces[0], str(prefix), str(suffix)
        return None


@dataclass(frozen=True)
class TokenPlan:
    width: int  # number of tokenizer columns per line
    groups: tuple[Group, ...]


class _NotTokenizable(Exception):
    pass


@dataclass
class _Token:
    pieces: list[Piece]
    quoted: bool = False
    continues: bool = False  # the previous token's field runs on into this one


def build_plan(pieces: tuple[Piece, ...]) -> TokenPlan | None:
    """The plan for these pieces, or None when the format does not split on spaces cleanly."""
    try:
        tokens = _tokens(pieces)
    except _NotTokenizable:
        return None
    if not tokens or any(not (t.pieces or t.quoted or t.continues) for t in tokens):
        return None
    groups: list[tuple[list[int], list[Piece], bool]] = []
    for index, token in enumerate(tokens):
        if token.continues and groups:
            groups[-1][0].append(index)
            groups[-1][1].extend(token.pieces)
        else:
            groups.append(([index], list(token.pieces), token.quoted))
    built = tuple(Group(tuple(cols), tuple(_merge(ps)), q) for cols, ps, q in groups)
    return TokenPlan(width=len(tokens), groups=built)


def _tokens(pieces: tuple[Piece, ...]) -> list[_Token]:
    tokens: list[_Token] = [_Token([])]
    in_quote = False
    flat: list[Piece] = []
    for piece in pieces:
        flat.extend(piece if isinstance(piece, str) else [piece])
    for i, item in enumerate(flat):
        current = tokens[-1]
        if isinstance(item, FieldSpec):
            if (item.free_text or (item.optional and item.spaces)) and not in_quote:
                raise _NotTokenizable  # a varying number of tokenizer columns
            current.pieces.append(item)
            for _ in range(0 if in_quote else item.spaces):
                tokens.append(_Token([], continues=True))
            continue
        nxt = flat[i + 1] if i + 1 < len(flat) else None
        if item == '"':
            if not in_quote and not current.pieces and not current.continues:
                current.quoted = in_quote = True
            elif in_quote and nxt in (" ", None):
                in_quote = False
            else:
                raise _NotTokenizable
        elif item == " " and not in_quote:
            tokens.append(_Token([]))
        elif item in "\t\r\n\\":
            raise _NotTokenizable
        else:
            current.pieces.append(item)
    if in_quote:
        raise _NotTokenizable
    return tokens


def _merge(pieces: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + piece
        else:
            out.append(piece)
    return out
