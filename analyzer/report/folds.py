"""Lists cut at K, and what they leave out: the keys of a class beyond those listed become one
finding per class ("4,981 distinct unregistered methods from 1 client, 29,017 requests: method
fuzzing"), and every cut list says how many more keys and requests there are.

Counts come from the Summary's bounded parts (analyzer.summary.bounded): requests exactly (the
remainder rows), distinct keys and clients from its sketches (exact below the sketch size,
estimated above it) when some keys were folded, else exactly from the kept keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..summary.bounded import FOLDED, distinct
from ..summary.summary import Summary
from ..vocabulary import CLASS_BY_STATUS, IANA_METHODS
from .clients import LISTED_COLUMNS, clients_of, where
from .model import Example, Fold, More

__all__ = ["FUZZING", "method_folds", "more", "protocol_fold", "sketch_count"]

ToExample = Callable[[pa.Table, int], tuple[Example, ...]]
#: From this many distinct keys on, a fold is called fuzzing.
FUZZING = 10
_REGISTERED = pa.array(sorted(IANA_METHODS), pa.string())


def sketch_count(sketch: pa.Table, what: str, statuses: Iterable[int] | None = None
                 ) -> tuple[int, bool]:
    """Distinct values of ``what`` over the given statuses (all when None), from the
    Summary's ``distinct`` part: (count, exact)."""
    rows = sketch.filter(pc.equal(sketch["what"], what))
    if statuses is not None:
        rows = rows.filter(pc.is_in(rows["status"], pa.array(list(statuses), pa.int16())))
    return distinct(rows)


def more(requests: int, unlisted: int, folded: bool, counted: tuple[int, bool], listed: int
         ) -> More | None:
    """What a cut list leaves out: ``requests`` (exact), ``unlisted`` keys held by the Summary
    but not listed, whether some keys were folded, the distinct keys a sketch ``counted``
    (``(n, exact)``) and the ``listed`` keys that sketch counts too."""
    if requests <= 0 and unlisted == 0:
        return None
    if not folded:
        return More(unlisted, requests, True)
    n, exact = counted
    count = min(n - listed, requests)  # an estimate never above the requests it counts
    if count <= unlisted:  # the sketch's estimate is low: at least one key was folded
        return More(min(unlisted + 1, max(requests, 1)), requests, False)
    return More(count, requests, exact)


