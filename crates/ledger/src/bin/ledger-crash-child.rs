//! Test helper for the crash test (`tests/crash.rs`): appends random batches to a SQLite log
//! forever, printing `ACK <first index> <hex entry>,<hex entry>,…` after each append returns.
//! The test kills it with SIGKILL at random points and checks every acknowledged entry survives.

use std::io::Write as _;

use spondon_ledger::{Database, IntegrityCheck, Log};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn run(path: &str, round: &str) -> Result<(), Box<dyn std::error::Error>> {
    let db = Database::sqlite(std::path::Path::new(path)).await?;
    let log = Log::open(db, "crash.test/log", IntegrityCheck::Quick).await?;
    let mut out = std::io::stdout().lock();
    for batch in 0u64.. {
        let r: [u8; 2] = spondon_core::keys::random_bytes()?;
        let n = 1 + usize::from(r[0] % 40);
        let entries: Vec<Vec<u8>> = (0..n)
            .map(|k| {
                let salt: [u8; 4] = spondon_core::keys::random_bytes().unwrap_or_default();
                format!("round {round} batch {batch} entry {k} {}", hex(&salt)).into_bytes()
            })
            .collect();
        let a = log.append(&entries).await?;
        let list: Vec<String> = entries.iter().map(|e| hex(e)).collect();
        writeln!(out, "ACK {} {}", a.first_index, list.join(","))?;
        out.flush()?;
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(round)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: ledger-crash-child DB_PATH ROUND");
        return std::process::ExitCode::from(2);
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(path, round)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ledger-crash-child: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
