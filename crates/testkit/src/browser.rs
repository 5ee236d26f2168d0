//! Headless Chromium over WebDriver (Debian `chromium` + `chromium-driver`) for the pages' tests:
//! finding the browser, a driver session killed on drop, and what a test does on a page.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::proc::{KillOnDrop, free_port, wait_listening};

/// The file `name` on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// (chromium, chromedriver), or why a browser test cannot run.
pub fn prerequisites() -> Result<(PathBuf, PathBuf), String> {
    let chromium = which("chromium")
        .or_else(|| which("chromium-browser"))
        .ok_or("chromium is not installed (scripts/setup.sh installs it)")?;
    let driver =
        which("chromedriver").ok_or("chromedriver is not installed (Debian chromium-driver)")?;
    Ok((chromium, driver))
}

/// axe-core's `axe.min.js` (`SPONDON_AXE`, or where `scripts/setup.sh` installs it).
pub fn axe_path() -> Result<PathBuf, String> {
    let p = std::env::var_os("SPONDON_AXE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| Path::new(&h).join(".cache/spondon/npm/node_modules/axe-core/axe.min.js"))
        })
        .ok_or("HOME is not set")?;
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "axe-core is missing at {} (scripts/setup.sh installs it)",
            p.display()
        ))
    }
}

/// The build's target directory (`CARGO_TARGET_DIR`, else the one the running test is in).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().unwrap();
            // target/<profile>/deps/<test>
            exe.ancestors().nth(3).unwrap().to_path_buf()
        })
}

