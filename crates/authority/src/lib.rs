//! The health authority's side of the consortium: a root signing key and the list of member
//! hospitals it signs into the trust list (`docs/protocol.md` §6.5) that wallets and verifiers pin.
//!
//! The data directory holds:
//! - `root.key`: the root ES256 key, PKCS#8 DER, mode 0600 (the only secret);
//! - `root.jwk`: its public JWK, handed to every wallet and verifier to pin;
//! - `authority.json`: the authority's name, the last sequence number signed and the members.
//!
//! Every change is validated in full (the list it would produce is built and checked) before
//! anything is written, and files are replaced atomically, so a refused command changes nothing.
//!
//! [`Authority`] is that directory opened: its members ([`Member`]), witnesses
//! ([`WitnessMember`]) and investigators, and [`Authority::sign`], which makes the next trust list
//! ([`Signed`]). [`stats`] collects the hospitals' de-identified statistics and checks each
//! aggregate's signature, freshness and log proof; [`report`] writes the merged tables.
//! `spondon-authority` (this crate's binary) is the command line over both.
//!
//! ```
//! use spondon_authority::Authority;
//! use spondon_core::NumericDate;
//!
//! let dir = tempfile::tempdir()?;
//! let mut authority = Authority::init(dir.path(), "DGHS Bangladesh")?;
//! let signed = authority.sign(NumericDate(1_780_000_000), 30)?;
//! assert!(signed.text.starts_with("SPONDON:1:"));
//! assert_eq!(signed.list.sequence, 1);
//! assert_eq!(Authority::open(dir.path())?.sequence(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use spondon_core::keys::{Es256KeyPair, Es256PublicKey, Jwk, Jwks};
use spondon_core::time::NumericDate;
use spondon_core::token::{Hospital, Investigator, TrustList, TrustedWitness, Witnessing};
use spondon_ledger::note::Verifier;

pub mod report;
pub mod stats;

/// Seconds in a day.
const DAY: i64 = 86_400;
/// Longest validity `sign` accepts, in days (the token format allows 400).
pub const MAX_VALID_DAYS: u32 = 400;
/// Largest `authority.json` read (the format's limit of 2,000 hospitals fits well inside).
const MAX_STATE_BYTES: u64 = 16 * 1024 * 1024;
/// Largest JWKS file read.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

const STATE_FILE: &str = "authority.json";
const ROOT_KEY_FILE: &str = "root.key";
const ROOT_JWK_FILE: &str = "root.jwk";
/// The last list signed, which `spondon-authority serve` publishes.
pub const PUBLISHED_FILE: &str = "trust-list.txt";

