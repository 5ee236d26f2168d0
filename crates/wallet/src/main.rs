//! `spondon`: the patient's health record wallet on the command line. A thin shell over the
//! `spondon-wallet` library: every capability lives there.

/// Text for the terminal without its control characters: C0 controls other than newline and tab,
/// DEL and the C1 controls. Records, hospital names, doctors' names and peers' error details come
/// from outside; an escape sequence in one of them must not move the cursor, rewrite earlier lines
/// or set the terminal's title. JSON output is unaffected (serde escapes controls).
fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    let bad =
        |c: char| (c.is_control() && c != '\n' && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c);
    if s.chars().any(bad) {
        std::borrow::Cow::Owned(s.chars().filter(|c| !bad(*c)).collect())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Writes a line to standard output or error. A closed pipe (`spondon records | head -1`) ends
/// the program quietly, as it ends `cat`; `std`'s `println!` would panic instead.
fn emit(err: bool, s: &str) {
    let line = format!("{}\n", printable(s));
    // Other write errors (a full disk under a redirect) have nowhere better to be reported.
    let _ = write_or_quit(err, line.as_bytes());
}

/// Writes bytes to standard error or output; a closed pipe ends the program quietly.
fn write_or_quit(err: bool, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let written = if err {
        std::io::stderr().lock().write_all(bytes)
    } else {
        std::io::stdout().lock().write_all(bytes)
    };
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => other,
    }
}

// Everything this binary prints passes through `printable`.
macro_rules! println {
    () => { emit(false, "") };
    ($($t:tt)*) => { emit(false, &format!($($t)*)) };
}
macro_rules! eprintln {
    () => { emit(true, "") };
    ($($t:tt)*) => { emit(true, &format!($($t)*)) };
}

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use spondon_keystore::{KeyStore, MemoryKeyStore, OsBackend, OsKeyStore};
use spondon_wallet::browse::{Filter, Item, RecordView};
use spondon_wallet::grants::{
    Duration, GrantAudience, GrantRequest, QrFormat, Scope, fmt_time, parse_category,
    parse_purpose, render_qr, short,
};
use spondon_wallet::{Endpoints, EnrollmentCode, SyncEvent, Wallet, WalletError};

const EXAMPLES: &str = "\
Examples:
  spondon init --trust-list trust-list.txt --root-key root.jwk
  spondon enroll 'SPONDON-ENROLL:1:ABCDE-FGHJK:1234-5678-9012-34:https://dmch.example'
  spondon enroll --qr enrollment.png
  spondon sync
  spondon records --kind lab_report --since 2026-01-01
  spondon show 3f2a
  spondon doctor doctor-credential.png
  spondon grant --doctor A-54321 --category prescription --category lab_result --duration 24h
  spondon revoke 9QmH  |  spondon revoke --all
  spondon receipts --json
  spondon export --out visa-medical --receipts
  spondon delegate issue --to-key parent.jwk --name Amma --scope view --scope share --minor
  spondon delegate share Rafi --doctor A-54321 --record 3f2a --duration 24h

The wallet lives in --wallet DIR (default: $SPONDON_WALLET or ~/.spondon). Scripts give the
passphrase with --passphrase-file FILE (or SPONDON_PASSPHRASE_FILE); otherwise it is asked on the
terminal. `spondon unlock` keeps the keys in the OS keychain until `spondon lock`.";

#[derive(Debug, Parser)]
#[command(name = "spondon", version, about = "Spondon: your health records, from every hospital, in one encrypted wallet.", after_help = EXAMPLES)]
struct Cli {
    /// Wallet directory.
    #[arg(
        long,
        env = "SPONDON_WALLET",
        global = true,
        help_heading = "Global options"
    )]
    wallet: Option<PathBuf>,
    /// Read the passphrase from this file (first line) instead of asking.
    #[arg(
        long,
        env = "SPONDON_PASSPHRASE_FILE",
        global = true,
        help_heading = "Global options"
    )]
    passphrase_file: Option<PathBuf>,
    /// Where the wallet's keys are kept while unlocked: the OS keychain (`os`), or nowhere
    /// (`none`: the passphrase is asked for every command). `auto` uses the keychain if present.
    #[arg(long, env = "SPONDON_KEYSTORE", value_enum, default_value_t = KeyStoreChoice::Auto, global = true, help_heading = "Global options")]
    keystore: KeyStoreChoice,
    /// Reach a peer at another address: `https://dmch.example=http://127.0.0.1:8400` (for a
    /// local peer without TLS; requests are still signed for the peer URL). Repeatable.
    #[arg(
        long = "endpoint",
        env = "SPONDON_PEER_ENDPOINTS",
        value_delimiter = ',',
        global = true,
        help_heading = "Global options"
    )]
    endpoints: Vec<String>,
    /// Also trust this CA (a PEM file) for HTTPS to hospitals, besides the built-in Mozilla
    /// roots: a hospital network's private CA. Repeatable.
    #[arg(
        long = "ca",
        env = "SPONDON_CA_FILES",
        value_delimiter = ',',
        value_name = "PEM",
        global = true,
        help_heading = "Global options"
    )]
    ca_files: Vec<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KeyStoreChoice {
    Auto,
    Os,
    None,
}

/// The kinds of record, one vocabulary for `records --kind` and `grant --category`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// Prescriptions.
    Prescription,
    /// Laboratory and test reports.
    #[value(
        name = "lab_report",
        alias = "lab_result",
        alias = "lab-report",
        alias = "lab"
    )]
    LabReport,
    /// Diagnoses.
    Diagnosis,
    /// Vaccinations.
    #[value(alias = "vaccination")]
    Immunization,
    /// Visits (admissions, consultations).
    #[value(alias = "visit")]
    Encounter,
    /// Payment slips.
    #[value(alias = "payment_slip")]
    Payment,
    /// Doctors' notes.
    Note,
}

impl Kind {
    /// The word the wallet stores and the grant scope uses.
    fn word(self) -> &'static str {
        match self {
            Kind::Prescription => "prescription",
            Kind::LabReport => "lab_report",
            Kind::Diagnosis => "diagnosis",
            Kind::Immunization => "immunization",
            Kind::Encounter => "encounter",
            Kind::Payment => "payment",
            Kind::Note => "note",
        }
    }
}

