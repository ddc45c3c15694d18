"""Summary: one piece or many pieces merged in any order give the same counts and report;
serialisation round trips."""

from __future__ import annotations

import json
import random

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import real_log

import analyzer
from analyzer.parse.block import REJECT_SCHEMA, ParsedBlock, join_blocks
from analyzer.report import build_report
from analyzer.summary import Summary
from analyzer.summary.parts import EXAMPLES_PER_GROUP, PARTS, RESOURCES_PER_GROUP, held_rows
from analyzer.summary.table import aggregate_part, conform_part, decode_part, sort_part

TS = pa.timestamp("us", tz="UTC")
START = pd.Timestamp("2025-10-01T00:00:00Z").value // 1000  # microseconds

request_rows = st.fixed_dictionaries({
    "method": st.sampled_from(["GET", "POST", "PATCH", "FOO", "get", "TRACE", None]),
    "protocol": st.sampled_from(["HTTP/1.1", "HTTP/2.0", "HTTP/1.0", None]),
    "status": st.sampled_from([200, 201, 304, 400, 404, 405, 501, 505]),
    "target": st.sampled_from(["/", "/a?x=1", "/a?x=2", "/api/items/7", None]),
    "client": st.sampled_from(["192.0.2.1", "192.0.2.2", "2001:db8::1", None]),
    "user_agent": st.sampled_from(["curl/8.5.0", "Nikto/2.5", "Mozilla/5.0 Firefox/120", None]),
    "vhost": st.sampled_from(["a.example", "b.example", None]),
    "allow": st.sampled_from(["GET, HEAD", None]),
    # minutes and seconds from the start: repeats on purpose
    "offset": st.integers(min_value=0, max_value=3 * 24 * 3600),
})
reject_rows = st.fixed_dictionaries({
    "reason": st.sampled_from(["no_match", "empty", "not_utf8"]),
    "text": st.sampled_from(["junk", "", "\\xff"]),
})
lines = st.lists(st.one_of(request_rows, reject_rows), min_size=0, max_size=60)
classed_rows = st.tuples(request_rows, st.sampled_from([405, 501, 505])).map(
    lambda pair: {**pair[0], "status": pair[1]})


def _table(rows: list[tuple[int, dict]]) -> pa.Table:
    def column(name: str) -> list[object]:
        return [r[name] for _, r in rows]

    def request(r: dict) -> str:
        parts = [r["method"], r["target"], r["protocol"]]
        return " ".join(p for p in parts if p) if r["method"] else "-"

    return pa.table({
        "line": pa.array([n for n, _ in rows], pa.int64()),
        "client": pa.array(column("client"), pa.string()),
        "time": pa.array([START + r["offset"] * 1_000_000 for _, r in rows], pa.int64()).cast(TS),
        "request": pa.array([request(r) for _, r in rows], pa.string()),
        "status": pa.array(column("status"), pa.int16()),
        "user_agent": pa.array(column("user_agent"), pa.string()),
        "vhost": pa.array(column("vhost"), pa.string()),
        "allow": pa.array(column("allow"), pa.string()),
        "method": pa.array(column("method"), pa.string()),
        "target": pa.array(column("target"), pa.string()),
        "protocol": pa.array(column("protocol"), pa.string()),
    })


def _block(source: str, first: int, items: list[dict]) -> ParsedBlock:
    numbered = list(enumerate(items, start=first))
    requests = [(n, r) for n, r in numbered if "status" in r]
    rejects = [(n, r) for n, r in numbered if "status" not in r]
    reject_table = pa.table({
        "line": pa.array([n for n, _ in rejects], pa.int64()),
        "reason": [r["reason"] for _, r in rejects], "text": [r["text"] for _, r in rejects],
    }, schema=REJECT_SCHEMA)
    return ParsedBlock(source, len(items), _table(requests), reject_table)


def _summaries(sources: dict[str, list[dict]], cuts: dict[str, list[int]]) -> list[Summary]:
    out = []
    for order, (source, items) in enumerate(sources.items()):
        bounds = [0, *sorted(set(c for c in cuts.get(source, []) if 0 < c < len(items))),
                  len(items)]
        for start, end in zip(bounds, bounds[1:], strict=False):
            out.append(Summary.from_block(_block(source, start + 1, items[start:end]),
                                          format="combined", order=order))
    return out


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    a=lines, b=lines,
    cuts_a=st.lists(st.integers(0, 60), max_size=6),
    cuts_b=st.lists(st.integers(0, 60), max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_split_and_merged_in_any_order_equals_whole(a, b, cuts_a, cuts_b, seed):
    sources = {"access.log": a, "other.log": b}
    whole = Summary.merge_all(_summaries(sources, {}))
    pieces = _summaries(sources, {"access.log": cuts_a, "other.log": cuts_b})
    rng = random.Random(seed)
    rng.shuffle(pieces)
    # merged one by one from the left, and as a random tree
    left = Summary.empty()
    for piece in pieces:
        left = left.merge(piece)
    tree = list(pieces)
    while len(tree) > 1:
        i = rng.randrange(len(tree) - 1)
        tree[i:i + 2] = [tree[i + 1].merge(tree[i])]
    tree_merged = tree[0] if tree else Summary.empty()
    assert left == whole
    assert tree_merged == whole
    assert Summary.merge_all(pieces) == whole
    # equal summaries make equal reports; check the one a user sees all the same
    assert build_report(tree_merged).to_dict() == build_report(whole).to_dict()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=lines, cut=st.integers(0, 60))
