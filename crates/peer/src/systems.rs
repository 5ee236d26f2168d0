//! Hospital systems (HIS, LIS) as FHIR clients: SMART Backend Services (OAuth 2.0 client
//! credentials with a signed JWT assertion, RFC 7523; SMART App Launch v2
//! `client-confidential-asymmetric`). An admin registers a system's public JWKS and allowed
//! scopes; the system signs a short-lived assertion with its private key (ES384 or RS384) and
//! gets a five-minute opaque bearer token for `POST /fhir` (see [`crate::fhir_push`]).
//!
//! Staff tokens stay for people; system tokens only open the FHIR endpoint.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::client_assertion::{Assertion, AssertionError, ClientKey};

use crate::db;
use crate::error::{PeerError, Result};
use crate::peer::{Peer, token_hash};
use crate::write_keys::WriteKey;

/// The token endpoint's path (its URL, the assertions' `aud`, is the peer's URL + this path).
pub const TOKEN_PATH: &str = "/auth/token";
/// Lifetime of an access token, seconds.
pub const ACCESS_TOKEN_SECS: i64 = 300;
/// Longest an assertion may live: its `exp` is at most this far ahead.
pub const MAX_ASSERTION_SECS: i64 = 300;
/// `client_assertion_type` of RFC 7523 client authentication.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Prefix of system access tokens (never valid as staff tokens).
pub const SYSTEM_TOKEN_PREFIX: &str = "spsys_";
/// The FHIR resource types a system may create, each behind `system/<Type>.c`.
pub const RESOURCE_TYPES: &[&str] = &[
    "DiagnosticReport",
    "Observation",
    "MedicationRequest",
    "Condition",
    "Immunization",
    "Encounter",
    "Invoice",
    "DocumentReference",
    "Binary",
];
/// The wildcard scope: create any of [`RESOURCE_TYPES`].
pub const ALL_SCOPE: &str = "system/*.c";

/// A refusal at the token endpoint, answered as RFC 6749 §5.2 error JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_scope`, `unsupported_grant_type`.
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    /// The stable code (the RFC 6749 `error`).
    pub fn code(&self) -> &'static str {
        self.error
    }
    /// 401 for `invalid_client` (RFC 6749 §5.2), else 400.
    pub fn status(&self) -> u16 {
        if self.error == "invalid_client" {
            401
        } else {
            400
        }
    }
    /// The RFC 6749 §5.2 body.
    pub fn body(&self) -> Value {
        json!({"error": self.error, "error_description": self.description})
    }
    fn client(d: impl Into<String>) -> Self {
        OAuthError {
            error: "invalid_client",
            description: d.into(),
        }
    }
    fn request(d: impl Into<String>) -> Self {
        OAuthError {
            error: "invalid_request",
            description: d.into(),
        }
    }
    fn scope(d: impl Into<String>) -> Self {
        OAuthError {
            error: "invalid_scope",
            description: d.into(),
        }
    }
}

fn jwks_error(e: AssertionError) -> PeerError {
    PeerError::field("jwks", e.to_string())
}

fn stored_keys(jwks: &str) -> Result<Vec<ClientKey>> {
    serde_json::from_str::<Value>(jwks)
        .ok()
        .and_then(|v| ClientKey::parse_jwks(&v).ok())
        .ok_or_else(|| PeerError::Integrity("stored system JWKS".into()))
}

/// The scopes a system may be registered for: `system/<Type>.c` of [`RESOURCE_TYPES`] and
/// [`ALL_SCOPE`] (SMART v2, create only).
pub fn supported_scopes() -> Vec<String> {
    let mut v: Vec<String> = RESOURCE_TYPES
        .iter()
        .map(|t| format!("system/{t}.c"))
        .collect();
    v.push(ALL_SCOPE.to_owned());
    v
}

fn is_supported_scope(s: &str) -> bool {
    s == ALL_SCOPE
        || s.strip_prefix("system/")
            .and_then(|r| r.strip_suffix(".c"))
            .is_some_and(|t| RESOURCE_TYPES.contains(&t))
}

/// An admin's registration of a system.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewSystem {
    /// A name for people (1–100 printable characters).
    pub name: String,
    /// The system's public JWK Set (ES384 P-384 and/or RS384 keys).
    pub jwks: Value,
    /// The scopes it may be granted (see [`supported_scopes`]).
    pub scopes: Vec<String>,
}