#[derive(Debug, Args)]
struct JsonFlag {
    /// Machine-readable JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Creates a new wallet and pins the consortium trust list.
    Init {
        /// The trust list (`SPONDON:1:…` text from the health authority).
        #[arg(long)]
        trust_list: PathBuf,
        /// The authority's root public key (JWK file) the trust list must be signed with.
        #[arg(long)]
        root_key: PathBuf,
        /// Optional VCI-format issuer directory for imported SMART Health Cards.
        #[arg(long)]
        directory: Option<PathBuf>,
    },
    /// Keeps the wallet's keys in the OS keychain, so commands stop asking for the passphrase.
    Unlock,
    /// Removes the keys from the OS keychain.
    Lock,
    /// Changes the passphrase (asks the old one, then the new one twice; scripts: --new-passphrase-file).
    ChangePassphrase {
        /// Read the new passphrase from this file (first line) instead of asking.
        #[arg(long)]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Installs a newer trust list (same root key, sequence not lower).
    TrustList {
        /// The new trust list (`SPONDON:1:…` text from the health authority).
        file: PathBuf,
        /// The authority's root public key (JWK file) the list must be signed with.
        #[arg(long)]
        root_key: PathBuf,
    },
    /// Enrolls with a hospital from its enrollment code (text, or --qr IMAGE).
    Enroll {
        /// `SPONDON-ENROLL:1:…` text.
        text: Option<String>,
        /// A PNG or JPEG photo of the enrollment QR code.
        #[arg(long)]
        qr: Option<PathBuf>,
    },
    /// Pulls new records and access receipts from every enrolled hospital and verifies them.
    Sync {
        #[command(flatten)]
        out: JsonFlag,
    },
    /// The timeline of records (newest first), filtered.
    Records {
        /// Only records of this kind.
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        /// Part of the hospital's name or URL.
        #[arg(long)]
        hospital: Option<String>,
        /// From this date (YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        /// Until this date (YYYY-MM-DD).
        #[arg(long)]
        until: Option<String>,
        /// Words to search for (all must appear).
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// One record in detail (id or the start of it).
    Show {
        /// Ids are base64url and may start with '-'.
        #[arg(allow_hyphen_values = true)]
        id: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Documents (a lab's PDF report, a scanned prescription, an X-ray image): without an id,
    /// lists them and whether each file is kept; with one, checks its file against the signed
    /// card and, with --save, writes it out. `sync` fetches the files; --fetch fetches missing
    /// ones now.
    Documents {
        /// A document record's id (or the start of it).
        #[arg(allow_hyphen_values = true)]
        id: Option<String>,
        /// Write the file here (a directory, or a new file's path); never overwrites.
        #[arg(long, short = 'o', requires = "id")]
        save: Option<PathBuf>,
        /// Fetch the files not kept yet from their hospitals first.
        #[arg(long, conflicts_with = "id")]
        fetch: bool,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Reads a doctor's credential (text file, text, or QR image), verifies it and remembers the
    /// doctor; without an argument lists the doctors the wallet knows.
    Doctor {
        /// The credential: a text file, the `SPONDON:1:…` text itself, or a photo of its QR code
        /// (PNG or JPEG); `-` reads standard input.
        input: Option<String>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Shares records with a doctor (or anyone with a passcode) for a while; prints the QR code.
    Grant {
        /// The doctor: BMDC number or key id of a doctor added with `spondon doctor`.
        #[arg(long, conflicts_with = "passcode")]
        doctor: Option<String>,
        /// A passcode instead of a doctor (one use, at least 6 characters).
        #[arg(long)]
        passcode: Option<String>,
        /// Share every record of this kind. Repeatable.
        #[arg(long = "category", value_enum)]
        categories: Vec<Kind>,
        /// A record id. Repeatable.
        #[arg(long = "record", allow_hyphen_values = true)]
        records: Vec<String>,
        /// treatment, visa_medical, emergency, referral, insurance.
        #[arg(long, default_value = "treatment")]
        purpose: String,
        /// 1h, 24h, 7d, 30d, or e.g. 90m, 3d.
        #[arg(long, default_value = "24h")]
        duration: String,
        /// Peer URLs (default: every enrolled hospital). Repeatable.
        #[arg(long = "peer")]
        peers: Vec<String>,
        /// Let the doctor add a prescription or note (a write-scoped grant; doctors only).
        #[arg(long)]
        write: bool,
        /// Write the QR code as PNG here.
        #[arg(long)]
        png: Option<PathBuf>,
        /// Write the QR code as SVG here.
        #[arg(long)]
        svg: Option<PathBuf>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Lists grants: active, expired, revoked; `grants show ID --qr` shows one again.
    Grants {
        #[command(subcommand)]
        action: Option<GrantsCmd>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Revokes a grant at every hospital it names, or --all grants issued until now.
    Revoke {
        /// The grant's id, or its first characters as `spondon grants` lists them.
        #[arg(allow_hyphen_values = true)]
        id: Option<String>,
        /// Revoke every grant issued until now (for example after losing a phone).
        #[arg(long, conflicts_with = "id")]
        all: bool,
        /// Do not ask for confirmation (for scripts).
        #[arg(long, short = 'y')]
        yes: bool,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Lost or stolen phone: from a restored wallet, revoke every grant and replace the wallet's
    /// key at every hospital (progress per hospital; run it again until it is complete).
    LostPhone {
        /// Do not ask for confirmation (for scripts).
        #[arg(long, short = 'y')]
        yes: bool,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Binds the wallet's (new) key at one hospital with a new enrollment code its registration
    /// desk gave after checking your identity (the old key is gone, or was taken over).
    Rebind {
        /// The new `SPONDON-ENROLL:1:…` code.
        #[arg(long)]
        code: Option<String>,
        /// A PNG or JPEG photo of the new enrollment QR code.
        #[arg(long)]
        qr: Option<PathBuf>,
    },
    /// Who looked at your records, when, under which grant (emergency accesses first).
    Receipts {
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Makes a proof of one access for an investigator (police, court): the access the hospital
    /// logged, the grant you signed, the doctor's credential and the records' log commitments —
    /// no record content. `spondon-verifier share-proof FILE` checks it offline.
    #[command(name = "share-proof")]
    ShareProof {
        /// The access's log index, as `spondon share-proof --list` shows it.
        #[arg(required_unless_present = "list")]
        log_index: Option<u64>,
        /// List the accesses a proof can be made of, with their log index.
        #[arg(long, conflicts_with_all = ["out_file", "investigator", "hospital"])]
        list: bool,
        /// The hospital that logged it (name, id or URL), if two logged one at that index.
        #[arg(long)]
        hospital: Option<String>,
        /// The investigator it is for: an id the trust list names.
        #[arg(long)]
        investigator: Option<String>,
        /// Where to write the proof (default: access-<index>.share-proof).
        #[arg(long = "out", value_name = "FILE")]
        out_file: Option<PathBuf>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Emergency (break-glass) access: without an action, your setting and every emergency
    /// access; `allow`, `opt-out` or `only HOSPITAL…` sets who may open your emergency summary;
    /// `dispute ID` disputes an access.
    Emergency {
        #[command(subcommand)]
        action: Option<EmergencyCmd>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Imports SMART Health Cards: a .smart-health-card file, shc:/ text, a JWS, or a QR image
    /// (`-` reads standard input).
    Import {
        /// What to import: a .smart-health-card file, `shc:/` text, a JWS, or a QR image; `-`
        /// reads standard input.
        file: PathBuf,
        /// Keep cards whose issuer is not trusted or whose signature could not be checked
        /// (marked as unverified); without it such an import stores nothing and fails.
        #[arg(long)]
        accept_unverified: bool,
        /// For an issuer not in the directory, fetch its public keys to check the signature.
        #[arg(long)]
        fetch_keys: bool,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Exports records for an office (visa medical, employer…): a .smart-health-card file with
    /// log proofs and a patient summary, a printable PDF, optionally a SMART Health Link.
    Export {
        /// Output file stem: writes STEM.smart-health-card and STEM.pdf (a long history:
        /// STEM-part1-of-N.smart-health-card, STEM-part1-of-N.pdf, …, each verifiable alone).
        #[arg(long, default_value = "spondon-export")]
        out: PathBuf,
        /// Only these records (ids or their starts). Repeatable. Default: every hospital record.
        #[arg(long = "record", allow_hyphen_values = true)]
        records: Vec<String>,
        /// Only records of this kind. Repeatable. Default: every kind but payment.
        #[arg(long = "category", value_name = "KIND", value_enum)]
        categories: Vec<Kind>,
        /// Only records issued on or after this day (YYYY-MM-DD, in your time zone).
        #[arg(long, value_name = "YYYY-MM-DD")]
        since: Option<String>,
        /// Only records issued on or before this day (YYYY-MM-DD, in your time zone).
        #[arg(long, value_name = "YYYY-MM-DD")]
        until: Option<String>,
        /// Include payment slips (left out unless asked for, by this, by id or by category).
        #[arg(long)]
        payments: bool,
        /// Passport number to print on the PDF's cover, marked as self-declared (signed by no
        /// one; not in the .smart-health-card file).
        #[arg(long, value_name = "NUMBER")]
        passport: Option<String>,
        /// National ID (NID) number to print on the PDF's cover, marked as self-declared.
        #[arg(long, value_name = "NUMBER")]
        nid: Option<String>,
        /// The web page where the office can check the PDF without a command line (e.g. a
        /// clinic node's document check, https://…), printed on the cover with its QR code.
        #[arg(long, value_name = "URL")]
        verify_url: Option<String>,
        /// Include the share receipts of the exported records.
        #[arg(long)]
        receipts: bool,
        /// Also make a SMART Health Link to this https URL; writes STEM.jwe to host there.
        #[arg(long)]
        link_url: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Writes an encrypted backup (keys, records, grants, checkpoints).
    Backup {
        /// Where to write the backup; it is encrypted with a backup passphrase you choose.
        file: PathBuf,
    },
    /// Restores a backup into a new wallet directory (--wallet).
    Restore {
        /// The backup file written by `spondon backup`.
        file: PathBuf,
    },
    /// Delegates: let a family member's wallet view, share or manage your records (`issue`,
    /// `list`, `revoke`), or act for someone who delegated to you (`key`, `accept`, `share`,
    /// `sync`).
    Delegate {
        #[command(subcommand)]
        action: DelegateCmd,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Hospitals, counts and security alerts.
    Status {
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
enum DelegateCmd {
    /// Prints this wallet's public key (JWK): give it to the patient who delegates to you.
    Key,
    /// Delegates to a family member's wallet; prints the delegation text to give them.
    Issue {
        /// The delegate's public key: the JWK file their `spondon delegate key` printed.
        #[arg(long)]
        to_key: PathBuf,
        /// A name for the delegate ("Amma"), shown in lists and receipts.
        #[arg(long)]
        name: String,
        /// view (pull your records and receipts), share (with a doctor), manage (write grants).
        /// Repeatable.
        #[arg(long = "scope", value_enum, required = true)]
        scopes: Vec<ScopeArg>,
        /// Only records of this kind (default: all). Repeatable.
        #[arg(long = "category", value_enum)]
        categories: Vec<Kind>,
        /// How long: 30d, 365d (at most 400 days).
        #[arg(long, default_value = "365d")]
        duration: String,
        /// Peer URLs (default: every enrolled hospital). Repeatable.
        #[arg(long = "peer")]
        peers: Vec<String>,
        /// You are a minor: the delegate is your guardian and sees your receipts.
        #[arg(long)]
        minor: bool,
        /// A minor's second guardian (their key id), who sees your receipts too.
        #[arg(long, requires = "minor")]
        other_guardian: Option<String>,
    },
    /// The delegations you issued and the patients you may act for.
    List,
    /// Revokes a delegation you issued at every hospital it names.
    Revoke {
        /// The delegation's id, or its first characters.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// Do not ask for confirmation (for scripts).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Accepts a delegation given to you (the text, or a file holding it; `-` reads standard input).
    Accept {
        /// The `SPONDON:1:…` delegation text or a file holding it.
        input: String,
        /// A name for the patient ("Rafi").
        #[arg(long)]
        name: String,
    },
    /// Shares a patient's records with a doctor under your delegation; prints the QR code.
    Share {
        /// The patient: the name you gave, the delegation id, or the patient's key id.
        patient: String,
        /// The doctor: BMDC number or key id of a doctor added with `spondon doctor`.
        #[arg(long)]
        doctor: String,
        /// Share every record of this kind. Repeatable.
        #[arg(long = "category", value_enum)]
        categories: Vec<Kind>,
        /// A record id. Repeatable.
        #[arg(long = "record", allow_hyphen_values = true)]
        records: Vec<String>,
        /// treatment, visa_medical, emergency, referral, insurance.
        #[arg(long, default_value = "treatment")]
        purpose: String,
        /// 1h, 24h, 7d (cut to the delegation's end).
        #[arg(long, default_value = "24h")]
        duration: String,
        /// Write the QR code as PNG here.
        #[arg(long)]
        png: Option<PathBuf>,
    },
    /// Fetches and verifies a patient's records and receipts (not stored).
    Sync {
        /// The patient: the name you gave, the delegation id, or the patient's key id.
        patient: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ScopeArg {
    View,
    Share,
    Manage,
}

#[derive(Debug, Subcommand)]
enum EmergencyCmd {
    /// Any member hospital's registered doctor may open your emergency summary (allergies,
    /// medications, problems, blood group) with a reason and a second staff confirmation.
    Allow,
    /// No hospital may open your emergency summary without a grant.
    OptOut,
    /// Only these hospitals may (id, name or peer URL from the trust list). Repeatable.
    Only {
        /// A hospital's id, name or peer URL. Repeatable.
        #[arg(required = true)]
        hospitals: Vec<String>,
    },
    /// Disputes an emergency access (its id as `spondon emergency` lists it): the hospital's
    /// administrator sees your text.
    Dispute {
        /// The access id, or its first characters.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// Why: what was wrong with this access.
        #[arg(long)]
        text: String,
    },
}

#[derive(Debug, Subcommand)]
enum GrantsCmd {
    /// One grant in detail; with --qr its QR code again, to show the doctor.
    Show {
        /// The grant's id, or its first characters.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// Print the grant's QR code on the terminal.
        #[arg(long)]
        qr: bool,
        /// Write the QR code as PNG here.
        #[arg(long)]
        png: Option<PathBuf>,
        #[command(flatten)]
        out: JsonFlag,
    },
}

struct Ctx {
    cli_dir: PathBuf,
    passphrase_file: Option<PathBuf>,
    keystore: KeyStoreChoice,
    endpoints: BTreeMap<String, String>,
    ca_files: Vec<PathBuf>,
    cached: Option<zeroize::Zeroizing<Vec<u8>>>,
}

fn read_first_line(path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let mut s = zeroize::Zeroizing::new(String::new());
    std::fs::File::open(path)
        .with_context(|| format!("cannot open the passphrase file {}", path.display()))?
        .take(4096)
        .read_to_string(&mut s)
        .with_context(|| format!("cannot read the passphrase file {}", path.display()))?;
    let line = s.lines().next().unwrap_or("");
    Ok(zeroize::Zeroizing::new(line.as_bytes().to_vec()))
}

fn prompt(msg: &str) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    if !std::io::stdin().is_terminal() {
        bail!("the passphrase is needed: run on a terminal or give --passphrase-file");
    }
    let p = rpassword::prompt_password(msg).context("cannot read the passphrase")?;
    Ok(zeroize::Zeroizing::new(p.into_bytes()))
}

impl Ctx {
    fn passphrase(&mut self) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        if let Some(p) = &self.cached {
            return Ok(p.clone());
        }
        let p = match &self.passphrase_file {
            Some(f) => read_first_line(f)?,
            None => prompt("Wallet passphrase: ")?,
        };
        self.cached = Some(p.clone());
        Ok(p)
    }

    /// A new passphrase, asked twice; `what` names it ("wallet", "backup").
    fn new_passphrase(
        &self,
        file: Option<&Path>,
        what: &str,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        if let Some(f) = file.or(self.passphrase_file.as_deref()) {
            return read_first_line(f);
        }
        let a = prompt(&format!("New {what} passphrase: "))?;
        let b = prompt(&format!("Repeat the new {what} passphrase: "))?;
        if a != b {
            bail!("the two passphrases differ");
        }
        Ok(a)
    }

    fn os_store(&self) -> Result<Option<Arc<dyn KeyStore>>> {
        match self.keystore {
            KeyStoreChoice::None => Ok(None),
            KeyStoreChoice::Os => Ok(Some(Arc::new(OsKeyStore::open(OsBackend::Auto)?))),
            KeyStoreChoice::Auto => Ok(OsKeyStore::open(OsBackend::Auto)
                .ok()
                .map(|s| Arc::new(s) as Arc<dyn KeyStore>)),
        }
    }

    /// Opens the wallet: keys from the OS keychain if unlocked there, else the passphrase.
    async fn open(&mut self) -> Result<Wallet> {
        let os = self.os_store()?;
        let mut w = Wallet::open_with(&self.cli_dir.clone(), os, || self.passphrase()).await?;
        w.set_endpoints(self.endpoints.clone());
        if !self.ca_files.is_empty() {
            w.set_ca_files(&self.ca_files)?;
        }
        Ok(w)
    }

    async fn authorize(&mut self, w: &Wallet) -> Result<spondon_wallet::Authorization> {
        if self.cached.is_none() && self.passphrase_file.is_none() {
            let p = prompt("Wallet passphrase (to confirm): ")?;
            return Ok(w.authorize(&p).await?);
        }
        let p = self.passphrase()?;
        Ok(w.authorize(&p).await?)
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// A grant's QR code on the terminal: black on white where standard output is a terminal (and
/// `NO_COLOR` is not set), plain blocks otherwise. Not passed through `printable`: the colour
/// codes are ours, the rest is block characters.
fn print_qr(text: &str) -> Result<()> {
    let colors = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let format = if colors {
        QrFormat::Terminal
    } else {
        QrFormat::TerminalPlain
    };
    write_or_quit(false, &render_qr(text, format)?)?;
    Ok(())
}

/// A calendar day in the user's time zone: its first second, or its last with `end`.
fn parse_date(s: &str, end: bool) -> Result<i64> {
    let (first, last) = spondon_core::time::local_day(s)
        .ok_or_else(|| anyhow!("{s:?} is not a date (YYYY-MM-DD)"))?;
    Ok(if end { last } else { first })
}

/// `spondon delegate …`.
async fn delegate_cmd(ctx: &mut Ctx, action: DelegateCmd, json: bool) -> Result<ExitCode> {
    use spondon_core::token::Scope as TokenScope;
    use spondon_wallet::delegates::DelegationRequest;
    let w = ctx.open().await?;
    match action {
        DelegateCmd::Key => {
            let jwk = serde_json::to_string(&w.public_key().to_jwk())?;
            if json {
                println!("{jwk}");
            } else {
                println!("{jwk}");
                eprintln!(
                    "Your key id: {}. Give the line above (as a file) to the patient who delegates to you.",
                    w.public_key().kid()
                );
            }
        }
        DelegateCmd::Issue {
            to_key,
            name,
            scopes,
            categories,
            duration,
            peers,
            minor,
            other_guardian,
        } => {
            let key: spondon_core::keys::Jwk = serde_json::from_slice(&read_input(&to_key)?)
                .with_context(|| format!("{} is not a public key (JWK)", to_key.display()))?;
            let req = DelegationRequest {
                delegate_key: key,
                label: name,
                scopes: scopes
                    .iter()
                    .map(|s| match s {
                        ScopeArg::View => TokenScope::View,
                        ScopeArg::Share => TokenScope::Share,
                        ScopeArg::Manage => TokenScope::Manage,
                    })
                    .collect(),
                categories: categories
                    .iter()
                    .map(|c| parse_category(c.word()))
                    .collect::<Result<_, _>>()?,
                duration: Duration::parse(&duration)?,
                peers,
                minor,
                other_guardian,
            };
            let auth = ctx.authorize(&w).await?;
            let d = w.delegate(&auth, &req).await?;
            if json {
                print_json(&d)?;
            } else {
                println!("{}", d.text);
                eprintln!(
                    "Delegation {} to {} ({}) until {}, registered at {} hospital(s). Give them the text above; revoke any time: spondon delegate revoke {}",
                    short(&d.id),
                    d.label,
                    d.scopes.join(", "),
                    fmt_time(d.expires),
                    d.peers.len(),
                    short(&d.id)
                );
            }
        }
        DelegateCmd::List => {
            let issued = w.delegations().await?;
            let held = w.delegated_patients().await?;
            if json {
                print_json(&serde_json::json!({"issued": issued, "held": held}))?;
            } else {
                let now = spondon_core::NumericDate::now().seconds();
                println!("Delegations you issued:");
                if issued.is_empty() {
                    println!("  none");
                }
                for d in &issued {
                    let state = match d.revoked_at {
                        Some(_) => "revoked",
                        None if now >= d.expires => "expired",
                        None => "active",
                    };
                    println!(
                        "  {}  {} ({}), {}, until {}{}",
                        short(&d.id),
                        d.label,
                        d.scopes.join(", "),
                        state,
                        fmt_time(d.expires),
                        if d.guardians.is_empty() {
                            ""
                        } else {
                            ", guardian of a minor"
                        }
                    );
                }
                println!("Patients you may act for:");
                if held.is_empty() {
                    println!("  none");
                }
                for p in &held {
                    println!(
                        "  {}  {} ({}), until {}, {} grant(s) shared",
                        short(&p.id),
                        p.label,
                        p.scopes.join(", "),
                        fmt_time(p.expires),
                        p.grants.len()
                    );
                }
            }
        }
        DelegateCmd::Revoke { id, yes } => {
            if !yes
                && !confirm(&format!(
                    "Revoke delegation {id}? The delegate can no longer act for you."
                ))?
            {
                println!("Nothing was revoked.");
                w.close().await;
                return Ok(ExitCode::FAILURE);
            }
            let auth = ctx.authorize(&w).await?;
            let results = w.revoke_delegation(&auth, &id).await?;
            if json {
                print_json(&results)?;
            } else {
                let names = hospital_names(&w).await?;
                for r in &results {
                    let hospital = names.name(&r.peer);
                    match &r.error {
                        None => println!("{hospital}: revoked"),
                        Some(e) => {
                            eprintln!("{hospital}: NOT revoked: {e} (run the command again)")
                        }
                    }
                }
            }
            let failed = results.iter().any(|r| !r.ok);
            w.close().await;
            return Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            });
        }
        DelegateCmd::Accept { input, name } => {
            let text = if input.starts_with(spondon_core::token::PREFIX) {
                input
            } else {
                String::from_utf8(read_input(Path::new(&input))?)
                    .map_err(|_| anyhow!("{input} is not a delegation text"))?
            };
            let p = w.add_delegation_from_text(&text, &name).await?;
            if json {
                print_json(&p)?;
            } else {
                println!(
                    "You may act for {} ({}) until {}{}.",
                    p.label,
                    p.scopes.join(", "),
                    fmt_time(p.expires),
                    if p.minor { ", as a guardian" } else { "" }
                );
            }
        }
        DelegateCmd::Share {
            patient,
            doctor,
            categories,
            records,
            purpose,
            duration,
            png,
        } => {
            let found = w
                .doctors()
                .await?
                .into_iter()
                .find(|x| x.bmdc_number == doctor || x.kid == doctor)
                .ok_or_else(|| {
                    anyhow!("no doctor {doctor:?}: add their credential first with `spondon doctor FILE`")
                })?;
            if categories.is_empty() && records.is_empty() {
                bail!("say what to share: --category KIND and/or --record ID");
            }
            let req = GrantRequest {
                audience: GrantAudience::Doctor(found),
                scope: Scope {
                    categories: categories
                        .iter()
                        .map(|c| parse_category(c.word()))
                        .collect::<Result<_, _>>()?,
                    record_ids: records,
                },
                purpose: parse_purpose(&purpose)?,
                duration: Duration::parse(&duration)?,
                peers: Vec::new(),
                use_limit: None,
                write: false,
            };
            let auth = ctx.authorize(&w).await?;
            let g = w.grant_as_delegate(&auth, &patient, &req).await?;
            if let Some(p) = &png {
                spondon_wallet::write_private(p, render_qr(&g.text, QrFormat::Png)?)
                    .await
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            if json {
                print_json(&g)?;
            } else {
                if png.is_none() {
                    print_qr(&g.text)?;
                }
                println!(
                    "Grant {} for {} until {}, signed by you and carrying the patient's delegation.",
                    short(&g.id),
                    g.audience,
                    fmt_time(g.expires)
                );
            }
        }
        DelegateCmd::Sync { patient } => {
            let s = w.delegate_sync(&patient).await?;
            if json {
                print_json(&s)?;
            } else {
                println!(
                    "{} record(s) and {} receipt(s), verified.",
                    s.records.len(),
                    s.receipts.len()
                );
                for r in &s.records {
                    println!("  {} {} ({})", fmt_time(r.issued_at), r.kind, short(&r.id));
                }
                for (peer, code) in &s.failures {
                    eprintln!("{peer}: {code}");
                }
            }
            let failed = !s.failures.is_empty();
            w.close().await;
            return Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            });
        }
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

fn read_input(arg: &Path) -> Result<Vec<u8>> {
    const MAX: u64 = 32 << 20;
    let mut buf = Vec::new();
    if arg.as_os_str() == "-" {
        std::io::stdin().take(MAX + 1).read_to_end(&mut buf)?;
    } else {
        std::fs::File::open(arg)
            .with_context(|| format!("cannot open {}", arg.display()))?
            .take(MAX + 1)
            .read_to_end(&mut buf)?;
    }
    if buf.len() as u64 > MAX {
        bail!("{} is larger than 32 MiB", arg.display());
    }
    Ok(buf)
}

fn print_record(r: &RecordView) {
    println!("{} — {}", r.title, fmt_time(r.issued_at));
    println!("  hospital: {}", r.hospital);
    if let Some(d) = &r.doctor {
        println!("  doctor:   {d}");
    }
    println!("  record:   {} ({})", r.id, r.kind);
    let trust = match r.trust {
        spondon_wallet::Trust::Verified => "verified (hospital signature, transparency log)",
        spondon_wallet::Trust::ImportedTrusted => "imported; valid signature, issuer trusted",
        spondon_wallet::Trust::IssuerNotTrusted => "imported; valid signature, issuer not trusted",
        spondon_wallet::Trust::SignatureNotChecked => {
            "imported; issuer not trusted, signature not checked"
        }
    };
    println!("  trust:    {trust}");
    if let Some(s) = &r.supersedes {
        println!("  corrects: {s}");
    }
    for i in &r.items {
        match i {
            Item::Medication { drug, dosage, .. } => println!(
                "  • {drug}{}",
                dosage
                    .as_deref()
                    .map(|d| format!(" — {d}"))
                    .unwrap_or_default()
            ),
            Item::Result {
                test,
                value,
                unit,
                reference_range,
                abnormal,
            } => println!(
                "  • {test}: {} {}{}{}",
                value.as_deref().unwrap_or("?"),
                unit.as_deref()
                    .map(|u| match spondon_core::shc::units::words(u) {
                        Some(w) => format!("{} ({w})", spondon_core::shc::units::symbol(u)),
                        None => u.to_owned(),
                    })
                    .unwrap_or_default(),
                reference_range
                    .as_deref()
                    .map(|r| format!(" (normal {r})"))
                    .unwrap_or_default(),
                abnormal
                    .as_deref()
                    .map(|a| format!("  ⚠ {}", a.to_uppercase()))
                    .unwrap_or_default()
            ),
            Item::Condition { text, code } => println!(
                "  • {text}{}",
                code.as_deref()
                    .map(|c| format!(" [{c}]"))
                    .unwrap_or_default()
            ),
            Item::Immunization { vaccine, date } => println!(
                "  • {vaccine}{}",
                date.as_deref()
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default()
            ),
            Item::Visit { class, date } => println!(
                "  • {class}{}",
                date.as_deref()
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default()
            ),
            Item::Payment { total, date } => println!(
                "  • paid {total}{}",
                date.as_deref()
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default()
            ),
            Item::Document {
                kind,
                title,
                description,
                content_type,
                size,
                sha256,
            } => {
                println!(
                    "  • {}: {}, {}",
                    kind.as_deref().unwrap_or("document"),
                    title.as_deref().unwrap_or("(untitled)"),
                    file_words(content_type, *size)
                );
                if let Some(d) = description {
                    println!("    {d}");
                }
                println!("    SHA-256 {sha256}");
            }
            Item::Other {
                resource_type,
                text,
            } => println!(
                "  • {resource_type}{}",
                text.as_deref()
                    .map(|t| format!(": {t}"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// Exit code of a security alert (a peer rewrote history or served tampered data).
const EXIT_SECURITY: u8 = 3;
/// Exit code of a sync that could not reach (or was refused by) at least one hospital.
const EXIT_NOT_SYNCED: u8 = 2;
/// Exit code of an import refused because a card could not be verified.
const EXIT_NOT_VERIFIED: u8 = 4;

/// Asks a yes/no question on the terminal; without a terminal, refuses (scripts pass --yes).
fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("{question} Not asked: this is not a terminal; add --yes to confirm");
    }
    eprint!("{} [y/N] ", printable(question));
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::BufRead::read_line(&mut std::io::stdin().lock().take(64), &mut answer)
        .context("cannot read the answer")?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

/// Hospital names by peer URL, for output that names hospitals rather than URLs.
struct HospitalNames(BTreeMap<String, String>);

impl HospitalNames {
    fn name(&self, url: &str) -> String {
        self.0.get(url).cloned().unwrap_or_else(|| url.to_owned())
    }
}

async fn hospital_names(w: &Wallet) -> Result<HospitalNames> {
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    if let Ok(list) = w.trust_list().await {
        for h in list.hospitals {
            names.insert(h.peer_url, h.name);
        }
    }
    for p in w.peers().await? {
        names.insert(p.url, p.hospital_name);
    }
    Ok(HospitalNames(names))
}

/// A grant's state in one word.
fn status_word(s: spondon_wallet::grants::GrantStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// "1 record", "2 records".
fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let dir = match cli.wallet {
        Some(d) => d,
        None => std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".spondon"))
            .ok_or_else(|| anyhow!("no --wallet given and HOME is not set"))?,
    };
    let endpoints = Endpoints::parse(&cli.endpoints)?.0;
    let mut ctx = Ctx {
        cli_dir: dir.clone(),
        passphrase_file: cli.passphrase_file,
        keystore: cli.keystore,
        endpoints,
        ca_files: cli.ca_files,
        cached: None,
    };
    match cli.command {
        Cmd::Init {
            trust_list,
            root_key,
            directory,
        } => {
            let list = std::fs::read_to_string(&trust_list)
                .with_context(|| format!("cannot read {}", trust_list.display()))?;
            let root: spondon_core::keys::Jwk = serde_json::from_slice(
                &std::fs::read(&root_key)
                    .with_context(|| format!("cannot read {}", root_key.display()))?,
            )
            .with_context(|| format!("{} is not a JWK", root_key.display()))?;
            let pass = ctx.new_passphrase(None, "wallet")?;
            let (store, note): (Arc<dyn KeyStore>, _) = match ctx.os_store() {
                Ok(Some(s)) => (s, None),
                Ok(None) => (
                    Arc::new(MemoryKeyStore::new()),
                    Some("keys are not kept in a keychain: every command asks for the passphrase"),
                ),
                Err(e) => return Err(e),
            };
            let directory = match &directory {
                Some(d) => Some(
                    std::fs::read_to_string(d)
                        .with_context(|| format!("cannot read {}", d.display()))?,
                ),
                None => None,
            };
            let (w, l) = Wallet::create_with_trust_list(
                &dir,
                store,
                &pass,
                &list,
                &root,
                directory.as_deref(),
            )
            .await
            .context("the wallet was not created")?;
            println!(
                "Created the wallet in {} (trust list of {}, {}).",
                dir.display(),
                l.authority,
                plural(l.hospitals.len() as u64, "hospital", "hospitals")
            );
            println!("Your key: {}", w.public_key().kid());
            if let Some(n) = note {
                eprintln!("Note: {n}.");
            }
            w.close().await;
        }
        Cmd::Unlock => {
            let os = ctx.os_store()?.ok_or_else(|| anyhow!("no OS keychain is available here (--keystore none): the passphrase is asked for every command instead"))?;
            let pass = ctx.passphrase()?;
            let w = Wallet::unlock(&dir, os.clone(), &pass).await?;
            println!(
                "Unlocked: the keys are in {} until `spondon lock`.",
                os.describe()
            );
            w.close().await;
        }
        Cmd::Lock => {
            let w = ctx.open().await?;
            w.lock().await?;
            println!("Locked: the passphrase is needed again.");
        }
        Cmd::ChangePassphrase {
            new_passphrase_file,
        } => {
            let w = ctx.open().await?;
            let old = ctx.passphrase()?;
            let new = ctx.new_passphrase(new_passphrase_file.as_deref(), "wallet")?;
            w.change_passphrase(&old, &new).await?;
            println!("Passphrase changed.");
            w.close().await;
        }
        Cmd::TrustList { file, root_key } => {
            let w = ctx.open().await?;
            let root: spondon_core::keys::Jwk = serde_json::from_slice(&std::fs::read(&root_key)?)
                .context("the root key is not a JWK")?;
            let l = w
                .set_trust_list(&std::fs::read_to_string(&file)?, &root)
                .await?;
            println!(
                "Trust list {} installed ({}).",
                l.sequence,
                plural(l.hospitals.len() as u64, "hospital", "hospitals")
            );
            w.close().await;
        }
        Cmd::Enroll { text, qr } => {
            let code = match (text, qr) {
                (Some(t), None) => EnrollmentCode::parse(&t)?,
                (None, Some(p)) => EnrollmentCode::from_image_async(read_input(&p)?).await?,
                _ => bail!("give the enrollment text or --qr IMAGE"),
            };
            let w = ctx.open().await?;
            let st = w.enroll(&code).await?;
            println!(
                "Enrolled at {} (Health ID {}). Run `spondon sync` to get your records.",
                st.hospital_name, st.health_id
            );
            w.close().await;
        }
        Cmd::Sync { out } => {
            let w = ctx.open().await?;
            let emergency_before: std::collections::BTreeSet<(String, i64, String)> = w
                .receipts()
                .await?
                .into_iter()
                .filter(|r| r.emergency.is_some())
                .map(|r| (r.peer, r.at, r.text))
                .collect();
            let bar = if out.json || !std::io::stderr().is_terminal() {
                indicatif::ProgressBar::hidden()
            } else {
                let b = indicatif::ProgressBar::new_spinner();
                b.set_style(
                    indicatif::ProgressStyle::with_template("{spinner} {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                b.enable_steady_tick(std::time::Duration::from_millis(120));
                b
            };
            let totals = std::sync::Mutex::new(BTreeMap::<String, u64>::new());
            let b2 = bar.clone();
            let report = w
                .sync(&move |e| match e {
                    SyncEvent::Started { peers } => {
                        b2.set_message(format!("syncing from {peers} hospitals…"))
                    }
                    SyncEvent::Records { peer, done, more } => {
                        if let Ok(mut t) = totals.lock() {
                            t.insert(peer.clone(), done);
                            let sum: u64 = t.values().sum();
                            b2.set_message(format!(
                                "{sum} new records verified and stored{}",
                                if more { ", more to come…" } else { "" }
                            ));
                        }
                    }
                    SyncEvent::Violation { peer, violation } => {
                        b2.println(format!("SECURITY ALERT: {peer} {violation}"))
                    }
                    SyncEvent::PeerFailed { peer, error, .. } => {
                        b2.println(format!("{peer}: {error}"))
                    }
                    SyncEvent::Witnessed { peer, upgraded } => b2.println(format!(
                        "{peer}: {upgraded} proofs upgraded to a witnessed checkpoint"
                    )),
                    SyncEvent::File {
                        record_id,
                        done,
                        total,
                        ..
                    } => b2.set_message(format!(
                        "fetching the file of {}: {} of {}",
                        short(&record_id),
                        file_size(done),
                        file_size(total)
                    )),
                    SyncEvent::FileFailed {
                        peer,
                        record_id,
                        error,
                        ..
                    } => b2.println(format!(
                        "{peer}: the file of {} was not kept: {error}",
                        short(&record_id)
                    )),
                    _ => {}
                })
                .await?;
            bar.finish_and_clear();
            if out.json {
                print_json(&report)?;
            } else {
                use spondon_wallet::sync::TrustListRefresh as T;
                match &report.trust_list {
                    Some(T::Updated { sequence }) => {
                        println!("Trust list #{sequence} installed from the authority.")
                    }
                    Some(T::RolledBack { pinned, published }) => eprintln!(
                        "SECURITY ALERT: the authority's publish URL serves trust list #{published}, older than the pinned #{pinned}; refused."
                    ),
                    Some(T::Failed { error }) => {
                        eprintln!("Trust list not refreshed (the pinned one stays): {error}")
                    }
                    Some(T::Unchanged { .. }) | None => {}
                }
                let names = hospital_names(&w).await?;
                let name = |url: &str| names.name(url);
                for p in &report.peers {
                    let hospital = name(&p.peer);
                    match (&p.violation, &p.error) {
                        (Some(v), _) => eprintln!(
                            "SECURITY ALERT: {hospital} {v}. Nothing from it was kept; its earlier records stay as verified before."
                        ),
                        (None, Some(e)) => eprintln!("{hospital}: not synced: {e}"),
                        (None, None) => println!(
                            "{hospital}: {}, {}{}{}",
                            plural(p.new_records, "new record", "new records"),
                            plural(p.new_receipts, "new access receipt", "new access receipts"),
                            match (p.new_files, p.files_failed) {
                                (0, 0) => String::new(),
                                (n, 0) =>
                                    format!(", {}", plural(n, "document file", "document files")),
                                (n, f) => format!(
                                    ", {}, {} not fetched (tried again next sync)",
                                    plural(n, "document file", "document files"),
                                    plural(f, "file", "files")
                                ),
                            },
                            if p.pending_witness > 0 {
                                format!(
                                    " ({} still {} for witness cosignatures)",
                                    p.pending_witness,
                                    if p.pending_witness == 1 {
                                        "waits"
                                    } else {
                                        "wait"
                                    }
                                )
                            } else {
                                String::new()
                            }
                        ),
                    }
                }
                let failed: Vec<String> = report
                    .peers
                    .iter()
                    .filter(|p| p.violation.is_none() && p.error.is_some())
                    .map(|p| name(&p.peer))
                    .collect();
                if !failed.is_empty() {
                    eprintln!(
                        "spondon: not synced: {}; run `spondon sync` again later",
                        failed.join(", ")
                    );
                }
                for r in w.receipts().await? {
                    if r.emergency.is_some()
                        && !emergency_before.contains(&(r.peer.clone(), r.at, r.text.clone()))
                    {
                        println!("!! {}", r.text);
                    }
                }
            }
            let violated = report.violation().is_some();
            let failed = report.peers.iter().any(|p| p.error.is_some());
            w.close().await;
            if violated {
                return Ok(ExitCode::from(EXIT_SECURITY));
            }
            if failed {
                return Ok(ExitCode::from(EXIT_NOT_SYNCED));
            }
        }
        Cmd::Records {
            kind,
            hospital,
            since,
            until,
            search,
            out,
        } => {
            let w = ctx.open().await?;
            let f = Filter {
                kind: kind.map(|k| k.word().to_owned()),
                hospital,
                from: since.as_deref().map(|s| parse_date(s, false)).transpose()?,
                to: until.as_deref().map(|s| parse_date(s, true)).transpose()?,
                text: search,
            };
            let recs = w.records(&f).await?;
            let problems = w.imported_problems().await?;
            if out.json {
                print_json(&recs)?;
            } else if recs.is_empty() {
                println!("No records.");
            } else {
                for r in &recs {
                    let problem = problems
                        .get(&r.id)
                        .map(|p| format!("  [{p}]"))
                        .unwrap_or_default();
                    let mark = match r.trust {
                        spondon_wallet::Trust::Verified
                        | spondon_wallet::Trust::ImportedTrusted => "",
                        spondon_wallet::Trust::IssuerNotTrusted => {
                            "  [UNVERIFIED: issuer not trusted]"
                        }
                        spondon_wallet::Trust::SignatureNotChecked => {
                            "  [UNVERIFIED: signature not checked]"
                        }
                    };
                    println!(
                        "{}  {:<10}  {:<28}  {}{mark}{problem}",
                        spondon_core::time::local_date(r.issued_at),
                        short(&r.id),
                        r.title,
                        r.hospital
                    );
                }
            }
            w.close().await;
        }
        Cmd::Show { id, out } => {
            let w = ctx.open().await?;
            let r = w.record(&id).await?;
            if out.json {
                print_json(&r)?;
            } else {
                print_record(&r);
                if let Some(p) = w.imported_problems().await?.get(&r.id) {
                    println!("  status:   {p}");
                }
                // A record a doctor added under one of the patient's write grants says so.
                if let Some(by) = w
                    .receipts()
                    .await?
                    .into_iter()
                    .find(|x| x.allowed && x.wrote && x.records.contains(&r.id))
                {
                    println!(
                        "  written:  by {} under your grant {}, {}",
                        by.who,
                        by.grant_id.as_deref().map(short).unwrap_or("?"),
                        fmt_time(by.at)
                    );
                }
            }
            w.close().await;
        }
        Cmd::Documents {
            id,
            save,
            fetch,
            out,
        } => {
            let w = ctx.open().await?;
            documents_cmd(&w, id, save, fetch, out.json).await?;
            w.close().await;
        }
        Cmd::Doctor { input, out } => {
            let w = ctx.open().await?;
            match input {
                Some(i) => {
                    let bytes = if spondon_core::token::is_spondon_text(&i) {
                        i.into_bytes()
                    } else {
                        read_input(Path::new(&i))?
                    };
                    let d = w.add_doctor(&bytes).await?;
                    if out.json {
                        print_json(&d)?;
                    } else {
                        println!(
                            "Verified: {} (BMDC {}), {}, {}. Key {}.",
                            d.name, d.bmdc_number, d.department, d.hospital_name, d.kid
                        );
                    }
                }
                None => {
                    let ds = w.doctors().await?;
                    if out.json {
                        print_json(&ds)?;
                    } else {
                        for d in ds {
                            println!(
                                "{} (BMDC {}), {}, {}",
                                d.name, d.bmdc_number, d.department, d.hospital_name
                            );
                        }
                    }
                }
            }
            w.close().await;
        }
        Cmd::Grant {
            doctor,
            passcode,
            categories,
            records,
            purpose,
            duration,
            peers,
            write,
            png,
            svg,
            out,
        } => {
            let w = ctx.open().await?;
            let audience = match (doctor, passcode) {
                (Some(d), None) => {
                    let ds = w.doctors().await?;
                    let found = ds
                        .into_iter()
                        .find(|x| x.bmdc_number == d || x.kid == d)
                        .ok_or_else(|| anyhow!("no doctor {d:?}: add their credential first with `spondon doctor FILE`"))?;
                    GrantAudience::Doctor(found)
                }
                (None, Some(p)) => GrantAudience::Passcode(p),
                _ => bail!("give --doctor BMDC or --passcode CODE"),
            };
            if categories.is_empty() && records.is_empty() {
                bail!("say what to share: --category KIND and/or --record ID");
            }
            let req = GrantRequest {
                audience,
                scope: Scope {
                    categories: categories
                        .iter()
                        .map(|c| parse_category(c.word()))
                        .collect::<Result<_, _>>()?,
                    record_ids: records,
                },
                purpose: parse_purpose(&purpose)?,
                duration: Duration::parse(&duration)?,
                peers,
                use_limit: None,
                write,
            };
            let auth = ctx.authorize(&w).await?;
            let g = w.create_grant(&auth, &req).await?;
            if let Some(p) = &png {
                spondon_wallet::write_private(p, render_qr(&g.text, QrFormat::Png)?)
                    .await
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            if let Some(p) = &svg {
                spondon_wallet::write_private(p, render_qr(&g.text, QrFormat::Svg)?)
                    .await
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            if out.json {
                print_json(&g)?;
            } else {
                if png.is_none() && svg.is_none() {
                    print_qr(&g.text)?;
                }
                println!(
                    "Grant {} for {}: {} until {}.",
                    short(&g.id),
                    g.audience,
                    g.categories.join(", "),
                    fmt_time(g.expires)
                );
                println!(
                    "Show the QR code to the doctor. Revoke any time: spondon revoke {}",
                    short(&g.id)
                );
            }
            w.close().await;
        }
        Cmd::Grants {
            action: Some(GrantsCmd::Show { id, qr, png, out }),
            ..
        } => {
            let w = ctx.open().await?;
            let now = spondon_core::NumericDate::now().seconds();
            let g = match w.grant(&id).await {
                Err(WalletError::NotFound(_)) => {
                    bail!("no grant {id:?}; `spondon grants` lists them")
                }
                other => other?,
            };
            let status = g.status(now);
            if let Some(p) = &png {
                spondon_wallet::write_private(p, render_qr(&g.text, QrFormat::Png)?)
                    .await
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            if out.json {
                print_json(&serde_json::json!({"grant": g, "status": status}))?;
            } else {
                if qr {
                    print_qr(&g.text)?;
                }
                let names = hospital_names(&w).await?;
                println!("Grant {} ({})", g.id, status_word(status));
                println!("  for:        {}", g.audience);
                println!("  purpose:    {}", g.purpose);
                if !g.categories.is_empty() {
                    println!("  shares:     {}", g.categories.join(", "));
                }
                if !g.record_ids.is_empty() {
                    println!(
                        "  records:    {}",
                        g.record_ids
                            .iter()
                            .map(|r| short(r))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                if g.write {
                    println!("  may add:    prescriptions and notes");
                }
                println!("  from:       {}", fmt_time(g.not_before));
                println!("  until:      {}", fmt_time(g.expires));
                if let Some(t) = g.revoked_at {
                    println!("  revoked:    {}", fmt_time(t));
                }
                let hospitals: Vec<String> = g.peers.iter().map(|p| names.name(p)).collect();
                println!("  hospitals:  {}", hospitals.join(", "));
                if qr && status != spondon_wallet::grants::GrantStatus::Active {
                    eprintln!(
                        "Note: this grant is {}: its QR code no longer opens anything.",
                        status_word(status)
                    );
                }
            }
            w.close().await;
        }
        Cmd::Grants { action: None, out } => {
            let w = ctx.open().await?;
            let gs = w.grants().await?;
            let now = spondon_core::NumericDate::now().seconds();
            if out.json {
                let v: Vec<_> = gs
                    .iter()
                    .map(|g| serde_json::json!({"grant": g, "status": g.status(now)}))
                    .collect();
                print_json(&v)?;
            } else if gs.is_empty() {
                println!("No grants.");
            } else {
                for g in gs {
                    let st = status_word(g.status(now));
                    println!(
                        "{}  {:<8}  {}  [{}]  until {}",
                        short(&g.id),
                        st,
                        g.audience,
                        g.categories.join(", "),
                        fmt_time(g.expires)
                    );
                }
            }
            w.close().await;
        }
        Cmd::Revoke { id, all, yes, out } => {
            let w = ctx.open().await?;
            let question = match (&id, all) {
                (Some(id), false) => match w.grant(id).await {
                    Ok(g) => format!(
                        "Revoke grant {} for {} ({})? The QR code stops working at every hospital.",
                        short(&g.id),
                        g.audience,
                        g.categories.join(", ")
                    ),
                    // `revoke` below says what is wrong with the id.
                    Err(_) => String::new(),
                },
                (None, true) => {
                    "Revoke EVERY grant you have issued? Every QR code you have shown stops working."
                        .to_owned()
                }
                _ => bail!("give a grant id or --all"),
            };
            if !yes && !question.is_empty() && !confirm(&question)? {
                println!("Nothing was revoked.");
                w.close().await;
                return Ok(ExitCode::FAILURE);
            }
            let auth = ctx.authorize(&w).await?;
            let results = match (id, all) {
                (Some(id), false) => w.revoke(&auth, &id).await?,
                (None, true) => w.revoke_all(&auth).await?,
                _ => bail!("give a grant id or --all"),
            };
            if out.json {
                print_json(&results)?;
            } else {
                let names = hospital_names(&w).await?;
                for r in &results {
                    let hospital = names.name(&r.peer);
                    match &r.error {
                        None => println!("{hospital}: revoked"),
                        Some(e) => {
                            eprintln!("{hospital}: NOT revoked: {e} (run the command again)")
                        }
                    }
                }
            }
            let failed = results.iter().any(|r| !r.ok);
            w.close().await;
            if failed {
                return Ok(ExitCode::FAILURE);
            }
        }
        Cmd::Delegate { action, out } => {
            return delegate_cmd(&mut ctx, action, out.json).await;
        }
        Cmd::ShareProof {
            log_index,
            list,
            hospital,
            investigator,
            out_file,
            out,
        } => {
            let w = ctx.open().await?;
            if list {
                let all = w.shareable_accesses().await?;
                if out.json {
                    print_json(&all)?;
                } else if all.is_empty() {
                    println!("No access to your records has been logged yet.");
                } else {
                    for a in &all {
                        println!(
                            "{:>6}  {}  {}  {}{}",
                            a.log_index,
                            spondon_core::time::local(a.at),
                            a.hospital_name,
                            plural(a.records.len() as u64, "record", "records"),
                            if a.witnessed {
                                ""
                            } else {
                                "  (not yet witnessed: sync later)"
                            }
                        );
                    }
                }
            } else {
                let log_index = log_index.ok_or_else(|| {
                    anyhow::anyhow!(
                        "name the access's log index (see `spondon share-proof --list`)"
                    )
                })?;
                let auth = ctx.authorize(&w).await?;
                let made = w
                    .share_proof(
                        &auth,
                        &spondon_wallet::share_proof::ShareProofRequest {
                            log_index,
                            hospital,
                            investigator,
                        },
                    )
                    .await?;
                let path = out_file
                    .unwrap_or_else(|| PathBuf::from(format!("access-{log_index}.share-proof")));
                spondon_wallet::write_private(&path, format!("{}\n", made.text).into_bytes())
                    .await?;
                if out.json {
                    print_json(&serde_json::json!({"file": path, "share": made.verified}))?;
                } else {
                    let v = &made.verified;
                    println!(
                        "Wrote {}: {} at {} on {}, {}, under grant {}. It holds no record content; check it with `spondon-verifier share-proof`.",
                        path.display(),
                        v.doctor
                            .as_ref()
                            .map(|d| format!("{} (BMDC {})", d.name, d.bmdc_number))
                            .unwrap_or_else(|| "a passcode holder".into()),
                        v.hospital_name,
                        spondon_core::time::local(v.at),
                        plural(v.records.len() as u64, "record", "records"),
                        spondon_wallet::grants::short(&v.grant.id)
                    );
                }
            }
            w.close().await;
        }
        Cmd::LostPhone { yes, out } => {
            eprintln!("{}", printable(spondon_wallet::LOST_PHONE_WARNING));
            if !yes
                && !confirm(
                    "Revoke every grant and replace this wallet's key at every hospital now?",
                )?
            {
                println!("Nothing was done.");
                return Ok(ExitCode::FAILURE);
            }
            let mut w = ctx.open().await?;
            let pass = ctx.passphrase()?;
            let json = out.json;
            let report = w
                .lost_phone(&pass, &|ev| {
                    if json {
                        return;
                    }
                    use spondon_wallet::{HospitalOutcome as O, LostPhoneEvent as E};
                    match ev {
                        E::KeyReady {
                            old_kid,
                            new_kid,
                            resumed,
                            hospitals,
                        } => println!(
                            "{} key {} → new key {} at {}.",
                            if resumed { "Continuing: old" } else { "Old" },
                            spondon_wallet::grants::short(&old_kid),
                            spondon_wallet::grants::short(&new_kid),
                            plural(hospitals, "hospital", "hospitals")
                        ),
                        E::Contacting { hospital_name, .. } => {
                            eprintln!("{}: revoking and re-binding…", printable(&hospital_name))
                        }
                        E::Hospital {
                            result,
                            done,
                            total,
                        } => {
                            let name = printable(&result.hospital_name);
                            match &result.outcome {
                                O::Rotated => println!(
                                    "[{done}/{total}] {name}: every grant revoked, new key bound"
                                ),
                                O::AlreadyDone => {
                                    println!("[{done}/{total}] {name}: already done")
                                }
                                O::IdentityCheckNeeded { message, .. } => println!(
                                    "[{done}/{total}] {name}: NEEDS AN IDENTITY CHECK: {}",
                                    printable(message)
                                ),
                                O::Failed { message, .. } => println!(
                                    "[{done}/{total}] {name}: NOT DONE: {}",
                                    printable(message)
                                ),
                            }
                        }
                    }
                })
                .await?;
            if out.json {
                print_json(&report)?;
            } else {
                let done = report.hospitals.iter().filter(|h| h.done()).count();
                let total = report.hospitals.len();
                if report.complete {
                    println!(
                        "Done at {done} of {total} hospitals: every grant of the old key is revoked, and the old phone's key is refused from now on. {} grants marked revoked here. Run `spondon sync`.",
                        report.grants_revoked
                    );
                } else {
                    println!(
                        "NOT FINISHED: {done} of {total} hospitals done. Run `spondon lost-phone` again to finish (hospitals done are skipped)."
                    );
                }
            }
            w.close().await;
            if !report.complete {
                return Ok(ExitCode::FAILURE);
            }
        }
        Cmd::Rebind { code, qr } => {
            let code = match (code, qr) {
                (Some(t), None) => EnrollmentCode::parse(&t)?,
                (None, Some(p)) => EnrollmentCode::from_image_async(read_input(&p)?).await?,
                _ => bail!("give the new enrollment code (--code TEXT) or --qr IMAGE"),
            };
            let mut w = ctx.open().await?;
            let pass = ctx.passphrase()?;
            let st = w.rebind_with_code(&pass, &code).await?;
            println!(
                "Re-bound at {} (Health ID {}): the old key is retired there and every grant it made is refused.",
                printable(&st.hospital_name),
                st.health_id
            );
            let pending = w
                .key_rotation_status()
                .await?
                .map(|s| s.pending)
                .unwrap_or_default();
            if !pending.is_empty() {
                println!(
                    "{} still to do: run `spondon lost-phone` to finish.",
                    plural(pending.len() as u64, "hospital", "hospitals")
                );
            }
            w.close().await;
        }
        Cmd::Receipts { out } => {
            let w = ctx.open().await?;
            let rs = w.receipts().await?;
            if out.json {
                print_json(&rs)?;
            } else if rs.is_empty() {
                println!("Nobody has looked at your records through a grant yet.");
            } else {
                // Emergency accesses first: nobody asked the patient.
                let (emergency, others): (Vec<_>, Vec<_>) =
                    rs.into_iter().partition(|r| r.emergency.is_some());
                for r in &emergency {
                    println!("!! {}", r.text);
                }
                if !emergency.is_empty() && !others.is_empty() {
                    println!();
                }
                for r in others {
                    println!("{}", r.text);
                }
            }
            w.close().await;
        }
        Cmd::Emergency { action, out } => {
            let w = ctx.open().await?;
            let names = hospital_names(&w).await?;
            match action {
                None => {
                    let policy = w.emergency_policy().await?;
                    let rs: Vec<_> = w
                        .receipts()
                        .await?
                        .into_iter()
                        .filter(|r| r.emergency.is_some())
                        .collect();
                    let disputes = w.emergency_disputes().await?;
                    if out.json {
                        print_json(
                            &serde_json::json!({"policy": policy, "accesses": rs, "disputes": disputes}),
                        )?;
                    } else {
                        use spondon_wallet::emergency::EmergencyMode as M;
                        match &policy {
                            None
                            | Some(spondon_wallet::emergency::EmergencyPolicy {
                                mode: M::Allow,
                                ..
                            }) => println!(
                                "Emergency access: allowed at every member hospital (a registered doctor, a reason, a second staff confirmation; a few hours)."
                            ),
                            Some(p) if p.mode == M::OptOut => {
                                println!(
                                    "Emergency access: you opted out; no hospital may open your emergency summary."
                                )
                            }
                            Some(p) => println!(
                                "Emergency access: only at {}.",
                                p.hospitals
                                    .iter()
                                    .map(|u| names.name(u))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        }
                        if let Some(p) = &policy {
                            let waiting: Vec<String> = w
                                .peers()
                                .await?
                                .iter()
                                .filter(|x| !p.acknowledged.contains(&x.url))
                                .map(|x| names.name(&x.url))
                                .collect();
                            if !waiting.is_empty() {
                                println!(
                                    "Not yet sent to {} (sent at the next sync).",
                                    waiting.join(", ")
                                );
                            }
                        }
                        if rs.is_empty() {
                            println!("No emergency access to your records so far.");
                        }
                        for r in &rs {
                            let id = r.emergency.as_ref().map(|e| short(&e.id)).unwrap_or("");
                            println!("!! [{id}] {}", r.text);
                            if let Some(at) = r.emergency.as_ref().and_then(|e| disputes.get(&e.id))
                            {
                                println!(
                                    "   You disputed it on {}.",
                                    spondon_wallet::grants::fmt_time(*at)
                                );
                            }
                        }
                    }
                }
                Some(EmergencyCmd::Dispute { id, text }) => {
                    let auth = ctx.authorize(&w).await?;
                    let d = w.dispute_emergency(&auth, &id, &text).await?;
                    if out.json {
                        print_json(&d)?;
                    } else {
                        println!(
                            "Disputed emergency access {} at {}: its administrator sees your text.",
                            short(&d.access_id),
                            names.name(&d.peer)
                        );
                    }
                }
                Some(cmd) => {
                    use spondon_wallet::emergency::EmergencyMode as M;
                    let (mode, hospitals) = match cmd {
                        EmergencyCmd::Allow => (M::Allow, Vec::new()),
                        EmergencyCmd::OptOut => (M::OptOut, Vec::new()),
                        EmergencyCmd::Only { hospitals } => (M::Only, hospitals),
                        EmergencyCmd::Dispute { .. } => bail!("unreachable"),
                    };
                    let auth = ctx.authorize(&w).await?;
                    let results = w.set_emergency_policy(&auth, mode, &hospitals).await?;
                    if out.json {
                        print_json(&results)?;
                    } else {
                        for r in &results {
                            let hospital = names.name(&r.peer);
                            match (&r.error, r.allowed_here) {
                                (None, Some(true)) => {
                                    println!("{hospital}: emergency access allowed")
                                }
                                (None, _) => println!("{hospital}: emergency access refused"),
                                (Some(e), _) => eprintln!(
                                    "{hospital}: not yet told: {e} (sent again at the next sync)"
                                ),
                            }
                        }
                    }
                    if results.iter().any(|r| !r.ok) {
                        w.close().await;
                        return Ok(ExitCode::from(EXIT_NOT_SYNCED));
                    }
                }
            }
            w.close().await;
        }
        Cmd::Import {
            file,
            accept_unverified,
            fetch_keys,
            out,
        } => {
            let w = ctx.open().await?;
            let res = w
                .import_with_options(
                    &read_input(&file)?,
                    fetch_keys,
                    accept_unverified,
                    &spondon_wallet::progress::ignore,
                )
                .await;
            let res = match res {
                Err(e @ WalletError::NotVerified { .. }) => {
                    w.close().await;
                    eprintln!("spondon: {e}");
                    eprintln!(
                        "hint: to keep them anyway, marked as unverified, add --accept-unverified{}",
                        if fetch_keys {
                            ""
                        } else {
                            " (or try --fetch-keys to check the signature with the issuer's published keys)"
                        }
                    );
                    return Ok(ExitCode::from(EXIT_NOT_VERIFIED));
                }
                other => other?,
            };
            if out.json {
                print_json(&res)?;
            } else {
                for r in &res {
                    println!(
                        "{} from {}: {}{}",
                        r.id,
                        r.issuer,
                        r.status,
                        if r.already_present {
                            " (already in the wallet)"
                        } else {
                            ""
                        }
                    );
                }
                let unverified = res
                    .iter()
                    .filter(|r| r.trust != spondon_wallet::Trust::ImportedTrusted)
                    .count();
                if unverified > 0 {
                    eprintln!(
                        "Kept {} marked UNVERIFIED: `spondon records` and `spondon show` say so.",
                        plural(unverified as u64, "card", "cards")
                    );
                }
            }
            w.close().await;
        }
        Cmd::Export {
            out,
            records,
            categories,
            since,
            until,
            payments,
            passport,
            nid,
            verify_url,
            receipts,
            link_url,
            json,
        } => {
            use spondon_wallet::export::{parse_day, part_stem};
            let categories = categories
                .iter()
                .map(|c| spondon_wallet::grants::parse_category(c.word()))
                .collect::<Result<Vec<_>, _>>()?;
            let since = since.as_deref().map(parse_day).transpose()?;
            let until = until.as_deref().map(parse_day).transpose()?;
            let w = ctx.open().await?;
            let auth = ctx.authorize(&w).await?;
            let bar = if json.json || !std::io::stderr().is_terminal() {
                indicatif::ProgressBar::hidden()
            } else {
                let b = indicatif::ProgressBar::new(3);
                b.set_style(
                    indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b
            };
            bar.set_message("assembling and verifying the export…");
            let files = w
                .export(
                    &auth,
                    &spondon_wallet::export::ExportRequest {
                        record_ids: records,
                        categories,
                        since,
                        until,
                        include_payments: payments,
                        passport,
                        national_id: nid,
                        verify_url,
                        receipts,
                        link_url,
                        link_label: Some("Health records from my Spondon wallet".into()),
                    },
                )
                .await?;
            bar.inc(1);
            let stem = out.to_string_lossy().into_owned();
            let count = files.parts.len();
            let path =
                |k: usize, ext: &str| PathBuf::from(format!("{}{ext}", part_stem(&stem, k, count)));
            let mut written = Vec::new();
            for (i, part) in files.parts.iter().enumerate() {
                // With documents, the card file and the files go in a directory (§18.4).
                let entries =
                    spondon_wallet::export::card_files(&part_stem(&stem, i + 1, count), part);
                for (p, bytes) in &entries {
                    if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(parent)
                            .with_context(|| format!("cannot create {}", parent.display()))?;
                    }
                    spondon_wallet::write_private(p, bytes.clone())
                        .await
                        .with_context(|| format!("cannot write {}", p.display()))?;
                }
                let card = if part.documents.is_empty() {
                    entries[0].0.clone()
                } else {
                    entries[0]
                        .0
                        .parent()
                        .map(Path::to_path_buf)
                        .unwrap_or_default()
                };
                let pdf = path(i + 1, ".pdf");
                spondon_wallet::write_private(&pdf, part.pdf.clone())
                    .await
                    .with_context(|| format!("cannot write {}", pdf.display()))?;
                written.push((card, pdf, part.records));
            }
            bar.inc(1);
            if let Some((_, jwe)) = &files.link {
                let p = path(1, ".jwe");
                spondon_wallet::write_private(&p, jwe.as_bytes().to_vec())
                    .await
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            bar.finish_and_clear();
            if json.json {
                print_json(&files)?;
            } else {
                let verdict = if files.report.valid {
                    "verified offline: valid"
                } else {
                    "WARNING: the offline check found problems"
                };
                println!(
                    "Exported {} and {} ({verdict}):",
                    plural(files.records as u64, "record", "records"),
                    plural(files.receipts as u64, "share receipt", "share receipts")
                );
                for (card, pdf, n) in &written {
                    if count > 1 {
                        println!("  {} and {} ({n} records)", card.display(), pdf.display());
                    } else {
                        println!("  {} and {}", card.display(), pdf.display());
                    }
                }
                if count > 1 {
                    println!(
                        "The history is too long for one file: each of the {count} parts is complete and verifies on its own."
                    );
                }
                if let Some((link, _)) = &files.link {
                    println!(
                        "Host {} at the link URL; share this link only with the recipient:\n{}",
                        path(1, ".jwe").display(),
                        link.as_str()
                    );
                }
                if let Some((card, _, _)) = written.first() {
                    println!(
                        "The office checks it on the verification page printed on the cover, or with: spondon-verifier check {}",
                        card.display()
                    );
                }
            }
            w.close().await;
        }
        Cmd::Backup { file } => {
            let w = ctx.open().await?;
            let auth = ctx.authorize(&w).await?;
            let bp = ctx.new_passphrase(None, "backup")?;
            w.backup(&auth, &file, &bp).await?;
            println!(
                "Backup written to {}. Keep it and its passphrase safe.",
                file.display()
            );
            w.close().await;
        }
        Cmd::Restore { file } => {
            // A wrong path or an occupied directory fails before any passphrase is asked.
            Wallet::check_restore(&file, &dir).await?;
            let bp = match &ctx.passphrase_file {
                Some(f) => read_first_line(f)?,
                None => prompt("Passphrase of the backup file: ")?,
            };
            let new = ctx.new_passphrase(None, "wallet")?;
            let store: Arc<dyn KeyStore> = ctx
                .os_store()?
                .unwrap_or_else(|| Arc::new(MemoryKeyStore::new()));
            let (w, s) = Wallet::restore(&file, &bp, &dir, store, &new).await?;
            println!(
                "Restored into {}: {}, {}, {}, {}.",
                dir.display(),
                plural(s.peers as u64, "hospital", "hospitals"),
                plural(s.records as u64, "record", "records"),
                plural(s.grants as u64, "grant", "grants"),
                plural(s.receipts as u64, "receipt", "receipts")
            );
            println!(
                "If the old device is lost or stolen, revoke its grants and replace its key now: spondon lost-phone"
            );
            w.close().await;
        }
        Cmd::Status { out } => {
            let w = ctx.open().await?;
            let peers = w.peers().await?;
            let alerts = w.alerts().await?;
            let counts = w.counts().await?;
            if out.json {
                print_json(
                    &serde_json::json!({"key": w.public_key().kid(), "peers": peers, "counts": counts, "alerts": alerts}),
                )?;
            } else {
                println!("Wallet {} — key {}", dir.display(), w.public_key().kid());
                for p in &peers {
                    println!(
                        "  {} ({}) Health ID {}, log size {}, last sync {}",
                        p.hospital_name,
                        p.url,
                        p.health_id,
                        p.tree_size,
                        p.last_sync.map(fmt_time).unwrap_or_else(|| "never".into())
                    );
                }
                println!(
                    "  {} records, {} grants, {} receipts",
                    counts.get("records").unwrap_or(&0),
                    counts.get("grants").unwrap_or(&0),
                    counts.get("receipts").unwrap_or(&0)
                );
                for a in &alerts {
                    println!(
                        "  SECURITY ALERT {}: {} {}",
                        fmt_time(a.at),
                        a.peer,
                        a.violation
                    );
                }
            }
            w.close().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An error and its causes on one line, each cause once: many library errors already include
/// their source's text, and `{:#}` would repeat it ("no QR code was found in the image: no QR
/// code was found in the image").
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// What to do next, for the errors where the CLI knows (the library's messages name no command).
fn hint(e: &WalletError) -> Option<&'static str> {
    Some(match e {
        WalletError::NoWallet(_) => {
            "create one with `spondon init --trust-list FILE --root-key FILE`"
        }
        WalletError::Locked(_) => "unlock it with `spondon unlock`, or give the passphrase",
        WalletError::NoTrustList => "install one with `spondon trust-list FILE --root-key FILE`",
        WalletError::NotEnrolled(_) => "enroll first with `spondon enroll CODE`",
        WalletError::UnknownDoctor(_) => "add their credential first with `spondon doctor FILE`",
        _ => return None,
    })
}

fn main() -> ExitCode {
    // A bug must not print a stack trace at the user: one line, and where to report it.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        emit(
            true,
            &format!("spondon: internal error ({what}{at}); please report it"),
        );
    }));
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("spondon: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(c) => c,
        Err(e) => {
            let security = e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<WalletError>(),
                    Some(WalletError::HistoryViolation { .. })
                )
            });
            eprintln!("spondon: {}", error_text(&e));
            if let Some(hint) = e
                .chain()
                .find_map(|c| c.downcast_ref::<WalletError>())
                .and_then(hint)
            {
                eprintln!("hint: {hint}");
            }
            if security {
                ExitCode::from(EXIT_SECURITY)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// "1.2 MB" for a person.
#[allow(clippy::cast_precision_loss)]
fn file_size(size: u64) -> String {
    if size >= 1 << 20 {
        format!("{:.1} MB", size as f64 / f64::from(1u32 << 20))
    } else if size >= 1 << 10 {
        format!("{:.0} KB", size as f64 / 1024.0)
    } else {
        plural(size, "byte", "bytes")
    }
}

/// "PDF, 1.2 MB" for a person.
fn file_words(content_type: &str, size: u64) -> String {
    let kind = match content_type {
        "application/pdf" => "PDF",
        "image/jpeg" => "JPEG image",
        "image/png" => "PNG image",
        other => other,
    };
    format!("{kind}, {}", file_size(size))
}

async fn documents_cmd(
    w: &Wallet,
    id: Option<String>,
    save: Option<PathBuf>,
    fetch: bool,
    json: bool,
) -> Result<()> {
    use spondon_wallet::documents::FileEvent;
    if fetch {
        let bar = if json || !std::io::stderr().is_terminal() {
            indicatif::ProgressBar::hidden()
        } else {
            let b = indicatif::ProgressBar::new(0);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        };
        let b2 = bar.clone();
        let report = w
            .fetch_files(&move |e| match e {
                FileEvent::Started { files, bytes } => {
                    b2.set_length(bytes);
                    b2.set_message(format!(
                        "fetching {}",
                        plural(files as u64, "file", "files")
                    ));
                }
                FileEvent::Progress { .. } | FileEvent::Kept { .. } => {}
                FileEvent::Failed {
                    record_id, error, ..
                } => b2.println(format!("{}: {error}", short(&record_id))),
            })
            .await?;
        bar.finish_and_clear();
        if !json {
            println!(
                "{} fetched and checked against their cards{}",
                plural(report.kept.len() as u64, "file", "files"),
                if report.failed.is_empty() {
                    String::new()
                } else {
                    format!("; {} failed (run it again later)", report.failed.len())
                }
            );
        }
    }
    let Some(id) = id else {
        let docs = w.documents().await?;
        if json {
            return print_json(&docs);
        }
        if docs.is_empty() {
            println!("No documents.");
        }
        for d in &docs {
            println!(
                "{}  {}  {}  {}",
                short(&d.record_id),
                d.title.as_deref().unwrap_or("(untitled)"),
                file_words(d.content_type, d.size),
                if d.kept {
                    "kept, checked"
                } else {
                    "not fetched yet (`spondon sync`)"
                }
            );
        }
        return Ok(());
    };
    let (view, _bytes) = w.document_file(&id).await?;
    let r = w.record(&view.record_id).await?;
    if let Some(dest) = save {
        let path = w.save_document(&view.record_id, &dest).await?;
        if json {
            return print_json(&serde_json::json!({"document": view, "saved": path}));
        }
        println!("Saved {}", path.display());
    } else if json {
        return print_json(&view);
    }
    println!(
        "This {} is the one {} signed on {} (SHA-256 {}).",
        file_words(view.content_type, view.size),
        r.hospital,
        fmt_time(r.issued_at),
        view.sha256
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let evil = "Paracetamol\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\rdone\u{7f}";
        let shown = printable(evil);
        assert_eq!(shown, "Paracetamol]0;pwned[2J31mdone");
        assert!(!shown.chars().any(char::is_control));
        assert_eq!(printable("two\nlines\tand tab"), "two\nlines\tand tab");
        assert_eq!(printable("প্যারাসিটামল ৫০০"), "প্যারাসিটামল ৫০০");
    }

    #[test]
    fn causes_are_told_once() {
        let inner = anyhow::anyhow!("no QR code was found in the image");
        let e = inner.context("QR code: no QR code was found in the image");
        assert_eq!(
            super::error_text(&e),
            "QR code: no QR code was found in the image"
        );
        let e = anyhow::anyhow!("disk full").context("cannot write grant.png");
        assert_eq!(super::error_text(&e), "cannot write grant.png: disk full");
    }

    /// `spondon help` and every subcommand's `--help` explain every option.
    #[test]
    fn every_option_and_command_has_a_help_line() {
        use clap::CommandFactory as _;
        fn walk(c: &clap::Command, path: &str, missing: &mut Vec<String>) {
            if c.get_about().is_none() && path != "spondon help" {
                missing.push(path.to_owned());
            }
            for a in c.get_arguments() {
                let id = a.get_id().as_str();
                if a.is_hide_set() || id == "help" || id == "version" {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for s in c.get_subcommands() {
                walk(s, &format!("{path} {}", s.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "spondon", &mut missing);
        assert!(missing.is_empty(), "no help line: {missing:?}");
    }

    /// Record and grant ids are base64url: one in 32 starts with '-'.
    #[test]
    fn ids_starting_with_a_hyphen_are_ids_not_options() {
        use clap::Parser as _;
        for args in [
            &["spondon", "show", "-kQ3x"][..],
            &["spondon", "revoke", "-kQ3x"],
            &["spondon", "grant", "--doctor", "A-1", "--record", "-kQ3x"],
            &["spondon", "export", "--record", "-kQ3x"],
        ] {
            let cli = super::Cli::try_parse_from(args);
            assert!(cli.is_ok(), "{args:?}: {:?}", cli.err());
        }
    }
}
