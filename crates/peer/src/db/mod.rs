//! The peer's SQL, by table group: each function is one statement (or one short sequence)
//! written once for both engines with the ledger's [`on_db!`], and rows come back as named
//! structs (`#[derive(sqlx::FromRow)]`), never positional tuples. The modules above decide;
//! these only read and write.
//!
//! Moved here so far: the grant tables (`peer_grant_passcodes`, `peer_pop_ids`,
//! `peer_grant_uses`, `peer_revocations`), the receipts' read of `peer_access_events`, and
//! emergency access's reads and its request, delegations' reads, the reads of records and
//! files that grants, delegations, downloads, share proofs and retried issuance decide on,
//! staff tokens' and idempotency keys' reads, hospital systems' reads, done key rotations, and the revoked records' reads. The other modules still hold their
//! own statements.

pub(crate) use spondon_ledger::on_db;

/// Runs `$body` with `$conn` bound to the connection of an open transaction (a
/// `&mut spondon_ledger::Tx`) on either engine. The rows a log entry refers to are written
/// with it in the append's own transaction ([`spondon_ledger::Log::append_with`]), so that the
/// entry and its rows commit together or not at all; a write of the peer's own opens the same
/// [`spondon_ledger::Tx`] over a transaction it began. (In scope in the modules below, which
/// are declared after it.)
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            spondon_ledger::Tx::Sqlite(t) => {
                let $conn = &mut ***t;
                $body
            }
            spondon_ledger::Tx::Postgres(t) => {
                let $conn = &mut ***t;
                $body
            }
        }
    };
}

pub(crate) mod access_events;
pub(crate) mod delegations;
pub(crate) mod emergency;
pub(crate) mod grants;
pub(crate) mod record_revocations;
pub(crate) mod records;
pub(crate) mod rotations;
pub(crate) mod staff;
pub(crate) mod systems;
