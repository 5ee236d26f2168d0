//! The card itself: compact JWS with a DEFLATE-compressed VC payload. Issue with [`CardBuilder`],
//! check with [`ParsedCard::parse`] then [`ParsedCard::verify`].

use std::sync::OnceLock;

use serde::Serialize;
use serde_json::{Map, Number, Value};

use super::borrowed::{self, Claims};
use super::directory::Directory;
use super::{
    MAX_JWS_LEN, MAX_PAYLOAD_LEN, MAX_SINGLE_QR_JWS_LEN, ShcError, VC_TYPE_COVID19,
    VC_TYPE_HEALTH_CARD, VC_TYPE_IMMUNIZATION, VC_TYPE_LABORATORY, VC_TYPE_VERIFIABLE_CREDENTIAL,
    Warning, check_len, fhir, parse_rid, x5c,
};
use crate::keys::{Es256KeyPair, Es256PublicKey, Jwk};
use crate::{NumericDate, b64};

/// A timestamp above this (year 5138 in seconds) is taken to be milliseconds by mistake.
const MILLISECONDS_THRESHOLD: f64 = 100_000_000_000.0;

/// The SHC payload (JWT claims with the `vc` claim), parsed but not yet judged.
#[derive(Clone, PartialEq)]
pub struct Payload {
    /// `iss`: the issuer URL.
    pub iss: String,
    /// `nbf` exactly as the JSON number was written (may be fractional).
    pub nbf: Number,
    /// `exp` if present, exactly as written.
    pub exp: Option<Number>,
    /// `vc.type`.
    pub types: Vec<String>,
    /// `vc.credentialSubject.fhirVersion`.
    pub fhir_version: String,
    /// `vc.credentialSubject.fhirBundle`.
    pub fhir_bundle: Value,
    /// `vc.rid` (revocation identifier), if any.
    pub rid: Option<String>,
}

fn number_f64(n: &Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

impl Payload {
    /// Parses the payload JSON text (as it is after inflation). Structure only; see
    /// [`Payload::check_content`] and [`Payload::check_time`] for the rules.
    pub fn parse_json(text: &str) -> Result<Payload, ShcError> {
        check_len(text, MAX_PAYLOAD_LEN)?;
        if text.starts_with('\u{feff}') {
            return Err(ShcError::PayloadBom);
        }
        if text.trim() != text {
            return Err(ShcError::TrailingCharacters);
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| ShcError::PayloadNotJson(e.to_string()))?;
        Self::from_value(value)
    }

    /// Takes the payload apart from an already parsed JSON value.
    pub fn from_value(value: Value) -> Result<Payload, ShcError> {
        let Value::Object(mut obj) = value else {
            return Err(ShcError::PayloadNotJson("not an object".into()));
        };
        let iss = match obj.remove("iss") {
            Some(Value::String(s)) => s,
            _ => return Err(ShcError::MissingIss),
        };
        let nbf = match obj.remove("nbf") {
            Some(Value::Number(n)) => n,
            None | Some(Value::Null) => return Err(ShcError::MissingNbf),
            Some(_) => return Err(ShcError::BadTimestamp("nbf")),
        };
        let exp = match obj.remove("exp") {
            None => None,
            Some(Value::Number(n)) => Some(n),
            Some(_) => return Err(ShcError::BadTimestamp("exp")),
        };
        let Some(Value::Object(mut vc)) = obj.remove("vc") else {
            return Err(ShcError::MissingVc);
        };
        let types: Vec<String> = match vc.remove("type") {
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|t| match t {
                    Value::String(s) => Ok(s),
                    _ => Err(ShcError::MissingHealthCardType),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(ShcError::MissingHealthCardType),
        };
        if !types.iter().any(|t| t == VC_TYPE_HEALTH_CARD) {
            return Err(ShcError::MissingHealthCardType);
        }
        let rid = match vc.remove("rid") {
            None => None,
            Some(Value::String(s)) => {
                parse_rid(&s).map_err(ShcError::BadRid)?;
                Some(s)
            }
            Some(_) => return Err(ShcError::BadRid("not a string".into())),
        };
        let Some(Value::Object(mut subject)) = vc.remove("credentialSubject") else {
            return Err(ShcError::MissingFhirBundle);
        };
        let fhir_version = match subject.remove("fhirVersion") {
            Some(Value::String(s)) if !s.is_empty() => s,
            _ => return Err(ShcError::MissingFhirVersion),
        };
        let fhir_bundle = match subject.remove("fhirBundle") {
            Some(v @ Value::Object(_)) => v,
            _ => return Err(ShcError::MissingFhirBundle),
        };
        let payload = Payload {
            iss,
            nbf,
            exp,
            types,
            fhir_version,
            fhir_bundle,
            rid,
        };
        if let Some(exp) = &payload.exp
            && number_f64(exp) <= number_f64(&payload.nbf)
        {
            return Err(ShcError::ExpBeforeNbf {
                nbf: number_f64(&payload.nbf),
                exp: number_f64(exp),
            });
        }
        Ok(payload)
    }

    /// The payload of `text` that the borrowed parse accepted with `claims`: the same parse
    /// cannot fail here; if it did, the claims stand with a `Null` bundle.
    fn of_accepted(text: &str, claims: &Claims) -> Payload {
        serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| Payload::from_value(v).ok())
            .unwrap_or_else(|| Payload {
                iss: claims.iss.clone(),
                nbf: claims.nbf.clone(),
                exp: claims.exp.clone(),
                types: claims.types.clone(),
                fhir_version: claims.fhir_version.clone(),
                fhir_bundle: Value::Null,
                rid: claims.rid.clone(),
            })
    }

    /// `nbf` as seconds (fractional kept).
    pub fn nbf_f64(&self) -> f64 {
        number_f64(&self.nbf)
    }

    /// `exp` as seconds (fractional kept).
    pub fn exp_f64(&self) -> Option<f64> {
        self.exp.as_ref().map(number_f64)
    }

    /// The time rules at `now`: `nbf` must not be in the future (an `nbf` in milliseconds gets
    /// its own error), and the card must not be expired (`now >= exp`). An `exp` that looks like
    /// milliseconds is only a warning, as in the SMART validator.
    pub fn check_time(&self, now: NumericDate) -> Result<Vec<Warning>, ShcError> {
        time_warnings(&self.nbf, self.exp.as_ref(), now)
    }

    /// The content rules: VC types (as the SMART validator judges them: warnings) and the FHIR
    /// bundle rules of [`fhir::check_bundle`] (errors and warnings).
    pub fn check_content(&self) -> Result<Vec<Warning>, ShcError> {
        self.check_content_for(true)
    }

    /// [`Payload::check_content`] with the QR-only bundle rules as errors (`qr`) or warnings
    /// (see [`fhir::check_bundle_for`]).
    pub fn check_content_for(&self, qr: bool) -> Result<Vec<Warning>, ShcError> {
        let mut warnings = fhir::check_bundle_for(&self.fhir_bundle, qr)?;
        warnings.extend(self.type_warnings());
        if self.fhir_version != "4.0.1" {
            warnings.push(Warning::new(
                "fhir_version",
                format!("fhirVersion {:?}; FHIR R4 is 4.0.1", self.fhir_version),
            ));
        }
        Ok(warnings)
    }

    fn type_warnings(&self) -> Vec<Warning> {
        let entries = fhir::resources(&self.fhir_bundle);
        let has_imm = entries
            .iter()
            .any(|r| fhir::resource_type(r) == Some("Immunization"));
        let has_covid_imm = entries.iter().any(|r| {
            fhir::resource_type(r) == Some("Immunization")
                && fhir::first_code(r, "vaccineCode")
                    .is_some_and(|c| fhir::CDC_COVID_CVX_CODES.contains(&c))
        });
        let has_covid_obs = entries.iter().any(|r| {
            fhir::resource_type(r) == Some("Observation")
                && fhir::first_code(r, "code").is_some_and(|c| fhir::LOINC_COVID_CODES.contains(&c))
        });
        vc_type_warnings(&self.types, has_imm, has_covid_imm, has_covid_obs)
    }

    fn to_json_bytes(&self) -> Result<Vec<u8>, ShcError> {
        // Field order as the specification's examples write it.
        let mut subject = Map::new();
        subject.insert(
            "fhirVersion".into(),
            Value::String(self.fhir_version.clone()),
        );
        subject.insert("fhirBundle".into(), self.fhir_bundle.clone());
        #[derive(Serialize)]
        struct Vc<'a> {
            #[serde(rename = "type")]
            types: &'a [String],
            #[serde(rename = "credentialSubject")]
            subject: &'a Map<String, Value>,
            #[serde(skip_serializing_if = "Option::is_none")]
            rid: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            nbf: &'a Number,
            #[serde(skip_serializing_if = "Option::is_none")]
            exp: Option<&'a Number>,
            vc: Vc<'a>,
        }
        serde_json::to_vec(&Claims {
            iss: &self.iss,
            nbf: &self.nbf,
            exp: self.exp.as_ref(),
            vc: Vc {
                types: &self.types,
                subject: &subject,
                rid: self.rid.as_deref(),
            },
        })
        .map_err(|e| ShcError::Issue(e.to_string()))
    }
}