/// `<target>/artifacts/<sub>`, created: where screenshots go.
pub fn artifacts(sub: &str) -> PathBuf {
    let dir = target_dir().join("artifacts").join(sub);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// JavaScript's truthiness of a value a script returned.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// One WebDriver call: its JSON answer.
pub async fn wd(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Value {
    let b = body.map(|b| b.to_string()).unwrap_or_default();
    let r = crate::http::request(
        addr,
        method,
        path,
        &[("Content-Type", "application/json")],
        b.as_bytes(),
    )
    .await;
    serde_json::from_slice(&r.body).unwrap_or_else(|_| panic!("WebDriver {path}: {}", r.text()))
}

/// A chromedriver with one headless Chromium session (1280×800); both end when dropped.
#[derive(Debug)]
pub struct Driver {
    addr: SocketAddr,
    session: String,
    driver: KillOnDrop,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group (chromedriver, Chromium and its helpers); `KillOnDrop` then reaps
        // chromedriver.
        let group = self.driver.id();
        if group != 0 {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{group}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Driver {
    /// Starts chromedriver and a session of `chromium` headless with these extra arguments.
    pub async fn start(driver: &Path, chromium: &Path, extra_args: &[String]) -> Driver {
        let port = free_port();
        // In a process group of its own, with the Chromium it starts: dropping the driver ends
        // the group (killing chromedriver alone left its Chromium running after the test).
        let child = KillOnDrop::new(
            Command::new(driver)
                .arg(format!("--port={port}"))
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        wait_listening(addr).await;
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,800",
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend_from_slice(extra_args);
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let r = wd(addr, "POST", "/session", Some(&caps)).await;
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_owned();
        Driver {
            addr,
            session,
            driver: child,
        }
    }

    /// A command of the session; panics on a WebDriver error.
    pub async fn cmd(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let v = wd(
            self.addr,
            method,
            &format!("/session/{}{path}", self.session),
            body,
        )
        .await;
        if v["value"]["error"].is_string() {
            panic!("WebDriver {path}: {v}");
        }
        v["value"].clone()
    }

    /// Loads `url` in the browser window.
    pub async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(&json!({"url": url}))).await;
    }

    /// Opens a new window and switches to it; returns the previous window's handle.
    pub async fn new_window(&self) -> String {
        let old = self.cmd("GET", "/window", None).await;
        let w = self
            .cmd("POST", "/window/new", Some(&json!({"type": "window"})))
            .await;
        self.cmd("POST", "/window", Some(&json!({"handle": w["handle"]})))
            .await;
        old.as_str().unwrap().to_owned()
    }

    /// Switches to the window `handle`; returns the previous one's.
    pub async fn switch(&self, handle: &str) -> String {
        let old = self.cmd("GET", "/window", None).await;
        self.cmd("POST", "/window", Some(&json!({"handle": handle})))
            .await;
        old.as_str().unwrap().to_owned()
    }

    /// The element matching `css` (its WebDriver reference).
    pub async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(&json!({"using": "css selector", "value": css})),
            )
            .await;
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_owned()
    }

    /// Clicks the first element matching the CSS selector `css`.
    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{e}/click"), Some(&json!({})))
            .await;
    }

    /// Types like a user (clears first).
    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{e}/clear"), Some(&json!({})))
            .await;
        self.keys(css, text).await;
    }

    /// Sends keys (text, or WebDriver key codes) to an element.
    pub async fn keys(&self, css: &str, keys: &str) {
        let e = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(&json!({"text": keys})),
        )
        .await;
    }

    /// Chooses a file in a file input, as a user picking it would.
    pub async fn choose_file(&self, css: &str, path: &Path) {
        self.js(&format!(
            "document.querySelector({}).value = ''",
            json!(css)
        ))
        .await;
        self.keys(css, path.to_str().unwrap()).await;
    }

    /// Sets a select's or date input's value and fires `change`.
    pub async fn set(&self, css: &str, value: &str) {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(&json!({"script": "const e = document.querySelector(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('change', {bubbles: true})); return e.value;", "args": [css, value]})),
        )
        .await;
    }

    /// Runs a script in the page: what it returns.
    pub async fn js(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(&json!({"script": script, "args": []})),
        )
        .await
    }

    /// The text shown by the element matching `css` ("" if there is none).
    pub async fn text(&self, css: &str) -> String {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(&json!({"script": "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", "args": [css]})),
        )
        .await
        .as_str()
        .unwrap_or("")
        .to_owned()
    }

    /// The text shown by the element with this id ("" if there is none).
    pub async fn text_by_id(&self, id: &str) -> String {
        self.text(&format!("[id={}]", json!(id))).await
    }

    /// Whether the element matching `css` exists and is rendered.
    pub async fn visible(&self, css: &str) -> bool {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(&json!({"script": "const e = document.querySelector(arguments[0]); return !!e && e.offsetParent !== null;", "args": [css]})),
        )
        .await
        .as_bool()
        .unwrap_or(false)
    }

    /// Polls `script` until it returns something truthy (up to 30 s); panics with the page's
    /// text otherwise.
    pub async fn wait_for(&self, what: &str, script: &str) -> Value {
        for _ in 0..300 {
            let v = self.js(script).await;
            if truthy(&v) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let page = self.js("return document.body.innerText").await;
        panic!("timed out waiting for {what}; the page shows: {page}");
    }

    /// Sets the window to `w`×`h`.
    pub async fn size(&self, w: u32, h: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(&json!({"width": w, "height": h})),
        )
        .await;
    }

    /// Sets the viewport (not the window) to `w`×`h` CSS pixels.
    pub async fn resize(&self, w: u32, h: u32) {
        let (mut ww, mut wh) = (w, h);
        for _ in 0..3 {
            self.size(ww, wh).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let inner = self.js("return [innerWidth, innerHeight]").await;
            let (iw, ih) = (
                inner[0].as_u64().unwrap_or(0),
                inner[1].as_u64().unwrap_or(0),
            );
            if (iw, ih) == (u64::from(w), u64::from(h)) {
                return;
            }
            ww = (i64::from(ww) + i64::from(w) - iw as i64) as u32;
            wh = (i64::from(wh) + i64::from(h) - ih as i64) as u32;
        }
    }

    /// A PNG of the window as it is.
    pub async fn screenshot_png(&self) -> Vec<u8> {
        let v = self.cmd("GET", "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    }

    /// Saves a screenshot to `path`.
    pub async fn screenshot_to(&self, path: &Path) {
        std::fs::write(path, self.screenshot_png().await).unwrap();
    }

    /// How far the page scrolls sideways (CSS pixels; 0 when it fits).
    pub async fn sideways(&self) -> i64 {
        self.js(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
        )
        .await
        .as_i64()
        .unwrap_or(0)
    }

    /// Runs axe-core (the script `axe`) on the page as it is: its critical and serious
    /// violations, each in words (or that it checked nothing).
    pub async fn axe(&self, axe: &str) -> Vec<String> {
        if self.js("return typeof window.axe === 'object'").await != json!(true) {
            self.js(&format!("{axe}\nreturn true;")).await;
        }
        let v = self
            .cmd(
                "POST",
                "/execute/async",
                Some(&json!({"script": "const done = arguments[arguments.length - 1];
                    axe.run(document)
                      .then(r => done(r.passes.length === 0 ? ['axe-core checked nothing'] : r.violations.filter(v => v.impact === 'critical' || v.impact === 'serious')
                        .map(v => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + (n.failureSummary || '')).join(', ')})`)))
                      .catch(e => done([`axe failed: ${e}`]));", "args": []})),
            )
            .await;
        v.as_array()
            .into_iter()
            .flatten()
            .map(|x| x.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Whether an XSS probe (`window.__xss = 1`) ran.
    pub async fn xss_fired(&self) -> bool {
        self.js("return window.__xss === 1").await == json!(true)
    }
}
