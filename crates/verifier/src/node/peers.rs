//! How the clinic node reaches the hospitals' peers: `spondon-net`'s HTTPS client (rustls on
//! ring, Mozilla's roots plus the CAs in `ca_files`), at each peer's public URL from the trust
//! list — or at the address configured for it (`peer_addresses`, e.g. the peer on the
//! clinic's LAN). Errors name the peer's origin, never a path.

use std::collections::BTreeMap;
use std::time::Duration;

use spondon_net::{Client, ClientOptions, NetError, Response};

use super::NodeError;
use super::config::Config;

/// Largest answer accepted from a peer.
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;
/// Time limit for one request, connect to last byte.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The node's transport to peers.
#[derive(Debug, Clone)]
pub struct Peers {
    net: Client,
    addresses: BTreeMap<String, String>,
}

impl Peers {
    /// From the node's configuration (`ca_files`, `peer_addresses`).
    pub fn new(config: &Config, data: &super::config::DataDir) -> Result<Self, NodeError> {
        let net = Client::new(&ClientOptions {
            ca_files: config.ca_files.iter().map(|p| data.resolve(p)).collect(),
            timeout: TIMEOUT,
            ..ClientOptions::default()
        })
        .map_err(crate::node::ConfigError::CaFiles)?;
        Ok(Self {
            net,
            addresses: config.peer_addresses.clone(),
        })
    }

    /// The base URL requests for `peer_url` go to.
    pub fn base<'a>(&'a self, peer_url: &'a str) -> &'a str {
        self.addresses
            .get(peer_url)
            .map(String::as_str)
            .unwrap_or(peer_url)
            .trim_end_matches('/')
    }

    /// One request to `path` at the peer whose public URL is `peer_url`.
    pub async fn request(
        &self,
        peer_url: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Response, NetError> {
        let url = format!("{}{path}", self.base(peer_url));
        self.net
            .request(method, &url, headers, body, MAX_RESPONSE_BYTES)
            .await
    }

    /// [`Peers::request`] accepting at most `limit` bytes of answer (a document file: its
    /// card's size + 1, so that a longer file is seen as such without reading it all).
    pub async fn request_limited(
        &self,
        peer_url: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        limit: usize,
    ) -> Result<Response, NetError> {
        let url = format!("{}{path}", self.base(peer_url));
        self.net.request(method, &url, headers, body, limit).await
    }

    /// A GET of a whole URL (the trust list's publish URL).
    pub async fn get(&self, url: &str) -> Result<Response, NetError> {
        self.net
            .request("GET", url, &[], Vec::new(), MAX_RESPONSE_BYTES)
            .await
    }
}