def _unregistered(method: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    return pc.and_(pc.is_valid(method),
                   pc.invert(pc.fill_null(pc.is_in(method, value_set=_REGISTERED), False)))


def method_folds(summary: Summary, verdicts: pd.DataFrame, shown: set[tuple[object, str]],
                 clients: pa.Table, top: int, examples: int, to_example: ToExample) -> list[Fold]:
    """One fold per class of methods (501, 405): the unregistered methods not among the
    ``shown`` (vhost, method) verdicts. ``verdicts``: the verdict table (every kept key)."""
    requests = summary.part("requests")
    sketch = summary.part("distinct")
    unregistered_rows = ~verdicts["registered"].astype(bool)
    hidden = _rows(verdicts, unregistered_rows)
    hidden = _rows(hidden, [(v, m) not in shown for v, m in zip(hidden["vhost"],
                                                                 hidden["method"], strict=True)])
    out = []
    for status in (501, 405):
        cls = CLASS_BY_STATUS[status]
        at = requests.filter(pc.fill_null(pc.equal(requests["status"], status), False))
        unregistered = at.filter(_unregistered(at["method"]))
        column = "not_implemented" if status == 501 else "method_not_allowed"
        listed = _rows(verdicts, unregistered_rows & (verdicts[column] > 0))
        listed = _rows(listed, [(v, m) in shown for v, m in zip(listed["vhost"],
                                                                 listed["method"], strict=True)])
        total = int(pc.sum(unregistered["count"]).as_py() or 0) - int(listed[column].sum())
        if total <= 0:
            continue
        folded = bool(pc.any(pc.equal(unregistered["method"], FOLDED)).as_py())
        names = hidden.loc[hidden[column] > 0, "method"]
        kept = set(names) - set(listed["method"])
        counted = sketch_count(sketch, "unregistered", [status])
        found = more(total, len(kept), folded, counted, len(set(listed["method"])))
        assert found is not None
        rows = clients.filter(pc.and_(pc.equal(clients["status"], status),
                                      _unregistered(clients["method"])))
        rows = rows.filter(pc.invert(pc.is_in(rows["method"], pa.array(
            sorted(set(listed["method"])), pa.string()))))
        who = clients_of(rows.select(LISTED_COLUMNS), top)
        n_clients, clients_exact = (sketch_count(sketch, "unregistered_client", [status])
                                    if folded else (who.distinct, True))
        n_clients = min(n_clients, total)
        out.append(Fold(
            cls=cls, key="method", status=status, distinct=found.count,
            distinct_exact=found.exact, requests=total, clients=n_clients,
            clients_exact=clients_exact,
            label="method fuzzing" if found.count >= FUZZING else "unregistered methods",
            examples=_examples(summary, status, "method", set(listed["method"]), examples,
                               to_example),
            top_clients=who,
        ))
    return out


def _rows(frame: pd.DataFrame, mask: object) -> pd.DataFrame:
    """The rows of ``frame`` where ``mask`` (a boolean sequence, even when empty) holds."""
    return frame.loc[np.asarray(mask, dtype=bool)]


def protocol_fold(summary: Summary, shown: set[str], clients: pa.Table, top: int,
                  examples: int, to_example: ToExample) -> Fold | None:
    """The protocols answered 505 that are not among the ``shown`` protocol reports."""
    requests = summary.part("requests")
    sketch = summary.part("distinct")
    at = requests.filter(pc.fill_null(pc.equal(requests["status"], 505), False))
    at = at.filter(pc.is_valid(at["protocol"]))
    names = pa.array(sorted(shown), pa.string())
    hidden = at.filter(pc.invert(pc.is_in(at["protocol"], value_set=names)))
    total = int(pc.sum(hidden["count"]).as_py() or 0)
    if total <= 0:
        return None
    folded = bool(pc.any(pc.equal(hidden["protocol"], FOLDED)).as_py())
    kept = {p for p in hidden["protocol"].to_pylist() if p != FOLDED}
    listed = len(set(at["protocol"].to_pylist()) & shown)
    found = more(total, len(kept), folded, sketch_count(sketch, "protocol", [505]), listed)
    assert found is not None
    rows = where(clients, status=505)
    rows = rows.filter(pc.invert(pc.is_in(rows["key"], value_set=names)))
    who = clients_of(rows.select(LISTED_COLUMNS), top)
    return Fold(
        cls=CLASS_BY_STATUS[505], key="protocol", status=505, distinct=found.count,
        distinct_exact=found.exact, requests=total,
        clients=who.distinct if not folded else min(sketch_count(sketch, "client", [505])[0],
                                                     total),
        clients_exact=not folded or sketch_count(sketch, "client", [505])[1],
        label="protocol fuzzing" if found.count >= FUZZING else "other protocols",
        examples=_examples(summary, 505, "protocol", shown, examples, to_example),
        top_clients=who,
    )


def _examples(summary: Summary, status: int, key: str, shown: set[str], limit: int,
              to_example: ToExample) -> tuple[Example, ...]:
    """Example requests of a fold: the Summary's examples of its status whose method is not
    registered (``key`` method) or whose protocol is not shown, outside the listed ones."""
    rows = where(summary.part("examples"), status=status)
    if key == "method":
        rows = rows.filter(_unregistered(rows["method"]))
    else:
        rows = rows.filter(pc.is_valid(rows["protocol"]))
    rows = rows.filter(pc.invert(pc.is_in(rows[key], pa.array(sorted(shown), pa.string()))))
    return to_example(rows, limit)