def test_a_frame_summarises_like_its_blocks(a, cut):
    block = _block("access.log", 1, a)
    if block.table.num_rows == 0:
        return  # an empty frame names no source at all
    frame = block.table.to_pandas()
    frame.insert(0, "source", "access.log")
    from_frame = Summary.from_frame(frame)
    first, second = _block("access.log", 1, a[:cut]), _block("access.log", cut + 1, a[cut:])
    merged = Summary.from_table(first.table, source="access.log").merge(
        Summary.from_table(second.table, source="access.log"))
    assert merged == from_frame


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=st.lists(st.one_of(classed_rows, classed_rows, request_rows, reject_rows), min_size=2,
                  max_size=40),
       cuts=st.lists(st.integers(1, 39), min_size=1, max_size=5),
       client_field=st.sampled_from(["client", "user_agent"]))
def test_blocks_held_encoded_summarise_like_their_strings(a, cuts, client_field):
    """A batch of blocks whose clients and agents were encoded block by block (each with a
    dictionary of its own, nulls and empty blocks among them) is summarised as its strings."""
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(a)}), len(a)]
    blocks = [_block("x.log", start + 1, a[start:end])
              for start, end in zip(bounds, bounds[1:], strict=False)]
    held = [ParsedBlock(b.source, b.lines, held_rows(b.table), b.rejects) for b in blocks]
    if any(b.table.num_rows for b in held):
        assert pa.types.is_dictionary(join_blocks(held).table["user_agent"].type)
    plain = Summary.from_block(join_blocks(blocks), client_field=client_field)
    assert Summary.from_block(join_blocks(held), client_field=client_field) == plain
    # and so are a batch's rows alone, read back as strings
    assert [Summary.from_block(b, client_field=client_field) for b in held] == [
        Summary.from_block(b, client_field=client_field) for b in blocks]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=lines, b=lines, cuts=st.lists(st.integers(0, 60), max_size=6),
       rows=st.sampled_from([1, 2, 7]))
def test_merges_grouped_in_pieces_equal_one_grouping(a, b, cuts, rows):
    """A large part may be aggregated in pieces of any size: the same rows as grouped at once
    (pieces that shared a key would leave it on two rows)."""
    pieces = _summaries({"access.log": a, "other.log": b}, {"access.log": cuts, "other.log": cuts})
    for name, part in PARTS.items():
        if part.k is not None:
            continue
        table = conform_part(pa.concat_tables([p.part(name) for p in pieces]), part)
        at_once = decode_part(sort_part(aggregate_part(table, part), part), part)
        in_pieces = aggregate_part(table, part, piece_rows=rows)
        assert decode_part(sort_part(in_pieces, part), part).equals(at_once), name


def test_merge_is_associative_and_commutative():
    rng = random.Random(7)
    rows = [{"method": rng.choice(["GET", "PUT", "FOO"]), "protocol": "HTTP/1.1",
             "status": rng.choice([200, 405, 501]), "target": f"/p{rng.randrange(5)}",
             "client": f"10.0.0.{rng.randrange(4)}", "user_agent": "curl/8", "vhost": None,
             "allow": None, "offset": rng.randrange(600)} for _ in range(90)]
    a, b, c = (Summary.from_block(_block("x.log", 1 + 30 * i, rows[30 * i:30 * (i + 1)]))
               for i in range(3))
    assert a.merge(b).merge(c) == a.merge(b.merge(c)) == c.merge(a).merge(b)


def test_examples_are_the_smallest_lines_and_resources_a_bottom_k():
    rows = [{"method": "FOO", "protocol": "HTTP/1.1", "status": 501, "target": f"/r{i}",
             "client": "10.0.0.1", "user_agent": "x", "vhost": None, "allow": None,
             "offset": i} for i in range(RESOURCES_PER_GROUP + 20)]
    whole = Summary.from_block(_block("x.log", 1, rows))
    examples = whole.part("examples")
    assert examples["line"].to_pylist() == list(range(1, EXAMPLES_PER_GROUP + 1))
    resources = whole.part("resources")
    assert resources.num_rows == RESOURCES_PER_GROUP
    assert resources["hash"].to_pylist() == sorted(resources["hash"].to_pylist())
    report = build_report(whole)
    assert report.verdicts[0].resources_complete is False


