"""analyzer.summary.bounded: bounded count tables merged in any split and order give one pass's
counts when every group has at most K keys, and stay within the Misra–Gries bound otherwise."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.summary.bounded import distinct, hashes_of, reduce_counts, reduce_hashes

GROUPS = ["status"]
KEY = "method"

events = st.lists(
    st.tuples(st.sampled_from([405, 501, 505]),
              st.one_of(st.none(), st.text("ABCDEFGH", min_size=1, max_size=2))),
    max_size=300,
)


def exact_table(rows: list[tuple[int, str | None]]) -> pa.Table:
    counted = Counter(rows)
    return pa.table({
        "status": pa.array([s for s, _ in counted], pa.int16()),
        KEY: pa.array([m for _, m in counted], pa.string()),
        "rest": pa.array([False] * len(counted)),
        "count": pa.array(list(counted.values()), pa.int64()),
    })


def merged(pieces: list[pa.Table], order: list[int], k: int) -> pa.Table:
    """Merge the pieces pairwise in the order (and tree shape) the permutation gives."""
    tables = [pieces[i] for i in order]
    while len(tables) > 1:
        a, b = tables.pop(), tables.pop(0)
        tables.append(reduce_counts(pa.concat_tables([a, b]), GROUPS, KEY, k))
    return tables[0]


def as_dict(table: pa.Table) -> tuple[dict[tuple[int, str | None], int], dict[int, int]]:
    kept, rest = {}, {}
    for row in table.to_pylist():
        if row["rest"]:
            rest[row["status"]] = row["count"]
        else:
            kept[(row["status"], row[KEY])] = row["count"]
    return kept, rest


@settings(max_examples=150, deadline=None)
@given(rows=events, cuts=st.lists(st.integers(0, 300), max_size=6),
       k=st.integers(1, 12), seed=st.randoms(use_true_random=False))
def test_merged_in_any_split_and_order(rows, cuts, k, seed) -> None:  # noqa: ANN001
    bounds = sorted({0, len(rows), *(c % (len(rows) + 1) for c in cuts)})
    pieces = [reduce_counts(exact_table(rows[a:b]), GROUPS, KEY, k)
              for a, b in zip(bounds, bounds[1:], strict=False)] or [exact_table([])]
    order = list(range(len(pieces)))
    seed.shuffle(order)
    result = merged(pieces, order, k)
    one_pass = reduce_counts(exact_table(rows), GROUPS, KEY, k)
    truth = Counter(rows)
    kept, rest = as_dict(result)
    totals = Counter(s for s, _ in rows)
    for status, total in totals.items():  # totals per group stay exact
        assert sum(c for (s, _), c in kept.items() if s == status) + rest.get(status, 0) == total
    small = all(len({m for s2, m in truth if s2 == s}) <= k for s in totals)
    if small:
        assert kept == dict(truth) and rest == {}
        assert result.equals(one_pass)
        return
    for (status, method), true in truth.items():
        got = kept.get((status, method), 0)
        assert 0 <= true - got <= rest.get(status, 0) / (k + 1)
    for status in totals:
        assert sum(1 for s, _ in kept if s == status) <= k


@settings(max_examples=100, deadline=None)
@given(rows=events, cut=st.integers(0, 300), m=st.integers(2, 20))
def test_distinct_sketch_merges_exactly(rows, cut, m) -> None:  # noqa: ANN001
    def sketch(part: list[tuple[int, str | None]]) -> pa.Table:
        table = pa.table({"status": pa.array([s for s, _ in part], pa.int16()),
                          "hash": hashes_of(pa.array([x for _, x in part], pa.string()))})
        return reduce_hashes(table, GROUPS, m)

    cut %= len(rows) + 1
    a, b = sketch(rows[:cut]), sketch(rows[cut:])
    one = sketch(rows)
    assert reduce_hashes(pa.concat_tables([a, b]), GROUPS, m).equals(one)
    assert reduce_hashes(pa.concat_tables([b, a]), GROUPS, m).equals(one)
    counted = {r["status"]: r for r in distinct(one, GROUPS, m).to_pylist()}
    for status in {s for s, _ in rows}:
        true = len({x for s, x in rows if s == status})
        assert counted[status]["exact"] == (true < m)
        if true < m:
            assert counted[status]["distinct"] == true


def test_method_fuzzing_keeps_the_heavy_method_and_an_exact_remainder() -> None:
    """A scanner's 20,000 distinct methods beside 5,000 PROPFINDs: with K = 16, PROPFIND is kept
    within the bound and every other request is in the exact remainder."""
    rows = [(501, "PROPFIND")] * 5000 + [(501, f"M{i:05d}") for i in range(20000)]
    pieces = [reduce_counts(exact_table(rows[i::7]), GROUPS, KEY, 16) for i in range(7)]
    result = merged(pieces, [3, 0, 6, 1, 5, 2, 4], 16)
    kept, rest = as_dict(result)
    assert len(kept) <= 16
    assert sum(kept.values()) + rest[501] == 25000
    assert 5000 - rest[501] / 17 <= kept[(501, "PROPFIND")] <= 5000
    # each piece keeps PROPFIND less the 17th count (1), and drops its 2,857 singletons
    assert (kept, rest) == ({(501, "PROPFIND"): 4993}, {501: 20007})


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError, match="k must be at least 1, not 0"):
        reduce_counts(exact_table([(501, "X")]), GROUPS, KEY, 0)
