//! `shc:/` numeric QR content: each JWS character `c` becomes the two digits of `ord(c) - 45`.
//!
//! Encoding produces exactly one `shc:/<digits>` string (chunking is deprecated and never
//! produced). Decoding also accepts the legacy chunked form `shc:/C/N/<digits>` given all chunks
//! in any order, and reports its use as a warning.

use serde_json::Value;

use super::{
    HealthCardFile, MAX_INPUT_LEN, MAX_JWS_LEN, MAX_QR_CHUNK_JWS_LEN, MAX_SINGLE_QR_JWS_LEN,
    ShcError, Warning, check_len,
};

/// The URI prefix of a SMART Health Card QR.
pub const PREFIX: &str = "shc:/";
/// Largest chunk count accepted when decoding legacy chunks.
pub const MAX_CHUNKS: usize = 99;

/// The result of decoding QR text: the JWS, and warnings (legacy chunking).
#[derive(Clone, PartialEq, Eq)]
pub struct QrDecoded {
    /// The card's JWS compact serialization, reassembled from the chunks.
    pub jws: String,
    /// What was unusual about the QR text (legacy chunking).
    pub warnings: Vec<Warning>,
}

/// Encodes a compact JWS as `shc:/` numeric QR content. Refuses characters that cannot occur in
/// a JWS and JWSs longer than [`MAX_SINGLE_QR_JWS_LEN`] (they do not fit one version-22 QR; use
/// a SMART Health Link instead).
pub fn encode_numeric(jws: &str) -> Result<String, ShcError> {
    if jws.len() > MAX_SINGLE_QR_JWS_LEN {
        return Err(ShcError::InputTooLarge(jws.len(), MAX_SINGLE_QR_JWS_LEN));
    }
    let mut out = String::with_capacity(PREFIX.len() + 2 * jws.len());
    out.push_str(PREFIX);
    for c in jws.chars() {
        let code = u32::from(c);
        if !(45..=122).contains(&code) {
            return Err(ShcError::QrUnencodable(c));
        }
        let v = code - 45;
        out.push(char::from(b'0' + (v / 10) as u8));
        out.push(char::from(b'0' + (v % 10) as u8));
    }
    Ok(out)
}

/// Decodes the digits of a numeric segment into JWS characters.
fn decode_digits(digits: &str) -> Result<String, ShcError> {
    let bytes = digits.as_bytes();
    if !bytes.iter().all(u8::is_ascii_digit) {
        return Err(ShcError::QrNonDigit);
    }
    if !bytes.len().is_multiple_of(2) {
        return Err(ShcError::QrOddDigits);
    }
    let mut out = String::with_capacity(bytes.len() / 2);
    for pair in bytes.chunks_exact(2) {
        let v = u32::from(pair[0] - b'0') * 10 + u32::from(pair[1] - b'0');
        if v > 77 {
            return Err(ShcError::QrDigitPairOutOfRange(v));
        }
        out.push(char::from((v + 45) as u8));
    }
    Ok(out)
}

/// One parsed QR text: `Some((index, total))` for a legacy chunk, and the decoded characters.
fn parse_one(text: &str) -> Result<(Option<(usize, usize)>, String), ShcError> {
    check_len(text, 2 * MAX_JWS_LEN + 64)?;
    if text.trim() != text {
        return Err(ShcError::TrailingCharacters);
    }
    let rest = text.strip_prefix(PREFIX).ok_or(ShcError::QrBadPrefix)?;
    if !rest.contains('/') {
        return Ok((None, decode_digits(rest)?));
    }
    let mut parts = rest.splitn(3, '/');
    let (Some(c), Some(n), Some(digits)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ShcError::QrBadChunkHeader(
            "expected shc:/<index>/<count>/<digits>".into(),
        ));
    };
    let num = |s: &str| -> Result<usize, ShcError> {
        if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ShcError::QrBadChunkHeader(format!(
                "{s:?} is not a chunk number"
            )));
        }
        s.parse::<usize>()
            .map_err(|_| ShcError::QrBadChunkHeader(format!("{s:?} is not a chunk number")))
    };
    let (index, total) = (num(c)?, num(n)?);
    if total == 0 || total > MAX_CHUNKS {
        return Err(ShcError::QrBadChunkHeader(format!("chunk count {total}")));
    }
    if index == 0 || index > total {
        return Err(ShcError::QrChunkIndexOutOfRange { index, total });
    }
    Ok((Some((index, total)), decode_digits(digits)?))
}

