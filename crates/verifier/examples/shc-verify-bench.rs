//! SMART Health Card verification rate of spondon-core (the verifier's `check` path), for
//! `scripts/bench-shc-vs-node.sh`, which runs the Node package `kill-the-clipboard` on the
//! same cards. Not run in CI.
//!
//! `shc-verify-bench prepare DIR [--cards N]`: issues N distinct cards (the FHIR bundles of
//! `testdata/shc/example-0*-a-fhirBundle.json` our issuer accepts, each with its own rid), writes `cards.txt`
//! (one JWS per line), `key.jwk` (the issuer's public key) and `directory.json`.
//! `shc-verify-bench verify DIR [--secs S]`: verifies every card of `cards.txt` (signature,
//! inflate, payload and FHIR checks) over and over for S seconds on one thread; prints cards/s.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::shc::{CardBuilder, Directory, ParsedCard, VerifyOptions};

const ISS: &str = "https://dmch.example";

fn prepare(dir: &Path, cards: usize) -> Result<()> {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/shc");
    let mut bundles = Vec::new();
    for i in 0..4 {
        let p = testdata.join(format!("example-0{i}-a-fhirBundle.json"));
        if let Ok(t) = std::fs::read_to_string(&p) {
            bundles.push(serde_json::from_str::<serde_json::Value>(&t)?);
        }
    }
    let key = Es256KeyPair::generate()?;
    let nbf = NumericDate::now();
    // Only the bundles our issuer accepts once minified.
    bundles.retain(|b| {
        CardBuilder::new(ISS, nbf, b.clone())
            .minify(true)
            .sign(&key)
            .is_ok()
    });
    anyhow::ensure!(
        !bundles.is_empty(),
        "no usable FHIR bundles in {}",
        testdata.display()
    );
    let mut out = String::new();
    for i in 0..cards {
        let jws = CardBuilder::new(ISS, nbf, bundles[i % bundles.len()].clone())
            .rid(format!("r{i}"))
            .minify(true)
            .sign(&key)?;
        out.push_str(&jws);
        out.push('\n');
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("cards.txt"), out)?;
    std::fs::write(
        dir.join("key.jwk"),
        serde_json::to_string(&key.public_key().to_jwk())?,
    )?;
    let mut d = Directory::new();
    d.add_issuer(ISS, Some("Dhaka Medical College Hospital"))?;
    d.add_key(ISS, key.public_key().to_jwk())?;
    std::fs::write(dir.join("directory.json"), d.to_json()?)?;
    println!("prepared {cards} cards in {}", dir.display());
    Ok(())
}

fn verify(dir: &Path, secs: u64) -> Result<()> {
    let cards: Vec<String> = std::fs::read_to_string(dir.join("cards.txt"))?
        .lines()
        .map(str::to_owned)
        .collect();
    let d = Directory::from_json(&std::fs::read_to_string(dir.join("directory.json"))?)?;
    let options = VerifyOptions::at(NumericDate::now());
    // The path a wallet's sync and a clinic node's redemption take (`check_record`).
    let check = |jws: &str| -> Result<()> {
        ParsedCard::parse(jws)?.into_verified(&d, &options)?;
        Ok(())
    };
    for c in &cards {
        check(c).context("a card does not verify")?;
    }
    let start = Instant::now();
    let until = start + Duration::from_secs(secs);
    let mut n = 0u64;
    while Instant::now() < until {
        for c in &cards {
            check(c)?;
            n += 1;
        }
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "spondon-core: {n} verifications in {:.1} s = {rate:.0} cards/s (1 thread)",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let dir = PathBuf::from(
        args.next()
            .context("usage: shc-verify-bench prepare|verify DIR [--cards N|--secs S]")?,
    );
    let mut n: Option<u64> = None;
    while let Some(k) = args.next() {
        let v: u64 = args.next().context("missing value")?.parse()?;
        match k.as_str() {
            "--cards" | "--secs" => n = Some(v),
            _ => bail!("unknown option {k}"),
        }
    }
    match mode.as_str() {
        "prepare" => prepare(&dir, usize::try_from(n.unwrap_or(200))?),
        "verify" => verify(&dir, n.unwrap_or(10)),
        _ => bail!("usage: shc-verify-bench prepare|verify DIR"),
    }
}
