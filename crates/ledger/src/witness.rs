//! A C2SP `tlog-witness`: verifies that each checkpoint a log submits is consistent with the one
//! it last cosigned for that log, persists the new one atomically (compare-and-swap), and
//! returns a `cosignature/v1`. Forks, rollbacks and bad proofs are refused with the status codes
//! of the specification.

use std::collections::HashMap;

use sqlx::Row as _;
use tokio::sync::Mutex;

use crate::checkpoint::{Checkpoint, parse_decimal, parse_hash_b64};
use crate::merkle::{self, Hash, ProofError, empty_root};
use crate::note::{MAX_NOTE_BYTES, Note, NoteError, Signer, Verifier};
use crate::storage::{Database, LedgerError, to_hash, to_i64, to_u64};

/// The most consistency proof lines a request may carry (tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;

/// Why a witness refused a checkpoint; [`WitnessError::status`] gives the HTTP status code.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// 400: the request body does not follow the `add-checkpoint` grammar.
    #[error("malformed add-checkpoint request: {0}")]
    Malformed(&'static str),
    /// 400: the checkpoint note or text is malformed.
    #[error("malformed checkpoint: {0}")]
    BadNote(String),
    /// 400: more than 63 proof lines.
    #[error("consistency proof has more than {MAX_PROOF_LINES} lines")]
    ProofTooLong,
    /// 404: the witness does not know this log.
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// 403: no valid signature from a trusted key of the log.
    #[error("checkpoint is not validly signed by the log: {0}")]
    Unauthorized(NoteError),
    /// 400: old size larger than the checkpoint size.
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldSizeTooLarge {
        /// The old size in the request.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// 409: old size is not the latest cosigned size.
    #[error("old size {old} does not match the latest cosigned size {latest}")]
    Conflict {
        /// The old size in the request.
        old: u64,
        /// The latest size this witness cosigned for the log.
        latest: u64,
    },
    /// 422: a size-0 checkpoint with a root other than the empty tree's.
    #[error("checkpoint of size 0 does not have the empty root")]
    EmptyTreeRoot,
    /// 422: a proof was sent with old size 0.
    #[error("old size is 0 but a consistency proof was sent")]
    UnexpectedProof,
    /// 422: same size, different root: a fork.
    #[error("fork: checkpoint of size {0} has a different root than the cosigned one")]
    Fork(u64),
    /// 422: the consistency proof does not verify.
    #[error("consistency proof does not verify: {0}")]
    BadProof(ProofError),
    /// 500: storage failed.
    #[error("witness storage: {0}")]
    Storage(#[from] LedgerError),
}

impl WitnessError {
    /// A stable machine-readable code (docs/architecture.md, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::BadNote(_) => "bad_note",
            Self::ProofTooLong => "proof_too_long",
            Self::UnknownOrigin(_) => "unknown_origin",
            Self::Unauthorized(e) => e.code(),
            Self::OldSizeTooLarge { .. } => "old_size_too_large",
            Self::Conflict { .. } => "conflict",
            Self::EmptyTreeRoot => "empty_tree_root",
            Self::UnexpectedProof => "unexpected_proof",
            Self::Fork(_) => "fork",
            Self::BadProof(e) => e.code(),
            Self::Storage(_) => "storage",
        }
    }
}

impl From<sqlx::Error> for WitnessError {
    fn from(e: sqlx::Error) -> Self {
        WitnessError::Storage(LedgerError::Db(e))
    }
}

impl WitnessError {
    /// The HTTP status code `tlog-witness` prescribes.
    pub fn status(&self) -> u16 {
        match self {
            WitnessError::Malformed(_)
            | WitnessError::BadNote(_)
            | WitnessError::ProofTooLong
            | WitnessError::OldSizeTooLarge { .. } => 400,
            WitnessError::Unauthorized(_) => 403,
            WitnessError::UnknownOrigin(_) => 404,
            WitnessError::Conflict { .. } => 409,
            WitnessError::EmptyTreeRoot
            | WitnessError::UnexpectedProof
            | WitnessError::Fork(_)
            | WitnessError::BadProof(_) => 422,
            WitnessError::Storage(_) => 500,
        }
    }
}

