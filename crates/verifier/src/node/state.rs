//! The running node: config, doctor key, database, and the in-memory trust state every grant
//! check reads (no database access per check).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use spondon_core::NumericDate;
use spondon_core::keys::{Es256KeyPair, Es256PublicKey, sha256};
use spondon_core::shc::{Crl, Directory};
use spondon_core::token::{self, DoctorCredential, TokenClaims, TrustAnchors, TrustList};

use super::config::{Config, DataDir};
use super::db::{Db, StoredCrl};
use super::{ConfigError, NodeError};

/// Prefix of staff tokens.
pub const STAFF_TOKEN_PREFIX: &str = "spvs_";
/// How long a staff token is trusted from memory before the database is asked again.
pub const STAFF_RECHECK_SECS: i64 = 60;
/// How long a page session lasts at most (a working day).
pub const SESSION_SECS: i64 = 12 * 3600;
/// A page session unused for this long has ended.
pub const SESSION_IDLE_SECS: i64 = 2 * 3600;

/// What grants, credentials and records are checked against. Replaced as a whole on refresh.
#[derive(Debug, Clone)]
pub struct TrustState {
    /// The verified trust list.
    pub list: TrustList,
    /// The trust list as signed (the text the root key's signature covers).
    pub text: String,
    /// When this list was fetched or pinned.
    pub fetched_at: i64,
    /// The hospitals as SMART Health Card issuers: record keys and cached CRLs.
    pub directory: Directory,
    /// The oldest successful revocation-list refresh over all hospitals (`None`: never).
    pub revocations_as_of: Option<i64>,
}

impl TrustState {
    /// The hospital a grant's peer entry names (its peer URL or its id).
    pub fn hospital_for_peer(&self, peer: &str) -> Option<&token::Hospital> {
        self.list.hospital(peer)
    }
}

/// The doctor credential imported for this node's key.
#[derive(Debug, Clone)]
pub struct CredentialInfo {
    /// The credential as signed, as the node stores and presents it.
    pub text: String,
    /// Its verified content.
    pub credential: DoctorCredential,
}

/// A running verifier node.
#[derive(Debug)]
pub struct Node {
    /// The node's configuration (`verifier.json`).
    pub config: Config,
    /// The data directory it was opened from.
    pub data: DataDir,
    /// The node's own key pair: the doctor key grants are bound to.
    pub key: Es256KeyPair,
    /// The node's database (SQLite or PostgreSQL).
    pub db: Db,
    root: Es256PublicKey,
    trust: RwLock<Arc<TrustState>>,
    /// Token hash → (staff name, when it was last confirmed in the database).
    staff: RwLock<HashMap<[u8; 32], (String, i64)>>,
    credential: RwLock<Option<Arc<CredentialInfo>>>,
    /// Request counts and freshness gauges for `/metrics`.
    pub metrics: super::metrics::Metrics,
    /// HTTPS to the peers.
    pub peers: super::peers::Peers,
    /// Document files fetched and checked for a session (in memory only).
    pub files: super::files::FileStore,
}

fn random_token(prefix: &str) -> Result<String, NodeError> {
    let bytes: [u8; 32] = spondon_core::keys::random_bytes()?;
    Ok(format!("{prefix}{}", spondon_core::b64::encode(bytes)))
}

/// Verifies a trust list's signature by `root` (not its time: an expired list is still shown,
/// with a warning) and its sequence against `min_sequence`.
pub fn verify_trust_list(
    text: &str,
    root: &Es256PublicKey,
    min_sequence: u64,
) -> Result<TrustList, NodeError> {
    let parsed = token::decode_any(text.trim()).map_err(NodeError::TrustList)?;
    let TokenClaims::TrustList(list) = &parsed.claims else {
        return Err(NodeError::NotATrustList(parsed.kind.name()));
    };
    let anchors = TrustAnchors {
        root_key: Some(root),
        min_trust_list_sequence: min_sequence,
        ..TrustAnchors::default()
    };
    // Signature and sequence; the time window is judged separately (at its own start).
    parsed
        .verify(&anchors, list.not_before)
        .map_err(NodeError::TrustList)?;
    Ok(list.clone())
}

fn build_state(
    list: TrustList,
    text: String,
    fetched_at: i64,
    crls: &[StoredCrl],
    revocations_as_of: Option<i64>,
) -> Result<TrustState, NodeError> {
    let mut directory = Directory::new();
    for h in &list.hospitals {
        let bad = |e: spondon_core::shc::ShcError| NodeError::HospitalKeys {
            hospital: h.id.clone(),
            source: e,
        };
        directory
            .add_issuer(&h.peer_url, Some(&h.name))
            .map_err(bad)?;
        for k in &h.record_keys {
            directory.add_key(&h.peer_url, k.to_jwk()).map_err(bad)?;
        }
    }
    for c in crls {
        if list.hospitals.iter().any(|h| h.peer_url == c.issuer) {
            // A cached list that no longer parses is ignored (the refresh replaces it).
            if let Ok(crl) = Crl::from_json(&c.crl) {
                let _ = directory.add_crl(&c.issuer, crl);
            }
        }
    }
    Ok(TrustState {
        list,
        text,
        fetched_at,
        directory,
        revocations_as_of,
    })
}

