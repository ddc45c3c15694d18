"""The client lists of a report (top addresses, families, kinds), per key in one pass: the same
lists as the rows of each key alone give, and as the rule says they are."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.report.clients import OTHER_CLIENTS, clients_by, clients_of
from analyzer.report.model import ClientCount, Clients

_ROW = st.tuples(
    st.sampled_from(["GET", "QUUX", None]),
    st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3", OTHER_CLIENTS, None]),
    st.sampled_from(["Chrome", "curl", "Other"]),
    st.sampled_from(["browser", "tool", "bot"]),
    st.integers(1, 4),
)


def _table(rows: list[tuple[str | None, str | None, str, str, int]]) -> pa.Table:
    names = ["key", "client", "ua_family", "client_kind", "count"]
    return pa.table({name: pa.array([r[i] for r in rows],
                                    pa.int64() if name == "count" else pa.string())
                     for i, name in enumerate(names)})


def _ranked(counts: Counter[str], top: int | None) -> tuple[tuple[str, int], ...]:
    ranked = sorted(((v, n) for v, n in counts.items() if n > 0), key=lambda p: (-p[1], p[0]))
    return tuple(ranked if top is None else ranked[:top])


def _first_by(pairs: Counter[tuple[str, str]], rank: int) -> dict[str, str]:
    """Per first member, its second of most requests (ties: by the member ``rank`` names,
    then order of first appearance)."""
    order = sorted(pairs.items(), key=lambda p: (-p[1], p[0][rank]))  # stable: appearance
    chosen: dict[str, str] = {}
    for (first, second), _ in order:
        chosen.setdefault(first, second)
    return chosen


def _expected(rows: list[tuple[str | None, str | None, str, str, int]], top: int) -> Clients:
    per_client = Counter[str]()
    for _, client, _, _, n in rows:
        if client not in (None, OTHER_CLIENTS):
            per_client[client] += n
    chosen = _ranked(per_client, top)
    top_clients = []
    for client, n in chosen:
        pairs = Counter[tuple[str, str]]()
        for _, c, family, kind, m in rows:
            if c == client:
                pairs[(family, kind)] += m
        family, kind = next(iter(sorted(pairs.items(), key=lambda p: (-p[1], p[0][0]))))[0]
        top_clients.append(ClientCount(client, n, family, kind))
    families = _ranked(Counter({f: 0 for _, _, f, _, _ in rows}) + _sums(rows, 2), top)
    listed = {f for f, _ in families}
    kinds_of = Counter[tuple[str, str]]()
    for _, _, family, kind, n in rows:
        if family in listed:
            kinds_of[(family, kind)] += n
    return Clients(
        top_clients=tuple(top_clients),
        ua_families=families,
        client_kinds=_ranked(_sums(rows, 3), None),
        distinct=len(per_client),
        family_kinds=tuple(_first_by(kinds_of, 1).items()),
    )


def _sums(rows: list[tuple[str | None, str | None, str, str, int]], column: int) -> Counter[str]:
    counts = Counter[str]()
    for row in rows:
        counts[str(row[column])] += row[4]
    return counts


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(_ROW, max_size=40), top=st.integers(1, 3))
def test_each_keys_clients_are_those_of_its_rows_alone(
        rows: list[tuple[str | None, str | None, str, str, int]], top: int) -> None:
    found = clients_by(_table(rows), ["key"], top)
    assert set(found) == {(key,) for key, *_ in rows}
    for (key,), clients in found.items():
        mine = [r for r in rows if r[0] == key]
        assert clients == clients_of(_table(mine), top) == _expected(mine, top)


def test_a_known_distinct_count_raises_the_count_of_listed_rows() -> None:
    rows = [("GET", "10.0.0.1", "curl", "tool", 3), ("GET", OTHER_CLIENTS, "curl", "tool", 9)]
    assert clients_of(_table(rows), 10, distinct=40).distinct == 40
    assert clients_of(_table(rows), 10).distinct == 1
    assert clients_of(_table([]), 10, distinct=40) == Clients()
