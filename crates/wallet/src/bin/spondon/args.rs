//! The command line: every command, option and its help (clap).

use crate::prelude::*;

pub(crate) const EXAMPLES: &str = "\
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
pub(crate) struct Cli {
    /// Wallet directory.
    #[arg(
        long,
        env = "SPONDON_WALLET",
        global = true,
        help_heading = "Global options"
    )]
    pub(crate) wallet: Option<PathBuf>,
    /// Read the passphrase from this file (first line) instead of asking.
    #[arg(
        long,
        env = "SPONDON_PASSPHRASE_FILE",
        global = true,
        help_heading = "Global options"
    )]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// Where the wallet's keys are kept while unlocked: the OS keychain (`os`), or nowhere
    /// (`none`: the passphrase is asked for every command). `auto` uses the keychain if present.
    #[arg(long, env = "SPONDON_KEYSTORE", value_enum, default_value_t = KeyStoreChoice::Auto, global = true, help_heading = "Global options")]
    pub(crate) keystore: KeyStoreChoice,
    /// Reach a peer at another address: `https://dmch.example=http://127.0.0.1:8400` (for a
    /// local peer without TLS; requests are still signed for the peer URL). Repeatable.
    #[arg(
        long = "endpoint",
        env = "SPONDON_PEER_ENDPOINTS",
        value_delimiter = ',',
        global = true,
        help_heading = "Global options"
    )]
    pub(crate) endpoints: Vec<String>,
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
    pub(crate) ca_files: Vec<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Cmd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeyStoreChoice {
    Auto,
    Os,
    None,
}

/// The kinds of record, one vocabulary for `records --kind` and `grant --category`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Kind {
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
    pub(crate) fn word(self) -> &'static str {
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
pub(crate) struct JsonFlag {
    /// Machine-readable JSON output.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Cmd {
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
    Records(RecordsArgs),
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
    Grant(GrantArgs),
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
    ShareProof(ShareProofArgs),
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
    Export(ExportArgs),
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
pub(crate) enum DelegateCmd {
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
pub(crate) enum ScopeArg {
    View,
    Share,
    Manage,
}

#[derive(Debug, Subcommand)]
pub(crate) enum EmergencyCmd {
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
pub(crate) enum GrantsCmd {
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

/// The options of `spondon records`.
#[derive(Debug, Args)]
pub(crate) struct RecordsArgs {
    /// Only records of this kind.
    #[arg(long, value_enum)]
    pub(crate) kind: Option<Kind>,
    /// Part of the hospital's name or URL.
    #[arg(long)]
    pub(crate) hospital: Option<String>,
    /// From this date (YYYY-MM-DD).
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Until this date (YYYY-MM-DD).
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// Words to search for (all must appear).
    #[arg(long)]
    pub(crate) search: Option<String>,
    #[command(flatten)]
    pub(crate) out: JsonFlag,
}

/// The options of `spondon grant`.
#[derive(Debug, Args)]
pub(crate) struct GrantArgs {
    /// The doctor: BMDC number or key id of a doctor added with `spondon doctor`.
    #[arg(long, conflicts_with = "passcode")]
    pub(crate) doctor: Option<String>,
    /// A passcode instead of a doctor (one use, at least 6 characters).
    #[arg(long)]
    pub(crate) passcode: Option<String>,
    /// Share every record of this kind. Repeatable.
    #[arg(long = "category", value_enum)]
    pub(crate) categories: Vec<Kind>,
    /// A record id. Repeatable.
    #[arg(long = "record", allow_hyphen_values = true)]
    pub(crate) records: Vec<String>,
    /// treatment, visa_medical, emergency, referral, insurance.
    #[arg(long, default_value = "treatment")]
    pub(crate) purpose: String,
    /// 1h, 24h, 7d, 30d, or e.g. 90m, 3d.
    #[arg(long, default_value = "24h")]
    pub(crate) duration: String,
    /// Peer URLs (default: every enrolled hospital). Repeatable.
    #[arg(long = "peer")]
    pub(crate) peers: Vec<String>,
    /// Let the doctor add a prescription or note (a write-scoped grant; doctors only).
    #[arg(long)]
    pub(crate) write: bool,
    /// Write the QR code as PNG here.
    #[arg(long)]
    pub(crate) png: Option<PathBuf>,
    /// Write the QR code as SVG here.
    #[arg(long)]
    pub(crate) svg: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) out: JsonFlag,
}

/// The options of `spondon share-proof`.
#[derive(Debug, Args)]
pub(crate) struct ShareProofArgs {
    /// The access's log index, as `spondon share-proof --list` shows it.
    #[arg(required_unless_present = "list")]
    pub(crate) log_index: Option<u64>,
    /// List the accesses a proof can be made of, with their log index.
    #[arg(long, conflicts_with_all = ["out_file", "investigator", "hospital"])]
    pub(crate) list: bool,
    /// The hospital that logged it (name, id or URL), if two logged one at that index.
    #[arg(long)]
    pub(crate) hospital: Option<String>,
    /// The investigator it is for: an id the trust list names.
    #[arg(long)]
    pub(crate) investigator: Option<String>,
    /// Where to write the proof (default: `access-<index>.share-proof`).
    #[arg(long = "out", value_name = "FILE")]
    pub(crate) out_file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) out: JsonFlag,
}

/// The options of `spondon export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Output file stem: writes STEM.smart-health-card and STEM.pdf (a long history:
    /// STEM-part1-of-N.smart-health-card, STEM-part1-of-N.pdf, …, each verifiable alone).
    #[arg(long, default_value = "spondon-export")]
    pub(crate) out: PathBuf,
    /// Only these records (ids or their starts). Repeatable. Default: every hospital record.
    #[arg(long = "record", allow_hyphen_values = true)]
    pub(crate) records: Vec<String>,
    /// Only records of this kind. Repeatable. Default: every kind but payment.
    #[arg(long = "category", value_name = "KIND", value_enum)]
    pub(crate) categories: Vec<Kind>,
    /// Only records issued on or after this day (YYYY-MM-DD, in your time zone).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub(crate) since: Option<String>,
    /// Only records issued on or before this day (YYYY-MM-DD, in your time zone).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub(crate) until: Option<String>,
    /// Include payment slips (left out unless asked for, by this, by id or by category).
    #[arg(long)]
    pub(crate) payments: bool,
    /// Passport number to print on the PDF's cover, marked as self-declared (signed by no
    /// one; not in the .smart-health-card file).
    #[arg(long, value_name = "NUMBER")]
    pub(crate) passport: Option<String>,
    /// National ID (NID) number to print on the PDF's cover, marked as self-declared.
    #[arg(long, value_name = "NUMBER")]
    pub(crate) nid: Option<String>,
    /// The web page where the office can check the PDF without a command line (e.g. a
    /// clinic node's document check, https://…), printed on the cover with its QR code.
    #[arg(long, value_name = "URL")]
    pub(crate) verify_url: Option<String>,
    /// Include the share receipts of the exported records.
    #[arg(long)]
    pub(crate) receipts: bool,
    /// Also make a SMART Health Link to this https URL; writes STEM.jwe to host there.
    #[arg(long)]
    pub(crate) link_url: Option<String>,
    #[command(flatten)]
    pub(crate) json: JsonFlag,
}