/// Decodes the text of one or several QR codes (one card) into its JWS. Several texts must be
/// the complete set of legacy chunks of one JWS, in any order.
pub fn decode_numeric_chunks<S: AsRef<str>>(texts: &[S]) -> Result<QrDecoded, ShcError> {
    let total_len: usize = texts.iter().map(|t| t.as_ref().len()).sum();
    if total_len > 2 * MAX_JWS_LEN + 64 * texts.len().min(MAX_CHUNKS + 1) {
        return Err(ShcError::InputTooLarge(total_len, 2 * MAX_JWS_LEN));
    }
    if texts.is_empty() {
        return Err(ShcError::NoCardFound);
    }
    if texts.len() > MAX_CHUNKS {
        return Err(ShcError::QrBadChunkHeader(format!(
            "more than {MAX_CHUNKS} chunks"
        )));
    }
    let mut parsed = Vec::with_capacity(texts.len());
    for t in texts {
        parsed.push(parse_one(t.as_ref())?);
    }
    let mut warnings = Vec::new();
    if let [(header, jws)] = parsed.as_slice() {
        match header {
            None => {
                return Ok(QrDecoded {
                    jws: jws.clone(),
                    warnings,
                });
            }
            Some((1, 1)) => {
                warnings.push(Warning::new(
                    "qr_single_chunk_header",
                    "a single QR should be shc:/<digits>, not shc:/1/1/<digits>",
                ));
                return Ok(QrDecoded {
                    jws: jws.clone(),
                    warnings,
                });
            }
            Some((_, total)) => {
                return Err(ShcError::QrMissingChunk(first_missing(&parsed, *total)));
            }
        }
    }
    let mut total = None;
    for (header, _) in &parsed {
        let Some((_, n)) = header else {
            return Err(ShcError::QrBadChunkHeader(
                "a chunk without shc:/<index>/<count>/ among chunks".into(),
            ));
        };
        match total {
            None => total = Some(*n),
            Some(t) if t != *n => return Err(ShcError::QrChunkCountMismatch),
            _ => {}
        }
    }
    let total = total.unwrap_or(0);
    let mut slots: Vec<Option<&str>> = vec![None; total];
    for (header, data) in &parsed {
        if let Some((i, _)) = header {
            let slot = slots
                .get_mut(i - 1)
                .ok_or(ShcError::QrChunkIndexOutOfRange { index: *i, total })?;
            if slot.is_some() {
                return Err(ShcError::QrDuplicateChunk(*i));
            }
            *slot = Some(data.as_str());
        }
    }
    let mut jws = String::new();
    for (i, slot) in slots.iter().enumerate() {
        let data = slot.ok_or(ShcError::QrMissingChunk(i + 1))?;
        if data.len() > MAX_QR_CHUNK_JWS_LEN {
            return Err(ShcError::QrChunkTooBig(data.len()));
        }
        jws.push_str(data);
    }
    if jws.len() <= MAX_SINGLE_QR_JWS_LEN {
        return Err(ShcError::QrUnneededChunks(jws.len()));
    }
    warnings.push(Warning::new(
        "qr_chunking_deprecated",
        format!("the card is split over {total} QR codes; chunking is deprecated"),
    ));
    let sizes: Vec<usize> = slots.iter().flatten().map(|s| s.len()).collect();
    if let (Some(max), Some(min)) = (sizes.iter().max(), sizes.iter().min())
        && max - min > total
    {
        warnings.push(Warning::new(
            "qr_chunks_unbalanced",
            "QR chunks should have balanced sizes",
        ));
    }
    Ok(QrDecoded { jws, warnings })
}

fn first_missing(parsed: &[(Option<(usize, usize)>, String)], total: usize) -> usize {
    (1..=total)
        .find(|i| {
            !parsed
                .iter()
                .any(|(h, _)| matches!(h, Some((c, _)) if c == i))
        })
        .unwrap_or(1)
}

