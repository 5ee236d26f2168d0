//! `spondon:` and `spondon-enroll:` links (phones open the app with them from a printed QR or
//! another app): what text they carry. Plain code, so it is tested on every build.

/// The Spondon text a link carries: the scheme upper-cased again (URL parsing lower-cases it),
/// the rest percent-decoded (base45 has `%` and space). Other links are ignored.
pub fn link_text(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once(':')?;
    let scheme = scheme.to_ascii_uppercase();
    if scheme != "SPONDON" && scheme != "SPONDON-ENROLL" {
        return None;
    }
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = rest
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(h);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = format!("{scheme}:{}", String::from_utf8(out).ok()?);
    (text.len() <= 8192 && !text.chars().any(char::is_control)).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::link_text;

    #[test]
    fn links_carry_spondon_text_and_nothing_else() {
        assert_eq!(
            link_text("spondon-enroll:1:AB3DE-FG7HJ:1234-5678-9012-34:https://peer.example")
                .as_deref(),
            Some("SPONDON-ENROLL:1:AB3DE-FG7HJ:1234-5678-9012-34:https://peer.example")
        );
        // base45 has '%' and ' ', which arrive percent-encoded.
        assert_eq!(
            link_text("spondon:1:6BF%25%20$A").as_deref(),
            Some("SPONDON:1:6BF% $A")
        );
        assert_eq!(link_text("SPONDON:1:ABC").as_deref(), Some("SPONDON:1:ABC"));
        assert_eq!(link_text("https://evil.example/x"), None);
        assert_eq!(link_text("spondonx:1:ABC"), None);
        assert_eq!(link_text("no scheme"), None);
        assert_eq!(link_text("spondon:1:%0aevil"), None, "control characters");
        assert_eq!(link_text("spondon:1:%ff"), None, "not UTF-8");
        assert_eq!(link_text(&format!("spondon:1:{}", "A".repeat(9000))), None);
    }
}
