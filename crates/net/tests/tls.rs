//! The client and the server over real TLS on 127.0.0.1, with a CA made at test time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use axum::routing::get;
use spondon_net::server::{self, TlsFiles};
use spondon_net::test_ca::TestCa;
use spondon_net::{Client, ClientOptions, NetError};

struct Served {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.unwrap().unwrap();
    }
}

async fn serve(tls: Option<&TlsFiles>) -> Served {
    let app = axum::Router::new()
        .route("/hello", get(|| async { "hello over the wire" }))
        .route(
            "/who",
            get(
                |axum::extract::ConnectInfo(a): axum::extract::ConnectInfo<SocketAddr>| async move {
                    a.ip().to_string()
                },
            ),
        )
        .route("/big", get(|| async { vec![b'x'; 100_000] }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cfg = tls.map(|f| server::server_config(f).unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server::serve(listener, cfg, app, async {
        let _ = rx.await;
    }));
    Served {
        addr,
        stop: Some(tx),
        task,
    }
}

fn client(ca: Option<&std::path::Path>) -> Client {
    Client::new(&ClientOptions {
        ca_files: ca.map(|p| vec![p.to_owned()]).unwrap_or_default(),
        ..ClientOptions::default()
    })
    .unwrap()
}

async fn get_text(c: &Client, url: &str) -> Result<String, NetError> {
    let r = c.request("GET", url, &[], Vec::new(), 1 << 20).await?;
    assert_eq!(r.status, 200);
    Ok(String::from_utf8(r.body).unwrap())
}

#[tokio::test]
async fn https_with_the_configured_ca_and_clear_refusals_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Spondon test CA").unwrap();
    let ca_file = ca.write_ca(dir.path(), "ca").unwrap();
    let files = ca
        .issue(dir.path(), "peer", &["localhost", "127.0.0.1"])
        .unwrap();
    let s = serve(Some(&files)).await;
    let port = s.addr.port();

    // Trusted CA: by IP and by name, with the client's address reaching the handler.
    let good = client(Some(&ca_file));
    assert_eq!(
        get_text(&good, &format!("https://127.0.0.1:{port}/hello"))
            .await
            .unwrap(),
        "hello over the wire"
    );
    assert_eq!(
        get_text(&good, &format!("https://localhost:{port}/who"))
            .await
            .unwrap(),
        "127.0.0.1"
    );

    // Mozilla's roots only: the test CA is not among them.
    let e = get_text(&client(None), &format!("https://127.0.0.1:{port}/hello"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "tls", "{e}");
    assert!(e.to_string().contains("not signed by a trusted CA"), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("https://127.0.0.1:{port}")),
        "{e}"
    );

    // Another CA's certificate for the same address.
    let other = TestCa::new("Another CA").unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other_ca = other.write_ca(other_dir.path(), "ca").unwrap();
    let e = get_text(
        &client(Some(&other_ca)),
        &format!("https://127.0.0.1:{port}/hello"),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "tls", "{e}");

    // A path in the URL (it can hold a Health ID) never reaches the error.
    let e = get_text(
        &client(None),
        &format!("https://127.0.0.1:{port}/patient/1137-0975-7389-43"),
    )
    .await
    .unwrap_err();
    assert!(!e.to_string().contains("1137"), "{e}");

    // An answer larger than the caller takes.
    let e = good
        .request(
            "GET",
            &format!("https://127.0.0.1:{port}/big"),
            &[],
            Vec::new(),
            10_000,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "too_large", "{e}");
    s.stop().await;
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Spondon test CA").unwrap();
    let ca_file = ca.write_ca(dir.path(), "ca").unwrap();
    let files = ca.issue(dir.path(), "peer", &["dmch.example"]).unwrap();
    let s = serve(Some(&files)).await;
    let e = get_text(
        &client(Some(&ca_file)),
        &format!("https://127.0.0.1:{}/hello", s.addr.port()),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "tls", "{e}");
    assert!(e.to_string().contains("another host name"), "{e}");
    s.stop().await;
}

#[tokio::test]
async fn https_to_a_plain_http_server_and_plain_http_still_work_as_said() {
    let s = serve(None).await;
    let port = s.addr.port();
    let c = client(None);
    assert_eq!(
        get_text(&c, &format!("http://127.0.0.1:{port}/hello"))
            .await
            .unwrap(),
        "hello over the wire"
    );
    let e = get_text(&c, &format!("https://127.0.0.1:{port}/hello"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "tls", "{e}");
    assert!(e.to_string().contains("did not answer in TLS"), "{e}");
    s.stop().await;
    // Nobody listening.
    let e = get_text(&c, &format!("http://127.0.0.1:{port}/hello"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unreachable", "{e}");
}

#[tokio::test]
async fn bad_tls_files_are_refused_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Spondon test CA").unwrap();
    let a = ca.issue(dir.path(), "a", &["localhost"]).unwrap();
    let b = ca.issue(dir.path(), "b", &["localhost"]).unwrap();
    // A key that is not the certificate's.
    let mixed = TlsFiles {
        cert: a.cert.clone(),
        key: b.key.clone(),
    };
    let e = server::server_config(&mixed).unwrap_err();
    assert_eq!(e.code(), "tls_config", "{e}");
    // A missing file; a file with no certificate; a certificate where the key should be.
    let missing = TlsFiles {
        cert: dir.path().join("nope.crt"),
        key: a.key.clone(),
    };
    assert_eq!(
        server::server_config(&missing).unwrap_err().code(),
        "file_unreadable"
    );
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a pem\n").unwrap();
    let e = server::server_config(&TlsFiles {
        cert: empty.clone(),
        key: a.key.clone(),
    })
    .unwrap_err();
    assert_eq!(e.code(), "pem_empty", "{e}");
    let e = server::server_config(&TlsFiles {
        cert: a.cert.clone(),
        key: a.cert.clone(),
    })
    .unwrap_err();
    assert_eq!(e.code(), "pem_empty", "{e}");
    assert!(e.to_string().contains("private key"), "{e}");
    // A client's CA file with nothing in it.
    let e = Client::new(&ClientOptions {
        ca_files: vec![empty],
        ..ClientOptions::default()
    })
    .unwrap_err();
    assert_eq!(e.code(), "pem_empty", "{e}");
}

#[tokio::test]
async fn bad_urls_are_refused_without_a_connection() {
    let c = client(None);
    for bad in ["ftp://x/", "not a url", "https://", "mailto:a@b"] {
        let e = c
            .request("GET", bad, &[], Vec::new(), 10)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "bad_url", "{bad}: {e}");
    }
}