/// [`Payload::check_time`] on the two claims.
fn time_warnings(
    nbf: &Number,
    exp: Option<&Number>,
    now: NumericDate,
) -> Result<Vec<Warning>, ShcError> {
    let mut warnings = Vec::new();
    let nbf = number_f64(nbf);
    let now_f = now.seconds() as f64;
    if nbf.is_nan() {
        return Err(ShcError::BadTimestamp("nbf"));
    }
    if nbf > now_f {
        if nbf > MILLISECONDS_THRESHOLD {
            return Err(ShcError::NbfInMilliseconds(nbf));
        }
        return Err(ShcError::NotYetValid {
            nbf,
            now: now.seconds(),
        });
    }
    if let Some(exp) = exp.map(number_f64) {
        if exp.is_nan() {
            return Err(ShcError::BadTimestamp("exp"));
        }
        if now_f >= exp {
            return Err(ShcError::Expired {
                exp,
                now: now.seconds(),
            });
        }
        if exp > MILLISECONDS_THRESHOLD {
            warnings.push(Warning::new(
                "exp_in_milliseconds",
                format!("exp {exp} looks like milliseconds; it should be seconds"),
            ));
        }
    }
    Ok(warnings)
}

/// The VC type warnings of a card with `types`, given what its bundle holds.
pub(crate) fn vc_type_warnings(
    types: &[String],
    has_imm: bool,
    has_covid_imm: bool,
    has_covid_obs: bool,
) -> Vec<Warning> {
    let has = |t: &str| types.iter().any(|x| x == t);
    let mut w = Vec::new();
    if has_imm && !has(VC_TYPE_IMMUNIZATION) {
        w.push(Warning::new(
            "vc_type_missing_immunization",
            format!("vc.type SHOULD contain {VC_TYPE_IMMUNIZATION:?}"),
        ));
    } else if !has_imm && has(VC_TYPE_IMMUNIZATION) {
        w.push(Warning::new(
            "vc_type_unneeded_immunization",
            format!("vc.type contains {VC_TYPE_IMMUNIZATION:?} but no Immunization"),
        ));
    }
    if has_covid_obs && !has(VC_TYPE_LABORATORY) {
        w.push(Warning::new(
            "vc_type_missing_laboratory",
            format!("vc.type SHOULD contain {VC_TYPE_LABORATORY:?}"),
        ));
    }
    if (has_covid_imm || has_covid_obs) && !has(VC_TYPE_COVID19) {
        w.push(Warning::new(
            "vc_type_missing_covid19",
            format!("vc.type SHOULD contain {VC_TYPE_COVID19:?}"),
        ));
    } else if !(has_covid_imm || has_covid_obs) && has(VC_TYPE_COVID19) {
        w.push(Warning::new(
            "vc_type_unneeded_covid19",
            format!("vc.type contains {VC_TYPE_COVID19:?} but no COVID-19 resource"),
        ));
    }
    if has(VC_TYPE_VERIFIABLE_CREDENTIAL) {
        w.push(Warning::new(
            "vc_type_unneeded_verifiable_credential",
            "vc.type \"VerifiableCredential\" is not required and may be omitted",
        ));
    }
    for t in types {
        let known = [
            VC_TYPE_HEALTH_CARD,
            VC_TYPE_IMMUNIZATION,
            VC_TYPE_LABORATORY,
            VC_TYPE_COVID19,
            VC_TYPE_VERIFIABLE_CREDENTIAL,
        ];
        if !known.contains(&t.as_str()) {
            w.push(Warning::new(
                "vc_type_unknown",
                format!("vc.type {t:?} is not a known SMART Health Cards type"),
            ));
        }
    }
    w
}

/// Checks the issuer URL policy: `https`, a host, no trailing `/`.
pub fn check_iss(iss: &str) -> Result<(), ShcError> {
    let url = url::Url::parse(iss).map_err(|_| ShcError::IssNotHttps(iss.to_owned()))?;
    if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
        return Err(ShcError::IssNotHttps(iss.to_owned()));
    }
    if iss.ends_with('/') {
        return Err(ShcError::IssTrailingSlash(iss.to_owned()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ShcError::IssNotHttps(iss.to_owned()));
    }
    Ok(())
}

