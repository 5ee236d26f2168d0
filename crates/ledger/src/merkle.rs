//! RFC 9162 Merkle tree hashing over SHA-256, inclusion and consistency proofs.
//!
//! This module is deliberately dependency-light (only `sha2` and `thiserror`) and does no I/O, so the
//! wallet and the verifier can reuse the verification functions. Proof *generation* is expressed as a
//! plan: the list of complete subtrees whose hashes make up each proof element. Any hash store (the
//! database, an in-memory tree, fetched tiles) can then fill the plan.

use sha2::{Digest, Sha256};

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; 32];

/// The largest number of hashes a proof can hold for a tree of at most 2^64 - 1 leaves.
pub const MAX_PROOF_HASHES: usize = 64;

/// Why a proof failed to verify, or why a proof could not be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The first tree is larger than the second.
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizeOrder {
        /// The old (first) tree size.
        old: u64,
        /// The new (second) tree size.
        new: u64,
    },
    /// Consistency from the empty tree carries no information and is not a proof.
    #[error("consistency from the empty tree cannot be proven")]
    EmptyOldTree,
    /// The proof has more hashes than any tree could need.
    #[error("proof has {0} hashes, more than the maximum of 64")]
    TooLong(usize),
    /// The proof has the wrong number of hashes for the given sizes.
    #[error("proof has {got} hashes, expected {expected}")]
    WrongLength {
        /// How many hashes the sizes need.
        expected: usize,
        /// How many the proof has.
        got: usize,
    },
    /// A hash in the proof or a root is not 32 bytes long.
    #[error("a hash is {0} bytes long, expected 32")]
    BadHashLength(usize),
    /// The recomputed root does not match the expected root.
    #[error("the recomputed root hash does not match")]
    RootMismatch,
    /// `[start, end)` is not a valid subtree.
    #[error("[{start}, {end}) is not a valid subtree")]
    InvalidSubtree {
        /// The first leaf index.
        start: u64,
        /// One past the last leaf index.
        end: u64,
    },
    /// Two trees of equal size have different roots.
    #[error("trees of equal size have different roots")]
    EqualSizeRootMismatch,
}

impl ProofError {
    /// A stable machine-readable code (docs/architecture.md, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::IndexOutOfRange { .. } => "index_out_of_range",
            Self::SizeOrder { .. } => "size_order",
            Self::EmptyOldTree => "empty_old_tree",
            Self::TooLong(_) => "too_long",
            Self::WrongLength { .. } => "wrong_length",
            Self::BadHashLength(_) => "bad_hash_length",
            Self::RootMismatch => "root_mismatch",
            Self::InvalidSubtree { .. } => "invalid_subtree",
            Self::EqualSizeRootMismatch => "equal_size_root_mismatch",
        }
    }
}

/// SHA-256 of the empty string: the root of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = 1;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    Sha256::digest(buf).into()
}

/// Converts a byte slice to a hash, with a specific error when it is not 32 bytes.
pub fn hash_from_slice(bytes: &[u8]) -> Result<Hash, ProofError> {
    Hash::try_from(bytes).map_err(|_| ProofError::BadHashLength(bytes.len()))
}

/// Largest power of two strictly smaller than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Verifies an RFC 9162 §2.1.3.2 inclusion proof.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion(leaf, index, size, proof)?;
    if &computed == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Recomputes the root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1–5).
pub fn root_from_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(ProofError::TooLong(proof.len()));
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    let mut f = index;
    let mut s = size - 1;
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::WrongLength {
                expected,
                got: proof.len(),
            });
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    Ok(r)
}

