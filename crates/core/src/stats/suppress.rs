//! Small-cell suppression of linked count tables, and the exact check that no suppressed cell
//! can be recovered by linear differencing.
//!
//! A table is a list of non-negative counts and a list of [`Relation`]s, each saying that one
//! cell (the total) is the sum of others (the parts). [`suppress`] hides:
//! 1. **primary**: every count in `1..k`;
//! 2. **complementary**, repeated to a fixed point, in every relation that has a hidden member:
//!    - at least two members are hidden (one hidden member would be the total minus the others);
//!    - if the total is shown, the hidden parts together count 0 or at least `k` (their sum is
//!      what anyone learns from the relation, and it must not describe fewer than `k` people);
//!
//!    complements are the smallest non-zero parts first, then zero parts, then the total;
//! 3. then [`recoverable`] solves the linear system the published cells leave (exactly, over
//!    the rationals); if any hidden cell is still uniquely determined, the smallest shown
//!    member of a relation around it is hidden too and the loop goes back to step 2.
//!
//! The result depends only on the counts and relations given, so the same block of data is
//! suppressed the same way in every report.

/// `cells[total] = Σ cells[parts]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Index of the total cell.
    pub total: usize,
    /// Indices of the cells that sum to it.
    pub parts: Vec<usize>,
}

impl Relation {
    fn members(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.total).chain(self.parts.iter().copied())
    }
}

/// Which cells to hide (`true`) in a table of `values` linked by `relations`, with threshold
/// `k` (≥ 1). Indices in `relations` must be `< values.len()`; out-of-range ones are ignored.
pub fn suppress(values: &[u64], relations: &[Relation], k: u64) -> Vec<bool> {
    suppress_forced(values, relations, k, &[])
}

/// [`suppress`], with the cells marked in `forced` hidden from the start whatever their value
/// (a merged cell no hospital published).
pub fn suppress_forced(
    values: &[u64],
    relations: &[Relation],
    k: u64,
    forced: &[bool],
) -> Vec<bool> {
    let n = values.len();
    let relations: Vec<Relation> = relations
        .iter()
        .filter(|r| r.total < n && r.parts.iter().all(|p| *p < n))
        .cloned()
        .collect();
    let mut hidden: Vec<bool> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (1..k).contains(v) || forced.get(i) == Some(&true))
        .collect();
    loop {
        // Step 2: local rules to a fixed point.
        let mut changed = true;
        while changed {
            changed = false;
            for r in &relations {
                if r.members().any(|m| hidden[m]) && fix_relation(r, values, k, &mut hidden) {
                    changed = true;
                }
            }
        }
        // Step 3: the exact check.
        let Some(cell) = recoverable(values.len(), &relations, &hidden)
            .first()
            .copied()
        else {
            return hidden;
        };
        let candidate = relations
            .iter()
            .filter(|r| r.members().any(|m| m == cell))
            .flat_map(|r| r.members())
            .filter(|m| !hidden[*m])
            .min_by_key(|m| (values[*m], *m));
        match candidate {
            Some(m) => hidden[m] = true,
            // Every neighbour is hidden already yet the cell is determined: hide the smallest
            // shown cell of any relation that has a hidden member (terminates: cells only get
            // hidden, and with all hidden nothing is determined).
            None => {
                let any = relations
                    .iter()
                    .filter(|r| r.members().any(|m| hidden[m]))
                    .flat_map(|r| r.members())
                    .filter(|m| !hidden[*m])
                    .min_by_key(|m| (values[*m], *m));
                match any {
                    Some(m) => hidden[m] = true,
                    None => return hidden,
                }
            }
        }
    }
}

/// Applies the local rules to one relation; returns whether it hid anything.
fn fix_relation(r: &Relation, values: &[u64], k: u64, hidden: &mut [bool]) -> bool {
    let mut changed = false;
    loop {
        let count = r.members().filter(|m| hidden[*m]).count();
        let hidden_parts_sum: u64 = r
            .parts
            .iter()
            .filter(|p| hidden[**p])
            .map(|p| values[*p])
            .sum();
        let sum_ok = hidden[r.total] || hidden_parts_sum == 0 || hidden_parts_sum >= k;
        if count == 0 || (count >= 2 && sum_ok) {
            return changed;
        }
        // Smallest non-zero shown part, then a zero part (only helps the count), then the total.
        let nonzero = r
            .parts
            .iter()
            .copied()
            .filter(|p| !hidden[*p] && values[*p] > 0)
            .min_by_key(|p| (values[*p], *p));
        let zero = r
            .parts
            .iter()
            .copied()
            .find(|p| !hidden[*p] && values[*p] == 0);
        let pick = match (nonzero, zero) {
            (Some(p), _) => Some(p),
            (None, Some(z)) if count < 2 => Some(z),
            _ => None,
        };
        match pick {
            Some(p) => hidden[p] = true,
            None if !hidden[r.total] => hidden[r.total] = true,
            // All members hidden: nothing more this relation can do.
            None => return changed,
        }
        changed = true;
    }
}

