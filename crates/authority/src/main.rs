//! `spondon-authority`: the health authority's command-line tool.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use spondon_authority::{Authority, MAX_JWKS_BYTES, Member, parse_jwks, write_atomic};
use spondon_core::time::NumericDate;

/// Keeps the consortium's root key and signs the trust list of member hospitals that wallets and
/// clinic verifiers pin.
#[derive(Parser)]
#[command(
    name = "spondon-authority",
    version,
    after_help = "Example, with a hospital peer created by `spondon-peer init` (it prints its log_vkey):
  spondon-authority init --data ./dghs --name \"DGHS Bangladesh\"
  curl -s https://peer.dmch.example/.well-known/jwks.json > dmch.jwks
  spondon-authority add-hospital --data ./dghs --id dmch \\
      --name \"Dhaka Medical College Hospital\" --peer-url https://peer.dmch.example \\
      --jwks dmch.jwks --log-vkey 'peer.dmch.example/log+1a2b3c4d+AQ…'
  spondon-authority sign --data ./dghs --out trust-list.txt
Hand out ./dghs/root.jwk (public) once; publish trust-list.txt after every change."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates the data directory and a fresh root key (root.key, mode 0600; root.jwk is public).
    Init {
        /// Data directory to create.
        #[arg(long, env = "SPONDON_AUTHORITY_DATA")]
        data: PathBuf,
        /// The authority's name, as wallets show it.
        #[arg(long)]
        name: String,
    },
    /// Adds a member hospital (or with --replace rotates its keys). Takes effect at the next `sign`.
    AddHospital {
        #[arg(long, env = "SPONDON_AUTHORITY_DATA")]
        data: PathBuf,
        /// Short stable id: a–z, 0–9, '-', '_'.
        #[arg(long)]
        id: String,
        /// The hospital's name.
        #[arg(long)]
        name: String,
        /// The hospital peer's public base URL (its SMART Health Card issuer).
        #[arg(long)]
        peer_url: String,
        /// The peer's record-signing keys: a JWKS file (its /.well-known/jwks.json).
        #[arg(long)]
        jwks: PathBuf,
        /// The peer's log verifier key, `origin+keyid+key`, as `spondon-peer init` printed it.
        #[arg(long)]
        log_vkey: String,
        /// Replace the member with this id instead of refusing a duplicate.
        #[arg(long)]
        replace: bool,
    },
    /// Removes a member hospital. Takes effect at the next `sign`.
    RemoveHospital {
        #[arg(long, env = "SPONDON_AUTHORITY_DATA")]
        data: PathBuf,
        #[arg(long)]
        id: String,
    },
    /// Signs the next trust list (its sequence number grows by one) and writes it.
    Sign {
        #[arg(long, env = "SPONDON_AUTHORITY_DATA")]
        data: PathBuf,
        /// Where to write the `SPONDON:1:` text.
        #[arg(long)]
        out: PathBuf,
        /// Days the list stays valid (1–400); publish a new one well before.
        #[arg(long, default_value_t = 90)]
        valid_days: u32,
    },
    /// Shows the members, the last sequence number and the root key.
    Show {
        #[arg(long, env = "SPONDON_AUTHORITY_DATA")]
        data: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spondon-authority: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Init { data, name } => {
            let a = Authority::init(&data, &name)?;
            println!(
                "Created authority {:?} in {}.\nRoot key id: {}\nPin this public key in wallets and verifiers: {}",
                a.name(),
                data.display(),
                a.root_public_key().kid(),
                data.join("root.jwk").display()
            );
        }
        Command::AddHospital {
            data,
            id,
            name,
            peer_url,
            jwks,
            log_vkey,
            replace,
        } => {
            let mut a = Authority::open(&data)?;
            let record_keys = parse_jwks(&read_small(&jwks, MAX_JWKS_BYTES)?)
                .with_context(|| format!("{}", jwks.display()))?;
            let kids: Vec<String> = record_keys
                .keys
                .iter()
                .filter_map(|k| k.kid.clone())
                .collect();
            a.add(
                Member {
                    id: id.clone(),
                    name,
                    peer_url,
                    record_keys,
                    log_vkey,
                },
                replace,
            )?;
            println!(
                "{} hospital {id:?} (record keys: {}). Run `spondon-authority sign` to publish.",
                if replace { "Updated" } else { "Added" },
                kids.join(", ")
            );
        }
        Command::RemoveHospital { data, id } => {
            let mut a = Authority::open(&data)?;
            let m = a.remove(&id)?;
            println!(
                "Removed hospital {:?} ({}). Run `spondon-authority sign` to publish.",
                m.id, m.name
            );
        }
        Command::Sign {
            data,
            out,
            valid_days,
        } => {
            let mut a = Authority::open(&data)?;
            let signed = a.sign(NumericDate::now(), valid_days)?;
            write_atomic(&out, signed.text.as_bytes())?;
            println!(
                "Signed trust list #{} with {} hospital(s), valid {valid_days} days: {}",
                signed.list.sequence,
                signed.list.hospitals.len(),
                out.display()
            );
        }
        Command::Show { data, json } => {
            let a = Authority::open(&data)?;
            if json {
                let v = serde_json::json!({
                    "authority": a.name(),
                    "sequence": a.sequence(),
                    "root_key": a.root_jwk(),
                    "hospitals": a.members(),
                });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "{} — last trust list #{}; root key {}",
                    a.name(),
                    a.sequence(),
                    a.root_public_key().kid()
                );
                for m in a.members() {
                    println!("  {:<16} {}  {}", m.id, m.name, m.peer_url);
                }
            }
        }
    }
    Ok(())
}

fn read_small(path: &Path, max: usize) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    anyhow::ensure!(
        meta.len() <= max as u64,
        "{} is larger than {max} bytes",
        path.display()
    );
    std::fs::read(path).with_context(|| format!("{}", path.display()))
}