/// What can go wrong, each with a message a person can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// `init` was run on a directory that already holds an authority; nothing was changed.
    #[error("{0} already holds an authority; refusing to overwrite it")]
    AlreadyExists(PathBuf),
    /// The directory holds no `authority.json`: run `spondon-authority init` first.
    #[error("{0} is not an authority data directory (run `spondon-authority init` first)")]
    NotInitialised(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// `root.key` is readable by group or others; the authority refuses to use it.
    #[error("{path} is readable by group or others; run `chmod 600` on it")]
    KeyFileMode {
        /// The key file.
        path: PathBuf,
    },
    /// The hospital id is already a member (`--replace` rotates its keys).
    #[error("hospital {0:?} is already a member (use --replace to rotate its keys)")]
    DuplicateHospital(String),
    /// No member has this id.
    #[error("no hospital with id {0:?}")]
    UnknownHospital(String),
    /// A hospital id must be 1–64 characters `a`–`z`, `0`–`9`, `-` or `_`.
    #[error("invalid hospital id {0:?}: use 1–64 characters a–z, 0–9, '-' or '_'")]
    BadHospitalId(String),
    /// The record keys are not a JWK Set of P-256 public keys.
    #[error("invalid JWKS: {0}")]
    BadJwks(String),
    /// The log key is not a C2SP Ed25519 verifier key (`origin+keyid+base64`).
    #[error("invalid log verifier key: {0}")]
    BadLogKey(String),
    /// The witness key is not a C2SP `cosignature/v1` verifier key.
    #[error("invalid witness key: {0}")]
    BadWitnessKey(String),
    /// No witness has this name.
    #[error("no witness named {0:?}")]
    UnknownWitness(String),
    /// A witness with this name is already listed.
    #[error("witness {0:?} is already listed")]
    DuplicateWitness(String),
    /// The authority's name must be 1–128 characters.
    #[error("the authority name must be 1–128 characters")]
    BadAuthorityName,
    /// An investigator with this id is already named.
    #[error("investigator {0:?} is already named")]
    DuplicateInvestigator(String),
    /// No investigator has this id.
    #[error("no investigator {0:?}")]
    UnknownInvestigator(String),
    /// The sequence number reached its largest value: no list can follow.
    #[error("the trust list's sequence number is exhausted")]
    SequenceExhausted,
    /// The list these members, witnesses and investigators would make is not a valid trust
    /// list (a peer URL that is not `https`, too many members, …).
    #[error("invalid trust list: {0}")]
    InvalidList(spondon_core::token::TokenError),
    /// Signing the list, or reading back what was signed exactly as a verifier will, failed.
    #[error("the signed trust list does not verify: {0}")]
    SelfCheck(spondon_core::token::TokenError),
    /// A statistics period is invalid (weeks out of order, too long).
    #[error("invalid statistics period: {0}")]
    BadPeriod(String),
    /// A value could not be written as JSON.
    #[error("cannot encode {what} as JSON: {source}")]
    Json {
        /// What was being written.
        what: &'static str,
        /// The encoder's error.
        source: serde_json::Error,
    },
    /// A validity period outside 1..=[`MAX_VALID_DAYS`] days.
    #[error("validity must be 1–{MAX_VALID_DAYS} days, got {0}")]
    BadValidity(u32),
    /// The root key could not be generated, read or used.
    #[error("key error: {0}")]
    Key(#[from] spondon_core::keys::KeyError),
}

impl AuthorityError {
    /// A stable machine-readable code (docs/architecture.md, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists(_) => "already_exists",
            Self::NotInitialised(_) => "not_initialised",
            Self::File { .. } => "file",
            Self::KeyFileMode { .. } => "key_file_mode",
            Self::DuplicateHospital(_) => "duplicate_hospital",
            Self::UnknownHospital(_) => "unknown_hospital",
            Self::BadHospitalId(_) => "bad_hospital_id",
            Self::BadJwks(_) => "bad_jwks",
            Self::BadLogKey(_) => "bad_log_key",
            Self::BadWitnessKey(_) => "bad_witness_key",
            Self::UnknownWitness(_) => "unknown_witness",
            Self::DuplicateWitness(_) => "duplicate_witness",
            Self::BadAuthorityName => "bad_authority_name",
            Self::DuplicateInvestigator(_) => "duplicate_investigator",
            Self::UnknownInvestigator(_) => "unknown_investigator",
            Self::SequenceExhausted => "sequence_exhausted",
            Self::InvalidList(_) => "invalid_trust_list",
            Self::SelfCheck(_) => "self_check_failed",
            Self::BadPeriod(_) => "bad_period",
            Self::Json { .. } => "json",
            Self::BadValidity(_) => "bad_validity",
            Self::Key(e) => e.code(),
        }
    }
}

type Result<T, E = AuthorityError> = std::result::Result<T, E>;

/// A member as the authority keeps it: the log key in its C2SP verifier-key form, which is what
/// a peer prints at `init` and what operators copy around.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// The hospital's id in the trust list (1–64 characters `a`–`z`, `0`–`9`, `-`, `_`).
    pub id: String,
    /// The hospital's name, as wallets and verifiers show it.
    pub name: String,
    /// The hospital peer's public `https` URL.
    pub peer_url: String,
    /// The hospital's record-signing keys (P-256), as its peer publishes them.
    pub record_keys: Jwks,
    /// `origin+keyid+base64(0x01 ‖ key)`.
    pub log_vkey: String,
}

