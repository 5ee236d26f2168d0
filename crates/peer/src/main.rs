//! `spondon-peer` command line.

use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use spondon_peer::Peer;
use spondon_peer::config::DataDir;
use spondon_peer::records::IssueRequest;
use spondon_peer::registry::{NewDoctor, NewPatient};

/// The Spondon hospital peer node.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Log level (error, warn, info, debug, trace). Log lines never hold health data.
    #[arg(long, env = "SPONDON_PEER_LOG", default_value = "info", global = true)]
    log_level: tracing::Level,
    /// Log as JSON lines.
    #[arg(long, env = "SPONDON_PEER_LOG_JSON", global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct DataArgs {
    /// Data directory (config, keys, SQLite database).
    #[arg(long, env = "SPONDON_PEER_DATA")]
    data: PathBuf,
    /// Overrides the config's database URL (`sqlite:…` or `postgres://…`); for PostgreSQL
    /// high availability, a comma-separated list of candidates (the primary and its standbys):
    /// the peer writes to the one that accepts writes and follows a failover.
    #[arg(long, env = "SPONDON_PEER_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// A PostgreSQL streaming standby that serves reads where safe (tiles, proofs, patients'
    /// pulls it has replayed); overrides the config's `read_database_url`.
    #[arg(long, env = "SPONDON_PEER_READ_DATABASE_URL", hide_env_values = true)]
    read_database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates a peer: keys (0600), config, database, log; prints the first staff token.
    Init {
        /// Hospital name.
        #[arg(long)]
        name: String,
        /// Public base URL, https://… (the SMART Health Card issuer).
        #[arg(long)]
        url: String,
        /// Data directory to create.
        #[arg(long, env = "SPONDON_PEER_DATA")]
        data: PathBuf,
        /// PostgreSQL URL (or a comma-separated list: a primary and its standbys); default is
        /// SQLite in the data directory.
        #[arg(long, env = "SPONDON_PEER_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
    /// Serves the HTTP API until SIGINT/SIGTERM.
    Serve {
        #[command(flatten)]
        data: DataArgs,
        /// Address to listen on: HTTPS when `spondon-peer tls` set a certificate, plain HTTP
        /// otherwise (loopback, or behind a TLS proxy; see docs/peer.md).
        #[arg(long, env = "SPONDON_PEER_LISTEN", default_value = "127.0.0.1:8400")]
        listen: std::net::SocketAddr,
    },
    /// Sets the certificate and key `serve` answers HTTPS with (PEM files, checked now), and
    /// CAs trusted for outgoing HTTPS (witnesses) besides Mozilla's roots. Restart `serve`.
    Tls {
        /// Data directory.
        #[arg(long, env = "SPONDON_PEER_DATA")]
        data: PathBuf,
        /// Certificate chain, PEM, leaf first (with --key).
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// Private key, PEM (PKCS#8, PKCS#1 or SEC1) (with --cert).
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        /// A CA certificate (PEM) to trust for outgoing HTTPS; repeat for several.
        #[arg(long = "ca")]
        ca: Vec<PathBuf>,
    },
    /// Witnesses another peer's log: adds its note verifier key (from its `init` output,
    /// `log_vkey`) to the config. Restart `serve` to apply.
    WitnessLog {
        /// Data directory.
        #[arg(long, env = "SPONDON_PEER_DATA")]
        data: PathBuf,
        /// The other log's verifier key, `origin+keyid+key`.
        #[arg(long)]
        vkey: String,
    },
    /// Adds a witness of this peer's own log (its submission URL and its `witness_vkey`) to
    /// the config; `serve` pushes every new checkpoint to it. Restart `serve` to apply.
    AddWitness {
        /// Data directory.
        #[arg(long, env = "SPONDON_PEER_DATA")]
        data: PathBuf,
        /// The witness's submission prefix, e.g. http://10.0.0.7:8400/witness.
        #[arg(long)]
        url: String,
        /// The witness's cosigner key, `name+keyid+key` (another peer's `witness_vkey`).
        #[arg(long)]
        vkey: String,
    },
    /// Lets the health authority pull de-identified statistics: adds its statistics key (the
    /// public JWK `spondon-authority stats-key` prints) to the config. Restart `serve` to apply.
    StatsAuthority {
        /// Data directory.
        #[arg(long, env = "SPONDON_PEER_DATA")]
        data: PathBuf,
        /// The JWK file (`-` for stdin).
        #[arg(long)]
        jwk: PathBuf,
    },
    /// Creates another staff bearer token (printed once, stored hashed) with its roles and
    /// expiry; prints {token, id, label, roles, expires_at}.
    StaffToken {
        #[command(flatten)]
        data: DataArgs,
        /// Who or what the token is for.
        #[arg(long)]
        label: String,
        /// Comma-separated roles: registration (patients, enrollment codes), records (issue and
        /// revoke records), admin (everything, including doctors).
        #[arg(long)]
        roles: String,
        /// Days until the token expires (1–366).
        #[arg(long, default_value_t = spondon_peer::staff::DEFAULT_STAFF_TOKEN_DAYS)]
        days: i64,
    },
    /// Revokes a staff token by its id (from `staff-token`), effective at once.
    RevokeStaffToken {
        #[command(flatten)]
        data: DataArgs,
        /// The token's id (16 hex digits).
        #[arg(long)]
        id: String,
    },
    /// Registers a patient from a JSON file (`-` for stdin); prints Health ID and enrollment code.
    RegisterPatient {
        #[command(flatten)]
        data: DataArgs,
        /// JSON: name, birth_date, sex, national_id, phone, district, upazila.
        #[arg(long)]
        json: PathBuf,
        /// Also write the enrollment QR code as SVG here.
        #[arg(long)]
        qr_svg: Option<PathBuf>,
    },
    /// Registers a doctor from a JSON file (`-` for stdin); prints the doctor credential.
    RegisterDoctor {
        #[command(flatten)]
        data: DataArgs,
        /// JSON: bmdc_number, name, department, public_key (JWK).
        #[arg(long)]
        json: PathBuf,
    },
    /// Generates synthetic demo data (Bangladeshi names and districts; dengue, typhoid,
    /// diabetes, hypertension, TB; common drugs; CBC, glucose, NS1) and prints the issuance rate.
    Seed {
        #[command(flatten)]
        data: DataArgs,
        /// Number of patients to register (each gets 4–6 records).
        #[arg(long, default_value_t = 0)]
        patients: u64,
        /// Random seed (same seed, same data).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also issue a statistics scenario: `dengue` registers 43 patients and issues each a
        /// dengue diagnosis this week: 3 in Sylhet (suppressed), 40 in Dhaka (shown).
        #[arg(long, value_parser = ["dengue"])]
        scenario: Option<String>,
        /// Also write this many synthetic statistics rows directly (the fast bulk path for
        /// statistics at scale: no card, signature or log entry per row), over the 52 weeks
        /// ending with --stats-to.
        #[arg(long, default_value_t = 0)]
        stats_cases: u64,
        /// Last week of the bulk rows (`2026-W40`); default: last week.
        #[arg(long)]
        stats_to: Option<String>,
    },
    /// Revokes a record (wrong patient, entered in error): lists its rid in the CRL and logs
    /// it. A correction is not a revocation: issue a superseding record instead.
    RevokeRecord {
        #[command(flatten)]
        data: DataArgs,
        /// Record id (the card's `rid`). Ids are base64url: one in 32 starts with '-'.
        #[arg(long, allow_hyphen_values = true)]
        id: String,
        /// wrong_patient, entered_in_error, duplicate or other.
        #[arg(long)]
        reason: String,
    },
    /// Issues a record from a JSON file (`-` for stdin).
    Issue {
        #[command(flatten)]
        data: DataArgs,
        /// JSON: health_id, kind, doctor_bmdc?, supersedes?, resources[].
        #[arg(long)]
        json: PathBuf,
    },
}

