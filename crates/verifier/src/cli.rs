//! Command-line interface of `spondon-verifier`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "spondon-verifier",
    version,
    about = "Spondon clinic verifier: checks SMART Health Cards and Spondon grants, credentials and trust lists",
    long_about = None,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a health card or a Spondon token and print the verdict.
    #[command(after_long_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Verify proofs of sharing offline (who accessed which record, when, under which grant the
    /// patient signed); with --document, the dates a document was shared.
    #[command(name = "share-proof", after_long_help = SHARE_PROOF_EXAMPLES)]
    ShareProof(ShareProofArgs),
    /// Create a clinic node: doctor key (0600), database, pinned trust list.
    Init(crate::node_cli::InitArgs),
    /// Serve the web page and JSON API until SIGINT/SIGTERM.
    Serve(crate::node_cli::ServeArgs),
    /// Manage staff accounts of the web page.
    #[command(subcommand)]
    Staff(crate::node_cli::StaffCommand),
    /// Import or show the doctor credential a hospital issued for this node's key.
    #[command(subcommand, name = "doctor-credential")]
    DoctorCredential(crate::node_cli::CredentialCommand),
    /// Set where a peer is reached instead of its public URL (e.g. on the clinic's LAN).
    PeerAddress(crate::node_cli::PeerAddressArgs),
    /// Trust a CA (PEM) for HTTPS to peers besides Mozilla's roots (a hospital network's
    /// private CA). Restart `serve` to apply.
    TrustCa(crate::node_cli::TrustCaArgs),
    /// Refresh the trust list and revocation lists once, now.
    Refresh(crate::node_cli::DataArgs),
}

const CHECK_EXAMPLES: &str = "\
Input may be a .smart-health-card file, a compact JWS, one or several shc:/ numeric QR texts (legacy
chunks in any order), a Spondon token (the text of its QR code), a PNG/JPEG photo of a QR code, or a
Spondon export (its .smart-health-card file with log proofs, or its PDF): every card, log proof and
share receipt is then verified offline, and only issuer, issue date, log inclusion and share dates
are reported (docs/export.md). Documents (docs/protocol.md §18): a directory export (NAME/ with
NAME.smart-health-card and files/<sha256>.<ext>) or a PDF export has every file checked against its
card; --file checks one file against a card (this PDF is the one <hospital> signed on <date>).

Exit status: 0 valid, 1 invalid, 2 unusable input or arguments.

Examples:
  spondon-verifier check --directory vci-issuers.json card.smart-health-card
  spondon-verifier check --directory vci-issuers.json --at 2021-06-01T00:00:00Z --json card.txt
  spondon-verifier check --trust trust-list.txt --root-key authority.jwk grant.txt
  spondon-verifier check --trust trust-list.txt --root-key authority.jwk export.pdf
  spondon-verifier check --trust trust-list.txt --root-key authority.jwk my-records/
  spondon-verifier check --trust trust-list.txt --root-key authority.jwk card.smart-health-card --file cbc.pdf
  spondon-verifier check --directory vci-issuers.json chunk-1.txt chunk-2.txt chunk-3.txt
  zbarimg -q --raw photo.png | spondon-verifier check --directory vci-issuers.json -";

const SHARE_PROOF_EXAMPLES: &str = "\
A share proof (docs/protocol.md §14) is made by the patient (`spondon share-proof`), the hospital
(POST /staff/share-proofs) or the doctor, for one access. It holds no record content: the access
the hospital logged, the grant the patient signed, the doctor's credential, and each record's log
commitment. Everything is verified offline against the trust list.

Exit status: 0 every proof valid (and every document consistent with them), 1 a proof refused,
2 unusable input or arguments.

Examples:
  spondon-verifier share-proof --trust trust-list.txt --root-key authority.jwk access.share-proof
  spondon-verifier share-proof --trust trust-list.txt --root-key authority.jwk --json a.share-proof b.share-proof
  spondon-verifier share-proof --trust trust-list.txt --root-key authority.jwk \\
      --document visa-medical.smart-health-card a.share-proof b.share-proof";

#[derive(Debug, Args)]
pub struct ShareProofArgs {
    /// The signed consortium trust list (required): its hospitals' log keys, witnesses and
    /// record keys, its investigators.
    #[arg(long, value_name = "TRUSTLIST")]
    pub trust: Option<PathBuf>,

    /// The health authority's root public key (a P-256 JWK) that must have signed the trust list.
    #[arg(long, value_name = "JWK")]
    pub root_key: Option<PathBuf>,

    /// Judge the trust list at this instant instead of now (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,

    /// A document (a .smart-health-card file, a Spondon export, or a card's JWS): list the
    /// accesses of it found in the share proofs. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub document: Vec<PathBuf>,

    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,

    /// The share-proof files (or - for standard input).
    #[arg(value_name = "FILE|-", required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Trusted SMART Health Card issuers, in the VCI directory format
    /// ({"issuerInfo":[{"issuer":{"iss","name"},"keys":[…],"crls":[…]}]}). Repeatable.
    #[arg(long, value_name = "VCI.json")]
    pub directory: Vec<PathBuf>,

    /// The signed consortium trust list (text of the token, as the health authority publishes it).
    /// Its hospitals' record keys are trusted for SMART Health Cards and credentials.
    #[arg(long, value_name = "TRUSTLIST")]
    pub trust: Option<PathBuf>,

    /// The health authority's root public key (a P-256 JWK) that must have signed the trust list,
    /// and that a trust list given as input is checked against.
    #[arg(long, value_name = "JWK")]
    pub root_key: Option<PathBuf>,

    /// Judge validity at this instant instead of now (RFC 3339, e.g. 2021-06-01T00:00:00Z).
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,

    /// A document record's file (PDF, JPEG or PNG) to check against the input's card: its size,
    /// SHA-256 and type must be those the hospital signed (docs/protocol.md §18.2). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub file: Vec<PathBuf>,

    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,

    /// The file to check, or - for standard input. Several files are read as one text (e.g. the
    /// chunks of a legacy multi-QR card, one per file). A directory is a directory export
    /// (NAME.smart-health-card and files/<sha256>.<ext>): every file is checked against its card.
    #[arg(value_name = "FILE|-", required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
}
