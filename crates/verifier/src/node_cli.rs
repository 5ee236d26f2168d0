//! The node's subcommands: `init`, `serve`, `staff`, `doctor-credential`, `peer-address`,
//! `refresh`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};

use crate::cli::Command;
use crate::node::DataDir;
use crate::node::Node;

#[derive(Debug, Args)]
pub struct DataArgs {
    /// Data directory (config, key, SQLite database).
    #[arg(long, env = "SPONDON_VERIFIER_DATA")]
    pub data: PathBuf,
    /// Overrides the configured database URL (`sqlite:…` or `postgres://…`).
    #[arg(long, env = "SPONDON_VERIFIER_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The clinic's name, shown on the page.
    #[arg(long)]
    pub clinic: String,
    /// Data directory to create (0700).
    #[arg(long, env = "SPONDON_VERIFIER_DATA")]
    pub data: PathBuf,
    /// PostgreSQL URL; default is SQLite in the data directory.
    #[arg(long, env = "SPONDON_VERIFIER_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The consortium trust list (token text) to pin.
    #[arg(long, value_name = "TRUSTLIST")]
    pub trust: PathBuf,
    /// The health authority's root public key (P-256 JWK) the trust list must be signed by.
    #[arg(long, value_name = "JWK")]
    pub root_key: PathBuf,
    /// Where to fetch newer trust lists from (https:// or http:// URL, or a file path), optional.
    #[arg(long)]
    pub trust_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Address to listen on (put TLS termination in front; see docs/verifier.md).
    #[arg(
        long,
        env = "SPONDON_VERIFIER_LISTEN",
        default_value = "127.0.0.1:8500"
    )]
    pub listen: std::net::SocketAddr,
    /// Log level (error, warn, info, debug, trace). Log lines never hold health data.
    #[arg(long, env = "SPONDON_VERIFIER_LOG", default_value = "info")]
    pub log_level: tracing::Level,
    /// Do not refresh trust and revocation lists in the background.
    #[arg(long)]
    pub no_refresh: bool,
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Add a staff member; prints their login token once (only its hash is stored).
    Add {
        #[command(flatten)]
        data: DataArgs,
        /// The staff member's name.
        name: String,
    },
    /// Remove a staff member (their token stops working within a minute; their page sessions
    /// end at once).
    Remove {
        #[command(flatten)]
        data: DataArgs,
        name: String,
    },
    /// List staff names.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Import the doctor credential (token text) the hospital issued for this node's key.
    Import {
        #[command(flatten)]
        data: DataArgs,
        /// File with the credential text, or - for standard input.
        file: PathBuf,
        /// Also write its QR code as SVG here.
        #[arg(long)]
        qr_svg: Option<PathBuf>,
    },
    /// Show the imported credential; with --qr-svg, write its QR code for the patient.
    Show {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        qr_svg: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct PeerAddressArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The peer's public URL, as in the trust list.
    pub url: String,
    /// Where to connect instead of the public URL (https://… or http://host:port); omit with
    /// --remove.
    pub address: Option<String>,
    #[arg(long)]
    pub remove: bool,
}

#[derive(Debug, Args)]
pub struct TrustCaArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The CA certificate, PEM (a file may hold several).
    pub file: PathBuf,
}

fn read_text(path: &PathBuf) -> Result<String> {
    use std::io::Read as _;
    let mut buf = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin().take(1 << 20).read_to_string(&mut buf)?;
    } else {
        std::fs::File::open(path)
            .with_context(|| format!("cannot open {}", path.display()))?
            .take(1 << 20)
            .read_to_string(&mut buf)
            .with_context(|| format!("{} is not UTF-8 text", path.display()))?;
    }
    Ok(buf)
}