fn read_input(path: &PathBuf) -> Result<Vec<u8>> {
    const MAX: u64 = 4 << 20;
    let mut buf = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin().take(MAX + 1).read_to_end(&mut buf)?;
    } else {
        std::fs::File::open(path)
            .with_context(|| format!("cannot open {}", path.display()))?
            .take(MAX + 1)
            .read_to_end(&mut buf)?;
    }
    anyhow::ensure!(buf.len() as u64 <= MAX, "input is larger than 4 MiB");
    Ok(buf)
}

fn parse<T: serde::de::DeserializeOwned>(path: &PathBuf) -> Result<T> {
    serde_json::from_slice(&read_input(path)?).context("input is not the expected JSON")
}

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// The data directory's single-writer lock (`serve.lock`), for SQLite only: on PostgreSQL the
/// database serializes the log's writers, so several processes (on one host or several) may
/// serve one peer.
fn lock_writer(d: &DataArgs) -> Result<Option<std::fs::File>> {
    let dir = DataDir::new(&d.data);
    let url = match &d.database_url {
        Some(u) => u.clone(),
        None => dir.config()?.database_url,
    };
    if spondon_peer::failover::is_postgres(url.trim_start()) {
        Ok(None)
    } else {
        Ok(Some(dir.lock_writer()?))
    }
}