impl Member {
    /// The trust-list entry, with every field checked.
    pub fn to_hospital(&self) -> Result<Hospital> {
        check_id(&self.id)?;
        if self.record_keys.keys.is_empty() {
            return Err(AuthorityError::BadJwks("it holds no keys".into()));
        }
        let record_keys = self
            .record_keys
            .keys
            .iter()
            .map(|jwk| {
                Es256PublicKey::from_jwk(jwk)
                    .map_err(|e| AuthorityError::BadJwks(format!("key {:?}: {e}", jwk.kid)))
            })
            .collect::<Result<Vec<_>>>()?;
        let log = Verifier::from_vkey(&self.log_vkey)
            .map_err(|e| AuthorityError::BadLogKey(e.to_string()))?;
        if log.sig_type() != 0x01 {
            return Err(AuthorityError::BadLogKey(
                "this is a witness (cosignature) key; the log's own Ed25519 key is needed".into(),
            ));
        }
        Ok(Hospital {
            id: self.id.clone(),
            name: self.name.clone(),
            peer_url: self.peer_url.clone(),
            record_keys,
            log_key: *log.public_key(),
            log_origin: log.name().to_owned(),
        })
    }
}

/// A witness as the authority keeps it: its `cosignature/v1` verifier key (`name+keyid+key`,
/// what `spondon-peer init` prints as `witness_vkey`) and the member that runs it, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessMember {
    /// The witness's `cosignature/v1` verifier key, `name+keyid+key`.
    pub vkey: String,
    /// The id of the member that runs the witness, if one does (its cosignatures do not count for that member's own checkpoints).
    pub operator: Option<String>,
}

impl WitnessMember {
    /// The trust-list entry, with the key checked.
    pub fn to_trusted(&self) -> Result<TrustedWitness> {
        let v = Verifier::from_vkey(&self.vkey)
            .map_err(|e| AuthorityError::BadWitnessKey(e.to_string()))?;
        if v.sig_type() != 0x04 {
            return Err(AuthorityError::BadWitnessKey(
                "this is a log key; a witness's cosignature/v1 key (witness_vkey) is needed".into(),
            ));
        }
        Ok(TrustedWitness {
            name: v.name().to_owned(),
            key: *v.public_key(),
            operator: self.operator.clone(),
        })
    }
}

/// `authority.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    version: u32,
    authority: String,
    /// The sequence number of the last list signed (0: none yet).
    sequence: u64,
    hospitals: Vec<Member>,
    #[serde(default)]
    witnesses: Vec<WitnessMember>,
    /// Cosignatures every hospital checkpoint needs from witnesses it does not run.
    #[serde(default)]
    quorum: u8,
    /// Where the signed list is published; wallets refresh from it.
    #[serde(default)]
    publish_url: Option<String>,
    /// Investigators named in the list (hospitals hand them proofs of sharing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    investigators: Vec<InvestigatorMember>,
}

/// An investigator as the authority keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvestigatorMember {
    /// `[a-z0-9.-]{1,64}`.
    pub id: String,
    /// Who it is, for people.
    pub name: String,
}

/// A trust list just signed.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The `SPONDON:1:` text to publish.
    pub text: String,
    /// The list as signed.
    pub list: TrustList,
}

