//! Lists the published conformance vectors in the repository's `testdata/` so that each runs as
//! its own named test: writes `OUT_DIR/vectors.rs`, one arm of `vector_tests!` per family.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// (family, its folder under `testdata/`): every `.json` file below it is one vector.
const FAMILIES: &[(&str, &str)] = &[
    ("merkle_inclusion", "merkle/inclusion"),
    ("merkle_consistency", "merkle/consistency"),
    ("merkle_subtree_inclusion", "merkle/subtreeinclusion"),
    ("merkle_subtree_consistency", "merkle/subtreeconsistency"),
    ("dcc", "dcc"),
];

fn main() {
    let root = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../testdata");
    println!("cargo::rerun-if-changed={}", root.display());
    println!("cargo::rerun-if-changed=build.rs");
    let mut out = String::from(
        "/// One `#[test]` per published vector of a family, named after its file, calling\n\
         /// `$run(&Path)`: `vector_tests!(merkle_inclusion, check)`. Families: merkle_inclusion,\n\
         /// merkle_consistency, merkle_subtree_inclusion, merkle_subtree_consistency, dcc.\n\
         #[macro_export]\nmacro_rules! vector_tests {\n",
    );
    for (family, dir) in FAMILIES {
        let base = root.join(dir);
        let mut files = Vec::new();
        walk(&base, &mut files);
        files.sort();
        assert!(!files.is_empty(), "no vectors in {}", base.display());
        let mut names = BTreeSet::new();
        writeln!(
            out,
            "    ({family}, $run:path) => {{ $crate::__each_vector!($run;"
        )
        .unwrap();
        for f in files {
            let rel = f.strip_prefix(&root).unwrap().to_str().unwrap().to_owned();
            let within = f.strip_prefix(&base).unwrap().with_extension("");
            let mut name = ident(within.to_str().unwrap());
            let mut n = 2;
            while !names.insert(name.clone()) {
                name = format!("{}_{n}", ident(within.to_str().unwrap()));
                n += 1;
            }
            writeln!(out, "        {name} => {rel:?},").unwrap();
        }
        writeln!(out, "    ); }};").unwrap();
    }
    out.push_str("}\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("vectors.rs");
    std::fs::write(dest, out).unwrap();
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// A test function name from a path: `v_` then lower-case letters, digits and `_`.
fn ident(s: &str) -> String {
    let mut id = String::from("v_");
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.ends_with('_') {
            id.push('_');
        }
    }
    id.trim_end_matches('_').to_owned()
}