/// Checks that a JWK is an acceptable SMART Health Cards issuer key (`kty` EC, `crv` P-256,
/// `alg` ES256, `use` sig, no `d`, `kid` equal to its RFC 7638 thumbprint) and returns it.
pub fn validate_issuer_key(jwk: &Jwk) -> Result<Es256PublicKey, ShcError> {
    if jwk.d.is_some() {
        return Err(ShcError::KeyPrivate);
    }
    if jwk.kty != "EC" {
        return Err(ShcError::KeyWrongKty(jwk.kty.clone()));
    }
    if jwk.crv.as_deref() != Some("P-256") {
        return Err(ShcError::KeyWrongCrv(jwk.crv.clone().unwrap_or_default()));
    }
    if jwk.alg.as_deref() != Some("ES256") {
        return Err(ShcError::KeyWrongAlg(jwk.alg.clone().unwrap_or_default()));
    }
    if jwk.use_.as_deref() != Some("sig") {
        return Err(ShcError::KeyWrongUse(jwk.use_.clone().unwrap_or_default()));
    }
    let key = Es256PublicKey::from_jwk(jwk).map_err(|e| ShcError::KeyInvalid(e.to_string()))?;
    match jwk.kid.as_deref() {
        Some(kid) if kid == key.kid() => Ok(key),
        other => Err(ShcError::KeyWrongKid {
            kid: other.unwrap_or_default().to_owned(),
            thumbprint: key.kid().to_owned(),
        }),
    }
}

/// Inflates raw DEFLATE data, refusing to produce more than `limit` bytes.
///
/// zlib-rs (zlib's inflate in Rust), one inflater per thread reused from card to card (a reset,
/// not a fresh 7 KiB state and 32 KiB window per card). A card's payload is one dynamic Huffman
/// block, and zlib builds its decoding tables faster than miniz_oxide (whose `init_tree` was
/// half of a card's inflate time).
pub(crate) fn inflate_limited(data: &[u8], limit: usize) -> Result<Vec<u8>, ShcError> {
    use zlib_rs::{Inflate, InflateError, InflateFlush, Status};
    thread_local! {
        static INFLATER: std::cell::RefCell<Inflate> =
            std::cell::RefCell::new(Inflate::new(false, 15));
    }
    let run = |inflater: &mut Inflate| {
        inflater.reset(false);
        // A card's payload inflates to about four times its size. The buffer grows to at most
        // one byte over the limit, which says "too large".
        let cap = limit.saturating_add(1);
        let mut out = vec![0u8; data.len().saturating_mul(4).max(64).min(cap)];
        loop {
            let read = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
            let written = usize::try_from(inflater.total_out()).unwrap_or(usize::MAX);
            let status = inflater.decompress(
                data.get(read..).unwrap_or_default(),
                out.get_mut(written..).unwrap_or_default(),
                InflateFlush::NoFlush,
            );
            let read = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
            let written = usize::try_from(inflater.total_out()).unwrap_or(usize::MAX);
            match status {
                Ok(Status::StreamEnd) if written <= limit => {
                    out.truncate(written);
                    return Ok(out);
                }
                Ok(Status::StreamEnd) => return Err(ShcError::PayloadTooLarge(limit)),
                // The output is full: grow it, up to one byte over the limit.
                Ok(Status::Ok | Status::BufError) if written >= out.len() => {
                    if out.len() >= cap {
                        return Err(ShcError::PayloadTooLarge(limit));
                    }
                    let grown = out.len().saturating_mul(2).min(cap);
                    out.resize(grown, 0);
                }
                Ok(Status::Ok | Status::BufError) if read >= data.len() => {
                    return Err(ShcError::BadDeflate(
                        "the compressed payload ends before its last block".into(),
                    ));
                }
                // Progress on both sides is still possible.
                Ok(Status::Ok) => {}
                Ok(Status::BufError) | Err(InflateError::DataError) | Err(_) => {
                    return Err(ShcError::BadDeflate("invalid DEFLATE data".into()));
                }
            }
        }
    };
    INFLATER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut inflater) => run(&mut inflater),
        Err(_) => run(&mut Inflate::new(false, 15)),
    })
}

/// [`inflate_limited`] with miniz_oxide (the inflater before zlib-rs), for the differential test.
#[cfg(test)]
pub(crate) fn inflate_limited_miniz(data: &[u8], limit: usize) -> Result<Vec<u8>, ShcError> {
    use miniz_oxide::inflate::TINFLStatus;
    use miniz_oxide::inflate::core::{
        DecompressorOxide, decompress, inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
    };
    let mut inflater = Box::<DecompressorOxide>::default();
    let cap = limit.saturating_add(1);
    let mut out = vec![0u8; data.len().saturating_mul(4).max(64).min(cap)];
    let mut input = data;
    let mut out_pos = 0;
    loop {
        let (status, read, written) = decompress(
            &mut inflater,
            input,
            &mut out,
            out_pos,
            TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
        );
        out_pos += written;
        input = input.get(read..).unwrap_or_default();
        match status {
            TINFLStatus::Done if out_pos <= limit => {
                out.truncate(out_pos);
                return Ok(out);
            }
            TINFLStatus::Done => return Err(ShcError::PayloadTooLarge(limit)),
            TINFLStatus::HasMoreOutput if out.len() >= cap => {
                return Err(ShcError::PayloadTooLarge(limit));
            }
            TINFLStatus::HasMoreOutput => {
                let grown = out.len().saturating_mul(2).min(cap);
                out.resize(grown, 0);
            }
            TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
                return Err(ShcError::BadDeflate(
                    "the compressed payload ends before its last block".into(),
                ));
            }
            _ => return Err(ShcError::BadDeflate("invalid DEFLATE data".into())),
        }
    }
}

/// Compresses with raw DEFLATE (no zlib or gzip wrapper), best compression.
///
/// zlib-rs at level 9, one compressor per thread reused from card to card (a reset, not a fresh
/// state: a new miniz_oxide compressor, flate2's, zeroed ≈ 300 KiB of window, hash chains and
/// buffers for every card, more than the rest of issuing it), and the output written in one
/// call into a buffer of zlib's bound for the input.
pub(crate) fn deflate(data: &[u8]) -> Result<Vec<u8>, ShcError> {
    use zlib_rs::{Deflate, DeflateFlush, Status};
    thread_local! {
        static DEFLATER: std::cell::RefCell<Deflate> =
            std::cell::RefCell::new(Deflate::new(9, false, 15));
    }
    let run = |deflater: &mut Deflate| {
        deflater.reset();
        let mut out = vec![0u8; zlib_rs::compress_bound(data.len())];
        match deflater.compress(data, &mut out, DeflateFlush::Finish) {
            Ok(Status::StreamEnd) => {
                let written = usize::try_from(deflater.total_out())
                    .map_err(|_| ShcError::Issue("deflate: output size".into()))?;
                out.truncate(written);
                Ok(out)
            }
            Ok(status) => Err(ShcError::Issue(format!(
                "deflate stopped before the end ({status:?})"
            ))),
            Err(e) => Err(ShcError::Issue(format!("deflate: {e:?}"))),
        }
    };
    DEFLATER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut deflater) => run(&mut deflater),
        Err(_) => run(&mut Deflate::new(9, false, 15)),
    })
}