/// The hidden cells whose value is uniquely determined by the shown cells and the relations
/// (linear differencing), in increasing order. Exact rational arithmetic.
pub fn recoverable(n: usize, relations: &[Relation], hidden: &[bool]) -> Vec<usize> {
    // Columns: the hidden cells. Each relation gives a row over them (shown cells are known
    // constants and drop out of the question "is x_i fixed?").
    let cols: Vec<usize> = (0..n).filter(|i| hidden.get(*i) == Some(&true)).collect();
    if cols.is_empty() {
        return Vec::new();
    }
    let col_of = |cell: usize| cols.iter().position(|c| *c == cell);
    let mut rows: Vec<Vec<i128>> = Vec::new();
    for r in relations {
        let mut row = vec![0i128; cols.len()];
        let mut any = false;
        if let Some(c) = col_of(r.total) {
            row[c] += 1;
            any = true;
        }
        for p in &r.parts {
            if let Some(c) = col_of(*p) {
                row[c] -= 1;
                any = true;
            }
        }
        if any && row.iter().any(|v| *v != 0) {
            rows.push(row);
        }
    }
    let basis = echelon(rows);
    cols.iter()
        .enumerate()
        .filter(|(c, _)| {
            let mut unit = vec![0i128; cols.len()];
            unit[*c] = 1;
            reduces_to_zero(&basis, unit)
        })
        .map(|(_, cell)| *cell)
        .collect()
}

fn gcd(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn normalize(row: &mut [i128]) {
    let g = row.iter().fold(0, |g, v| gcd(g, *v));
    if g > 1 {
        row.iter_mut().for_each(|v| *v /= g);
    }
}

/// Row echelon form (fraction-free, rows kept primitive): `(pivot column, row)` pairs.
fn echelon(mut rows: Vec<Vec<i128>>) -> Vec<(usize, Vec<i128>)> {
    let mut basis: Vec<(usize, Vec<i128>)> = Vec::new();
    while let Some(mut row) = rows.pop() {
        for (pc, b) in &basis {
            eliminate(&mut row, *pc, b);
        }
        if let Some(pc) = row.iter().position(|v| *v != 0) {
            // Keep earlier basis rows reduced in this column too.
            for (_, b) in basis.iter_mut() {
                eliminate(b, pc, &row);
            }
            basis.push((pc, row));
        }
    }
    basis
}

fn eliminate(row: &mut [i128], pc: usize, pivot_row: &[i128]) {
    let a = row[pc];
    if a == 0 {
        return;
    }
    let p = pivot_row[pc];
    for (x, y) in row.iter_mut().zip(pivot_row) {
        *x = *x * p - *y * a;
    }
    normalize(row);
}

fn reduces_to_zero(basis: &[(usize, Vec<i128>)], mut v: Vec<i128>) -> bool {
    for (pc, b) in basis {
        eliminate(&mut v, *pc, b);
    }
    v.iter().all(|x| *x == 0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rel(total: usize, parts: &[usize]) -> Relation {
        Relation {
            total,
            parts: parts.to_vec(),
        }
    }

    #[test]
    fn one_small_part_gets_a_complement_whose_sum_reaches_k() {
        // total 40 = 31 + 5 + 4 + 0
        let v = [40, 31, 5, 4, 0];
        let h = suppress(&v, &[rel(0, &[1, 2, 3, 4])], 10);
        // 5 and 4 are primary; together 9 < 10, so 31 is hidden as well.
        assert_eq!(h, vec![false, true, true, true, false]);
        assert!(recoverable(5, &[rel(0, &[1, 2, 3, 4])], &h).is_empty());
    }

    #[test]
    fn small_total_hides_its_only_part() {
        let v = [3, 3];
        let h = suppress(&v, &[rel(0, &[1])], 10);
        assert_eq!(h, vec![true, true]);
    }

    #[test]
    fn nothing_small_nothing_hidden() {
        let v = [40, 30, 10, 0];
        let h = suppress(&v, &[rel(0, &[1, 2, 3])], 10);
        assert_eq!(h, vec![false; 4]);
    }

    #[test]
    fn linked_partitions_with_a_hidden_total() {
        // total 12 split by upazila {9, 3} and by sex {6, 6}: both upazila cells primary, sum
        // 12 ≥ 10, so the total and the sex cells stay.
        let v = [12, 9, 3, 6, 6];
        let rels = [rel(0, &[1, 2]), rel(0, &[3, 4])];
        let h = suppress(&v, &rels, 10);
        assert_eq!(h, vec![false, true, true, true, true]);
        assert!(recoverable(5, &rels, &h).is_empty());
    }

    #[test]
    fn recoverable_finds_a_lone_hidden_cell() {
        let rels = [rel(0, &[1, 2])];
        assert_eq!(recoverable(3, &rels, &[false, true, false]), vec![1]);
        assert!(recoverable(3, &rels, &[false, true, true]).is_empty());
        // A 2×2 table with row and column totals: hiding a rectangle keeps each cell free.
        // cells: a b / c d, row totals r1 r2, column totals c1 c2, grand total g
        let rels = [
            rel(4, &[0, 1]),
            rel(5, &[2, 3]),
            rel(6, &[0, 2]),
            rel(7, &[1, 3]),
            rel(8, &[4, 5]),
            rel(8, &[6, 7]),
        ];
        let mut h = vec![false; 9];
        h[..4].fill(true);
        assert!(recoverable(9, &rels, &h).is_empty());
        // Hiding a, b and the row total r1 is not enough: r1 = g − r2, a = c1 − c, b = c2 − d.
        let mut h = vec![false; 9];
        h[0] = true;
        h[1] = true;
        h[4] = true;
        assert_eq!(recoverable(9, &rels, &h), vec![0, 1, 4]);
    }
}
