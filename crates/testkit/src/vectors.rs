//! The published conformance vectors (the repository's `testdata/`, verbatim copies with their
//! provenance), each run as its own named test by [`vector_tests!`](crate::vector_tests): a
//! failing vector is named by `cargo test`, and one failure hides no other.

use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/vectors.rs"));

/// Expands to one `#[test]` per `name => "path under testdata/"`, calling `$run(&path)`.
#[doc(hidden)]
#[macro_export]
macro_rules! __each_vector {
    ($run:path; $($name:ident => $rel:literal),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $run(&$crate::vectors::path($rel));
            }
        )*
    };
}

/// The repository's `testdata/`.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// A vector's file: `rel` under `testdata/`, which must exist.
pub fn path(rel: &str) -> PathBuf {
    let p = root().join(rel);
    assert!(p.is_file(), "vector missing: {}", p.display());
    p
}

/// A vector's JSON.
pub fn json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    fn parses(path: &std::path::Path) {
        assert!(super::json(path).is_object(), "{}", path.display());
    }

    mod inclusion {
        vector_tests!(merkle_inclusion, super::parses);
    }
}
