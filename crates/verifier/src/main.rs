//! `spondon-verifier`: the clinic verifier node (`init`, `serve`, `staff`, `doctor-credential`)
//! and `check`, the offline verdict on any SMART Health Card, Spondon token or QR photo.

mod cli;
mod node_cli;

use spondon_verifier::{check, node, server, share};

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => run_check(&args),
        Command::ShareProof(args) => run_share_proof(&args),
        other => node_cli::run(other),
    }
}

fn run_share_proof(args: &cli::ShareProofArgs) -> ExitCode {
    let outcome = check::instant(args.at.as_deref()).and_then(|now| {
        let trust = check::load_trust(
            &[] as &[std::path::PathBuf],
            args.root_key.as_deref(),
            args.trust.as_deref(),
            now,
        )?;
        Ok((trust, now))
    });
    let outcome = outcome
        .map_err(share::ShareError::from)
        .and_then(|(trust, now)| share::run(&args.input, &args.document, &trust, now));
    match outcome {
        Ok(report) => print_verdict(args.json, &report, || report.to_text(), report.valid, false),
        Err(e) => {
            eprintln!("spondon-verifier: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_check(args: &cli::CheckArgs) -> ExitCode {
    let outcome = check::instant(args.at.as_deref()).and_then(|now| {
        let trust = check::load_trust(
            &args.directory,
            args.root_key.as_deref(),
            args.trust.as_deref(),
            now,
        )?;
        if args.file.is_empty() {
            check::check_paths(&args.input, &trust, now)
        } else {
            check::check_with_files(&args.input, &args.file, &trust, now)
        }
    });
    match outcome {
        Ok(report) => print_verdict(
            args.json,
            &report,
            || report.to_text(),
            report.valid,
            report.unusable,
        ),
        Err(e) => {
            eprintln!("spondon-verifier: {e} [{}]", e.code());
            ExitCode::from(2)
        }
    }
}

/// Prints a verdict (one JSON object with `json`, else what `text` makes) and gives the exit status: 0
/// valid, 1 not valid, 2 unusable input or the verdict could not be written.
fn print_verdict(
    json: bool,
    report: &impl serde::Serialize,
    text: impl FnOnce() -> String,
    valid: bool,
    unusable: bool,
) -> ExitCode {
    let out = if json {
        serde_json::to_string_pretty(report).map(|s| s + "\n")
    } else {
        Ok(text())
    };
    let printed = out
        .map_err(std::io::Error::other)
        .and_then(|t| std::io::stdout().lock().write_all(t.as_bytes()));
    match printed {
        Err(e) => {
            eprintln!("spondon-verifier: cannot write the verdict: {e}");
            ExitCode::from(2)
        }
        Ok(()) if valid => ExitCode::SUCCESS,
        Ok(()) if unusable => ExitCode::from(2),
        Ok(()) => ExitCode::from(1),
    }
}
