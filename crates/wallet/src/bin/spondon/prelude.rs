//! What every module of the binary uses.

pub(crate) use std::collections::BTreeMap;
pub(crate) use std::io::{IsTerminal as _, Read as _, Write as _};
pub(crate) use std::path::{Path, PathBuf};
pub(crate) use std::process::ExitCode;
pub(crate) use std::sync::Arc;

pub(crate) use anyhow::{Context as _, Result, anyhow, bail};
pub(crate) use clap::{Args, Parser, Subcommand, ValueEnum};
pub(crate) use spondon_keystore::{KeyStore, MemoryKeyStore, OsBackend, OsKeyStore};
pub(crate) use spondon_wallet::browse::{Filter, Item, RecordView};
pub(crate) use spondon_wallet::grants::{
    Duration, GrantAudience, GrantRequest, QrFormat, Scope, fmt_time, parse_category,
    parse_purpose, render_qr, short,
};
pub(crate) use spondon_wallet::{Endpoints, EnrollmentCode, SyncEvent, Wallet, WalletError};

pub(crate) use crate::args::*;
pub(crate) use crate::ctx::*;
pub(crate) use crate::term::*;
pub(crate) use crate::{EXIT_NOT_SYNCED, EXIT_NOT_VERIFIED, EXIT_SECURITY};