/// Verifies an RFC 9162 §2.1.4.2 consistency proof from `(size1, root1)` to `(size2, root2)`.
///
/// As in RFC 9162, `size1 == 0` is rejected: the empty tree is trivially consistent with every
/// tree, and callers that accept it (the witness `old 0` case) handle it themselves.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizeOrder {
            old: size1,
            new: size2,
        });
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(ProofError::TooLong(proof.len()));
    }
    if size1 == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                expected: 0,
                got: proof.len(),
            });
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(ProofError::EqualSizeRootMismatch)
        };
    }
    let expected = consistency_proof_len(size1, size2);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    let mut buf: Vec<Hash>;
    let path: &[Hash] = if size1.is_power_of_two() {
        buf = Vec::with_capacity(proof.len() + 1);
        buf.push(*root1);
        buf.extend_from_slice(proof);
        &buf
    } else {
        proof
    };
    let (first, rest) = path
        .split_first()
        .ok_or(ProofError::WrongLength { expected, got: 0 })?;
    let mut f = size1 - 1;
    let mut s = size2 - 1;
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut fr = *first;
    let mut sr = *first;
    for c in rest {
        if s == 0 {
            return Err(ProofError::WrongLength {
                expected,
                got: proof.len(),
            });
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    if &fr != root1 || &sr != root2 {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Number of hashes in an inclusion proof for `index` in a tree of `size` (`index < size`).
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    if index >= size {
        return 0;
    }
    let mut len = 0;
    let (mut n, mut m) = (size, index);
    while n > 1 {
        let k = split_point(n);
        if m < k {
            n = k;
        } else {
            m -= k;
            n -= k;
        }
        len += 1;
    }
    len
}

/// Number of hashes in a consistency proof from `size1` to `size2` (`0 < size1 < size2`).
pub fn consistency_proof_len(size1: u64, size2: u64) -> usize {
    if size1 == 0 || size1 >= size2 {
        return 0;
    }
    let mut len = 0;
    let (mut m, mut n, mut b) = (size1, size2, true);
    while m != n {
        let k = split_point(n);
        if m <= k {
            n = k;
        } else {
            m -= k;
            n -= k;
            b = false;
        }
        len += 1;
    }
    if !b {
        len += 1;
    }
    len
}

/// A complete subtree: `2^level` leaves starting at leaf `index << level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves (0 = a leaf hash).
    pub level: u8,
    /// Index of the node among the nodes of its level.
    pub index: u64,
}

/// Splits the leaf range `[start, end)` into complete subtrees, left to right, such that folding
/// their hashes from the right (`node_hash(a, node_hash(b, c))`) gives `MTH(D[start:end])`.
///
/// This holds for every range the RFC 9162 proof recursions produce, and for `[0, size)`.
pub fn range_nodes(start: u64, end: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut a = start;
    while a < end {
        let len = end - a;
        let mut level = 63 - len.leading_zeros();
        if a != 0 {
            level = level.min(a.trailing_zeros());
        }
        out.push(NodeId {
            level: level as u8,
            index: a >> level,
        });
        a += 1u64 << level;
    }
    out
}

/// Folds complete-subtree hashes (left to right) into the Merkle tree hash of their range.
pub fn fold_range(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    let mut acc = *last;
    for h in rest.iter().rev() {
        acc = node_hash(h, &acc);
    }
    Some(acc)
}

/// A proof to be filled from a hash store: each element is a list of complete subtrees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPlan {
    /// One entry per proof hash, in proof order (leaf side first).
    pub elements: Vec<Vec<NodeId>>,
}

impl ProofPlan {
    /// Every complete subtree the plan needs, possibly with repeats.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.elements.iter().flatten().copied()
    }

    /// Builds the proof from a lookup of complete-subtree hashes.
    pub fn assemble<E>(
        &self,
        mut lookup: impl FnMut(NodeId) -> Result<Hash, E>,
    ) -> Result<Vec<Hash>, E> {
        let mut out = Vec::with_capacity(self.elements.len());
        let mut parts = Vec::new();
        for element in &self.elements {
            parts.clear();
            for node in element {
                parts.push(lookup(*node)?);
            }
            // Elements are never empty: every range the recursion produces is non-empty.
            if let Some(h) = fold_range(&parts) {
                out.push(h);
            }
        }
        Ok(out)
    }
}

/// Plans the inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1).
pub fn plan_inclusion(index: u64, size: u64) -> Result<ProofPlan, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut top_down = Vec::new();
    let (mut off, mut n, mut m) = (0u64, size, index);
    while n > 1 {
        let k = split_point(n);
        if m < k {
            top_down.push(range_nodes(off + k, off + n));
            n = k;
        } else {
            top_down.push(range_nodes(off, off + k));
            off += k;
            m -= k;
            n -= k;
        }
    }
    top_down.reverse();
    Ok(ProofPlan { elements: top_down })
}