/// The header's `kid` when the header is exactly as cards have it (`alg` ES256, `zip` DEF, a
/// `kid`, no `crit`, no key twice), from borrowed nodes; `None` leaves it to
/// [`header_kid_or_error`].
fn header_kid(bytes: &[u8]) -> Option<String> {
    let header = borrowed::Node::parse_slice(bytes)?;
    if !matches!(header, borrowed::Node::Object(_))
        || header.get("alg")?.as_str()? != "ES256"
        || header.get("zip")?.as_str()? != "DEF"
        || header.get("crit").is_some()
    {
        return None;
    }
    match header.get("kid")?.as_str()? {
        "" => None,
        kid => Some(kid.to_owned()),
    }
}

/// The header checks on a `Value` map, in their order: the first error, or the `kid`.
fn header_kid_or_error(bytes: &[u8]) -> Result<String, ShcError> {
    let header: Map<String, Value> =
        serde_json::from_slice(bytes).map_err(|_| ShcError::HeaderNotJson)?;
    match header.get("alg") {
        None => return Err(ShcError::MissingAlg),
        Some(Value::String(a)) if a == "ES256" => {}
        Some(other) => return Err(ShcError::UnsupportedAlg(super::jws_value_text(other))),
    }
    match header.get("zip") {
        None => return Err(ShcError::MissingZip),
        Some(Value::String(z)) if z == "DEF" => {}
        Some(other) => return Err(ShcError::UnsupportedZip(super::jws_value_text(other))),
    }
    let kid = match header.get("kid") {
        Some(Value::String(k)) if !k.is_empty() => k.clone(),
        _ => return Err(ShcError::MissingKid),
    };
    if header.contains_key("crit") {
        return Err(ShcError::CriticalHeader);
    }
    Ok(kid)
}

/// The 64-byte `R ‖ S` signature (a DER one is recognised and refused).
fn signature_of(sig: &[u8]) -> Result<[u8; 64], ShcError> {
    if sig.len() > 64 && sig.first() == Some(&0x30) && sig.get(2) == Some(&0x02) {
        return Err(ShcError::SignatureDerEncoded);
    }
    sig.try_into()
        .map_err(|_| ShcError::SignatureLength(sig.len()))
}