def test_summary_counts_lines_and_rejects():
    items = [{"method": "GET", "protocol": "HTTP/1.1", "status": 200, "target": "/",
              "client": "c", "user_agent": None, "vhost": None, "allow": None, "offset": 0},
             {"reason": "no_match", "text": "junk"}]
    summary = Summary.from_block(_block("x.log", 1, items), format="combined")
    assert summary.part("sources").to_pylist() == [{
        "source": "x.log", "format": "combined", "detection": None, "server": None,
        "lines": 2, "parsed": 1, "rejected": 1, "order": 0,
    }]
    assert summary.part("rejects").to_pylist() == [
        {"source": "x.log", "reason": "no_match", "count": 1}
    ]
    assert summary.requests == 1


# -- serialisation ----------------------------------------------------------------------------

def _real_summary() -> Summary:
    return analyzer.summarize(str(real_log("apachelogs_vhost_combined.log"))).merge(
        analyzer.summarize(str(real_log("advertools_combined_latin1_tail_gzip.log"))))


def test_dict_round_trip_through_json():
    summary = _real_summary()
    data = json.loads(json.dumps(summary.to_dict()))
    assert data["schema"] == "logscan.summary/1"
    assert Summary.from_dict(data) == summary


def test_arrow_round_trip_through_parquet(tmp_path):
    summary = _real_summary()
    pq.write_table(summary.to_arrow(), tmp_path / "summary.parquet")
    assert Summary.from_arrow(pq.read_table(tmp_path / "summary.parquet")) == summary


def test_empty_round_trips():
    empty = Summary.empty()
    assert Summary.from_dict(empty.to_dict()) == empty
    assert Summary.from_arrow(empty.to_arrow()) == empty
    assert empty.merge(empty) == empty
    assert empty.requests == 0


def test_from_dict_rejects_other_schemas():
    with pytest.raises(ValueError, match="logscan.summary/1"):
        Summary.from_dict({"schema": "something/2", "parts": {}})


def test_since_until_keep_the_window():
    items = [{"method": "FOO", "protocol": "HTTP/1.1", "status": 501, "target": "/",
              "client": "c", "user_agent": None, "vhost": None, "allow": None,
              "offset": 3600 * h} for h in range(5)]
    block = _block("x.log", 1, items)
    since = pd.Timestamp("2025-10-01T01:00:00Z").to_pydatetime()
    until = pd.Timestamp("2025-10-01T03:00:00Z").to_pydatetime()
    summary = Summary.from_block(block, since=since, until=until)
    assert summary.requests == 2
    # the line accounting still covers every line read
    assert summary.part("sources")["lines"].to_pylist() == [5]


def _hits_rows(agents: list[str | None], client: str) -> pa.Table:
    n = len(agents)
    return pa.table({
        "line": pa.array(range(1, n + 1), pa.int64()),
        "client": pa.array([client] * n, pa.string()),
        "time": pa.array([START] * n, TS),
        "request": pa.array(["PATCH / HTTP/1.1"] * n, pa.string()),
        "status": pa.array([501] * n, pa.int16()),
        "user_agent": pa.array(agents, pa.string()),
        "method": pa.array(["PATCH"] * n, pa.string()),
        "target": pa.array(["/"] * n, pa.string()),
        "protocol": pa.array(["HTTP/1.1"] * n, pa.string()),
    })


def test_user_agents_read_back_as_sorted_strings():
    """Summaries whose user agents came in different orders merge into the hits part a string
    sort gives, user agents read back as strings."""
    first = Summary.from_table(_hits_rows(["zeta/1", "Alpha/2", None, "zeta/1"], "192.0.2.9"))
    second = Summary.from_table(_hits_rows(["beta/3", "zeta/1", "Alpha/2"], "192.0.2.1"))
    merged = second.merge(first)
    hits = merged.part("hits")
    assert hits.schema.field("user_agent").type == pa.string()
    assert hits.select(["client", "user_agent", "count"]).to_pylist() == [
        {"client": "192.0.2.1", "user_agent": "Alpha/2", "count": 1},
        {"client": "192.0.2.1", "user_agent": "beta/3", "count": 1},
        {"client": "192.0.2.1", "user_agent": "zeta/1", "count": 1},
        {"client": "192.0.2.9", "user_agent": "Alpha/2", "count": 1},
        {"client": "192.0.2.9", "user_agent": "zeta/1", "count": 2},
        {"client": "192.0.2.9", "user_agent": None, "count": 1},
    ]
    assert hits.equals(hits.sort_by([(n, "ascending") for n in
                                     ["vhost", "status", "method", "protocol", "client",
                                      "user_agent"]]))
    assert Summary.from_dict(json.loads(json.dumps(merged.to_dict()))) == merged
    assert first.merge(second).part("hits").equals(hits)
