//! SMART Health Card verification rate of spondon-core (the verifier's `check` path), for
//! `scripts/bench-shc-vs-node.sh`, which runs the Node package `kill-the-clipboard` on the
//! same cards. Not run in CI.
//!
//! `shc-verify-bench prepare DIR [--cards N]`: issues N distinct cards (the FHIR bundles of
//! `testdata/shc/example-0*-a-fhirBundle.json` our issuer accepts, each with its own rid), writes `cards.txt`
//! (one JWS per line), `key.jwk` (the issuer's public key) and `directory.json`.
//! `shc-verify-bench verify DIR [--secs S]`: verifies every card of `cards.txt` (signature,
//! inflate, payload and FHIR checks) over and over for S seconds on one thread; prints cards/s
//! and the thread's CPU time per card (which other processes on the machine move less);
//! `--raw S` then, for S seconds, interleaves the card check with the raw ES256 verify of the
//! same cards' signatures (the key unparsed, and prepared once) and prints the CPU time of each.

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

fn verify(dir: &Path, secs: u64, raw_secs: u64) -> Result<()> {
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
    let cpu0 = cpu_ns();
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
    let cpu = cpu_ns().map(|c| c.saturating_sub(cpu0.unwrap_or(c)));
    println!(
        "spondon-core: {n} verifications in {:.1} s = {rate:.0} cards/s (1 thread)",
        start.elapsed().as_secs_f64()
    );
    if let Some(cpu) = cpu {
        println!(
            "spondon-core: {:.2} µs CPU per card (ES256 by {})",
            cpu as f64 / 1000.0 / n.max(1) as f64,
            spondon_core::ES256_BACKEND
        );
    }
    if raw_secs > 0 {
        raw(&cards, &d, &check, raw_secs)?;
    }
    Ok(())
}

/// The like-for-like anchor, in the same process and on one thread: rounds of the card check
/// of every card, the raw ES256 verify of the same cards' signing inputs and signatures by an
/// unparsed key (as `scripts/bench/raw-es256` does), and the same by a key prepared once (the
/// fastest raw verify this build has: aws-lc-rs's parsed key; with ring the same as unparsed),
/// interleaved for S seconds so that the machine's drift falls on all three alike; each by the
/// thread's CPU time.
fn raw(
    cards: &[String],
    d: &Directory,
    check: &dyn Fn(&str) -> Result<()>,
    secs: u64,
) -> Result<()> {
    let jwk = d
        .issuer(ISS)
        .and_then(|e| e.keys.first())
        .context("the directory has no key")?;
    let key = spondon_core::Es256PublicKey::from_jwk(jwk)?;
    let prepared = key.verifier();
    let signed: Vec<(&str, Vec<u8>)> = cards
        .iter()
        .map(|c| {
            let (input, sig) = c.rsplit_once('.').context("not a JWS")?;
            Ok((input, spondon_core::b64::decode(sig)?))
        })
        .collect::<Result<_>>()?;
    let timed = |f: &mut dyn FnMut() -> Result<()>| -> Result<u64> {
        let c0 = cpu_ns().context("no per-thread CPU time here")?;
        f()?;
        let c1 = cpu_ns().context("no per-thread CPU time here")?;
        Ok(c1.saturating_sub(c0))
    };
    let (mut card_ns, mut unparsed_ns, mut prepared_ns, mut rounds) = (0u64, 0u64, 0u64, 0u64);
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        card_ns += timed(&mut || cards.iter().try_for_each(|c| check(c)))?;
        unparsed_ns += timed(&mut || {
            signed.iter().try_for_each(|(input, sig)| {
                key.verify(input.as_bytes(), sig)
                    .context("a raw verify failed")
            })
        })?;
        prepared_ns += timed(&mut || {
            signed.iter().try_for_each(|(input, sig)| {
                prepared
                    .verify(input.as_bytes(), sig)
                    .context("a raw verify failed")
            })
        })?;
        rounds += 1;
    }
    let per = |ns: u64| ns as f64 / 1000.0 / (rounds * cards.len() as u64).max(1) as f64;
    let backend = spondon_core::ES256_BACKEND;
    println!(
        "interleaved, {rounds} rounds of {} cards: card check {:.2} µs CPU per card",
        cards.len(),
        per(card_ns)
    );
    println!(
        "raw ES256 verify ({backend}, unparsed key, the cards' signing inputs): {:.2} µs CPU per verify",
        per(unparsed_ns)
    );
    println!(
        "raw ES256 verify ({backend}, prepared key, the cards' signing inputs): {:.2} µs CPU per verify",
        per(prepared_ns)
    );
    Ok(())
}

/// The calling thread's on-CPU time in nanoseconds (Linux: `/proc/thread-self/schedstat`).
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let dir = PathBuf::from(
        args.next()
            .context("usage: shc-verify-bench prepare|verify DIR [--cards N|--secs S [--raw S]]")?,
    );
    let mut n: Option<u64> = None;
    let mut raw_secs = 0;
    while let Some(k) = args.next() {
        let v: u64 = args.next().context("missing value")?.parse()?;
        match k.as_str() {
            "--cards" | "--secs" => n = Some(v),
            "--raw" => raw_secs = v,
            _ => bail!("unknown option {k}"),
        }
    }
    match mode.as_str() {
        "prepare" => prepare(&dir, usize::try_from(n.unwrap_or(200))?),
        "verify" => verify(&dir, n.unwrap_or(10), raw_secs),
        _ => bail!("usage: shc-verify-bench prepare|verify DIR"),
    }
}