fn is_b64url(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A card whose structure is sound: header, signature encoding and payload have been parsed.
/// Nothing has been verified yet; call [`ParsedCard::verify`].
#[derive(Clone)]
pub struct ParsedCard {
    jws: String,
    signing_input_len: usize,
    signature: [u8; 64],
    kid: String,
    claims: Claims,
    /// The inflated payload (UTF-8 JSON).
    text: String,
    /// The bundle's content warnings, when the borrowed parse found the bundle clean; `None`:
    /// the `Value` path judges it ([`Payload::check_content_for`]).
    content: Option<Vec<Warning>>,
    /// The payload as a `Value` tree, built when first asked for (or at parse time, when the
    /// borrowed parse left the payload to it).
    payload: OnceLock<Payload>,
}

impl ParsedCard {
    /// Parses a compact JWS. Checks, in order: size (≤ [`MAX_JWS_LEN`]), no surrounding
    /// whitespace, three base64url parts, header JSON with `alg` ES256, `zip` DEF, a `kid` and no
    /// `crit`; a 64-byte raw signature (DER is recognised and refused); raw DEFLATE inflating to
    /// at most [`MAX_PAYLOAD_LEN`] bytes of UTF-8 JSON without BOM; the payload's structure
    /// ([`Payload::from_value`]).
    pub fn parse(jws: &str) -> Result<ParsedCard, ShcError> {
        check_len(jws, MAX_JWS_LEN)?;
        if jws.trim() != jws || jws.starts_with('\u{feff}') {
            return Err(ShcError::TrailingCharacters);
        }
        let mut parts = jws.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ShcError::MalformedJws("expected exactly three parts"));
        };
        // Three non-empty parts that decode as strict unpadded base64url are in its alphabet:
        // the per-character scan is needed only to name the error when one does not decode.
        let decoded = match (b64::decode(h), b64::decode(p), b64::decode(s)) {
            (Ok(hb), Ok(pb), Ok(sb)) if !h.is_empty() && !p.is_empty() && !s.is_empty() => {
                Some((hb, pb, sb))
            }
            _ => None,
        };
        let (header_bytes, compressed, sig) = match decoded {
            Some(parts) => parts,
            None => {
                if !is_b64url(h) || !is_b64url(p) || !is_b64url(s) {
                    return Err(ShcError::MalformedJws("a part is empty or not base64url"));
                }
                let header_bytes =
                    b64::decode(h).map_err(|_| ShcError::MalformedJws("header base64url"))?;
                // The first error in the order below: the header's, then the signature's.
                if header_kid(&header_bytes).is_none() {
                    header_kid_or_error(&header_bytes)?;
                }
                let sig =
                    b64::decode(s).map_err(|_| ShcError::MalformedJws("signature base64url"))?;
                signature_of(&sig)?;
                let compressed =
                    b64::decode(p).map_err(|_| ShcError::MalformedJws("payload base64url"))?;
                (header_bytes, compressed, sig)
            }
        };
        let kid = match header_kid(&header_bytes) {
            Some(kid) => kid,
            None => header_kid_or_error(&header_bytes)?,
        };
        let signature = signature_of(&sig)?;
        let inflated = inflate_limited(&compressed, MAX_PAYLOAD_LEN)?;
        if inflated.starts_with(&[0xEF, 0xBB, 0xBF]) {
            return Err(ShcError::PayloadBom);
        }
        let text = String::from_utf8(inflated).map_err(|_| ShcError::PayloadNotUtf8)?;
        // The claims and the FHIR rules from one parse of nodes borrowing from the text; the
        // `Value` tree only where that parse leaves the payload to it (it then gives the error).
        let (claims, content, payload) = match borrowed::payload(&text) {
            Some(fast) => (fast.claims, fast.content, OnceLock::new()),
            None => {
                let value: Value = serde_json::from_str(&text)
                    .map_err(|e| ShcError::PayloadNotJson(e.to_string()))?;
                let payload = Payload::from_value(value)?;
                (Claims::of(&payload), None, OnceLock::from(payload))
            }
        };
        Ok(ParsedCard {
            signing_input_len: h.len() + 1 + p.len(),
            jws: jws.to_owned(),
            signature,
            kid,
            claims,
            text,
            content,
            payload,
        })
    }

    /// The compact JWS as given.
    pub fn jws(&self) -> &str {
        &self.jws
    }
    /// Header `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }
    /// Payload `iss`.
    pub fn iss(&self) -> &str {
        &self.claims.iss
    }
    /// Payload `nbf`, exactly as the JSON number was written.
    pub fn nbf(&self) -> &Number {
        &self.claims.nbf
    }
    /// Payload `exp`, if present.
    pub fn exp(&self) -> Option<&Number> {
        self.claims.exp.as_ref()
    }
    /// `vc.type`.
    pub fn types(&self) -> &[String] {
        &self.claims.types
    }
    /// `vc.credentialSubject.fhirBundle` (its `Value` tree is built on the first call).
    pub fn fhir_bundle(&self) -> &Value {
        &self.payload().fhir_bundle
    }
    /// `vc.rid`.
    pub fn rid(&self) -> Option<&str> {
        self.claims.rid.as_deref()
    }
    /// The whole parsed payload (its `Value` tree is built on the first call).
    pub fn payload(&self) -> &Payload {
        self.payload
            .get_or_init(|| Payload::of_accepted(&self.text, &self.claims))
    }
    /// Warnings that need no trust decision (e.g. a JWS too long for one QR).
    pub fn structural_warnings(&self) -> Vec<Warning> {
        let mut w = Vec::new();
        if self.jws.len() > MAX_SINGLE_QR_JWS_LEN {
            w.push(Warning::new(
                "jws_too_long",
                format!(
                    "JWS is {} characters; more than {MAX_SINGLE_QR_JWS_LEN} does not fit one QR",
                    self.jws.len()
                ),
            ));
        }
        w
    }

    /// Verifies the card against `directory` at `now` (also used as the X.509 validation time).
    pub fn verify(
        &self,
        directory: &Directory,
        now: NumericDate,
    ) -> Result<VerifiedCard, ShcError> {
        self.verify_with(directory, &VerifyOptions::at(now))
    }

    /// Verifies the card. Order of checks (the first failure is returned):
    /// 1. `iss` is https without a trailing `/`;
    /// 2. `iss` is in the directory (else `issuer_not_trusted`);
    /// 3. the header `kid` is in **that issuer's** key set (a kid of another issuer gives
    ///    `issuer_kid_mismatch`, else `unknown_kid`);
    /// 4. that key is a valid SMART Health Cards key ([`validate_issuer_key`]);
    /// 5. the ES256 signature over `header.payload`;
    /// 6. if the key has `x5c`: the chain ([`x5c::check_chain`]) at `options.pki_time`;
    /// 7. `nbf` / `exp` at `options.now` ([`Payload::check_time`]);
    /// 8. the FHIR bundle and VC type rules ([`Payload::check_content_for`]; the short
    ///    `resource:N` reference rules are errors when the JWS fits one QR, warnings otherwise);
    /// 9. revocation: if the key has `crlVersion` or a CRL is loaded for its kid, the CRL must be
    ///    loaded and well-formed, and the card's `rid` must not be listed (a `rid.timestamp`
    ///    entry revokes cards whose `nbf` is before the timestamp).
    pub fn verify_with(
        &self,
        directory: &Directory,
        options: &VerifyOptions,
    ) -> Result<VerifiedCard, ShcError> {
        let checked = self.check(directory, options)?;
        let c = &self.claims;
        Ok(VerifiedCard {
            iss: c.iss.clone(),
            issuer_name: checked.issuer_name,
            kid: self.kid.clone(),
            nbf: c.nbf.clone(),
            exp: c.exp.clone(),
            types: c.types.clone(),
            fhir_version: c.fhir_version.clone(),
            fhir_bundle: LazyBundle {
                text: self.text.clone(),
                value: self
                    .payload
                    .get()
                    .map(|p| OnceLock::from(p.fhir_bundle.clone()))
                    .unwrap_or_default(),
            },
            rid: c.rid.clone(),
            warnings: checked.warnings,
        })
    }

    /// The checks of [`ParsedCard::verify_with`], in its order.
    fn check(&self, directory: &Directory, options: &VerifyOptions) -> Result<Checked, ShcError> {
        let iss = &self.claims.iss;
        // The issuer's URL, keys and lists are judged once per issuer ([`IssuerEntry::prepared`]),
        // with the outcomes the checks below would have had card by card.
        let entry = directory.issuer(iss);
        let prepared = entry.map(|e| e.prepared());
        match prepared {
            Some(p) => p.iss.clone()?,
            None => check_iss(iss)?,
        }
        let (Some(entry), Some(prepared)) = (entry, prepared) else {
            return Err(ShcError::IssuerNotTrusted(iss.clone()));
        };
        let found = entry
            .key_index(&self.kid)
            .and_then(|i| Some((entry.keys.get(i)?, prepared.keys.get(i)?)));
        let Some((jwk, prepared_key)) = found else {
            if let Some(owner) = directory.kid_owner(&self.kid) {
                return Err(ShcError::IssuerKidMismatch {
                    kid: self.kid.clone(),
                    iss: iss.clone(),
                    owner: owner.to_owned(),
                });
            }
            return Err(ShcError::UnknownKid {
                kid: self.kid.clone(),
                iss: iss.clone(),
            });
        };
        let (key, verifier) = prepared_key.key.as_ref().map_err(Clone::clone)?;
        verifier
            .verify(
                &self.jws.as_bytes()[..self.signing_input_len],
                &self.signature,
            )
            .map_err(|_| ShcError::BadSignature)?;
        if let Some(chain) = &jwk.x5c {
            x5c::check_chain(
                chain,
                iss,
                key,
                options.pki_time.unwrap_or(options.now),
                directory.trust_anchors(),
            )?;
        }
        let mut warnings = self.structural_warnings();
        warnings.extend(time_warnings(
            &self.claims.nbf,
            self.claims.exp.as_ref(),
            options.now,
        )?);
        match &self.content {
            // A clean bundle (judged at parse time): no FHIR finding, the type warnings only.
            Some(content) => warnings.extend(content.iter().cloned()),
            // The IG's short-reference rules bind cards that can be a QR code (≤ 1195 characters).
            None => warnings.extend(
                self.payload()
                    .check_content_for(self.jws.len() <= MAX_SINGLE_QR_JWS_LEN)?,
            ),
        }
        // Revocation: a list loaded for the key is checked (and judged well-formed), and a key
        // that declares `crlVersion` needs one.
        match &prepared_key.crl {
            None if jwk.crl_version.is_some() => {
                return Err(ShcError::CrlUnavailable(jwk.crl_version.unwrap_or(0)));
            }
            None => {}
            Some(list) => {
                let list = list.as_ref().map_err(Clone::clone)?;
                if let Some(rid) = &self.claims.rid
                    && let Ok((rid, _)) = parse_rid(rid)
                    && let Some(until) = list.get(rid)
                {
                    let applies = match until {
                        None => true,
                        Some(ts) => number_f64(&self.claims.nbf) < *ts as f64,
                    };
                    if applies {
                        return Err(ShcError::Revoked(rid.to_owned()));
                    }
                }
            }
        }
        Ok(Checked {
            issuer_name: entry.name.clone(),
            warnings,
        })
    }

    /// [`ParsedCard::verify_with`], consuming the card: the verified card takes the payload's
    /// parts (the FHIR bundle above all) instead of copying them. The same checks, in the same
    /// order, with the same errors.
    pub fn into_verified(
        self,
        directory: &Directory,
        options: &VerifyOptions,
    ) -> Result<VerifiedCard, ShcError> {
        let checked = self.check(directory, options)?;
        let Claims {
            iss,
            nbf,
            exp,
            types,
            fhir_version,
            rid,
        } = self.claims;
        Ok(VerifiedCard {
            iss,
            issuer_name: checked.issuer_name,
            kid: self.kid,
            nbf,
            exp,
            types,
            fhir_version,
            fhir_bundle: LazyBundle {
                text: self.text,
                value: self
                    .payload
                    .into_inner()
                    .map(|p| OnceLock::from(p.fhir_bundle))
                    .unwrap_or_default(),
            },
            rid,
            warnings: checked.warnings,
        })
    }
}

