//! `spondon`: the patient's health record wallet on the command line. A thin shell over the
//! `spondon-wallet` library: every capability lives there.

// Everything this binary prints passes through `printable`.
macro_rules! println {
    () => { $crate::term::emit(false, "") };
    ($($t:tt)*) => { $crate::term::emit(false, &format!($($t)*)) };
}
macro_rules! eprintln {
    () => { $crate::term::emit(true, "") };
    ($($t:tt)*) => { $crate::term::emit(true, &format!($($t)*)) };
}

mod args;
mod ctx;
mod delegate;
mod emergency;
mod lost_phone;
mod prelude;
mod records;
mod setup;
mod share;
mod sync;
mod term;

use crate::prelude::*;

/// Exit code of a security alert (a peer rewrote history or served tampered data).
pub(crate) const EXIT_SECURITY: u8 = 3;
/// Exit code of a sync that could not reach (or was refused by) at least one hospital.
pub(crate) const EXIT_NOT_SYNCED: u8 = 2;
/// Exit code of an import refused because a card could not be verified.
pub(crate) const EXIT_NOT_VERIFIED: u8 = 4;

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
        } => setup::init(&mut ctx, &dir, trust_list, root_key, directory).await,
        Cmd::Unlock => setup::unlock(&mut ctx, &dir).await,
        Cmd::Lock => setup::lock(&mut ctx).await,
        Cmd::ChangePassphrase {
            new_passphrase_file,
        } => setup::change_passphrase(&mut ctx, new_passphrase_file).await,
        Cmd::TrustList { file, root_key } => setup::trust_list(&mut ctx, file, root_key).await,
        Cmd::Enroll { text, qr } => setup::enroll(&mut ctx, text, qr).await,
        Cmd::Sync { out } => sync::sync(&mut ctx, out).await,
        Cmd::Records(args) => records::records(&mut ctx, args).await,
        Cmd::Show { id, out } => records::show(&mut ctx, id, out).await,
        Cmd::Documents {
            id,
            save,
            fetch,
            out,
        } => records::documents(&mut ctx, id, save, fetch, out).await,
        Cmd::Doctor { input, out } => share::doctor(&mut ctx, input, out).await,
        Cmd::Grant(args) => share::grant(&mut ctx, args).await,
        Cmd::Grants {
            action: Some(GrantsCmd::Show { id, qr, png, out }),
            ..
        } => share::grants_show(&mut ctx, id, qr, png, out).await,
        Cmd::Grants { action: None, out } => share::grants_list(&mut ctx, out).await,
        Cmd::Revoke { id, all, yes, out } => share::revoke(&mut ctx, id, all, yes, out).await,
        Cmd::Delegate { action, out } => delegate::delegate(&mut ctx, action, out.json).await,
        Cmd::ShareProof(args) => share::share_proof(&mut ctx, args).await,
        Cmd::LostPhone { yes, out } => lost_phone::lost_phone(&mut ctx, yes, out).await,
        Cmd::Rebind { code, qr } => lost_phone::rebind(&mut ctx, code, qr).await,
        Cmd::Receipts { out } => share::receipts(&mut ctx, out).await,
        Cmd::Emergency { action, out } => emergency::emergency(&mut ctx, action, out).await,
        Cmd::Import {
            file,
            accept_unverified,
            fetch_keys,
            out,
        } => records::import(&mut ctx, file, accept_unverified, fetch_keys, out).await,
        Cmd::Export(args) => records::export(&mut ctx, args).await,
        Cmd::Backup { file } => setup::backup(&mut ctx, file).await,
        Cmd::Restore { file } => setup::restore(&mut ctx, &dir, file).await,
        Cmd::Status { out } => sync::status(&mut ctx, &dir, out).await,
    }
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
