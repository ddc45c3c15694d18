//! A count part of rows, bounded as analyzer/summary/bounded.py's `fold_counts` bounds it, in
//! a few passes over the rows: the rows are counted by key, each group keeps at most `k` keys
//! (the (k+1)-th largest count of a group is taken from every key of it) and what is taken goes
//! to the group's remainder rows, one per coarse key. The NumPy path gets the same rows from a
//! dozen grouped aggregations.

use crate::hashing::mix;

/// A row's key columns, as dense codes (a null is a code of its own, never negative).
pub struct Keys<'a> {
    /// The key columns: the `groups` first form the groups, the others are bounded.
    pub columns: &'a [&'a [i64]],
    pub groups: usize,
    /// Per bounded column, whether each row's value folds (is written as "folded" in a
    /// remainder row) or keeps its name there.
    pub folds: &'a [&'a [bool]],
}

/// The bounded part: per row of it, a row of the input that holds its key (a remainder row's
/// bounded values are that row's, coarse), its count, first and last times, and whether it
/// is a remainder row. Times are `i64::MAX` (first) and `i64::MIN` (last) when none is given.
#[derive(Debug, Default, PartialEq)]
pub struct Counted {
    pub row: Vec<i64>,
    pub count: Vec<i64>,
    pub first: Vec<i64>,
    pub last: Vec<i64>,
    pub rest: Vec<bool>,
}

/// A time that is not given (the caller's null).
pub const NO_TIME: i64 = i64::MIN;
const FOLDED: i64 = -1;

fn hash_codes(codes: impl Iterator<Item = i64>) -> u64 {
    mix(codes.fold(0x9E37_79B9_7F4A_7C15, |h, c| mix(h ^ c as u64)))
}

/// Numbers the items `0..n` by their value (equal items, equal numbers, from 0 in order of
/// first appearance): returns each item's number and the first item of each number.
pub(crate) fn intern(
    n: usize,
    hash: impl Fn(usize) -> u64,
    same: impl Fn(usize, usize) -> bool,
) -> (Vec<u32>, Vec<usize>) {
    let size = (2 * n).next_power_of_two().max(16);
    let mask = size - 1;
    let mut slots = vec![u32::MAX; size];
    let mut ids = Vec::with_capacity(n);
    let mut firsts: Vec<usize> = Vec::new();
    for item in 0..n {
        let mut at = hash(item) as usize & mask;
        let id = loop {
            let slot = slots[at];
            if slot == u32::MAX {
                slots[at] = firsts.len() as u32;
                firsts.push(item);
                break slots[at];
            }
            if same(firsts[slot as usize], item) {
                break slot;
            }
            at = (at + 1) & mask;
        };
        ids.push(id);
    }
    (ids, firsts)
}

impl Keys<'_> {
    fn rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.len())
    }

    fn code(&self, column: usize, row: usize) -> i64 {
        self.columns[column][row]
    }

    /// What a bounded value reads as in a remainder row.
    fn coarse(&self, column: usize, row: usize) -> i64 {
        if column >= self.groups && self.folds[column - self.groups][row] {
            FOLDED
        } else {
            self.code(column, row)
        }
    }

    fn same(
        &self,
        columns: std::ops::Range<usize>,
        a: usize,
        b: usize,
        value: impl Fn(usize, usize) -> i64,
    ) -> bool {
        columns.into_iter().all(|c| value(c, a) == value(c, b))
    }
}

/// Per key: its count and its first and last times.
struct Tally {
    count: Vec<i64>,
    first: Vec<i64>,
    last: Vec<i64>,
}

impl Tally {
    fn new(keys: usize) -> Self {
        Tally {
            count: vec![0; keys],
            first: vec![i64::MAX; keys],
            last: vec![i64::MIN; keys],
        }
    }

    fn add(&mut self, key: usize, count: i64, first: i64, last: i64) {
        self.count[key] += count;
        self.first[key] = self.first[key].min(first);
        self.last[key] = self.last[key].max(last);
    }
}

/// `values` ordered by their `group` (below `groups`; a counting sort, stable): group g's
/// values are `bucketed[start[g]..start[g + 1]]`.
pub(crate) fn bucketed(group: &[u32], values: &[i64], groups: usize) -> (Vec<usize>, Vec<i64>) {
    let mut start = vec![0usize; groups + 1];
    for &g in group {
        start[g as usize + 1] += 1;
    }
    for g in 0..groups {
        start[g + 1] += start[g];
    }
    let mut next = start.clone();
    let mut bucketed = vec![0i64; values.len()];
    for (&g, &v) in group.iter().zip(values) {
        bucketed[next[g as usize]] = v;
        next[g as usize] += 1;
    }
    (start, bucketed)
}

