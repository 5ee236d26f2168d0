//! Processes: the workspace's binaries built by cargo on first use in each test process (always
//! asked, so never stale), free ports, readiness waits and kill-on-drop guards.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Mutex;
use std::time::Duration;

/// The binary `bin` of package `package`, built (`cargo build`, a no-op when up to date) into the
/// target directory of the running test or example, once per process.
pub fn cargo_bin(package: &str, bin: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = built.get(bin) {
        return p.clone();
    }
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> or target/<profile>/examples/<example>.
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-q", "-p", package, "--bin", bin]);
    if profile_dir.ends_with("release") {
        cmd.arg("--release");
    }
    let status = cmd
        .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success(), "building {bin} failed");
    let path = profile_dir.join(bin);
    assert!(path.exists(), "{} is missing", path.display());
    built.insert(bin.to_owned(), path.clone());
    path
}

/// A port free on 127.0.0.1 now.
pub fn free_port() -> u16 {
    free_addr().port()
}

/// An address free on 127.0.0.1 now.
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Runs `bin args…`, which must succeed: its standard output (stderr shown if it failed).
pub fn run_ok(bin: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(bin).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The standard output of a command that must have succeeded (both streams shown if it failed).
pub fn ok(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// A child process killed (SIGKILL) and reaped when dropped, so a failing test leaves none.
#[derive(Debug)]
pub struct KillOnDrop(Option<Child>);

impl KillOnDrop {
    /// Guards `child`.
    pub fn new(child: Child) -> Self {
        KillOnDrop(Some(child))
    }

    /// The process, while it is guarded.
    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().unwrap()
    }

    /// Its process id (0 once it was taken).
    pub fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }

    /// SIGTERM, then waits: its output (what the spawner piped).
    pub fn terminate(mut self) -> std::process::Output {
        let child = self.0.take().unwrap();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait_with_output().unwrap()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits until something accepts connections on `addr` (up to ~20 s).
pub async fn wait_listening(addr: SocketAddr) {
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {addr}");
}

/// Waits until `GET /readyz` on `addr` answers 200, failing at once (with its log) if `child`
/// exits meanwhile.
pub async fn wait_ready(child: &mut Child, addr: SocketAddr, log: &Path) {
    for _ in 0..1200 {
        if let Some(status) = child.try_wait().unwrap() {
            let err = std::fs::read_to_string(log).unwrap_or_default();
            panic!("serve on {addr} exited ({status}) while starting: {err}");
        }
        if let Some(r) = crate::http::try_request(addr, "GET", "/readyz", &[], b"").await
            && r.status == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("serve on {addr} never became ready");
}