/// A parsed `add-checkpoint` request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness last cosigned.
    pub old_size: u64,
    /// Consistency proof from `old_size` to the checkpoint.
    pub proof: Vec<Hash>,
    /// The submitted checkpoint note.
    pub note: Note,
    /// Its parsed text.
    pub checkpoint: Checkpoint,
}

impl AddCheckpoint {
    /// Parses a request body.
    pub fn parse(body: &[u8]) -> Result<Self, WitnessError> {
        if body.len() > MAX_NOTE_BYTES + 8 * 1024 {
            return Err(WitnessError::Malformed("request body too large"));
        }
        let s =
            std::str::from_utf8(body).map_err(|_| WitnessError::Malformed("body is not UTF-8"))?;
        let (first, mut rest) = s
            .split_once('\n')
            .ok_or(WitnessError::Malformed("missing old size line"))?;
        let old = first
            .strip_prefix("old ")
            .ok_or(WitnessError::Malformed("first line must be `old <size>`"))?;
        let old_size = parse_decimal(old).ok_or(WitnessError::Malformed(
            "old size is not a canonical decimal",
        ))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or(WitnessError::Malformed("missing blank line"))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(WitnessError::ProofTooLong);
            }
            proof.push(parse_hash_b64(line).ok_or(WitnessError::Malformed(
                "proof line is not base64 of 32 bytes",
            ))?);
        }
        let note =
            Note::parse(rest.as_bytes()).map_err(|e| WitnessError::BadNote(e.to_string()))?;
        let checkpoint =
            Checkpoint::from_text(&note.text).map_err(|e| WitnessError::BadNote(e.to_string()))?;
        Ok(Self {
            old_size,
            proof,
            note,
            checkpoint,
        })
    }
}

/// What a witness keeps of a checkpoint it refused as a fork: the log's own signed notes, so
/// anyone holding the log's key can check that the log signed two histories.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ForkEvidence {
    /// The row id: evidence is kept, never replaced.
    pub id: i64,
    /// The origin of the log that forked.
    pub origin: String,
    /// When it was refused (Unix seconds).
    pub at: i64,
    /// `fork` (same size, another root: proven) or `inconsistent` (the consistency proof from
    /// the cosigned size does not verify).
    pub kind: String,
    /// The signed note this witness had cosigned for the log.
    pub cosigned: String,
    /// The refused `add-checkpoint` request: old size, proof lines and the signed note.
    pub refused: String,
}

/// The most fork records [`Witness::forks`] returns.
pub const MAX_FORKS_LISTED: i64 = 100;

/// A witness: its cosigning key, the logs it follows, and its state in a database.
#[derive(Debug)]
pub struct Witness {
    db: Database,
    signer: Signer,
    logs: HashMap<String, Vec<Verifier>>,
    lock: Mutex<()>,
}

impl Witness {
    /// A witness cosigning with `signer` (a [`Signer::cosigner`]) and storing its state in `db`.
    pub fn new(db: Database, signer: Signer) -> Self {
        Self {
            db,
            signer,
            logs: HashMap::new(),
            lock: Mutex::new(()),
        }
    }

    /// Trusts `verifiers` as the keys of the log `origin`.
    pub fn trust_log(&mut self, origin: &str, verifiers: Vec<Verifier>) {
        self.logs.insert(origin.to_owned(), verifiers);
    }

    /// The witness's public key.
    pub fn verifier(&self) -> &Verifier {
        self.signer.verifier()
    }

