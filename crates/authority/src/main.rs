//! `spondon-authority`: the health authority's command-line tool.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use spondon_authority::{
    Authority, MAX_JWKS_BYTES, Member, WitnessMember, parse_jwks, write_atomic,
};

mod serve;
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
    /// Adds a witness of the members' logs. Takes effect at the next `sign`.
    AddWitness {
        #[arg(long, env = "SPONDON_AUTHORITY_DATA")]
        data: PathBuf,
        /// The witness's cosignature key, `name+keyid+key` (a peer's `witness_vkey`).
        #[arg(long)]
        vkey: String,
        /// The member hospital that runs this witness (its cosignatures never count for that
        /// hospital's own log).
        #[arg(long)]
        operator: Option<String>,
    },
    /// Removes a witness by its key name. Takes effect at the next `sign`.
    RemoveWitness {
        #[arg(long, env = "SPONDON_AUTHORITY_DATA")]
        data: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// Sets how many witness cosignatures each hospital's checkpoints need (0: none required).
    Quorum {
        #[arg(long, env = "SPONDON_AUTHORITY_DATA")]
        data: PathBuf,
        /// Cosignatures from distinct witnesses the hospital does not run.
        count: u8,
    },
    /// Sets the URL where the signed list is published (wallets refresh from it), or `none`.
    PublishUrl {
        #[arg(long, env = "SPONDON_AUTHORITY_DATA")]
        data: PathBuf,
        /// `https://…` (or `http://` on a private network), or `none` to clear it.
        url: String,
    },
    /// Serves the last signed list at `GET /trust-list` and the root key at `GET /root.jwk`.
    Serve {
        #[arg(long, env = "SPONDON_AUTHORITY_DATA")]
        data: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: std::net::SocketAddr,
    },
    /// Prints the public JWK of the statistics key (created at first use, `stats.key`, 0600).
    /// Each hospital lists it in its peer.json `stats_authority_keys`.
    StatsKey {
        #[arg(long, env = "SPONDON_AUTHORITY_DATA")]
        data: PathBuf,
    },
    /// Pulls every member hospital's signed statistics aggregate, verifies it (signature,
    /// freshness, inclusion in the hospital's log), merges, suppresses again and writes the
    /// report: report.csv, report.json, dhis2.json, dhis2-mapping.json, dashboard.html.
    Stats {
        #[arg(long, env = "SPONDON_AUTHORITY_DATA")]
        data: PathBuf,
        /// Directory to write the report into.
        #[arg(long)]
        out: PathBuf,
        /// First ISO week (`2026-W01`); default: 11 weeks before --to.
        #[arg(long)]
        from: Option<String>,
        /// Last ISO week; default: this week.
        #[arg(long)]
        to: Option<String>,
        /// Where to reach a hospital, `ID=https://host[:port]` (or http://, repeatable);
        /// default: its peer URL.
        #[arg(long = "peer", value_name = "ID=URL")]
        peers: Vec<String>,
        /// DHIS2 ids: {"dataElements": {condition: uid}, "orgUnits": {district: uid},
        /// "categoryOptionCombo": uid}; default: stable derived ids (see dhis2-mapping.json).
        #[arg(long)]
        dhis2_mapping: Option<PathBuf>,
        /// Seconds to wait for each hospital.
        #[arg(long, default_value_t = 300)]
        timeout_secs: u64,
        /// Also trust this CA (PEM) for HTTPS to hospitals, besides Mozilla's roots.
        /// Repeatable.
        #[arg(long = "ca", value_name = "PEM")]
        ca_files: Vec<PathBuf>,
        /// Write the report from the hospitals that verified even if others were refused
        /// (the exit status is still 1, and the refusals are listed in the report).
        #[arg(long)]
        allow_missing: bool,
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
        Command::AddWitness {
            data,
            vkey,
            operator,
        } => {
            let mut a = Authority::open(&data)?;
            let name = a.add_witness(WitnessMember { vkey, operator })?;
            println!("Added witness {name:?}. Run `spondon-authority sign` to publish.");
        }
        Command::RemoveWitness { data, name } => {
            let mut a = Authority::open(&data)?;
            a.remove_witness(&name)?;
            println!("Removed witness {name:?}. Run `spondon-authority sign` to publish.");
        }
        Command::Quorum { data, count } => {
            let mut a = Authority::open(&data)?;
            a.set_quorum(count)?;
            println!(
                "Each hospital's checkpoints now need {count} witness cosignature(s). Run `spondon-authority sign` to publish."
            );
        }
        Command::PublishUrl { data, url } => {
            let mut a = Authority::open(&data)?;
            let url = (url != "none").then_some(url);
            a.set_publish_url(url.clone())?;
            match url {
                Some(u) => println!(
                    "Wallets will refresh the list from {u}. Run `spondon-authority sign` to publish."
                ),
                None => println!("Publish URL cleared. Run `spondon-authority sign` to publish."),
            }
        }
        Command::Serve { data, listen } => {
            Authority::open(&data)?;
            serve::run(&data, listen)?;
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
        Command::StatsKey { data } => {
            let a = Authority::open(&data)?;
            let key = a.stats_key()?;
            println!(
                "{}",
                serde_json::to_string_pretty(&key.public_key().to_jwk())?
            );
        }
        Command::Stats {
            data,
            out,
            from,
            to,
            peers,
            dhis2_mapping,
            timeout_secs,
            ca_files,
            allow_missing,
        } => {
            return stats_command(
                &data,
                &out,
                from,
                to,
                &peers,
                dhis2_mapping.as_deref(),
                timeout_secs,
                &ca_files,
                allow_missing,
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
                    "witnesses": a.witnesses(),
                    "quorum": a.quorum(),
                    "publish_url": a.publish_url(),
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
                if !a.witnesses().is_empty() {
                    println!("Witnesses (quorum {}):", a.quorum());
                    for w in a.witnesses() {
                        let name = w.vkey.split('+').next().unwrap_or_default();
                        match &w.operator {
                            Some(op) => println!("  {name}  run by {op}"),
                            None => println!("  {name}"),
                        }
                    }
                }
                if let Some(u) = a.publish_url() {
                    println!("Published at {u}");
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

#[allow(clippy::too_many_arguments)]
fn stats_command(
    data: &Path,
    out: &Path,
    from: Option<String>,
    to: Option<String>,
    peers: &[String],
    dhis2_mapping: Option<&Path>,
    timeout_secs: u64,
    ca_files: &[PathBuf],
    allow_missing: bool,
) -> Result<()> {
    use spondon_authority::stats::{StatsQuery, collect};
    use spondon_core::stats::IsoWeek;
    let a = Authority::open(data)?;
    let week = |flag: &str, w: &str| {
        IsoWeek::parse(w).with_context(|| format!("{flag} {w:?} is not an ISO week like 2026-W23"))
    };
    let to = match to {
        Some(w) => week("--to", &w)?,
        None => IsoWeek::from_unix(NumericDate::now().seconds()),
    };
    let from = match from {
        Some(w) => week("--from", &w)?,
        None => IsoWeek::from_days(to.monday() - 11 * 7),
    };
    let mut urls = std::collections::BTreeMap::new();
    for p in peers {
        let (id, url) = p
            .split_once('=')
            .with_context(|| format!("--peer {p:?} must be ID=https://host[:port]"))?;
        urls.insert(id.to_owned(), url.to_owned());
    }
    let mapping = match dhis2_mapping {
        Some(p) => spondon_authority::report::Dhis2Mapping::read(p)?,
        None => Default::default(),
    };
    anyhow::ensure!(
        !a.members().is_empty(),
        "the authority has no member hospitals (add-hospital first)"
    );
    let query = StatsQuery::new(from, to)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let timeout = std::time::Duration::from_secs(timeout_secs.clamp(1, 3600));
    let net = spondon_net::Client::new(&spondon_net::ClientOptions {
        ca_files: ca_files.to_vec(),
        timeout,
        ..spondon_net::ClientOptions::default()
    })
    .context("--ca")?;
    let collected = rt.block_on(collect(&a, &urls, query, &net, timeout))?;
    for e in &collected.refused {
        eprintln!("spondon-authority: refused: {e} [{}]", e.code());
    }
    let refused = collected.refused.len();
    if refused > 0 && (!allow_missing || collected.accepted.is_empty()) {
        anyhow::bail!(
            "{refused} of {} hospital(s) refused; no report written{}",
            a.members().len(),
            if collected.accepted.is_empty() {
                ""
            } else {
                " (--allow-missing writes one from the others)"
            }
        );
    }
    let names = a
        .members()
        .iter()
        .map(|m| (m.id.clone(), m.name.clone()))
        .collect();
    spondon_authority::report::write(
        out,
        &collected,
        &names,
        &mapping,
        NumericDate::now().seconds(),
    )?;
    let shown = collected
        .merged
        .iter()
        .filter(|c| c.count.is_some())
        .count();
    println!(
        "Statistics {}–{} from {} hospital(s): {} cells ({} shown, {} suppressed); verified and merged in {:.1} ms. Report in {}.",
        collected.query.from,
        collected.query.to,
        collected.accepted.len(),
        collected.merged.len(),
        shown,
        collected.merged.len() - shown,
        collected.merge_millis,
        out.display()
    );
    anyhow::ensure!(refused == 0, "{refused} hospital(s) refused (see above)");
    Ok(())
}
