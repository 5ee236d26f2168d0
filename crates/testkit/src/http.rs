//! One HTTP/1.1 request on a fresh connection (`Connection: close`), written byte by byte: what a
//! test sends is exactly what the server reads, malformed or oversized included.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// An answer: status, headers in order, body (de-chunked).
#[derive(Debug, Clone)]
pub struct Resp {
    /// The HTTP status.
    pub status: u16,
    /// The headers, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON (panics, showing the body, when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as text (lossy UTF-8), for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The problem code of a problem+json answer (panics if it is not one).
    pub fn code(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text()
        );
        self.json()["code"].as_str().unwrap().to_owned()
    }
}

/// One request; panics when no complete answer comes. A server may answer (413) before it has
/// read the whole body: an error writing the body is ignored.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let buf = exchange(addr, method, path, headers, body, false)
        .await
        .unwrap_or_else(|e| panic!("{method} {path} on {addr}: {e}"));
    parse(&buf).unwrap_or_else(|| {
        panic!(
            "{method} {path} on {addr}: no response head: {}",
            String::from_utf8_lossy(&buf)
        )
    })
}

/// A POST of `body` as JSON with `Authorization: Bearer {token}` (a staff or operator token);
/// panics when no complete answer comes, like [`request`].
pub async fn post_json(addr: SocketAddr, path: &str, token: &str, body: &Value) -> Resp {
    let auth = format!("Bearer {token}");
    request(
        addr,
        "POST",
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
    .await
}

/// The body of a GET that must answer 200 (and answer at all).
pub async fn get_ok(addr: SocketAddr, path: &str) -> Vec<u8> {
    let r = try_request(addr, "GET", path, &[], b"")
        .await
        .unwrap_or_else(|| panic!("GET {path} on {addr}: no answer"));
    assert_eq!(r.status, 200, "GET {path} on {addr}: {}", r.text());
    r.body
}

/// One request to a server that may die under it: `None` when it did not answer completely
/// (refused, reset, cut short, or nothing within 30 s).
pub async fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<Resp> {
    let buf = tokio::time::timeout(
        Duration::from_secs(30),
        exchange(addr, method, path, headers, body, true),
    )
    .await
    .ok()?
    .ok()?;
    let resp = parse(&buf)?;
    // A response cut short by a kill is no answer (a chunked one parses only when complete).
    if resp
        .header("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        return Some(resp);
    }
    let len: usize = resp.header("content-length")?.parse().ok()?;
    (resp.body.len() == len).then_some(resp)
}

/// Writes the request; reads to the end of the body (`Content-Length`) or of the connection (some
/// servers, chromedriver, keep it open despite `Connection: close`).
async fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    strict: bool,
) -> Result<Vec<u8>, String> {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let sent = s.write_all(body).await;
    if strict {
        sent.map_err(|e| format!("write: {e}"))?;
    }
    let mut buf = Vec::new();
    // On the heap: an array here would be held across the read's await, making this future —
    // and every test future that awaits a request — 16 KiB larger (see `inproc`).
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = match s.read(&mut chunk).await {
            Ok(n) => n,
            Err(e) if strict => return Err(format!("read: {e}")),
            Err(_) => 0,
        };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..p]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if len.is_some_and(|len| buf.len() >= p + 4 + len) {
                break;
            }
        }
    }
    Ok(buf)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parses an answer; `None` without a complete head.
pub fn parse(buf: &[u8]) -> Option<Resp> {
    let split = find(buf, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = buf[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body)?;
    }
    Some(Resp {
        status,
        headers,
        body,
    })
}

/// A chunked body's bytes; `None` when it is cut short or malformed.
fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let nl = find(b, b"\r\n")?;
        let n = usize::from_str_radix(std::str::from_utf8(&b[..nl]).ok()?.trim(), 16).ok()?;
        b = &b[nl + 2..];
        if n == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..n)?);
        b = b.get(n + 2..)?;
    }
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_answer_is_joined_and_a_cut_one_refused() {
        let r = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"abcde");
        assert!(parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nabc").is_none());
        assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Le").is_none());
    }
}