impl Node {
    /// `spondon-verifier init`: data directory, key, database, pinned trust list.
    pub async fn init(
        data: &DataDir,
        clinic: &str,
        database_url: Option<&str>,
        trust_text: &str,
        root_key: &spondon_core::keys::Jwk,
        trust_list_url: Option<String>,
    ) -> Result<Node, NodeError> {
        let clinic = clinic.trim();
        if clinic.is_empty() || clinic.len() > 200 {
            return Err(ConfigError::OutOfRange {
                what: "--clinic",
                range: "1 to 200 characters",
            }
            .into());
        }
        let root = Es256PublicKey::from_jwk(root_key).map_err(|source| ConfigError::BadKey {
            what: "--root-key".into(),
            source,
        })?;
        let list = verify_trust_list(trust_text, &root, 0)?;
        let now = NumericDate::now().0;
        if now >= list.expires.0 {
            return Err(NodeError::TrustListExpired);
        }
        let config = Config {
            clinic: clinic.to_owned(),
            database_url: database_url
                .map(str::to_owned)
                .unwrap_or_else(|| data.default_database_url()),
            root_key: root.to_jwk(),
            trust_list_url,
            peer_addresses: Default::default(),
            ca_files: Vec::new(),
            refresh_secs: 300,
            max_upload_bytes: 4 << 20,
            secure_cookies: false,
        };
        let key = data.create(&config)?;
        let db = Db::open(&config.database_url).await?;
        db.pin_trust_list(list.sequence, trust_text.trim(), now)
            .await?;
        Self::assemble(config, data.clone(), key, db).await
    }

    /// Opens an initialised node.
    pub async fn open(data: &DataDir, database_url: Option<&str>) -> Result<Node, NodeError> {
        let mut config = data.config()?;
        if let Some(u) = database_url {
            config.database_url = u.to_owned();
        }
        let key = data.key()?;
        let db = Db::open(&config.database_url).await?;
        Self::assemble(config, data.clone(), key, db).await
    }

    async fn assemble(
        config: Config,
        data: DataDir,
        key: Es256KeyPair,
        db: Db,
    ) -> Result<Node, NodeError> {
        let root = config.root_key()?;
        let (text, fetched_at) = db
            .latest_trust_list()
            .await?
            .ok_or(NodeError::NoTrustList)?;
        let list = verify_trust_list(&text, &root, 0)?;
        let crls = db.crls().await?;
        let as_of = revocations_as_of(&db, &list).await?;
        let state = build_state(list, text, fetched_at, &crls, as_of)?;
        // Staff token hashes are loaded lazily on first use.
        let staff = HashMap::new();
        let credential = match db.doctor_credential(key.kid()).await? {
            Some(text) => Some(Arc::new(parse_credential(&text, &state.list, &key)?)),
            None => None,
        };
        let peers = super::peers::Peers::new(&config, &data)?;
        Ok(Node {
            peers,
            files: super::files::FileStore::default(),
            config,
            data,
            key,
            db,
            root,
            trust: RwLock::new(Arc::new(state)),
            staff: RwLock::new(staff),
            credential: RwLock::new(credential),
            metrics: super::metrics::Metrics::new(),
        })
    }

    /// Closes the database pool, waiting for its connections to finish.
    pub async fn close(&self) {
        self.db.close().await;
    }