/// An authority data directory, opened.
pub struct Authority {
    dir: PathBuf,
    root: Es256KeyPair,
    state: State,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("dir", &self.dir)
            .field("authority", &self.state.authority)
            .field("sequence", &self.state.sequence)
            .field("hospitals", &self.state.hospitals.len())
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// Creates `dir` (mode 0700) with a fresh root key. Refuses a directory that already has one.
    pub fn init(dir: &Path, name: &str) -> Result<Self> {
        let state = State {
            version: 1,
            authority: name.trim().to_owned(),
            sequence: 0,
            hospitals: Vec::new(),
            witnesses: Vec::new(),
            quorum: 0,
            publish_url: None,
            investigators: Vec::new(),
        };
        if state.authority.is_empty() || state.authority.len() > 128 {
            return Err(AuthorityError::BadAuthorityName);
        }
        if dir.join(ROOT_KEY_FILE).exists() || dir.join(STATE_FILE).exists() {
            return Err(AuthorityError::AlreadyExists(dir.to_owned()));
        }
        fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| file_err(dir, e))?;
        let root = Es256KeyPair::generate()?;
        write_new_secret(&dir.join(ROOT_KEY_FILE), &root.to_pkcs8())?;
        let jwk = serde_json::to_vec_pretty(&root.public_key().to_jwk()).map_err(|source| {
            AuthorityError::Json {
                what: "the root key",
                source,
            }
        })?;
        write_atomic(&dir.join(ROOT_JWK_FILE), &jwk)?;
        let authority = Self {
            dir: dir.to_owned(),
            root,
            state,
        };
        authority.save()?;
        Ok(authority)
    }

    /// Opens an existing directory.
    pub fn open(dir: &Path) -> Result<Self> {
        let key_path = dir.join(ROOT_KEY_FILE);
        let state_path = dir.join(STATE_FILE);
        if !key_path.exists() || !state_path.exists() {
            return Err(AuthorityError::NotInitialised(dir.to_owned()));
        }
        let der = spondon_fs::read_private(&key_path, MAX_KEY_BYTES)?;
        let root = Es256KeyPair::from_pkcs8(&der).map_err(|e| AuthorityError::File {
            path: key_path.clone(),
            message: format!("not a root key: {e}"),
        })?;
        let bytes = read_limited(&state_path, MAX_STATE_BYTES)?;
        let state: State = serde_json::from_slice(&bytes).map_err(|e| AuthorityError::File {
            path: state_path.clone(),
            message: format!("not an authority state file: {e}"),
        })?;
        if state.version != 1 {
            return Err(AuthorityError::File {
                path: state_path,
                message: format!("unsupported version {}", state.version),
            });
        }
        Ok(Self {
            dir: dir.to_owned(),
            root,
            state,
        })
    }

    /// The authority's name.
    pub fn name(&self) -> &str {
        &self.state.authority
    }

    /// The sequence number of the last list signed (0 before the first).
    pub fn sequence(&self) -> u64 {
        self.state.sequence
    }

    /// The public root key that wallets and verifiers pin.
    pub fn root_public_key(&self) -> &Es256PublicKey {
        self.root.public_key()
    }

    /// The public root key as a JWK.
    pub fn root_jwk(&self) -> Jwk {
        self.root.public_key().to_jwk()
    }

    /// The members, in the order they were added.
    pub fn members(&self) -> &[Member] {
        &self.state.hospitals
    }

    /// Adds a member, or with `replace` replaces the member with the same id (key rotation).
    pub fn add(&mut self, member: Member, replace: bool) -> Result<()> {
        member.to_hospital()?;
        let mut next = self.state.clone();
        match next.hospitals.iter_mut().find(|m| m.id == member.id) {
            Some(existing) if replace => *existing = member,
            Some(_) => return Err(AuthorityError::DuplicateHospital(member.id)),
            None if replace => return Err(AuthorityError::UnknownHospital(member.id)),
            None => next.hospitals.push(member),
        }
        // Build (and so validate) the list this state would sign before keeping it.
        build_list(&next, NumericDate::now(), 1)?;
        self.state = next;
        self.save()
    }

    /// The witnesses, in the order they were added.
    pub fn witnesses(&self) -> &[WitnessMember] {
        &self.state.witnesses
    }

    /// The witness quorum.
    pub fn quorum(&self) -> u8 {
        self.state.quorum
    }

    /// Where the list is published.
    pub fn publish_url(&self) -> Option<&str> {
        self.state.publish_url.as_deref()
    }

    /// Adds a witness (run by the member `operator`, if any). Returns its key name.
    pub fn add_witness(&mut self, witness: WitnessMember) -> Result<String> {
        let name = witness.to_trusted()?.name;
        let mut next = self.state.clone();
        if next
            .witnesses
            .iter()
            .any(|w| w.to_trusted().map(|t| t.name == name).unwrap_or(false))
        {
            return Err(AuthorityError::DuplicateWitness(name));
        }
        next.witnesses.push(witness);
        self.replace_state(next)?;
        Ok(name)
    }

    /// Removes the witness with this key name.
    pub fn remove_witness(&mut self, name: &str) -> Result<WitnessMember> {
        let mut next = self.state.clone();
        let pos = next
            .witnesses
            .iter()
            .position(|w| w.to_trusted().map(|t| t.name == name).unwrap_or(false))
            .ok_or_else(|| AuthorityError::UnknownWitness(name.to_owned()))?;
        let removed = next.witnesses.remove(pos);
        self.replace_state(next)?;
        Ok(removed)
    }

    /// Sets the number of cosignatures every hospital's checkpoints need.
    pub fn set_quorum(&mut self, quorum: u8) -> Result<()> {
        let mut next = self.state.clone();
        next.quorum = quorum;
        self.replace_state(next)
    }

    /// The investigators, in the order they were named.
    pub fn investigators(&self) -> &[InvestigatorMember] {
        &self.state.investigators
    }

    /// Names an investigator (police unit, court, ombudsman). Takes effect at the next `sign`.
    pub fn add_investigator(&mut self, id: &str, name: &str) -> Result<()> {
        let mut next = self.state.clone();
        if next.investigators.iter().any(|i| i.id == id) {
            return Err(AuthorityError::DuplicateInvestigator(id.to_owned()));
        }
        next.investigators.push(InvestigatorMember {
            id: id.to_owned(),
            name: name.trim().to_owned(),
        });
        self.replace_state(next)
    }

    /// Removes a named investigator.
    pub fn remove_investigator(&mut self, id: &str) -> Result<InvestigatorMember> {
        let mut next = self.state.clone();
        let pos = next
            .investigators
            .iter()
            .position(|i| i.id == id)
            .ok_or_else(|| AuthorityError::UnknownInvestigator(id.to_owned()))?;
        let removed = next.investigators.remove(pos);
        self.replace_state(next)?;
        Ok(removed)
    }

    /// Sets (or with `None` clears) the URL the signed list is published at.
    pub fn set_publish_url(&mut self, url: Option<String>) -> Result<()> {
        let mut next = self.state.clone();
        next.publish_url = url;
        self.replace_state(next)
    }

    /// Keeps `next` if the list it would sign is valid.
    fn replace_state(&mut self, next: State) -> Result<()> {
        build_list(&next, NumericDate::now(), 1)?;
        self.state = next;
        self.save()
    }

    /// Removes a member (and any witness it runs).
    pub fn remove(&mut self, id: &str) -> Result<Member> {
        let mut next = self.state.clone();
        let pos = next
            .hospitals
            .iter()
            .position(|m| m.id == id)
            .ok_or_else(|| AuthorityError::UnknownHospital(id.to_owned()))?;
        let removed = next.hospitals.remove(pos);
        next.witnesses.retain(|w| w.operator.as_deref() != Some(id));
        self.replace_state(next)?;
        Ok(removed)
    }

    /// Signs the next trust list (sequence + 1), valid from `now` for `valid_days`.
    pub fn sign(&mut self, now: NumericDate, valid_days: u32) -> Result<Signed> {
        if valid_days == 0 || valid_days > MAX_VALID_DAYS {
            return Err(AuthorityError::BadValidity(valid_days));
        }
        let mut next = self.state.clone();
        next.sequence = next
            .sequence
            .checked_add(1)
            .ok_or(AuthorityError::SequenceExhausted)?;
        let list = build_list(&next, now, valid_days)?;
        let text = list.sign(&self.root).map_err(AuthorityError::SelfCheck)?;
        // Check what we publish exactly as a verifier will.
        TrustList::decode_and_verify(&text, self.root.public_key(), next.sequence, now)
            .map_err(AuthorityError::SelfCheck)?;
        self.state = next;
        self.save()?;
        write_atomic(&self.dir.join(PUBLISHED_FILE), text.as_bytes())?;
        Ok(Signed { text, list })
    }

    fn save(&self) -> Result<()> {
        let bytes =
            serde_json::to_vec_pretty(&self.state).map_err(|source| AuthorityError::Json {
                what: "the authority's state",
                source,
            })?;
        write_atomic(&self.dir.join(STATE_FILE), &bytes)
    }
}