    /// The latest cosigned `(size, root)` for a log (`(0, empty root)` if none).
    pub async fn latest(&self, origin: &str) -> Result<(u64, Hash), WitnessError> {
        Ok(self
            .state(origin)
            .await?
            .map(|(s, r, _)| (s, r))
            .unwrap_or((0, empty_root())))
    }

    async fn state(&self, origin: &str) -> Result<Option<(u64, Hash, String)>, WitnessError> {
        let row: Option<(i64, Vec<u8>, String)> = match &self.db {
            Database::Sqlite(p) => {
                sqlx::query("SELECT size, root, note FROM witness_state WHERE origin = $1")
                    .bind(origin)
                    .fetch_optional(p)
                    .await?
                    .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                    .transpose()?
            }
            Database::Postgres(p) => {
                sqlx::query("SELECT size, root, note FROM witness_state WHERE origin = $1")
                    .bind(origin)
                    .fetch_optional(p)
                    .await?
                    .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                    .transpose()?
            }
        };
        match row {
            None => Ok(None),
            Some((s, r, n)) => Ok(Some((to_u64(s)?, to_hash(&r)?, n))),
        }
    }

    /// Handles `POST add-checkpoint`: returns the cosignature line(s) to send back.
    pub async fn add_checkpoint(&self, body: &[u8]) -> Result<String, WitnessError> {
        let req = AddCheckpoint::parse(body)?;
        let cp = &req.checkpoint;
        let keys = self
            .logs
            .get(&cp.origin)
            .ok_or_else(|| WitnessError::UnknownOrigin(cp.origin.clone()))?;
        req.note.verify(keys).map_err(WitnessError::Unauthorized)?;
        if req.old_size > cp.size {
            return Err(WitnessError::OldSizeTooLarge {
                old: req.old_size,
                size: cp.size,
            });
        }
        // Check and persist atomically: serialized here, and compare-and-swap in the database.
        let _guard = self.lock.lock().await;
        let current = self.state(&cp.origin).await?;
        let (latest, latest_root) = current
            .as_ref()
            .map(|(s, r, _)| (*s, *r))
            .unwrap_or((0, empty_root()));
        if req.old_size != latest {
            return Err(WitnessError::Conflict {
                old: req.old_size,
                latest,
            });
        }
        if cp.size == 0 && cp.root != empty_root() {
            return Err(WitnessError::EmptyTreeRoot);
        }
        if req.old_size == 0 {
            if !req.proof.is_empty() {
                return Err(WitnessError::UnexpectedProof);
            }
        } else if req.old_size == cp.size {
            if cp.root != latest_root {
                self.keep_evidence(&cp.origin, "fork", current.as_ref(), body)
                    .await?;
                return Err(WitnessError::Fork(cp.size));
            }
            if !req.proof.is_empty() {
                return Err(WitnessError::BadProof(ProofError::WrongLength {
                    expected: 0,
                    got: req.proof.len(),
                }));
            }
        } else {
            if let Err(e) = merkle::verify_consistency(
                req.old_size,
                cp.size,
                &req.proof,
                &latest_root,
                &cp.root,
            ) {
                self.keep_evidence(&cp.origin, "inconsistent", current.as_ref(), body)
                    .await?;
                return Err(WitnessError::BadProof(e));
            }
        }
        self.persist(
            &cp.origin,
            current.is_some(),
            latest,
            &latest_root,
            cp.size,
            &cp.root,
            &req.note.to_text(),
        )
        .await?;
        let now = u64::try_from(spondon_core::NumericDate::now().0)
            .unwrap_or(1)
            .max(1);
        let sig = self
            .signer
            .sign(&req.note.text, now)
            .map_err(|e| WitnessError::Storage(LedgerError::Note(e)))?;
        Ok(sig.to_line())
    }