/// Plans the consistency proof from `size1` to `size2` (RFC 9162 §2.1.4.1).
///
/// Equal sizes give an empty plan; `size1 == 0` gives an empty plan too (the witness protocol's
/// `old 0` case), although [`verify_consistency`] rejects it.
pub fn plan_consistency(size1: u64, size2: u64) -> Result<ProofPlan, ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizeOrder {
            old: size1,
            new: size2,
        });
    }
    if size1 == 0 || size1 == size2 {
        return Ok(ProofPlan {
            elements: Vec::new(),
        });
    }
    let mut top_down = Vec::new();
    let (mut off, mut m, mut n, mut b) = (0u64, size1, size2, true);
    while m != n {
        let k = split_point(n);
        if m <= k {
            top_down.push(range_nodes(off + k, off + n));
            n = k;
        } else {
            top_down.push(range_nodes(off, off + k));
            off += k;
            m -= k;
            n -= k;
            b = false;
        }
    }
    if !b {
        top_down.push(range_nodes(off, off + m));
    }
    top_down.reverse();
    Ok(ProofPlan { elements: top_down })
}

/// Whether `[start, end)` is a valid subtree (Merkle Tree Certificates, "subtrees"): non-empty,
/// and `start` a multiple of the smallest power of two `>= end - start`.
pub fn is_valid_subtree(start: u64, end: u64) -> bool {
    if end <= start {
        return false;
    }
    match (end - start).checked_next_power_of_two() {
        Some(p) => start.is_multiple_of(p),
        None => start == 0,
    }
}

/// Verifies that leaf `index` is in the subtree `[start, end)` whose hash is `root`.
pub fn verify_subtree_inclusion(
    leaf: &Hash,
    index: u64,
    start: u64,
    end: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if !is_valid_subtree(start, end) {
        return Err(ProofError::InvalidSubtree { start, end });
    }
    if index < start || index >= end {
        return Err(ProofError::IndexOutOfRange { index, size: end });
    }
    verify_inclusion(leaf, index - start, end - start, proof, root)
}

/// Verifies that the subtree `[start, end)` with hash `subtree_root` is part of the tree of `size`
/// leaves with root `root`. An empty subtree (`start == end`) is consistent with anything when
/// its hash is the empty root and the proof is empty.
pub fn verify_subtree_consistency(
    start: u64,
    end: u64,
    size: u64,
    proof: &[Hash],
    subtree_root: &Hash,
    root: &Hash,
) -> Result<(), ProofError> {
    if proof.len() > MAX_PROOF_HASHES {
        return Err(ProofError::TooLong(proof.len()));
    }
    if start == end {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                expected: 0,
                got: proof.len(),
            });
        }
        return if *subtree_root == empty_root() && end <= size {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if !is_valid_subtree(start, end) {
        return Err(ProofError::InvalidSubtree { start, end });
    }
    if end > size {
        return Err(ProofError::SizeOrder {
            old: end,
            new: size,
        });
    }
    let shape = subtree_consistency_shape(start, end, size);
    if shape.len() != proof.len() {
        return Err(ProofError::WrongLength {
            expected: shape.len(),
            got: proof.len(),
        });
    }
    // Fold bottom-up: `sub` is the subtree-side hash, `full` the whole-range hash.
    let (mut sub, mut full) = (*subtree_root, *subtree_root);
    let mut rest = proof;
    if let Some(Step::Seed) = shape.first() {
        let (first, tail) = proof.split_first().ok_or(ProofError::WrongLength {
            expected: shape.len(),
            got: 0,
        })?;
        sub = *first;
        full = *first;
        rest = tail;
    }
    let steps = shape.iter().filter(|s| !matches!(s, Step::Seed));
    for (step, p) in steps.zip(rest) {
        match step {
            Step::Right => full = node_hash(&full, p),
            Step::Left => full = node_hash(p, &full),
            Step::LeftBoth => {
                sub = node_hash(p, &sub);
                full = node_hash(p, &full);
            }
            Step::Seed => {}
        }
    }
    if &sub != subtree_root || &full != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// One step of a subtree consistency proof, bottom-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The proof starts with the hash of the lowest node (not known to the verifier).
    Seed,
    /// Sibling on the right, outside the subtree.
    Right,
    /// Sibling on the left, outside the subtree.
    Left,
    /// Sibling on the left that is part of the subtree too.
    LeftBoth,
}