/// What [`ParsedCard::check`] found besides the card itself.
struct Checked {
    issuer_name: Option<String>,
    warnings: Vec<Warning>,
}

/// When to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// The time `nbf` and `exp` are judged at.
    pub now: NumericDate,
    /// The time X.509 certificates (`x5c`) are judged at; `None` means `now`.
    pub pki_time: Option<NumericDate>,
}

impl VerifyOptions {
    /// Everything judged at `now`.
    pub fn at(now: NumericDate) -> Self {
        VerifyOptions {
            now,
            pki_time: None,
        }
    }
}

/// A card that passed every check. Serializes to the fields a CLI prints.
#[derive(Clone, PartialEq, Serialize)]
pub struct VerifiedCard {
    /// Issuer URL (`iss`).
    pub iss: String,
    /// The issuer's display name from the directory, if it has one.
    pub issuer_name: Option<String>,
    /// The key that signed it.
    pub kid: String,
    /// `nbf` as written (seconds, may be fractional).
    pub nbf: Number,
    /// `exp` as written, if present.
    pub exp: Option<Number>,
    /// `vc.type`.
    pub types: Vec<String>,
    /// `vc.credentialSubject.fhirVersion`.
    pub fhir_version: String,
    /// The FHIR bundle: [`VerifiedCard::fhir_bundle`].
    fhir_bundle: LazyBundle,
    /// `vc.rid`.
    pub rid: Option<String>,
    /// Non-fatal findings.
    pub warnings: Vec<Warning>,
}

impl VerifiedCard {
    /// The FHIR bundle (`vc.credentialSubject.fhirBundle`). Its `Value` tree is built from the
    /// verified payload on the first call: a caller that only needs the verdict never pays
    /// for it.
    pub fn fhir_bundle(&self) -> &Value {
        self.fhir_bundle.get()
    }

    /// The FHIR bundle, taken out of the card.
    pub fn into_fhir_bundle(self) -> Value {
        let LazyBundle { text, value } = self.fhir_bundle;
        value.into_inner().unwrap_or_else(|| bundle_of(&text))
    }
}

/// A verified card's bundle: the payload's text, and its `Value` tree once asked for.
#[derive(Clone)]
struct LazyBundle {
    text: String,
    value: OnceLock<Value>,
}

impl LazyBundle {
    fn get(&self) -> &Value {
        self.value.get_or_init(|| bundle_of(&self.text))
    }
}

/// `vc.credentialSubject.fhirBundle` of a payload that was accepted (so it parses and has one;
/// `Null` is unreachable).
fn bundle_of(text: &str) -> Value {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|mut v| {
            v.pointer_mut("/vc/credentialSubject/fhirBundle")
                .map(Value::take)
        })
        .unwrap_or(Value::Null)
}

impl PartialEq for LazyBundle {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Serialize for LazyBundle {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(serializer)
    }
}

/// Builds and signs a SMART Health Card. The hospital peer calls
/// `CardBuilder::new(iss, nbf, bundle).vc_type(..).sign(&key)`.
#[derive(Clone)]
pub struct CardBuilder {
    iss: String,
    nbf: NumericDate,
    exp: Option<NumericDate>,
    types: Vec<String>,
    fhir_version: String,
    bundle: Value,
    rid: Option<String>,
    minify: bool,
}

impl CardBuilder {
    /// A card from issuer `iss` (https, no trailing slash), valid from `nbf`, carrying the FHIR
    /// R4 `bundle` (a `collection` Bundle with `resource:N` fullUrls and references).
    pub fn new(iss: impl Into<String>, nbf: NumericDate, bundle: Value) -> Self {
        CardBuilder {
            iss: iss.into(),
            nbf,
            exp: None,
            types: vec![VC_TYPE_HEALTH_CARD.to_owned()],
            fhir_version: "4.0.1".into(),
            bundle,
            rid: None,
            minify: true,
        }
    }
    /// Sets `exp`.
    pub fn expires(mut self, exp: NumericDate) -> Self {
        self.exp = Some(exp);
        self
    }
    /// Adds a `vc.type` entry (e.g. [`VC_TYPE_IMMUNIZATION`]); duplicates are ignored.
    pub fn vc_type(mut self, t: &str) -> Self {
        if !self.types.iter().any(|x| x == t) {
            self.types.push(t.to_owned());
        }
        self
    }
    /// Sets `vc.rid` (base64url alphabet, ≤ 24 characters).
    pub fn rid(mut self, rid: impl Into<String>) -> Self {
        self.rid = Some(rid.into());
        self
    }
    /// Sets `fhirVersion` (default 4.0.1).
    pub fn fhir_version(mut self, v: impl Into<String>) -> Self {
        self.fhir_version = v.into();
        self
    }
    /// Whether to apply the specification's minification ([`fhir::minify`]) before signing
    /// (default on).
    pub fn minify(mut self, on: bool) -> Self {
        self.minify = on;
        self
    }

