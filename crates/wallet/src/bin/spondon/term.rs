//! Terminal input and output: JSON, QR codes, questions, dates, sizes, plurals and revocation
//! reports.

use crate::prelude::*;

/// Text for the terminal without its control characters: C0 controls other than newline and tab,
/// DEL and the C1 controls. Records, hospital names, doctors' names and peers' error details come
/// from outside; an escape sequence in one of them must not move the cursor, rewrite earlier lines
/// or set the terminal's title. JSON output is unaffected (serde escapes controls).
pub(crate) fn printable(s: &str) -> std::borrow::Cow<'_, str> {
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
pub(crate) fn emit(err: bool, s: &str) {
    let line = format!("{}\n", printable(s));
    // Other write errors (a full disk under a redirect) have nowhere better to be reported.
    let _ = write_or_quit(err, line.as_bytes());
}

/// Writes bytes to standard error or output; a closed pipe ends the program quietly.
pub(crate) fn write_or_quit(err: bool, bytes: &[u8]) -> std::io::Result<()> {
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

pub(crate) fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// A grant's QR code on the terminal: black on white where standard output is a terminal (and
/// `NO_COLOR` is not set), plain blocks otherwise. Not passed through `printable`: the colour
/// codes are ours, the rest is block characters.
/// Prints what each hospital answered to a revocation (JSON with `json`; hospital names and
/// their error details through [`printable`]); true when every hospital registered it.
pub(crate) async fn print_revocations(
    w: &Wallet,
    results: &[spondon_wallet::grants::RevocationResult],
    json: bool,
) -> Result<bool> {
    if json {
        print_json(&results)?;
    } else {
        let names = hospital_names(w).await?;
        for r in results {
            let hospital = names.name(&r.peer);
            let hospital = printable(&hospital);
            match &r.error {
                None => println!("{hospital}: revoked"),
                Some(e) => eprintln!(
                    "{hospital}: NOT revoked: {} (run the command again)",
                    printable(e)
                ),
            }
        }
    }
    Ok(results.iter().all(|r| r.ok))
}

pub(crate) fn print_qr(text: &str) -> Result<()> {
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
pub(crate) fn parse_date(s: &str, end: bool) -> Result<i64> {
    let (first, last) = spondon_core::time::local_day(s)
        .ok_or_else(|| anyhow!("{s:?} is not a date (YYYY-MM-DD)"))?;
    Ok(if end { last } else { first })
}

pub(crate) fn read_input(arg: &Path) -> Result<Vec<u8>> {
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

/// Asks a yes/no question on the terminal; without a terminal, refuses (scripts pass --yes).
pub(crate) fn confirm(question: &str) -> Result<bool> {
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

/// "1 record", "2 records".
pub(crate) fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "1.2 MB" for a person.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn file_size(size: u64) -> String {
    if size >= 1 << 20 {
        format!("{:.1} MB", size as f64 / f64::from(1u32 << 20))
    } else if size >= 1 << 10 {
        format!("{:.0} KB", size as f64 / 1024.0)
    } else {
        plural(size, "byte", "bytes")
    }
}

/// "PDF, 1.2 MB" for a person.
pub(crate) fn file_words(content_type: &str, size: u64) -> String {
    let kind = match content_type {
        "application/pdf" => "PDF",
        "image/jpeg" => "JPEG image",
        "image/png" => "PNG image",
        other => other,
    };
    format!("{kind}, {}", file_size(size))
}