    /// Records a refused checkpoint with the one this witness had cosigned.
    async fn keep_evidence(
        &self,
        origin: &str,
        kind: &str,
        cosigned: Option<&(u64, Hash, String)>,
        refused: &[u8],
    ) -> Result<(), WitnessError> {
        let cosigned = cosigned.map(|c| c.2.as_str()).unwrap_or_default();
        let refused = String::from_utf8_lossy(refused);
        let at = spondon_core::NumericDate::now().seconds();
        let q = "INSERT INTO witness_forks (origin, at, kind, cosigned, refused) VALUES ($1, $2, $3, $4, $5)";
        match &self.db {
            Database::Sqlite(p) => {
                sqlx::query(q)
                    .bind(origin)
                    .bind(at)
                    .bind(kind)
                    .bind(cosigned)
                    .bind(&*refused)
                    .execute(p)
                    .await?;
            }
            Database::Postgres(p) => {
                sqlx::query(q)
                    .bind(origin)
                    .bind(at)
                    .bind(kind)
                    .bind(cosigned)
                    .bind(&*refused)
                    .execute(p)
                    .await?;
            }
        }
        Ok(())
    }

    /// The evidence of refused forks, newest first (at most [`MAX_FORKS_LISTED`]).
    pub async fn forks(&self) -> Result<Vec<ForkEvidence>, WitnessError> {
        let q = "SELECT id, origin, at, kind, cosigned, refused FROM witness_forks ORDER BY id DESC LIMIT $1";
        macro_rules! read {
            ($p:expr) => {
                sqlx::query(q)
                    .bind(MAX_FORKS_LISTED)
                    .fetch_all($p)
                    .await?
                    .into_iter()
                    .map(|r| {
                        Ok::<_, sqlx::Error>(ForkEvidence {
                            id: r.try_get(0)?,
                            origin: r.try_get(1)?,
                            at: r.try_get(2)?,
                            kind: r.try_get(3)?,
                            cosigned: r.try_get(4)?,
                            refused: r.try_get(5)?,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?
            };
        }
        Ok(match &self.db {
            Database::Sqlite(p) => read!(p),
            Database::Postgres(p) => read!(p),
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn persist(
        &self,
        origin: &str,
        exists: bool,
        old: u64,
        old_root: &Hash,
        size: u64,
        root: &Hash,
        text: &str,
    ) -> Result<(), WitnessError> {
        let (old_i, size_i) = (to_i64(old)?, to_i64(size)?);
        let n = if exists {
            let q = "UPDATE witness_state SET size = $1, root = $2, note = $3 WHERE origin = $4 AND size = $5 AND root = $6";
            match &self.db {
                Database::Sqlite(p) => sqlx::query(q)
                    .bind(size_i)
                    .bind(&root[..])
                    .bind(text)
                    .bind(origin)
                    .bind(old_i)
                    .bind(&old_root[..])
                    .execute(p)
                    .await?
                    .rows_affected(),
                Database::Postgres(p) => sqlx::query(q)
                    .bind(size_i)
                    .bind(&root[..])
                    .bind(text)
                    .bind(origin)
                    .bind(old_i)
                    .bind(&old_root[..])
                    .execute(p)
                    .await?
                    .rows_affected(),
            }
        } else {
            let q = "INSERT INTO witness_state (origin, size, root, note) VALUES ($1, $2, $3, $4) ON CONFLICT (origin) DO NOTHING";
            match &self.db {
                Database::Sqlite(p) => sqlx::query(q)
                    .bind(origin)
                    .bind(size_i)
                    .bind(&root[..])
                    .bind(text)
                    .execute(p)
                    .await?
                    .rows_affected(),
                Database::Postgres(p) => sqlx::query(q)
                    .bind(origin)
                    .bind(size_i)
                    .bind(&root[..])
                    .bind(text)
                    .execute(p)
                    .await?
                    .rows_affected(),
            }
        };
        if n != 1 {
            // Another witness process moved the state first.
            let latest = self.latest(origin).await?.0;
            return Err(WitnessError::Conflict { old, latest });
        }
        Ok(())
    }
}