/// The (k+1)-th largest count of each group of more than `k` keys (0 for the others).
fn thresholds(group: &[u32], groups: usize, count: &[i64], k: usize) -> Vec<i64> {
    let (start, mut by_group) = bucketed(group, count, groups);
    (0..groups)
        .map(|g| {
            let counts = &mut by_group[start[g]..start[g + 1]];
            if counts.len() <= k {
                return 0;
            }
            *counts.select_nth_unstable_by(k, |a, b| b.cmp(a)).1
        })
        .collect()
}

/// Each row's count and first and last times: one request at its time (`rows`), or the
/// counts and spans of keys counted already (a parser's counted keys).
pub enum Weights<'a> {
    Rows(Option<&'a [i64]>),
    Counted {
        count: &'a [i64],
        first: &'a [i64],
        last: &'a [i64],
    },
}

impl Weights<'_> {
    fn of(&self, row: usize) -> (i64, i64, i64) {
        let (count, first, last) = match self {
            Weights::Rows(times) => {
                let time = times.map_or(NO_TIME, |t| t[row]);
                (1, time, time)
            }
            Weights::Counted { count, first, last } => (count[row], first[row], last[row]),
        };
        (count, if first == NO_TIME { i64::MAX } else { first }, last)
    }
}

/// A row's count and times, as they go to a remainder row.
struct Folded {
    row: usize,
    count: i64,
    first: i64,
    last: i64,
}

/// The rows of `keys` counted, with at most `k` keys per group (`k` at least 1); `weights`
/// give each row's count and times (`NO_TIME` for none). Rows that `rest` marks are remainder
/// rows already (a merge of bounded parts): they count towards their coarse key's remainder,
/// never as keys.
pub fn bounded_counts(keys: &Keys, weights: &Weights, rest: Option<&[bool]>, k: usize) -> Counted {
    let is_rest = |row: usize| rest.is_some_and(|r| r[row]);
    let keyed: Vec<usize> = (0..keys.rows()).filter(|&row| !is_rest(row)).collect();
    let every = 0..keys.columns.len();
    let (key_of, firsts) = intern(
        keyed.len(),
        |i| hash_codes(every.clone().map(|c| keys.code(c, keyed[i]))),
        |a, b| keys.same(every.clone(), keyed[a], keyed[b], |c, r| keys.code(c, r)),
    );
    let key_rows: Vec<usize> = firsts.iter().map(|&i| keyed[i]).collect();
    let mut tally = Tally::new(key_rows.len());
    for (&row, &key) in keyed.iter().zip(&key_of) {
        let (count, first, last) = weights.of(row);
        tally.add(key as usize, count, first, last);
    }
    let grouping = 0..keys.groups;
    let (group_of, group_keys) = intern(
        key_rows.len(),
        |key| hash_codes(grouping.clone().map(|c| keys.code(c, key_rows[key]))),
        |a, b| {
            keys.same(grouping.clone(), key_rows[a], key_rows[b], |c, r| {
                keys.code(c, r)
            })
        },
    );
    let threshold = thresholds(&group_of, group_keys.len(), &tally.count, k);
    let mut out = Counted::default();
    let mut folded = Vec::new();
    for (key, &row) in key_rows.iter().enumerate() {
        let taken = threshold[group_of[key] as usize].min(tally.count[key]);
        if tally.count[key] > taken {
            out.push(
                row,
                tally.count[key] - taken,
                tally.first[key],
                tally.last[key],
                false,
            );
        }
        if taken > 0 {
            folded.push(Folded {
                row,
                count: taken,
                first: tally.first[key],
                last: tally.last[key],
            });
        }
    }
    for row in (0..keys.rows()).filter(|&row| is_rest(row)) {
        let (count, first, last) = weights.of(row);
        folded.push(Folded {
            row,
            count,
            first,
            last,
        });
    }
    let (rest_of, rest_keys) = intern(
        folded.len(),
        |i| hash_codes(every.clone().map(|c| keys.coarse(c, folded[i].row))),
        |a, b| {
            keys.same(every.clone(), folded[a].row, folded[b].row, |c, r| {
                keys.coarse(c, r)
            })
        },
    );
    let mut remainder = Tally::new(rest_keys.len());
    for (f, &r) in folded.iter().zip(&rest_of) {
        remainder.add(r as usize, f.count, f.first, f.last);
    }
    for (r, &i) in rest_keys.iter().enumerate() {
        let (count, first, last) = (remainder.count[r], remainder.first[r], remainder.last[r]);
        out.push(folded[i].row, count, first, last, true);
    }
    out
}