    /// Checks everything a verifier would (issuer URL, rid, FHIR rules), then signs. Returns the
    /// compact JWS.
    pub fn sign(&self, key: &Es256KeyPair) -> Result<String, ShcError> {
        check_iss(&self.iss)?;
        if let Some(rid) = &self.rid {
            parse_rid(rid).map_err(ShcError::BadRid)?;
        }
        let mut bundle = self.bundle.clone();
        if self.minify {
            fhir::minify(&mut bundle);
        }
        fhir::check_bundle(&bundle)?;
        let payload = Payload {
            iss: self.iss.clone(),
            nbf: Number::from(self.nbf.seconds()),
            exp: self.exp.map(|e| Number::from(e.seconds())),
            types: self.types.clone(),
            fhir_version: self.fhir_version.clone(),
            fhir_bundle: bundle,
            rid: self.rid.clone(),
        };
        if let Some(exp) = self.exp
            && exp <= self.nbf
        {
            return Err(ShcError::ExpBeforeNbf {
                nbf: self.nbf.seconds() as f64,
                exp: exp.seconds() as f64,
            });
        }
        let json = payload.to_json_bytes()?;
        if json.len() > MAX_PAYLOAD_LEN {
            return Err(ShcError::PayloadTooLarge(MAX_PAYLOAD_LEN));
        }
        let header = format!(
            r#"{{"zip":"DEF","alg":"ES256","kid":"{}"}}"#,
            key.public_key().kid()
        );
        let mut jws = b64::encode(header.as_bytes());
        jws.push('.');
        jws.push_str(&b64::encode(deflate(&json)?));
        let sig = key
            .sign(jws.as_bytes())
            .map_err(|e| ShcError::Issue(e.to_string()))?;
        jws.push('.');
        jws.push_str(&b64::encode(sig));
        if jws.len() > MAX_JWS_LEN {
            return Err(ShcError::InputTooLarge(jws.len(), MAX_JWS_LEN));
        }
        Ok(jws)
    }
}

/// One entry of a [`Verdict`]'s `errors`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerdictError {
    /// [`ShcError::code`].
    pub code: &'static str,
    /// The error's message.
    pub message: String,
}

impl From<&ShcError> for VerdictError {
    fn from(e: &ShcError) -> Self {
        VerdictError {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// The verdict on one card, shaped as the verifier CLI prints it:
/// `{"valid","kind","issuer","issuer_name","not_before","expires","errors":[{"code","message"}],"warnings","fhir"}`.
/// Whatever could be parsed is reported even when the card is invalid.
#[derive(Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Whether the card passed every check; `errors` is empty exactly when it did.
    pub valid: bool,
    /// Always `"smart_health_card"`.
    pub kind: &'static str,
    /// The card's `iss` (the issuer URL), when it could be read.
    pub issuer: Option<String>,
    /// The issuer's name from the trusted directory, when the issuer is in it.
    pub issuer_name: Option<String>,
    /// `nbf`, seconds since the Unix epoch, as written in the card.
    pub not_before: Option<Number>,
    /// `exp`, seconds since the Unix epoch, if the card has one.
    pub expires: Option<Number>,
    /// Why the card is invalid, each with a stable code.
    pub errors: Vec<VerdictError>,
    /// What is unusual but not invalid (legacy chunking, no expiry, …).
    pub warnings: Vec<Warning>,
    /// The FHIR bundle (also of an invalid card, when it could be parsed).
    pub fhir: Option<Value>,
}

/// Parses and verifies one JWS and reports everything in one [`Verdict`].
pub fn check_jws(jws: &str, directory: &Directory, options: &VerifyOptions) -> Verdict {
    let mut v = Verdict {
        valid: false,
        kind: "smart_health_card",
        issuer: None,
        issuer_name: None,
        not_before: None,
        expires: None,
        errors: Vec::new(),
        warnings: Vec::new(),
        fhir: None,
    };
    let card = match ParsedCard::parse(jws) {
        Ok(c) => c,
        Err(e) => {
            v.errors.push((&e).into());
            return v;
        }
    };
    v.issuer = Some(card.iss().to_owned());
    v.issuer_name = directory.issuer(card.iss()).and_then(|e| e.name.clone());
    v.not_before = Some(card.nbf().clone());
    v.expires = card.exp().cloned();
    v.fhir = Some(card.fhir_bundle().clone());
    match card.verify_with(directory, options) {
        Ok(ok) => {
            v.valid = true;
            v.warnings = ok.warnings;
        }
        Err(e) => {
            v.warnings = card.structural_warnings();
            v.errors.push((&e).into());
        }
    }
    v
}

// Health data never reaches a log line through `Debug`: the FHIR bundle is shown as its entry
// count only.
fn redacted_bundle(bundle: &Value) -> String {
    format!(
        "<FHIR bundle, {} entries, redacted>",
        bundle
            .get("entry")
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    )
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payload")
            .field("iss", &self.iss)
            .field("nbf", &self.nbf)
            .field("exp", &self.exp)
            .field("types", &self.types)
            .field("fhir_version", &self.fhir_version)
            .field("fhir_bundle", &redacted_bundle(&self.fhir_bundle))
            .field("rid", &self.rid.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl std::fmt::Debug for ParsedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedCard")
            .field("jws_len", &self.jws.len())
            .field("kid", &self.kid)
            .field("payload", self.payload())
            .finish()
    }
}

impl std::fmt::Debug for VerifiedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCard")
            .field("iss", &self.iss)
            .field("issuer_name", &self.issuer_name)
            .field("kid", &self.kid)
            .field("nbf", &self.nbf)
            .field("exp", &self.exp)
            .field("types", &self.types)
            .field("fhir_bundle", &redacted_bundle(self.fhir_bundle()))
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CardBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardBuilder")
            .field("iss", &self.iss)
            .field("nbf", &self.nbf)
            .field("exp", &self.exp)
            .field("types", &self.types)
            .field("bundle", &redacted_bundle(&self.bundle))
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verdict")
            .field("valid", &self.valid)
            .field("issuer", &self.issuer)
            .field("not_before", &self.not_before)
            .field("expires", &self.expires)
            .field("errors", &self.errors)
            .field("warnings", &self.warnings)
            .field("fhir", &self.fhir.as_ref().map(redacted_bundle))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod inflate_tests {
    use super::*;

    /// The reused per-thread compressor: every output is raw DEFLATE of exactly its input (read
    /// back by miniz_oxide, an independent inflater), whatever came before it on the thread —
    /// large after small, empty, incompressible, the same input twice (the same bytes).
    #[test]
    fn the_reused_compressor_gives_each_input_its_own_stream() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut noise = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect()
        };
        let card = br#"{"iss":"https://hospital.example","nbf":1700000000,"vc":{"type":["https://smarthealth.cards#health-card"]}}"#.repeat(20);
        let inputs: Vec<Vec<u8>> = vec![
            card.clone(),
            Vec::new(),
            noise(70_000),
            b"a".to_vec(),
            card.clone(),
            (0..200_000u32)
                .flat_map(|i| (i % 251).to_le_bytes())
                .collect(),
            noise(3),
        ];
        let mut first = None;
        for input in &inputs {
            let packed = deflate(input).unwrap();
            assert!(packed.len() <= zlib_rs::compress_bound(input.len()));
            assert_eq!(
                &inflate_limited_miniz(&packed, input.len()).unwrap(),
                input,
                "{} bytes",
                input.len()
            );
            if input == &card {
                // Deterministic: a reset compressor packs the same input to the same bytes.
                match &first {
                    None => first = Some(packed.clone()),
                    Some(f) => assert_eq!(f, &packed),
                }
                assert!(packed.len() < card.len() / 5, "{} bytes", packed.len());
            }
        }
    }