async fn open(d: &DataArgs) -> Result<Peer> {
    Peer::open_with(
        &DataDir::new(&d.data),
        d.database_url.as_deref(),
        d.read_database_url.as_deref(),
    )
    .await
    .with_context(|| format!("cannot open the peer in {}", d.data.display()))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Init {
            name,
            url,
            data,
            database_url,
        } => {
            let (peer, token) =
                Peer::init(&DataDir::new(&data), &name, &url, database_url.as_deref()).await?;
            print_json(&serde_json::json!({
                "data": data,
                "url": peer.config.url,
                "record_kid": peer.keys.record.kid(),
                "log_vkey": peer.log_vkey(),
                "witness_vkey": peer.witness.verifier().to_vkey(),
                "staff_token": token,
            }))?;
            eprintln!("Keep the staff token secret: it is shown only now.");
            peer.close().await;
        }
        Command::Serve { data, listen } => {
            let _lock = lock_writer(&data)?;
            let peer = Arc::new(open(&data).await?);
            // Uploads no record came to name while the peer was down (each upload purges too).
            peer.purge_files().await?;
            let tls = match &peer.config.tls {
                Some(f) => Some(spondon_net::server::server_config(f).context("peer.json tls")?),
                None => None,
            };
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let witnessing = spondon_peer::witnessing::Witnessing::start(peer.clone())?;
            // Several database candidates: follow the PostgreSQL primary across a failover.
            let failover = peer.start_failover_watch();
            let scheme = if tls.is_some() { "https" } else { "http" };
            tracing::info!(%listen, scheme, witnesses = peer.config.witnesses.len(), "serving");
            spondon_net::server::serve(
                listener,
                tls,
                spondon_peer::http::router(peer.clone()),
                shutdown_signal(),
            )
            .await?;
            witnessing.stop();
            if let Some(f) = failover {
                f.abort();
            }
            peer.close().await;
        }
        Command::Tls {
            data,
            cert,
            key,
            ca,
        } => {
            let files = cert
                .zip(key)
                .map(|(cert, key)| spondon_net::server::TlsFiles { cert, key });
            if files.is_none() && ca.is_empty() {
                anyhow::bail!("nothing to set: give --cert and --key, or --ca");
            }
            let cfg = DataDir::new(&data).set_tls(files, &ca)?;
            print_json(&serde_json::json!({"tls": cfg.tls, "ca_files": cfg.ca_files}))?;
        }
        Command::WitnessLog { data, vkey } => {
            let cfg = DataDir::new(&data).add_witness_log(&vkey)?;
            print_json(&serde_json::json!({"witness_logs": cfg.witness_logs}))?;
        }
        Command::StatsAuthority { data, jwk } => {
            let cfg = DataDir::new(&data).add_stats_authority_key(&read_input(&jwk)?)?;
            let kids: Vec<String> = cfg
                .stats_authority_keys
                .iter()
                .filter_map(|k| spondon_core::keys::Es256PublicKey::from_jwk(k).ok())
                .map(|k| k.kid().to_owned())
                .collect();
            print_json(&serde_json::json!({"stats_authority_keys": kids}))?;
        }
        Command::AddWitness { data, url, vkey } => {
            let cfg = DataDir::new(&data).add_witness(&url, &vkey)?;
            print_json(&serde_json::json!({"witnesses": cfg.witnesses}))?;
        }
        Command::StaffToken {
            data,
            label,
            roles,
            days,
        } => {
            let roles = spondon_peer::staff::Role::parse_list(&roles)?;
            let peer = open(&data).await?;
            let out = peer.create_staff_token_with(&label, &roles, days).await;
            peer.close().await;
            print_json(&out?)?;
            eprintln!("Keep the staff token secret: it is shown only now.");
        }
        Command::RevokeStaffToken { data, id } => {
            let peer = open(&data).await?;
            let out = peer.revoke_staff_token(id.trim()).await;
            peer.close().await;
            out?;
            print_json(&serde_json::json!({"revoked": id.trim()}))?;
        }
        Command::RegisterPatient { data, json, qr_svg } => {
            let req: NewPatient = parse(&json)?;
            let peer = open(&data).await?;
            let out = peer.register_patient(&req).await?;
            peer.audit(None, "register-patient", Some(&out.health_id), 201)
                .await?;
            if let Some(p) = qr_svg {
                // The QR carries a one-time enrollment code: readable by its owner only.
                spondon_fs::write_private(&p, out.enrollment_qr_svg.as_bytes())?;
            }
            print_json(&serde_json::json!({
                "health_id": out.health_id,
                "enrollment_code": out.enrollment_code,
                "enrollment_code_expires": out.enrollment_code_expires,
                "enrollment_text": out.enrollment_text,
            }))?;
            peer.close().await;
        }
        Command::RegisterDoctor { data, json } => {
            let req: NewDoctor = parse(&json)?;
            let peer = open(&data).await?;
            let out = peer.register_doctor(&req).await?;
            peer.audit(None, "register-doctor", Some(&out.bmdc_number), 201)
                .await?;
            print_json(&out)?;
            peer.close().await;
        }
        Command::Seed {
            data,
            patients,
            seed,
            scenario,
            stats_cases,
            stats_to,
        } => {
            use spondon_core::stats::IsoWeek;
            anyhow::ensure!(patients <= 1_000_000, "--patients is at most 1000000");
            anyhow::ensure!(
                stats_cases <= 100_000_000,
                "--stats-cases is at most 100000000"
            );
            let stats_to = match stats_to {
                Some(w) => IsoWeek::parse(&w).with_context(|| {
                    format!("--stats-to {w:?} is not an ISO week like 2026-W40")
                })?,
                None => IsoWeek::from_days(
                    IsoWeek::from_unix(spondon_core::NumericDate::now().seconds()).monday() - 7,
                ),
            };
            let _lock = lock_writer(&data)?;
            let peer = open(&data).await?;
            let mut out = serde_json::Map::new();
            if patients > 0 {
                // The demo population's summary at the top level, as before.
                let summary = spondon_peer::seed::seed(&peer, patients, seed).await?;
                if let serde_json::Value::Object(m) = serde_json::to_value(summary)? {
                    out.extend(m);
                }
            }
            if scenario.is_some() {
                out.insert(
                    "scenario".into(),
                    serde_json::to_value(
                        spondon_peer::seed::seed_dengue_scenario(&peer, seed).await?,
                    )?,
                );
            }
            if stats_cases > 0 {
                out.insert(
                    "stats_cases".into(),
                    serde_json::to_value(
                        spondon_peer::seed::bulk_stat_cases(&peer, stats_cases, seed, stats_to)
                            .await?,
                    )?,
                );
            }
            peer.close().await;
            anyhow::ensure!(
                !out.is_empty(),
                "nothing to do: give --patients, --scenario or --stats-cases"
            );
            print_json(&out)?;
        }
        Command::RevokeRecord { data, id, reason } => {
            let reason: spondon_peer::revocation::RevocationReason = serde_json::from_value(
                serde_json::Value::String(reason),
            )
            .context("--reason must be wrong_patient, entered_in_error, duplicate or other")?;
            let _lock = lock_writer(&data)?;
            let peer = open(&data).await?;
            let out = peer.revoke_record(&id, reason).await;
            let status = if out.is_ok() { 201 } else { 400 };
            let audited = peer.audit(None, "revoke-record", Some(&id), status).await;
            peer.close().await;
            audited?;
            print_json(&out?)?;
        }
        Command::Issue { data, json } => {
            let _lock = lock_writer(&data)?;
            let req: IssueRequest = parse(&json)?;
            let peer = open(&data).await?;
            let out = peer.issue_record(&req).await?;
            peer.audit(None, "issue", Some(&out.id), 201).await?;
            print_json(&out)?;
            peer.close().await;
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let builder = tracing_subscriber::fmt()
        .with_max_level(cli.log_level)
        .with_writer(std::io::stderr);
    if cli.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("spondon-peer: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spondon-peer: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    /// Record ids are base64url: one in 32 starts with '-' and must still be an id.
    #[test]
    fn record_ids_starting_with_a_hyphen_are_ids() {
        use clap::Parser as _;
        let args = [
            "spondon-peer",
            "revoke-record",
            "--data",
            "/tmp/peer",
            "--id",
            "-yO0PpAgZBvlyCYEjiEsvQ",
            "--reason",
            "wrong_patient",
        ];
        let cli = super::Cli::try_parse_from(args);
        assert!(cli.is_ok(), "{:?}", cli.err());
    }
}