/// A registered system.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SystemInfo {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// The `kid`s of its registered keys.
    pub kids: Vec<String>,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

/// The systems, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct SystemList {
    pub systems: Vec<SystemInfo>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize)]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
}

/// A system caller authenticated by its bearer token.
#[derive(Debug, Clone)]
pub struct SystemAuth {
    pub client_id: String,
    /// The granted scopes.
    pub scopes: Vec<String>,
}

impl SystemAuth {
    /// Whether it may create resources of type `t` (`system/<t>.c` or `system/*.c`).
    pub fn may_create(&self, t: &str) -> bool {
        let want = format!("system/{t}.c");
        self.scopes.iter().any(|s| *s == want || s == ALL_SCOPE)
    }
}

/// Decodes an `application/x-www-form-urlencoded` body; a repeated parameter is refused.
pub fn parse_form(body: &[u8]) -> std::result::Result<Vec<(String, String)>, OAuthError> {
    fn decode(s: &str) -> Option<String> {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let h = b.get(i + 1..i + 3)?;
                    let h = std::str::from_utf8(h).ok()?;
                    out.push(u8::from_str_radix(h, 16).ok()?);
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| OAuthError::request("the body is not UTF-8 form data"))?;
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(k), Some(v)) = (decode(k), decode(v)) else {
            return Err(OAuthError::request("malformed percent-encoding"));
        };
        if out.iter().any(|(o, _)| *o == k) {
            return Err(OAuthError::request(format!("parameter {k} is repeated")));
        }
        out.push((k, v));
    }
    Ok(out)
}

use crate::db::systems::SystemRow;