/// Finds the cards in user-supplied text and returns their JWSs: a `.smart-health-card` file, a
/// FHIR `$health-cards-issue` Parameters response, a bare JWS (one per line), or one or several
/// `shc:/` lines in any order (single QRs are separate cards; legacy chunks are reassembled).
/// Surrounding whitespace is tolerated here; the JWSs returned are trimmed.
pub fn extract_jws(text: &str) -> Result<Vec<String>, ShcError> {
    check_len(text, MAX_INPUT_LEN)?;
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err(ShcError::NoCardFound);
    }
    if text.starts_with('{') {
        let value: Value =
            serde_json::from_str(text).map_err(|e| ShcError::BadFile(e.to_string()))?;
        if value.get("resourceType").and_then(Value::as_str) == Some("Parameters") {
            let jws: Vec<String> = value
                .get("parameter")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .filter(|p| {
                            p.get("name").and_then(Value::as_str) == Some("verifiableCredential")
                        })
                        .filter_map(|p| p.get("valueString").and_then(Value::as_str))
                        .map(|s| s.trim().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            if jws.is_empty() {
                return Err(ShcError::NoCardFound);
            }
            return Ok(jws);
        }
        let file = HealthCardFile::from_value(value)?;
        return Ok(file
            .verifiable_credential
            .into_iter()
            .map(|s| s.trim().to_owned())
            .collect());
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.iter().any(|l| l.starts_with("shc:")) {
        let mut out = Vec::new();
        let mut chunks = Vec::new();
        for line in &lines {
            if !line.starts_with("shc:") {
                return Err(ShcError::QrBadPrefix);
            }
            let rest = line.strip_prefix(PREFIX).ok_or(ShcError::QrBadPrefix)?;
            if rest.contains('/') {
                chunks.push(*line);
            } else {
                out.push(decode_numeric_chunks(&[line])?.jws);
            }
        }
        if !chunks.is_empty() {
            out.push(decode_numeric_chunks(&chunks)?.jws);
        }
        return Ok(out);
    }
    Ok(lines.into_iter().map(str::to_owned).collect())
}

/// Builds the QR code of a card as the specification requires: a byte segment `shc:/` followed
/// by a numeric segment, at the smallest version that fits (`ec_level` as chosen; the
/// specification's version-22 limit of 1195 characters assumes [`qrcode::EcLevel::L`]).
pub fn qr_code(jws: &str, ec_level: qrcode::EcLevel) -> Result<qrcode::QrCode, ShcError> {
    let text = encode_numeric(jws)?;
    let digits = text.as_bytes().get(PREFIX.len()..).unwrap_or_default();
    for v in 1..=22i16 {
        if let Some(bits) = segment_bits(digits, v, ec_level) {
            return qrcode::QrCode::with_bits(bits, ec_level)
                .map_err(|e| ShcError::Issue(format!("QR encoding failed: {e}")));
        }
    }
    Err(ShcError::QrVersionTooHigh(23))
}

fn segment_bits(digits: &[u8], version: i16, ec: qrcode::EcLevel) -> Option<qrcode::bits::Bits> {
    segment_bits_with(PREFIX.as_bytes(), digits, version, ec)
}

/// Byte segment `head`, numeric segment `digits` (which must be ASCII digits only: the qrcode
/// crate panics otherwise, so every caller checks first).
fn segment_bits_with(
    head: &[u8],
    digits: &[u8],
    version: i16,
    ec: qrcode::EcLevel,
) -> Option<qrcode::bits::Bits> {
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut bits = qrcode::bits::Bits::new(qrcode::Version::Normal(version));
    bits.push_byte_data(head).ok()?;
    bits.push_numeric_data(digits).ok()?;
    bits.push_terminator(ec).ok()?;
    Some(bits)
}

/// The smallest QR version holding this `shc:/` text (byte segment `shc:/` plus any chunk
/// header, then a numeric segment) at `ec_level`. `None` if the text is not of that form.
pub fn minimal_version(qr_text: &str, ec_level: qrcode::EcLevel) -> Option<usize> {
    if !qr_text.starts_with(PREFIX) || qr_text.len() > 2 * MAX_JWS_LEN {
        return None;
    }
    let split = qr_text.rfind('/')? + 1;
    let (head, digits) = qr_text.split_at(split);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    (1..=40i16)
        .find(|v| segment_bits_with(head.as_bytes(), digits.as_bytes(), *v, ec_level).is_some())
        .and_then(|v| usize::try_from(v).ok())
}

/// The specification's rules on a scanned QR's version: above 22 is an error; a version larger
/// than the content needs is a warning (as in the SMART validator).
pub fn check_qr_version(
    version: usize,
    ec_level: qrcode::EcLevel,
    qr_text: &str,
) -> Result<Vec<Warning>, ShcError> {
    if version > 22 {
        return Err(ShcError::QrVersionTooHigh(version));
    }
    let mut w = Vec::new();
    if let Some(min) = minimal_version(qr_text, ec_level)
        && version > min
    {
        w.push(Warning::new(
            "qr_version_inflated",
            format!("QR version {version} where version {min} suffices"),
        ));
    }
    Ok(w)
}

impl std::fmt::Debug for QrDecoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QrDecoded")
            .field("jws_len", &self.jws.len())
            .field("warnings", &self.warnings)
            .finish()
    }
}
