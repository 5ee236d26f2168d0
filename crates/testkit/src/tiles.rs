//! The log read back from its tlog tiles (C2SP tlog-tiles) over any GET function, and the RFC 9162
//! tree hashes computed here, independently of the ledger's own code.

use std::future::Future;

use spondon_ledger::merkle::{self, Hash, NodeId, leaf_hash, node_hash};

/// The path of tile `index` of `kind` (`entries`, or a level `0`, `1`, …) with `width` leaves.
pub fn tile_path(kind: &str, index: u64, width: u64) -> String {
    let n = spondon_ledger::http::encode_index(index);
    if width == 256 {
        format!("/tile/{kind}/{n}")
    } else {
        format!("/tile/{kind}/{n}.p/{width}")
    }
}

/// The hashes of a proof as the peer's answers carry them (`inclusion_proof`,
/// `consistency_proof`: a JSON array of base64 strings); panics on anything else.
pub fn proof_hashes(v: &serde_json::Value) -> Vec<Hash> {
    use base64::Engine as _;
    let list = v
        .as_array()
        .unwrap_or_else(|| panic!("a proof is a JSON array: {v}"));
    list.iter()
        .map(|h| {
            let b64 = h
                .as_str()
                .unwrap_or_else(|| panic!("a proof hash is a string: {h}"));
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap_or_else(|e| panic!("a proof hash is base64 ({e}): {b64}"))
                .try_into()
                .unwrap_or_else(|h: Vec<u8>| panic!("a proof hash has 32 bytes, not {}", h.len()))
        })
        .collect()
}

/// What the tiles of a log of some size hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tiles {
    /// Every entry, from the entry bundles.
    pub entries: Vec<Vec<u8>>,
    /// Every leaf hash, from the level-0 tiles.
    pub leaves: Vec<Hash>,
}

/// Reads every entry and leaf hash of the log of `size` through `get` (a path → the 200 body),
/// checking only the framing: each level-0 tile is 32 bytes a leaf.
pub async fn read<F, Fut>(size: u64, mut get: F) -> Tiles
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Vec<u8>>,
{
    let mut entries = Vec::new();
    let mut leaves = Vec::new();
    let mut t = 0;
    while t * 256 < size {
        let width = (size - t * 256).min(256);
        let bundle = get(tile_path("entries", t, width)).await;
        let mut b = &bundle[..];
        while !b.is_empty() {
            assert!(b.len() >= 2, "entry bundle {t} cut short");
            let len = usize::from(u16::from_be_bytes([b[0], b[1]]));
            assert!(b.len() >= 2 + len, "entry bundle {t} cut short");
            entries.push(b[2..2 + len].to_vec());
            b = &b[2 + len..];
        }
        let hashes = get(tile_path("0", t, width)).await;
        assert_eq!(hashes.len() as u64, 32 * width, "level-0 tile {t}");
        leaves.extend(hashes.chunks(32).map(|h| Hash::try_from(h).unwrap()));
        t += 1;
    }
    Tiles { entries, leaves }
}

/// Every entry of the log of `size`, read through `get`, with the level-0 tiles checked to be
/// their leaf hashes (`at` names the server in failures).
pub async fn entries<F, Fut>(size: u64, at: &str, get: F) -> Vec<Vec<u8>>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Vec<u8>>,
{
    let t = read(size, get).await;
    assert_eq!(t.entries.len() as u64, size, "entry tiles of {at}");
    for (i, e) in t.entries.iter().enumerate() {
        assert_eq!(leaf_hash(e), t.leaves[i], "leaf hash {i} served by {at}");
    }
    t.entries
}

/// [`entries`] from the server at `addr` (plain HTTP): every 200 answer, or a failure naming the
/// tile.
pub async fn entries_at(addr: std::net::SocketAddr, size: u64) -> Vec<Vec<u8>> {
    entries(size, &addr.to_string(), move |path: String| async move {
        crate::http::get_ok(addr, &path).await
    })
    .await
}

/// The hash of subtree `id` over `leaves`.
pub fn node(leaves: &[Hash], id: NodeId) -> Hash {
    let start = (id.index << id.level) as usize;
    let mut layer = leaves[start..start + (1usize << id.level)].to_vec();
    while layer.len() > 1 {
        layer = layer
            .chunks_exact(2)
            .map(|p| node_hash(&p[0], &p[1]))
            .collect();
    }
    layer[0]
}

/// The root of the tree of the first `size` leaves.
pub fn root(leaves: &[Hash], size: u64) -> Hash {
    let ids = merkle::range_nodes(0, size);
    let hashes: Vec<Hash> = ids.iter().map(|id| node(leaves, *id)).collect();
    merkle::fold_range(&hashes).unwrap_or_else(merkle::empty_root)
}

/// RFC 9162 Merkle tree hash over leaf hashes, by the recursive definition.
pub fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => merkle::empty_root(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_root_computations_agree() {
        let leaves: Vec<Hash> = (0u8..13).map(|i| leaf_hash(&[i])).collect();
        for size in 0..=13u64 {
            assert_eq!(
                root(&leaves, size),
                mth(&leaves[..size as usize]),
                "size {size}"
            );
        }
    }

    #[tokio::test]
    async fn a_log_is_read_back_from_its_tiles() {
        let entries: Vec<Vec<u8>> = (0..300u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let e2 = entries.clone();
        let get = move |path: String| {
            let entries = e2.clone();
            async move {
                let (t, width) = parse(&path);
                let range = (t * 256) as usize..(t * 256 + width) as usize;
                if path.starts_with("/tile/entries/") {
                    let mut b = Vec::new();
                    for e in &entries[range] {
                        b.extend_from_slice(&(e.len() as u16).to_be_bytes());
                        b.extend_from_slice(e);
                    }
                    b
                } else {
                    entries[range].iter().flat_map(|e| leaf_hash(e)).collect()
                }
            }
        };
        assert_eq!(super::entries(300, "test", get).await, entries);
    }

    /// (tile index, width) of a path `tile_path` made for a log under 65,536 tiles.
    fn parse(path: &str) -> (u64, u64) {
        let last = path.rsplit_once("/tile/").unwrap().1;
        let rest = last.split_once('/').unwrap().1;
        let (n, width) = match rest.split_once(".p/") {
            Some((n, w)) => (n, w.parse().unwrap()),
            None => (rest, 256),
        };
        let t = n.trim_start_matches('x').replace("/x", "").parse().unwrap();
        (t, width)
    }
}