    #[test]
    fn inflates_within_the_limit_and_refuses_the_rest() {
        let text: Vec<u8> = (0..20_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let packed = deflate(&text).unwrap();
        assert_eq!(inflate_limited(&packed, text.len()).unwrap(), text);
        assert!(matches!(
            inflate_limited(&packed, text.len() - 1),
            Err(ShcError::PayloadTooLarge(_))
        ));
        // Cut anywhere: an error, never a short payload.
        for cut in [0, 1, packed.len() / 2, packed.len() - 1] {
            assert!(
                matches!(
                    inflate_limited(&packed[..cut], text.len()),
                    Err(ShcError::BadDeflate(_))
                ),
                "cut at {cut}"
            );
        }
        // Not DEFLATE at all.
        assert!(matches!(
            inflate_limited(&[0xff; 16], 1024),
            Err(ShcError::BadDeflate(_))
        ));
        // A small payload and an empty one.
        assert_eq!(
            inflate_limited(&deflate(b"{}").unwrap(), 10).unwrap(),
            b"{}"
        );
        assert_eq!(inflate_limited(&deflate(b"").unwrap(), 0).unwrap(), b"");
    }

    /// Every compressed payload of the published vectors (specification examples and the
    /// validator's test data, good and bad), in `.txt` and `.smart-health-card` files.
    fn published_payloads() -> Vec<Vec<u8>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/shc");
        let mut dirs = vec![root];
        let mut out = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let tokens = text.split(|c: char| {
                    !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
                });
                for token in tokens {
                    let parts: Vec<&str> = token.split('.').collect();
                    if parts.len() == 3
                        && parts[0].starts_with("eyJ")
                        && !parts[1].is_empty()
                        && let Ok(bytes) = b64::decode(parts[1])
                    {
                        out.push(bytes);
                    }
                }
            }
        }
        out
    }

    /// What an inflate outcome is, for comparing two inflaters: the bytes, or the error.
    fn outcome(r: Result<Vec<u8>, ShcError>) -> Result<Vec<u8>, String> {
        r.map_err(|e| e.to_string())
    }

    /// zlib-rs gives exactly miniz_oxide's outcome (the bytes, or the same error) on every
    /// published payload, each cut short, and a few thousand one-byte changes of them.
    #[test]
    fn zlib_rs_and_miniz_oxide_agree() {
        let payloads = published_payloads();
        assert!(payloads.len() >= 20, "{} payloads found", payloads.len());
        let mut compared = 0;
        let mut same = |data: &[u8], limit: usize| {
            assert_eq!(
                outcome(inflate_limited(data, limit)),
                outcome(inflate_limited_miniz(data, limit)),
                "{} bytes, limit {limit}: {data:02x?}",
                data.len()
            );
            compared += 1;
        };
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for data in &payloads {
            same(data, MAX_PAYLOAD_LEN);
            let full = inflate_limited(data, MAX_PAYLOAD_LEN).map_or(0, |v| v.len());
            for limit in [0, full.saturating_sub(1), full, full / 2] {
                same(data, limit);
            }
            for cut in [
                0,
                1,
                data.len() / 3,
                data.len() / 2,
                data.len().saturating_sub(1),
            ] {
                same(&data[..cut.min(data.len())], MAX_PAYLOAD_LEN);
            }
            for _ in 0..150 {
                if data.is_empty() {
                    break;
                }
                let mut changed = data.clone();
                let at = (next() % changed.len() as u64) as usize;
                changed[at] ^= (next() % 255 + 1) as u8;
                same(&changed, MAX_PAYLOAD_LEN);
            }
        }
        assert!(compared > 3000, "{compared} comparisons");
    }
}

#[cfg(test)]
mod fast_path_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Where a part does not decode, the first error is the one of the checks in their order
    /// (alphabet of all three, header, signature, payload), as before the decode-first path.
    #[test]
    fn a_part_that_does_not_decode_gives_the_first_error_in_order() {
        let good = b64::encode(br#"{"zip":"DEF","alg":"ES256","kid":"k"}"#);
        let no_alg = b64::encode(br#"{"zip":"DEF","kid":"k"}"#);
        let sig = b64::encode([7u8; 64]);
        let der = b64::encode(
            [0x30, 0x45, 0x02]
                .iter()
                .chain(&[1u8; 68])
                .copied()
                .collect::<Vec<u8>>(),
        );
        // "QR": characters of the alphabet, non-canonical trailing bits.
        let cases = [
            (format!("{no_alg}.QR.{sig}"), ShcError::MissingAlg),
            (format!("{good}.QR.{der}"), ShcError::SignatureDerEncoded),
            (
                format!("{good}.QR.QR"),
                ShcError::MalformedJws("signature base64url"),
            ),
            (
                format!("{good}.QR.{sig}"),
                ShcError::MalformedJws("payload base64url"),
            ),
            (
                format!("QR.QR.{sig}"),
                ShcError::MalformedJws("header base64url"),
            ),
            (
                format!("{no_alg}.Q+.{sig}"),
                ShcError::MalformedJws("a part is empty or not base64url"),
            ),
        ];
        for (jws, want) in cases {
            assert_eq!(ParsedCard::parse(&jws).err(), Some(want), "{jws}");
        }
    }

    /// A clean published card takes the borrowed path: no `Value` tree until asked for.
    #[test]
    fn a_clean_card_builds_no_value_tree_until_asked() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/shc/example-00-d-jws.txt");
        let jws = std::fs::read_to_string(p).unwrap();
        let card = ParsedCard::parse(jws.trim()).unwrap();
        assert!(card.content.is_some(), "content judged on the fast path");
        assert!(card.payload.get().is_none(), "no Value payload built");
        let bundle = card.fhir_bundle().clone();
        assert_eq!(bundle["resourceType"], "Bundle");
    }
}