impl Counted {
    fn push(&mut self, row: usize, count: i64, first: i64, last: i64, rest: bool) {
        self.row.push(row as i64);
        self.count.push(count);
        self.first.push(first);
        self.last.push(last);
        self.rest.push(rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(columns: &[&[i64]], groups: usize, folds: &[&[bool]], k: usize) -> Counted {
        bounded_counts(
            &Keys {
                columns,
                groups,
                folds,
            },
            &Weights::Rows(None),
            None,
            k,
        )
    }

    #[test]
    fn a_group_of_at_most_k_keys_is_counted_exactly() {
        let status: &[i64] = &[0, 0, 0, 1];
        let method: &[i64] = &[5, 6, 5, 5];
        let out = counted(&[status, method], 1, &[&[true; 4]], 2);
        assert_eq!(out.row, vec![0, 1, 3]);
        assert_eq!(out.count, vec![2, 1, 1]);
        assert_eq!(out.rest, vec![false; 3]);
    }

    #[test]
    fn a_crowded_group_gives_its_k_plus_first_count_to_its_remainder() {
        // counts 3, 2, 1, 1 at k = 2: the third largest (1) is taken from each key
        let method: &[i64] = &[1, 1, 1, 2, 2, 3, 4];
        let folds: &[bool] = &[true, true, true, true, true, false, true];
        let out = counted(&[method], 0, &[folds], 2);
        assert_eq!(out.count, vec![2, 1, 3, 1]);
        assert_eq!(out.rest, vec![false, false, true, true]);
        // a value that keeps its name (code 3) gets a remainder row of its own
        assert_eq!(out.row, vec![0, 3, 0, 5]);
    }

    #[test]
    fn remainder_times_cover_every_request_folded() {
        let method: &[i64] = &[1, 2, 3];
        let times = [30, NO_TIME, 10];
        let out = bounded_counts(
            &Keys {
                columns: &[method],
                groups: 0,
                folds: &[&[true; 3]],
            },
            &Weights::Rows(Some(&times)),
            None,
            1,
        );
        assert_eq!(out.count, vec![3]);
        assert_eq!((out.first[0], out.last[0]), (10, 30));
    }

    #[test]
    fn counted_keys_add_their_counts_and_spans() {
        let method: &[i64] = &[1, 2, 1];
        let (count, first, last) = ([4, 1, 2], [20, NO_TIME, 5], [30, NO_TIME, 9]);
        let weights = Weights::Counted {
            count: &count,
            first: &first,
            last: &last,
        };
        let out = bounded_counts(
            &Keys {
                columns: &[method],
                groups: 0,
                folds: &[&[true; 3]],
            },
            &weights,
            None,
            2,
        );
        assert_eq!(out.count, vec![6, 1]);
        assert_eq!((out.first[0], out.last[0]), (5, 30));
        assert_eq!((out.first[1], out.last[1]), (i64::MAX, i64::MIN));
    }

    #[test]
    fn remainder_rows_merge_into_their_coarse_key_and_are_never_keys() {
        // key 1 twice, key 2 once; a remainder row (folded value) of 5 and one that kept
        // its name (code 3) of 2; k = 1 folds key 2 into the folded remainder
        let method: &[i64] = &[1, 2, 1, 9, 3];
        let folds: &[bool] = &[true, true, true, true, false];
        let (count, times) = ([1, 1, 1, 5, 2], [NO_TIME; 5]);
        let weights = Weights::Counted {
            count: &count,
            first: &times,
            last: &times,
        };
        let rest = [false, false, false, true, true];
        let out = bounded_counts(
            &Keys {
                columns: &[method],
                groups: 0,
                folds: &[folds],
            },
            &weights,
            Some(&rest),
            1,
        );
        assert_eq!(out.count, vec![1, 7, 2]);
        assert_eq!(out.rest, vec![false, true, true]);
        assert_eq!(out.row, vec![0, 0, 4]);
    }
}
