//! The smallest distinct values of each group (analyzer/summary/bounded.py's
//! `smallest_per_group`): KMV sketches and the keys a sample part keeps are both read this way.

use std::collections::HashMap;

use crate::folding::{bucketed, intern};
use crate::hashing::mix;

/// Per group code, in increasing order: the group and its `m` smallest distinct values, sorted.
pub fn smallest_per_group(code: &[i64], values: &[i64], m: usize) -> Vec<(i64, Vec<i64>)> {
    let mut groups: Vec<(i64, Vec<i64>)> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    for (&c, &v) in code.iter().zip(values) {
        let at = *index.entry(c).or_insert_with(|| {
            groups.push((c, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(v);
    }
    for (_, group) in groups.iter_mut() {
        if group.len() > 4 * m {
            // most values are above the m-th smallest: cut to the 4m smallest first, unless
            // repeats among them leave fewer than m distinct ones
            let mut head = group.clone();
            head.select_nth_unstable(4 * m);
            head.truncate(4 * m);
            head.sort_unstable();
            head.dedup();
            if head.len() >= m {
                *group = head;
            }
        }
        group.sort_unstable();
        group.dedup();
        group.truncate(m);
    }
    groups.sort_unstable_by_key(|(c, _)| *c);
    groups
}

/// Whether each row holds one of the `m` smallest distinct `values` of its group `code`
/// (analyzer/summary/bounded.py's `rows_of_smallest`): the rows are bucketed by group once
/// (many groups of a few rows each: a sample part's keys), and each group larger than `m`
/// finds its m-th smallest distinct value, which a row's value must not exceed.
pub fn rows_of_smallest(code: &[i64], values: &[i64], m: usize) -> Vec<bool> {
    let (group, firsts) = intern(
        code.len(),
        |row| mix(code[row] as u64),
        |a, b| code[a] == code[b],
    );
    let bound = if m == 1 {
        group_minima(&group, values, firsts.len())
    } else {
        group_bounds(&group, values, firsts.len(), m)
    };
    group
        .iter()
        .zip(values)
        .map(|(&g, &v)| v <= bound[g as usize])
        .collect()
}

fn group_minima(group: &[u32], values: &[i64], groups: usize) -> Vec<i64> {
    let mut low = vec![i64::MAX; groups];
    for (&g, &v) in group.iter().zip(values) {
        let at = &mut low[g as usize];
        *at = (*at).min(v);
    }
    low
}

/// Each group's m-th smallest distinct value (`i64::MAX` when it has fewer).
fn group_bounds(group: &[u32], values: &[i64], groups: usize, m: usize) -> Vec<i64> {
    let (start, mut bucketed) = bucketed(group, values, groups);
    (0..groups)
        .map(|g| {
            let mine = &mut bucketed[start[g]..start[g + 1]];
            if mine.len() <= m {
                i64::MAX
            } else {
                nth_distinct(mine, m)
            }
        })
        .collect()
}

/// The m-th smallest distinct value of `values` (reordered), `i64::MAX` when there are fewer.
fn nth_distinct(values: &mut [i64], m: usize) -> i64 {
    if values.len() > 4 * m {
        // as in smallest_per_group: the 4m smallest hold the m smallest distinct values,
        // unless repeats among them leave fewer than m
        values.select_nth_unstable(4 * m);
        let mut head = values[..4 * m].to_vec();
        head.sort_unstable();
        head.dedup();
        if head.len() >= m {
            return head[m - 1];
        }
    }
    values.sort_unstable();
    let mut distinct = 0;
    for i in 0..values.len() {
        if i == 0 || values[i] != values[i - 1] {
            distinct += 1;
            if distinct == m {
                return values[i];
            }
        }
    }
    i64::MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_the_m_smallest_distinct_values_of_each_group() {
        let code = [7, 1, 7, 7, 1, 7, 7];
        let values = [5, 9, 3, 5, 8, 8, 3];
        assert_eq!(
            rows_of_smallest(&code, &values, 2),
            vec![true, true, true, true, true, false, true]
        );
        assert_eq!(
            rows_of_smallest(&code, &values, 1),
            vec![false, false, true, false, true, false, true]
        );
    }

    #[test]
    fn repeats_count_once_among_the_smallest() {
        let mut values = vec![1i64; 50];
        values.extend([4, 3, 2, i64::MAX]);
        let code = vec![0i64; values.len()];
        let keep = rows_of_smallest(&code, &values, 3);
        assert_eq!(keep.iter().filter(|&&k| k).count(), 52);
        assert!(!keep[50] && !keep[53]);
    }

    #[test]
    fn each_group_keeps_its_m_smallest_distinct_values() {
        let code = [7, 1, 7, 7, 1, 7];
        let values = [5, 9, 3, 5, 9, 8];
        assert_eq!(
            smallest_per_group(&code, &values, 2),
            vec![(1, vec![9]), (7, vec![3, 5])]
        );
    }

    #[test]
    fn repeats_among_the_smallest_do_not_hide_larger_values() {
        let mut values = vec![1i64; 50];
        values.extend([4, 3, 2]);
        let code = vec![0i64; values.len()];
        assert_eq!(
            smallest_per_group(&code, &values, 3),
            vec![(0, vec![1, 2, 3])]
        );
    }
}