impl Peer {
    /// The token endpoint's URL: the `aud` every assertion must name.
    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.config.url.trim_end_matches('/'))
    }

    /// Registers a system (admin): checks the JWKS (public keys only) and scopes; returns it
    /// with its new `client_id`.
    pub async fn register_system(&self, req: &NewSystem) -> Result<SystemInfo> {
        self.register_system_keyed(req, None).await
    }

    /// [`Peer::register_system`] with a staff write's `Idempotency-Key`, stored with the answer
    /// in the registration's transaction; see docs/peer.md, "Retries: `Idempotency-Key`".
    pub async fn register_system_keyed(
        &self,
        req: &NewSystem,
        key: Option<&WriteKey>,
    ) -> Result<SystemInfo> {
        let name = req.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(PeerError::field(
                "name",
                "must be 1–100 printable characters",
            ));
        }
        let keys = ClientKey::parse_jwks(&req.jwks).map_err(jwks_error)?;
        let mut scopes: Vec<String> = Vec::new();
        for s in &req.scopes {
            if !is_supported_scope(s) {
                return Err(PeerError::field(
                    "scopes",
                    format!("each scope is one of {}", supported_scopes().join(" ")),
                ));
            }
            if !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        if scopes.is_empty() {
            return Err(PeerError::field("scopes", "at least one scope"));
        }
        let client_id = spondon_core::b64::encode(spondon_core::keys::random_bytes::<16>()?);
        let jwks = json!({"keys": keys.iter().map(ClientKey::to_jwk).collect::<Vec<_>>()});
        let now = NumericDate::now().seconds();
        let info = SystemInfo {
            client_id,
            name: name.to_owned(),
            scopes,
            kids: keys.iter().map(|k| k.kid().to_owned()).collect(),
            created_at: now,
            disabled_at: None,
        };
        let stored =
            serde_json::to_value(&info).map_err(|e| PeerError::Integrity(e.to_string()))?;
        let (jwks, scopes) = (jwks.to_string(), info.scopes.join(" "));
        let mut t = db::Transaction::begin(&self.db).await?;
        let mut tx = t.tx();
        db::systems::insert(
            &mut tx,
            &db::systems::NewSystem {
                client_id: &info.client_id,
                name,
                jwks: &jwks,
                scopes: &scopes,
                created_at: now,
            },
        )
        .await?;
        db::staff::insert_write_key(&mut tx, key, &stored, now).await?;
        t.commit().await?;
        tracing::info!("hospital system registered");
        Ok(info)
    }

    async fn system_row(&self, client_id: &str) -> Result<Option<SystemRow>> {
        db::systems::by_id(&self.db, client_id).await
    }

    fn system_info(row: SystemRow) -> Result<SystemInfo> {
        let SystemRow {
            client_id,
            name,
            jwks,
            scopes,
            created_at,
            disabled_at,
        } = row;
        let keys = stored_keys(&jwks)?;
        Ok(SystemInfo {
            client_id,
            name,
            scopes: scopes.split(' ').map(str::to_owned).collect(),
            kids: keys.iter().map(|k| k.kid().to_owned()).collect(),
            created_at,
            disabled_at,
        })
    }

    /// Every registered system, oldest first.
    pub async fn systems(&self) -> Result<SystemList> {
        let systems = db::systems::all(&self.db)
            .await?
            .into_iter()
            .map(Self::system_info)
            .collect::<Result<Vec<_>>>()?;
        Ok(SystemList { systems })
    }

    /// Disables a system: its tokens stop working at once and it gets no new ones.
    /// `unknown_system` (404) if there is no active system with this id.
    pub async fn disable_system(&self, client_id: &str) -> Result<SystemInfo> {
        self.disable_system_keyed(client_id, None).await
    }

    /// [`Peer::disable_system`] with a staff write's `Idempotency-Key`, stored with the answer
    /// in the same transaction; see docs/peer.md, "Retries: `Idempotency-Key`".
    pub async fn disable_system_keyed(
        &self,
        client_id: &str,
        key: Option<&WriteKey>,
    ) -> Result<SystemInfo> {
        let now = NumericDate::now().seconds();
        let Some(mut row) = self.system_row(client_id).await? else {
            return Err(PeerError::UnknownSystem);
        };
        row.disabled_at = Some(now);
        let info = Self::system_info(row)?;
        let stored =
            serde_json::to_value(&info).map_err(|e| PeerError::Integrity(e.to_string()))?;
        let mut t = db::Transaction::begin(&self.db).await?;
        let mut tx = t.tx();
        if !db::systems::disable(&mut tx, client_id, now).await? {
            return Err(PeerError::UnknownSystem);
        }
        db::staff::insert_write_key(&mut tx, key, &stored, now).await?;
        t.commit().await?;
        tracing::info!("hospital system disabled");
        Ok(info)
    }

    /// The token endpoint (SMART Backend Services): a form-encoded client-credentials request
    /// with an RFC 7523 client assertion. Answers a five-minute opaque bearer token for the
    /// requested scopes that the system is registered for.
    pub async fn system_token(
        &self,
        form: &[(String, String)],
    ) -> Result<std::result::Result<AccessToken, OAuthError>> {
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        match get("grant_type") {
            Some("client_credentials") => {}
            Some(_) => {
                return Ok(Err(OAuthError {
                    error: "unsupported_grant_type",
                    description: "only client_credentials".into(),
                }));
            }
            None => return Ok(Err(OAuthError::request("grant_type is required"))),
        }
        if get("client_assertion_type") != Some(ASSERTION_TYPE) {
            return Ok(Err(OAuthError::client(format!(
                "client_assertion_type must be {ASSERTION_TYPE}"
            ))));
        }
        let Some(text) = get("client_assertion") else {
            return Ok(Err(OAuthError::client("client_assertion is required")));
        };
        let Some(scope) = get("scope").filter(|s| !s.trim().is_empty()) else {
            return Ok(Err(OAuthError::request("scope is required")));
        };
        let a = match Assertion::parse(text) {
            Ok(a) => a,
            Err(e) => return Ok(Err(OAuthError::client(e.to_string()))),
        };
        if get("client_id").is_some_and(|c| c != a.iss) {
            return Ok(Err(OAuthError::client(
                "client_id is not the assertion's iss",
            )));
        }
        // The same answer for an unknown and a disabled client.
        let row = match self.system_row(&a.iss).await? {
            Some(r) if r.disabled_at.is_none() => r,
            _ => return Ok(Err(OAuthError::client("unknown or disabled client"))),
        };
        let SystemRow {
            jwks,
            scopes: registered,
            ..
        } = row;
        let keys = stored_keys(&jwks)?;
        let Some(key) = keys
            .iter()
            .find(|k| k.kid() == a.kid && k.kty() == a.alg.kty())
        else {
            return Ok(Err(OAuthError::client(format!(
                "no registered {} key has this kid",
                a.alg.kty()
            ))));
        };
        if !a.verified_by(key) {
            return Ok(Err(OAuthError::client(
                "the assertion's signature does not verify",
            )));
        }
        if a.sub != a.iss {
            return Ok(Err(OAuthError::client(
                "sub must equal iss (the client_id)",
            )));
        }
        let url = self.token_url();
        if !a.aud.contains(&url) {
            return Ok(Err(OAuthError::client(format!("aud must be {url}"))));
        }
        let now = NumericDate::now().seconds();
        if a.exp <= now {
            return Ok(Err(OAuthError::client("the assertion has expired")));
        }
        if a.exp > now.saturating_add(MAX_ASSERTION_SECS) {
            return Ok(Err(OAuthError::client(format!(
                "exp is more than {MAX_ASSERTION_SECS} seconds ahead"
            ))));
        }
        if a.nbf.is_some_and(|n| n > now) {
            return Ok(Err(OAuthError::client(
                "the assertion is not valid yet (nbf)",
            )));
        }
        // The replay store: a jti is accepted once per client until its assertion expires.
        let fresh = db::systems::remember_jti(&self.db, &a.iss, &a.jti, a.exp, now).await?;
        if !fresh {
            return Ok(Err(OAuthError::client(
                "this assertion's jti was already used",
            )));
        }
        let registered: Vec<&str> = registered.split(' ').collect();
        let mut granted: Vec<String> = Vec::new();
        for s in scope.split(' ').filter(|s| !s.is_empty()) {
            if !is_supported_scope(s) {
                return Ok(Err(OAuthError::scope(format!(
                    "unsupported scope {s}; supported: {}",
                    supported_scopes().join(" ")
                ))));
            }
            let allowed = registered.contains(&s) || registered.contains(&ALL_SCOPE);
            if allowed && !granted.iter().any(|g| g == s) {
                granted.push(s.to_owned());
            }
        }
        if granted.is_empty() {
            return Ok(Err(OAuthError::scope(
                "none of the requested scopes is registered for this client",
            )));
        }
        let raw: [u8; 32] = spondon_core::keys::random_bytes()?;
        let token = format!("{SYSTEM_TOKEN_PREFIX}{}", spondon_core::b64::encode(raw));
        let hash = token_hash(&token);
        let scope = granted.join(" ");
        db::systems::insert_token(
            &self.db,
            &db::systems::NewToken {
                token_hash: &hash[..],
                client_id: &a.iss,
                scopes: &scope,
                expires_at: now.saturating_add(ACCESS_TOKEN_SECS),
            },
            now,
        )
        .await?;
        tracing::info!("system access token issued");
        Ok(Ok(AccessToken {
            access_token: token,
            token_type: "Bearer",
            expires_in: ACCESS_TOKEN_SECS,
            scope,
        }))
    }

    /// The system of an access token that exists, has not expired and whose system is not
    /// disabled.
    pub async fn system_auth(&self, token: &str) -> Result<Option<SystemAuth>> {
        if !token.starts_with(SYSTEM_TOKEN_PREFIX) || token.len() > 100 {
            return Ok(None);
        }
        let hash = token_hash(token);
        let now = NumericDate::now().seconds();
        let row = db::systems::token(&self.db, &hash, now).await?;
        Ok(
            row.map(|db::systems::TokenGrant { client_id, scopes }| SystemAuth {
                client_id,
                scopes: scopes.split(' ').map(str::to_owned).collect(),
            }),
        )
    }

    /// `/.well-known/smart-configuration` (SMART App Launch v2 §Conformance).
    pub fn smart_configuration(&self) -> Value {
        json!({
            "token_endpoint": self.token_url(),
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES384", "RS384"],
            "grant_types_supported": ["client_credentials"],
            "scopes_supported": supported_scopes(),
            "capabilities": ["client-confidential-asymmetric"],
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_and_refuse_repeats() {
        let f = parse_form(b"grant_type=client_credentials&scope=system%2F*.c+x").unwrap();
        assert_eq!(f[1], ("scope".to_owned(), "system/*.c x".to_owned()));
        assert!(parse_form(b"a=1&a=2").is_err());
        assert!(parse_form(b"a=%zz").is_err());
    }
}
