//! Background refresh: a newer trust list (from `trust_list_url`, else from the pinned list's
//! `publish_url`) and each
//! hospital's card revocation lists (`/.well-known/jwks.json`, `/.well-known/crl/<kid>.json`),
//! cached in the database so checks keep working offline. Peers do not publish grant
//! revocations (they enforce them at redemption), so none are fetched.

use std::sync::Arc;

use spondon_core::NumericDate;
use spondon_core::shc::Crl;

use super::db::StoredCrl;
use super::{Node, NodeError};

/// One refresh round. Errors per source are recorded (and shown as freshness), not returned.
pub async fn refresh_once(node: &Node) -> Result<(), NodeError> {
    let now = NumericDate::now().0;
    // The configured URL, else where the pinned list says the authority publishes it.
    let url = node
        .config
        .trust_list_url
        .clone()
        .or_else(|| node.trust().list.publish_url.clone());
    if let Some(url) = url {
        let r = fetch_text(node, &url).await;
        let outcome = match r {
            Ok(text) => node
                .offer_trust_list(&text)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        node.db
            .record_refresh(
                "trust_list",
                now,
                outcome.as_ref().err().map(String::as_str),
            )
            .await?;
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "trust list refresh failed");
        }
    }
    let trust = node.trust();
    for h in &trust.list.hospitals {
        let source = format!("crl:{}", h.peer_url);
        let outcome = refresh_crls(
            node,
            &h.peer_url,
            h.record_keys.iter().map(|k| k.kid().to_owned()).collect(),
            now,
        )
        .await;
        if let Err(e) = &outcome {
            tracing::warn!(hospital = %h.id, error = %e, "revocation list refresh failed");
        }
        node.db
            .record_refresh(&source, now, outcome.as_ref().err().map(String::as_str))
            .await?;
    }
    node.rebuild_trust(None).await
}

async fn fetch_text(node: &Node, url: &str) -> Result<String, String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        let r = node.peers.get(url).await.map_err(|e| e.to_string())?;
        if r.status != 200 {
            return Err(format!("HTTP {}", r.status));
        }
        String::from_utf8(r.body).map_err(|_| "not text".into())
    } else {
        tokio::fs::read_to_string(url)
            .await
            .map_err(|e| format!("{url}: {e}"))
    }
}

async fn refresh_crls(
    node: &Node,
    peer_url: &str,
    kids: Vec<String>,
    now: i64,
) -> Result<(), String> {
    for kid in kids {
        let r = node
            .peers
            .request(
                peer_url,
                "GET",
                &format!("/.well-known/crl/{kid}.json"),
                &[],
                Vec::new(),
            )
            .await
            .map_err(|e| e.to_string())?;
        match r.status {
            200 => {
                let text = String::from_utf8(r.body).map_err(|_| "a CRL is not text".to_owned())?;
                Crl::from_json(&text).map_err(|e| format!("CRL of {kid}: {e}"))?;
                node.db
                    .store_crl(&StoredCrl {
                        issuer: peer_url.to_owned(),
                        kid,
                        crl: text,
                        fetched_at: now,
                    })
                    .await
                    .map_err(|e| e.to_string())?;
            }
            404 => {} // no revocations published for this key
            s => return Err(format!("CRL of {kid}: HTTP {s}")),
        }
    }
    Ok(())
}

/// Refreshes now and then every `refresh_secs` until `stop` fires.
pub async fn run(node: Arc<Node>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = std::time::Duration::from_secs(node.config.refresh_secs);
    loop {
        if let Err(e) = refresh_once(&node).await {
            tracing::warn!(error = %e, "refresh failed");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}
