//! The smallest distinct values of each group (analyzer/summary/bounded.py's
//! `smallest_per_group`): KMV sketches and the keys a sample part keeps are both read this way.

/// Per group code, in increasing order: the group and its `m` smallest distinct values, sorted.
pub fn smallest_per_group(code: &[i64], values: &[i64], m: usize) -> Vec<(i64, Vec<i64>)> {
    let mut groups: Vec<(i64, Vec<i64>)> = Vec::new();
    let mut index: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
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

#[cfg(test)]
mod tests {
    use super::*;

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