    /// The current trust state (cheap: an `Arc` clone).
    pub fn trust(&self) -> Arc<TrustState> {
        match self.trust.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The authority root key the trust list is checked against.
    pub fn root_key(&self) -> &Es256PublicKey {
        &self.root
    }

    /// Accepts a newer trust list (signed by the root key, sequence ≥ the pinned one): pins it
    /// in the database and swaps it in. Returns whether it changed anything.
    pub async fn offer_trust_list(&self, text: &str) -> Result<bool, NodeError> {
        let current = self.trust();
        let list = verify_trust_list(text, &self.root, current.list.sequence)?;
        let now = NumericDate::now().0;
        if now >= list.expires.0 {
            return Err(NodeError::TrustListExpired);
        }
        self.db
            .pin_trust_list(list.sequence, text.trim(), now)
            .await?;
        let changed = list.sequence > current.list.sequence;
        self.rebuild_trust(Some((list, text.trim().to_owned(), now)))
            .await?;
        Ok(changed)
    }

    /// Rebuilds the trust state from the database (after CRLs were stored), optionally with a
    /// new list.
    pub async fn rebuild_trust(
        &self,
        new_list: Option<(TrustList, String, i64)>,
    ) -> Result<(), NodeError> {
        let current = self.trust();
        let (list, text, fetched_at) = match new_list {
            Some(n) => n,
            None => (
                current.list.clone(),
                current.text.clone(),
                current.fetched_at,
            ),
        };
        let crls = self.db.crls().await?;
        let as_of = revocations_as_of(&self.db, &list).await?;
        let state = build_state(list, text, fetched_at, &crls, as_of)?;
        match self.trust.write() {
            Ok(mut g) => *g = Arc::new(state),
            Err(p) => *p.into_inner() = Arc::new(state),
        }
        Ok(())
    }

    /// Creates a staff member; returns the token (shown once, stored as a SHA-256 hash: the
    /// token is 256 random bits, so a slow password hash would add nothing).
    pub async fn add_staff(&self, name: &str) -> Result<String, NodeError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
            return Err(ConfigError::OutOfRange {
                what: "a staff name",
                range: "1 to 100 printable characters",
            }
            .into());
        }
        let token = random_token(STAFF_TOKEN_PREFIX)?;
        self.db
            .add_staff(name, &sha256(token.as_bytes()), NumericDate::now().0)
            .await?;
        Ok(token)
    }

    /// The staff member holding `token`, if any (memory first, then the database).
    pub async fn staff_for_token(&self, token: &str) -> Result<Option<String>, NodeError> {
        if !token.starts_with(STAFF_TOKEN_PREFIX) || token.len() > 100 {
            return Ok(None);
        }
        let hash = sha256(token.as_bytes());
        let now = NumericDate::now().0;
        if let Some((n, at)) = self.staff.read().ok().and_then(|m| m.get(&hash).cloned())
            && now - at < STAFF_RECHECK_SECS
        {
            return Ok(Some(n));
        }
        // Unknown, or not confirmed for a while (a removed staff member loses access within
        // STAFF_RECHECK_SECS).
        let found = self.db.staff_by_hash(&hash).await?;
        if let Ok(mut m) = self.staff.write() {
            match &found {
                Some(n) => {
                    m.insert(hash, (n.clone(), now));
                }
                None => {
                    m.remove(&hash);
                }
            }
        }
        Ok(found)
    }

    /// Starts a page session; returns the cookie value (only its hash is stored).
    pub async fn new_session(&self, staff: &str) -> Result<String, NodeError> {
        let id = random_token("")?;
        let now = NumericDate::now().0;
        self.db
            .add_session(&sha256(id.as_bytes()), staff, now, now + SESSION_SECS)
            .await?;
        Ok(id)
    }

    /// The staff member of a live session (and it counts as used now).
    pub async fn session_staff(&self, id: &str) -> Result<Option<String>, NodeError> {
        if id.is_empty() || id.len() > 100 {
            return Ok(None);
        }
        self.db
            .touch_session(
                &sha256(id.as_bytes()),
                NumericDate::now().0,
                SESSION_IDLE_SECS,
            )
            .await
    }

    /// Ends a page session (logout); an unknown or malformed id is a no-op.
    pub async fn end_session(&self, id: &str) -> Result<(), NodeError> {
        if id.is_empty() || id.len() > 100 {
            return Ok(());
        }
        self.db.end_session(&sha256(id.as_bytes())).await?;
        Ok(())
    }

    /// Imports the doctor credential a hospital issued for this node's key.
    pub async fn import_credential(&self, text: &str) -> Result<CredentialInfo, NodeError> {
        let trust = self.trust();
        let info = parse_credential(text.trim(), &trust.list, &self.key)?;
        self.db
            .set_doctor_credential(self.key.kid(), &info.text, NumericDate::now().0)
            .await?;
        if let Ok(mut g) = self.credential.write() {
            *g = Some(Arc::new(info.clone()));
        }
        Ok(info)
    }

    /// The imported doctor credential, if any.
    pub fn credential(&self) -> Option<Arc<CredentialInfo>> {
        self.credential.read().ok().and_then(|g| g.clone())
    }
}

fn parse_credential(
    text: &str,
    list: &TrustList,
    key: &Es256KeyPair,
) -> Result<CredentialInfo, NodeError> {
    let parsed = token::decode_any(text).map_err(NodeError::Credential)?;
    let anchors = TrustAnchors {
        trust_list: Some(list),
        ..TrustAnchors::default()
    };
    let TokenClaims::DoctorCredential(c) = &parsed.claims else {
        return Err(NodeError::NotACredential(parsed.kind.name()));
    };
    // The signature by a hospital in the trust list; time is shown, not enforced here.
    parsed
        .verify(&anchors, c.not_before)
        .map_err(NodeError::Credential)?;
    if c.doctor_key.kid() != key.kid() {
        return Err(NodeError::CredentialForAnotherKey {
            issued_for: c.doctor_key.kid().to_string(),
            node_key: key.kid().to_string(),
        });
    }
    Ok(CredentialInfo {
        text: text.to_owned(),
        credential: c.clone(),
    })
}

async fn revocations_as_of(db: &Db, list: &TrustList) -> Result<Option<i64>, NodeError> {
    let status = db.refresh_status().await?;
    let mut oldest: Option<i64> = None;
    for h in &list.hospitals {
        let src = format!("crl:{}", h.peer_url);
        let ok = status
            .iter()
            .find(|s| s.source == src)
            .and_then(|s| s.ok_at);
        match ok {
            None => return Ok(None),
            Some(t) => oldest = Some(oldest.map_or(t, |o| o.min(t))),
        }
    }
    Ok(oldest)
}