/// The bottom-up shape of the subtree consistency proof, and its ranges (top-down recursion
/// generalizing RFC 9162 SUBPROOF to an aligned subtree).
fn subtree_consistency_walk(start: u64, end: u64, size: u64) -> Vec<(Step, u64, u64)> {
    let mut top_down = Vec::new();
    let (mut off, mut s, mut e, mut n, mut known) = (0u64, start, end, size, true);
    loop {
        if s == 0 && e == n {
            if !known {
                top_down.push((Step::Seed, off, off + n));
            }
            break;
        }
        let k = split_point(n);
        if e <= k {
            top_down.push((Step::Right, off + k, off + n));
            n = k;
        } else if s >= k {
            top_down.push((Step::Left, off, off + k));
            off += k;
            s -= k;
            e -= k;
            n -= k;
        } else {
            // Only reachable with s == 0 for a valid subtree: it spans both halves.
            top_down.push((Step::LeftBoth, off, off + k));
            off += k;
            e -= k;
            n -= k;
            known = false;
        }
    }
    top_down.reverse();
    top_down
}

fn subtree_consistency_shape(start: u64, end: u64, size: u64) -> Vec<Step> {
    subtree_consistency_walk(start, end, size)
        .into_iter()
        .map(|(s, _, _)| s)
        .collect()
}

/// Plans the consistency proof of the subtree `[start, end)` in the tree of `size` leaves.
pub fn plan_subtree_consistency(start: u64, end: u64, size: u64) -> Result<ProofPlan, ProofError> {
    if start == end {
        return Ok(ProofPlan {
            elements: Vec::new(),
        });
    }
    if !is_valid_subtree(start, end) {
        return Err(ProofError::InvalidSubtree { start, end });
    }
    if end > size {
        return Err(ProofError::SizeOrder {
            old: end,
            new: size,
        });
    }
    Ok(ProofPlan {
        elements: subtree_consistency_walk(start, end, size)
            .into_iter()
            .map(|(_, a, b)| range_nodes(a, b))
            .collect(),
    })
}

/// The roots of the complete subtrees making up a tree, left to right (largest first).
///
/// This is all the state an appender needs: `O(log n)` hashes, flat in the size of the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    /// `(level, hash)` from left (largest) to right (smallest).
    nodes: Vec<(u8, Hash)>,
}

impl CompactRange {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the range of a tree of `size` from the hashes of [`CompactRange::node_ids`].
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Option<Self> {
        let ids = Self::node_ids(size);
        if ids.len() != hashes.len() {
            return None;
        }
        let nodes = ids
            .iter()
            .zip(hashes)
            .map(|(id, h)| (id.level, h))
            .collect();
        Some(Self { size, nodes })
    }

    /// The complete subtrees (left to right) whose roots form the compact range of `size`.
    pub fn node_ids(size: u64) -> Vec<NodeId> {
        range_nodes(0, size)
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The Merkle tree hash of the whole tree.
    pub fn root(&self) -> Hash {
        let hashes: Vec<Hash> = self.nodes.iter().map(|(_, h)| *h).collect();
        fold_range(&hashes).unwrap_or_else(empty_root)
    }

    /// Appends a leaf hash, calling `on_node` for every complete subtree finished by it (the leaf
    /// itself at level 0 first, then each parent formed).
    pub fn push(&mut self, leaf: Hash, mut on_node: impl FnMut(NodeId, &Hash)) {
        let index = self.size;
        on_node(NodeId { level: 0, index }, &leaf);
        let mut cur = (0u8, leaf);
        while let Some(&(level, left)) = self.nodes.last() {
            if level != cur.0 {
                break;
            }
            self.nodes.pop();
            let parent = node_hash(&left, &cur.1);
            let plevel = level + 1;
            on_node(
                NodeId {
                    level: plevel,
                    index: index >> plevel,
                },
                &parent,
            );
            cur = (plevel, parent);
        }
        self.nodes.push(cur);
        self.size += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_points() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn range_nodes_examples() {
        assert_eq!(range_nodes(0, 7).len(), 3);
        assert_eq!(
            range_nodes(4, 7),
            vec![NodeId { level: 1, index: 2 }, NodeId { level: 0, index: 6 }]
        );
        assert!(range_nodes(3, 3).is_empty());
    }
}