fn build_list(state: &State, now: NumericDate, valid_days: u32) -> Result<TrustList> {
    let hospitals = state
        .hospitals
        .iter()
        .map(Member::to_hospital)
        .collect::<Result<Vec<_>>>()?;
    let witnesses = state
        .witnesses
        .iter()
        .map(WitnessMember::to_trusted)
        .collect::<Result<Vec<_>>>()?;
    let list = TrustList {
        witnessing: Witnessing {
            witnesses,
            quorum: state.quorum,
        },
        publish_url: state.publish_url.clone(),
        investigators: state
            .investigators
            .iter()
            .map(|i| Investigator {
                id: i.id.clone(),
                name: i.name.clone(),
            })
            .collect(),
        authority: state.authority.clone(),
        sequence: state.sequence,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(i64::from(valid_days) * DAY),
        hospitals,
    };
    list.validate().map_err(AuthorityError::InvalidList)?;
    Ok(list)
}

/// Parses a JWKS document (`{"keys": [...]}`), as served at `/.well-known/jwks.json`.
pub fn parse_jwks(bytes: &[u8]) -> Result<Jwks> {
    if bytes.len() > MAX_JWKS_BYTES {
        return Err(AuthorityError::BadJwks(format!(
            "larger than {MAX_JWKS_BYTES} bytes"
        )));
    }
    let jwks: Jwks =
        serde_json::from_slice(bytes).map_err(|e| AuthorityError::BadJwks(e.to_string()))?;
    for jwk in &jwks.keys {
        if jwk.d.is_some() {
            return Err(AuthorityError::BadJwks(
                "it contains a private key; publish only public keys".into(),
            ));
        }
    }
    Ok(jwks)
}

fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(AuthorityError::BadHospitalId(id.to_owned()))
    }
}

fn file_err(path: &Path, e: std::io::Error) -> AuthorityError {
    AuthorityError::File {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// The most a root key file may hold (a PKCS#8 P-256 key is about 140 bytes).
const MAX_KEY_BYTES: u64 = 64 * 1024;

impl From<spondon_fs::FileError> for AuthorityError {
    fn from(e: spondon_fs::FileError) -> Self {
        use spondon_fs::FileError as F;
        let message = match &e {
            F::Exposed { path, .. } => return Self::KeyFileMode { path: path.clone() },
            F::Io { op, source, .. } => format!("cannot {op} it: {source}"),
            F::Exists { .. } => "already exists; it is not overwritten".to_owned(),
            F::NotFound { .. } => "no such file".to_owned(),
            F::TooLarge { max, .. } => format!("larger than {max} bytes"),
            _ => e.to_string(),
        };
        Self::File {
            path: e.path().to_owned(),
            message,
        }
    }
}

fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>> {
    Ok(spondon_fs::read_limited(path, max)?)
}

/// Writes a new secret (0600), never over an existing file.
fn write_new_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(spondon_fs::create_private(path, bytes)?)
}

/// Writes `path` (0644: what the authority writes is published) through a temporary file and a
/// rename, so readers see the old or the new file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(spondon_fs::write_public(path, bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spondon_core::keys::Ed25519KeyPair;

    fn member(id: &str) -> Member {
        let record = Es256KeyPair::generate().unwrap();
        let log = Ed25519KeyPair::generate().unwrap();
        let vkey = Verifier::ed25519(&format!("peer.{id}.example/log"), *log.public_key())
            .unwrap()
            .to_vkey();
        Member {
            id: id.into(),
            name: format!("Hospital {id}"),
            peer_url: format!("https://peer.{id}.example"),
            record_keys: Jwks {
                keys: vec![record.public_key().to_jwk()],
            },
            log_vkey: vkey,
        }
    }

    #[test]
    fn sign_verify_and_sequence_grows() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Authority::init(dir.path(), "DGHS").unwrap();
        a.add(member("dmch"), false).unwrap();
        a.add(member("labaid"), false).unwrap();
        let now = NumericDate::now();
        let first = a.sign(now, 90).unwrap();
        assert_eq!(first.list.sequence, 1);
        let second = a.sign(now, 90).unwrap();
        let root = a.root_public_key().clone();
        let list = TrustList::decode_and_verify(&second.text, &root, 2, now).unwrap();
        assert_eq!(list.hospitals.len(), 2);
        assert_eq!(list.hospitals[0].log_origin, "peer.dmch.example/log");
        // A pinned verifier refuses the older list.
        assert!(TrustList::decode_and_verify(&first.text, &root, 2, now).is_err());
        // State survives a reopen.
        let reopened = Authority::open(dir.path()).unwrap();
        assert_eq!(reopened.sequence(), 2);
        assert_eq!(reopened.members().len(), 2);
    }

    #[test]
    fn refusals_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Authority::init(dir.path(), "DGHS").unwrap();
        a.add(member("dmch"), false).unwrap();
        let before = fs::read(dir.path().join(STATE_FILE)).unwrap();

        assert!(matches!(
            a.add(member("dmch"), false),
            Err(AuthorityError::DuplicateHospital(_))
        ));
        assert!(matches!(
            a.add(member("nope"), true),
            Err(AuthorityError::UnknownHospital(_))
        ));
        let mut bad = member("x");
        bad.id = "Bad Id".into();
        assert!(matches!(
            a.add(bad, false),
            Err(AuthorityError::BadHospitalId(_))
        ));
        let mut bad = member("y");
        bad.log_vkey = "peer.y.example/log+00000000+AAAA".into();
        assert!(matches!(
            a.add(bad, false),
            Err(AuthorityError::BadLogKey(_))
        ));
        let mut bad = member("z");
        bad.record_keys.keys.clear();
        assert!(matches!(a.add(bad, false), Err(AuthorityError::BadJwks(_))));
        let mut bad = member("w");
        bad.peer_url = "not a url".into();
        assert!(matches!(
            a.add(bad, false),
            Err(AuthorityError::InvalidList(_))
        ));
        assert!(matches!(
            a.sign(NumericDate::now(), 0),
            Err(AuthorityError::BadValidity(0))
        ));
        assert!(matches!(
            a.sign(NumericDate::now(), 401),
            Err(AuthorityError::BadValidity(401))
        ));
        assert_eq!(fs::read(dir.path().join(STATE_FILE)).unwrap(), before);
        assert!(matches!(
            Authority::init(dir.path(), "again"),
            Err(AuthorityError::AlreadyExists(_))
        ));
    }

    #[test]
    fn key_file_must_be_private_and_jwks_public() {
        let dir = tempfile::tempdir().unwrap();
        Authority::init(dir.path(), "DGHS").unwrap();
        let key = dir.path().join(ROOT_KEY_FILE);
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Authority::open(dir.path()),
            Err(AuthorityError::KeyFileMode { .. })
        ));
        let private = Es256KeyPair::generate().unwrap();
        let mut jwk = private.public_key().to_jwk();
        jwk.d = Some("AAAA".into());
        let doc = serde_json::to_vec(&Jwks { keys: vec![jwk] }).unwrap();
        assert!(matches!(parse_jwks(&doc), Err(AuthorityError::BadJwks(_))));
        assert!(matches!(
            parse_jwks(b"{\"keys\": 5}"),
            Err(AuthorityError::BadJwks(_))
        ));
        assert!(matches!(
            parse_jwks(&vec![b' '; MAX_JWKS_BYTES + 1]),
            Err(AuthorityError::BadJwks(_))
        ));
    }
}