fn print_json(v: &serde_json::Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

async fn open(d: &DataArgs) -> Result<Node> {
    Node::open(&DataDir::new(&d.data), d.database_url.as_deref())
        .await
        .with_context(|| format!("cannot open the verifier in {}", d.data.display()))
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

async fn run_async(cmd: Command) -> Result<()> {
    match cmd {
        Command::Check(_) | Command::ShareProof(_) => unreachable_check()?,
        Command::Init(a) => {
            let trust = read_text(&a.trust)?;
            let jwk: spondon_core::keys::Jwk = serde_json::from_str(&read_text(&a.root_key)?)
                .context("--root-key is not a JWK")?;
            let data = DataDir::new(&a.data);
            let node = Node::init(
                &data,
                &a.clinic,
                a.database_url.as_deref(),
                &trust,
                &jwk,
                a.trust_url,
            )
            .await?;
            let t = node.trust();
            print_json(&serde_json::json!({
                "data": a.data,
                "clinic": node.config.clinic,
                "doctor_key": node.key.kid(),
                "doctor_public_jwk": node.key.public_key().to_jwk(),
                "trust_list_sequence": t.list.sequence,
                "hospitals": t.list.hospitals.len(),
            }))?;
            eprintln!(
                "Next: register the doctor key with a hospital, then `doctor-credential import`, and `staff add NAME`."
            );
            node.close().await;
        }
        Command::Serve(a) => {
            tracing_subscriber::fmt()
                .with_max_level(a.log_level)
                .with_writer(std::io::stderr)
                .init();
            let node = Arc::new(open(&a.data).await?);
            let listener = tokio::net::TcpListener::bind(a.listen)
                .await
                .with_context(|| format!("cannot listen on {}", a.listen))?;
            tracing::info!(listen = %a.listen, "serving");
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let refresher = (!a.no_refresh)
                .then(|| tokio::spawn(crate::node::refresh::run(node.clone(), stop_rx)));
            crate::server::serve(
                listener,
                crate::server::router(node.clone()),
                shutdown_signal(),
            )
            .await?;
            let _ = stop_tx.send(true);
            if let Some(r) = refresher {
                let _ = r.await;
            }
            node.close().await;
        }
        Command::Staff(StaffCommand::Add { data, name }) => {
            let node = open(&data).await?;
            let token = node.add_staff(&name).await?;
            print_json(&serde_json::json!({"staff": name.trim(), "token": token}))?;
            eprintln!("Give this token to {}: it is shown only now.", name.trim());
            node.close().await;
        }
        Command::Staff(StaffCommand::Remove { data, name }) => {
            let node = open(&data).await?;
            let removed = node.db.remove_staff(&name).await?;
            node.close().await;
            anyhow::ensure!(removed, "no staff member is named {name:?}");
        }
        Command::Staff(StaffCommand::List { data }) => {
            let node = open(&data).await?;
            print_json(&serde_json::json!({"staff": node.db.staff_names().await?}))?;
            node.close().await;
        }
        Command::DoctorCredential(CredentialCommand::Import { data, file, qr_svg }) => {
            let node = open(&data).await?;
            let info = node.import_credential(&read_text(&file)?).await?;
            write_qr(qr_svg.as_ref(), &info.text)?;
            print_json(&serde_json::to_value(&info.credential)?)?;
            node.close().await;
        }
        Command::DoctorCredential(CredentialCommand::Show { data, qr_svg }) => {
            let node = open(&data).await?;
            let info = node
                .credential()
                .context("no doctor credential is imported yet")?;
            write_qr(qr_svg.as_ref(), &info.text)?;
            println!("{}", info.text);
            node.close().await;
        }
        Command::PeerAddress(a) => {
            let data = DataDir::new(&a.data.data);
            let addr = if a.remove {
                None
            } else {
                Some(
                    a.address
                        .as_deref()
                        .context("give an address, or --remove")?,
                )
            };
            let cfg = data.set_peer_address(&a.url, addr)?;
            print_json(&serde_json::json!({"peer_addresses": cfg.peer_addresses}))?;
        }
        Command::TrustCa(a) => {
            let cfg = DataDir::new(&a.data.data).add_ca_file(&a.file)?;
            print_json(&serde_json::json!({"ca_files": cfg.ca_files}))?;
        }
        Command::Refresh(d) => {
            let node = open(&d).await?;
            crate::node::refresh::refresh_once(&node).await?;
            print_json(&serde_json::json!({"refresh": node.db.refresh_status().await?}))?;
            node.close().await;
        }
    }
    Ok(())
}

fn unreachable_check() -> Result<()> {
    anyhow::bail!("check is run by main")
}

fn write_qr(path: Option<&PathBuf>, text: &str) -> Result<()> {
    if let Some(p) = path {
        let qr = spondon_core::qr::encode(text).context("cannot make the QR code")?;
        // A staff or doctor credential: readable by its owner only.
        spondon_fs::write_private(p, qr.to_svg().as_bytes())?;
    }
    Ok(())
}

/// Runs a node subcommand; exit status 0 or 2 (with the error on stderr).
pub fn run(cmd: Command) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("spondon-verifier: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run_async(cmd)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spondon-verifier: {e:#}");
            ExitCode::from(2)
        }
    }
}
