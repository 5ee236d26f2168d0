//! Properties of the statistics suppression: no shown count is in 1..k, and no suppressed cell
//! can be recovered by linear differencing from the shown cells and the relations between them.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use spondon_core::stats::{
    AGE_BANDS, CaseCount, IsoWeek, K, Relation, SEXES, recoverable, suppress, tabulate,
};

/// A two-way table with row, column and grand totals: cells r×c, then row totals, column
/// totals, grand total. The hardest shape for the local rules.
fn two_way(rows: usize, cols: usize) -> Vec<Relation> {
    let cell = |i: usize, j: usize| i * cols + j;
    let row_total = |i: usize| rows * cols + i;
    let col_total = |j: usize| rows * cols + rows + j;
    let grand = rows * cols + rows + cols;
    let mut rel = Vec::new();
    for i in 0..rows {
        rel.push(Relation {
            total: row_total(i),
            parts: (0..cols).map(|j| cell(i, j)).collect(),
        });
    }
    for j in 0..cols {
        rel.push(Relation {
            total: col_total(j),
            parts: (0..rows).map(|i| cell(i, j)).collect(),
        });
    }
    rel.push(Relation {
        total: grand,
        parts: (0..rows).map(row_total).collect(),
    });
    rel.push(Relation {
        total: grand,
        parts: (0..cols).map(col_total).collect(),
    });
    rel
}

fn values_of(rows: usize, cols: usize, cells: &[u64]) -> Vec<u64> {
    let mut v = cells.to_vec();
    for i in 0..rows {
        v.push((0..cols).map(|j| cells[i * cols + j]).sum());
    }
    for j in 0..cols {
        v.push((0..rows).map(|i| cells[i * cols + j]).sum());
    }
    v.push(cells.iter().sum());
    v
}

fn small_counts() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), 1u64..10, 10u64..60]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn two_way_tables_leak_nothing(
        (rows, cols, cells) in (1usize..5, 1usize..5).prop_flat_map(|(r, c)| {
            (Just(r), Just(c), proptest::collection::vec(small_counts(), r * c))
        })
    ) {
        let rel = two_way(rows, cols);
        let values = values_of(rows, cols, &cells);
        let hidden = suppress(&values, &rel, K);
        for (v, h) in values.iter().zip(&hidden) {
            prop_assert!(*h || *v == 0 || *v >= K, "shown count {v} below k");
        }
        prop_assert!(recoverable(values.len(), &rel, &hidden).is_empty());
        // Every relation with a hidden member has at least two, and when its total is shown
        // its hidden parts sum to 0 or at least k.
        for r in &rel {
            let members: Vec<usize> = std::iter::once(r.total).chain(r.parts.iter().copied()).collect();
            let n = members.iter().filter(|m| hidden[**m]).count();
            prop_assert!(n == 0 || n >= 2);
            if !hidden[r.total] {
                let s: u64 = r.parts.iter().filter(|p| hidden[**p]).map(|p| values[*p]).sum();
                prop_assert!(s == 0 || s >= K);
            }
        }
    }

    #[test]
    fn report_blocks_leak_nothing(
        rows in proptest::collection::vec(
            (0usize..2, 0usize..4, 0usize..AGE_BANDS.len(), 0usize..SEXES.len(), 1u64..25), 1..30)
    ) {
        let week = IsoWeek::parse("2026-W23").unwrap();
        let districts = ["Dhaka", "Sylhet"];
        let upazilas = ["A", "B", "C", "D"];
        let cases: Vec<CaseCount> = rows.iter().map(|(d, u, a, s, n)| CaseCount {
            condition: "dengue".into(),
            week,
            district: districts[*d].into(),
            upazila: upazilas[*u].into(),
            age_band: AGE_BANDS[*a].into(),
            sex: SEXES[*s].into(),
            count: *n,
        }).collect();
        let cells = tabulate(&cases, K);
        for d in districts {
            // Rebuild the block's system from what was published: known values, unknown ones.
            let block: Vec<_> = cells.iter().filter(|c| c.key.district == d).collect();
            if block.is_empty() { continue; }
            let mut all = vec![None::<u64>];
            let mut names: Vec<(u8, String)> = vec![(0, String::new())];
            let total = block.iter().find(|c| c.key.is_district()).unwrap();
            all[0] = total.count;
            let mut rel = Vec::new();
            for (tag, pick) in [(1u8, 0usize), (2, 1), (3, 2)] {
                let mut parts = Vec::new();
                for c in &block {
                    let name = match pick {
                        0 => c.key.upazila.clone(),
                        1 => c.key.age_band.clone(),
                        _ => c.key.sex.clone(),
                    };
                    if let Some(n) = name {
                        parts.push(all.len());
                        all.push(c.count);
                        names.push((tag, n));
                    }
                }
                rel.push(Relation { total: 0, parts });
            }
            let hidden: Vec<bool> = all.iter().map(Option::is_none).collect();
            for v in all.iter().flatten() {
                prop_assert!(*v >= K, "shown count {v} below k");
            }
            prop_assert!(recoverable(all.len(), &rel, &hidden).is_empty(),
                "a suppressed cell of {d} is recoverable: {:?}", names);
        }
    }
}
