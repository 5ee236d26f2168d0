//! A small HTTP/1.1 client for talking to peers: one request per connection
//! (`Connection: close`), bounded in time and size. Plain `http://` only: a peer's public
//! `https://` URL is reached through the address configured for it (`peer_addresses`), e.g. a
//! local TLS-terminating proxy.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Largest response accepted from a peer.
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;
/// Time limit for one request, connect to last byte.
pub const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("not an http://host:port address: {0}")]
    BadUrl(String),
    #[error("cannot connect to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("{0} did not answer in time")]
    Timeout(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} sent a response larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge(String),
    #[error("{0} sent a malformed HTTP response")]
    Malformed(String),
}

/// `http://host[:port][/base]` → (host:port, base path without trailing slash).
pub fn parse_http_url(url: &str) -> Result<(String, String), HttpError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| HttpError::BadUrl(url.to_owned()))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if host.is_empty()
        || host.contains(['@', '?', '#', ' '])
        || path.contains(['?', '#', ' '])
        || !url.is_ascii()
    {
        return Err(HttpError::BadUrl(url.to_owned()));
    }
    let host = if host.contains(':') && !host.ends_with(']') {
        host.to_owned()
    } else {
        format!("{host}:80")
    };
    Ok((host, path.to_owned()))
}

/// A response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// One request to `base` (`http://host:port[/base]`) + `path`.
pub async fn request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response, HttpError> {
    let (host, prefix) = parse_http_url(base)?;
    match tokio::time::timeout(
        TIMEOUT,
        exchange(&host, method, &format!("{prefix}{path}"), headers, body),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => Err(HttpError::Timeout(host)),
    }
}

async fn exchange(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response, HttpError> {
    let mut s = tokio::net::TcpStream::connect(host)
        .await
        .map_err(|e| HttpError::Connect(host.to_owned(), e))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(k);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let io = |e| HttpError::Io(host.to_owned(), e);
    s.write_all(head.as_bytes()).await.map_err(io)?;
    s.write_all(body).await.map_err(io)?;
    let mut buf = Vec::new();
    (&mut s)
        .take(MAX_RESPONSE_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .await
        .map_err(io)?;
    if buf.len() > MAX_RESPONSE_BYTES {
        return Err(HttpError::TooLarge(host.to_owned()));
    }
    let malformed = || HttpError::Malformed(host.to_owned());
    let mut hs = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut hs);
    let n = match resp.parse(&buf) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => return Err(malformed()),
    };
    let status = resp.code.ok_or_else(malformed)?;
    let mut chunked = false;
    let mut length = None;
    for h in resp.headers.iter() {
        let v = String::from_utf8_lossy(h.value).into_owned();
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = v.to_ascii_lowercase().contains("chunked");
        } else if h.name.eq_ignore_ascii_case("content-length") {
            length = Some(v.trim().parse::<usize>().map_err(|_| malformed())?);
        }
    }
    let rest = &buf[n..];
    let body = if chunked {
        dechunk(rest).ok_or_else(malformed)?
    } else if let Some(len) = length {
        rest.get(..len).ok_or_else(malformed)?.to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response { status, body })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&b[..nl]).ok()?;
        let size = size.split(';').next()?.trim();
        let n = usize::from_str_radix(size, 16).ok()?;
        b = b.get(nl + 2..)?;
        if n == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..n)?);
        b = b.get(n + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_http_url("http://127.0.0.1:8400").unwrap(),
            ("127.0.0.1:8400".into(), "".into())
        );
        assert_eq!(
            parse_http_url("http://peer.lan/api/").unwrap(),
            ("peer.lan:80".into(), "/api".into())
        );
        assert!(parse_http_url("https://x").is_err());
        assert!(parse_http_url("http://a@b").is_err());
        assert_eq!(dechunk(b"3\r\nabc\r\n0\r\n\r\n").unwrap(), b"abc");
        assert!(dechunk(b"ff\r\nabc").is_none());
    }
}
