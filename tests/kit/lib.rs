//! The harness of the app's end-to-end tests: the world they run against (real peers, a real
//! clinic node, started by `scripts/e2e-app.sh` through `scripts/world.sh`), and [`App`], the
//! built Spondon app under Xvfb driven over WebDriver (tauri-driver in front of Debian's
//! WebKitWebDriver).
//!
//! Screenshots are grabbed from the X display (ImageMagick `import`), because WebKitWebDriver's
//! own screenshot call returns a blank image under Xvfb. Every captured screen is also checked
//! with axe-core; critical and serious violations are collected and fail the test at the end.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// The window sizes every screen is captured at: a laptop, a phone and a small phone.
pub const SIZES: [(&str, u32, u32); 3] = [
    ("desktop", 1280, 800),
    ("phone", 390, 844),
    ("small-phone", 360, 640),
];

/// What `scripts/e2e-app.sh` hands the test, through the environment.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The release-built app (`scripts/build-app.sh`).
    pub app: PathBuf,
    /// tauri-driver's WebDriver address.
    pub driver: String,
    /// Where screenshots and the accessibility report go.
    pub artifacts: PathBuf,
    /// axe-core's `axe.min.js`.
    pub axe: PathBuf,
    /// The `spondon-verifier` binary (for `check` on the exported file).
    pub verifier: PathBuf,
    /// The `spondon` CLI (a family member's wallet).
    pub spondon: PathBuf,
    /// The world (`world.env` from `scripts/world.sh`).
    pub world: World,
    /// The wallet's directory and the exports' directory, as given to the app.
    pub wallet_dir: PathBuf,
    pub export_dir: PathBuf,
}

impl Setup {
    /// Reads the setup from `SPONDON_E2E_*`; `None` when the test is not run by
    /// `scripts/e2e-app.sh` (then it is skipped, unless `SPONDON_REQUIRE_APP_E2E=1`).
    pub fn from_env() -> Result<Option<Setup>> {
        let Some(world) = std::env::var_os("SPONDON_E2E_WORLD") else {
            if std::env::var("SPONDON_REQUIRE_APP_E2E").as_deref() == Ok("1") {
                bail!(
                    "SPONDON_REQUIRE_APP_E2E=1 but SPONDON_E2E_WORLD is not set: run scripts/e2e-app.sh"
                );
            }
            return Ok(None);
        };
        let var = |k: &str| {
            std::env::var_os(k)
                .map(PathBuf::from)
                .ok_or_else(|| anyhow!("{k} is not set (scripts/e2e-app.sh sets it)"))
        };
        Ok(Some(Setup {
            app: var("SPONDON_E2E_APP")?,
            driver: std::env::var("SPONDON_E2E_DRIVER")
                .unwrap_or_else(|_| "http://127.0.0.1:4444".into()),
            artifacts: var("SPONDON_E2E_ARTIFACTS")?,
            axe: var("SPONDON_E2E_AXE")?,
            verifier: var("SPONDON_E2E_VERIFIER")?,
            spondon: var("SPONDON_E2E_SPONDON")?,
            world: World::load(Path::new(&world))?,
            wallet_dir: var("SPONDON_WALLET_DIR")?,
            export_dir: var("SPONDON_EXPORT_DIR")?,
        }))
    }
}

/// The running consortium the app talks to (see `scripts/world.sh`).
#[derive(Debug, Clone)]
pub struct World {
    vars: BTreeMap<String, String>,
}

impl World {
    pub fn load(path: &Path) -> Result<World> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the world file {}", path.display()))?;
        let vars = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
            .collect();
        Ok(World { vars })
    }

    /// One `WORLD_*` value.
    pub fn get(&self, key: &str) -> Result<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| anyhow!("the world file has no {key}"))
    }

    /// A JSON request to the clinic node's staff API: `(status, body)`.
    pub async fn clinic(&self, path: &str, body: &Value) -> Result<(u16, Value)> {
        let url = format!("{}{path}", self.get("WORLD_CLINIC")?);
        let res = reqwest::Client::new()
            .post(&url)
            .bearer_auth(self.get("WORLD_CLINIC_STAFF")?)
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = res.status().as_u16();
        let body = res.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// A hospital issues the patient a document record (`docs/protocol.md` §18.3): uploads
    /// `bytes` to `POST /staff/files`, then issues a record whose DocumentReference names it by
    /// its SHA-256, of LOINC type `loinc`, in grant `category`. Returns the record id.
    pub async fn issue_document(
        &self,
        hospital: &str,
        bytes: &[u8],
        content_type: &str,
        title: &str,
        loinc: &str,
        category: &str,
    ) -> Result<String> {
        use base64::Engine as _;
        let base = self.get(&format!("WORLD_{hospital}_ADDR"))?;
        let token = self.get(&format!("WORLD_{hospital}_STAFF"))?;
        let http = reqwest::Client::new();
        let res = http
            .post(format!("{base}/staff/files"))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(bytes.to_vec())
            .send()
            .await
            .context("POST /staff/files")?;
        let status = res.status().as_u16();
        let up: Value = res.json().await.unwrap_or(Value::Null);
        ensure!(status / 100 == 2, "the upload answered {status}: {up}");
        let sha = hex::decode(up["sha256"].as_str().unwrap_or_default())
            .context("the upload named no SHA-256")?;
        let body = json!({"health_id": self.get(&format!("WORLD_{hospital}_HID"))?,
            "kind": "document", "resources": [{
                "resourceType": "DocumentReference", "status": "current",
                "type": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
                "category": [{"coding": [{"system": "https://spondon.health/fhir/CodeSystem/record-category",
                                          "code": category}]}],
                "content": [{"attachment": {"contentType": content_type, "title": title,
                    "extension": [{"url": "https://spondon.health/fhir/StructureDefinition/attachment-sha256",
                                   "valueBase64Binary": base64::engine::general_purpose::STANDARD.encode(sha)}]}}]}]});
        let res = http
            .post(format!("{base}/staff/records"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .context("POST /staff/records")?;
        let status = res.status().as_u16();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        ensure!(
            status / 100 == 2,
            "issuing the document answered {status}: {v}"
        );
        Ok(v["id"].as_str().context("no record id")?.to_owned())
    }

    /// A POST with a hospital's staff token (`hospital`: `DMCH` or `LABAID`): `(status, body)`.
    pub async fn peer_staff(&self, hospital: &str, path: &str) -> Result<(u16, Value)> {
        let url = format!("{}{path}", self.get(&format!("WORLD_{hospital}_ADDR"))?);
        let res = reqwest::Client::new()
            .post(&url)
            .bearer_auth(self.get(&format!("WORLD_{hospital}_STAFF"))?)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = res.status().as_u16();
        let body = res.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }
}

/// An accessibility finding from axe-core.
#[derive(Debug, Clone)]
pub struct A11yIssue {
    pub screen: String,
    pub rule: String,
    pub impact: String,
    pub nodes: usize,
    pub help: String,
}

/// The app's window, driven over WebDriver.
pub struct App {
    client: Client,
    artifacts: PathBuf,
    axe_source: String,
    /// Serious and critical axe findings, over every captured screen.
    pub a11y: Vec<A11yIssue>,
    /// Screens captured so far (file names).
    pub shots: Vec<PathBuf>,
    /// Prefix of the next screenshots (e.g. the language pass).
    pub pass: String,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("shots", &self.shots.len())
            .finish_non_exhaustive()
    }
}

/// How long a step may take before the test reports what it was waiting for.
pub const STEP: Duration = Duration::from_secs(30);

impl App {
    /// Starts the app through tauri-driver and waits for its first screen (an element matching
    /// `first`). Returns the app and the time from the session request to that screen.
    pub async fn launch(setup: &Setup, first: &str) -> Result<(App, Duration)> {
        std::fs::create_dir_all(&setup.artifacts)?;
        let axe_source = std::fs::read_to_string(&setup.axe)
            .with_context(|| format!("cannot read axe-core from {}", setup.axe.display()))?;
        let caps: serde_json::Map<String, Value> = json!({
            "tauri:options": { "application": setup.app },
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        let started = Instant::now();
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&setup.driver)
            .await
            .with_context(|| {
                format!("no WebDriver session from tauri-driver at {}", setup.driver)
            })?;
        let app = App {
            client,
            artifacts: setup.artifacts.clone(),
            axe_source,
            a11y: Vec::new(),
            shots: Vec::new(),
            pass: "en".into(),
        };
        app.wait(first).await?;
        Ok((app, started.elapsed()))
    }

    /// Ends the WebDriver session (the app quits).
    pub async fn quit(self) -> Result<()> {
        self.client.close().await?;
        Ok(())
    }

    /// Waits until an element matching `css` is displayed.
    pub async fn wait(&self, css: &str) -> Result<()> {
        let deadline = Instant::now() + STEP;
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await
                && e.is_displayed().await.unwrap_or(false)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                let body = self.body_text().await.unwrap_or_default();
                bail!(
                    "waited {} s for {css}; the window shows: {}",
                    STEP.as_secs(),
                    body.chars().take(600).collect::<String>()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the text of `css` contains `needle`.
    pub async fn wait_text(&self, css: &str, needle: &str) -> Result<String> {
        let deadline = Instant::now() + STEP;
        let mut last = String::new();
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                last = e.text().await.unwrap_or_default();
                if last.contains(needle) {
                    return Ok(last);
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "waited {} s for {needle:?} in {css}; it shows {last:?}",
                    STEP.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The whole window's text.
    pub async fn body_text(&self) -> Result<String> {
        Ok(self.client.find(Locator::Css("body")).await?.text().await?)
    }

    /// The text of one element.
    pub async fn text(&self, css: &str) -> Result<String> {
        self.wait(css).await?;
        Ok(self.client.find(Locator::Css(css)).await?.text().await?)
    }

    /// How many elements match.
    pub async fn count(&self, css: &str) -> Result<usize> {
        Ok(self.client.find_all(Locator::Css(css)).await?.len())
    }

    /// Scrolls an element to the middle of the window, as a person would before using it.
    async fn reveal(&self, e: &fantoccini::elements::Element) -> Result<()> {
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center', inline: 'nearest'});",
                vec![serde_json::to_value(e)?],
            )
            .await?;
        Ok(())
    }

    /// Clicks an element once it is displayed (scrolled into view first).
    pub async fn click(&self, css: &str) -> Result<()> {
        self.wait(css).await?;
        let e = self.client.find(Locator::Css(css)).await?;
        self.reveal(&e).await?;
        e.click().await.with_context(|| format!("click {css}"))?;
        Ok(())
    }

    /// Types `text` into a field (cleared first).
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        self.wait(css).await?;
        let e = self.client.find(Locator::Css(css)).await?;
        self.reveal(&e).await?;
        e.clear().await.ok();
        e.send_keys(text)
            .await
            .with_context(|| format!("type into {css}"))?;
        Ok(())
    }

    /// Chooses an option of a `<select>` by its value.
    pub async fn select(&self, css: &str, value: &str) -> Result<()> {
        self.wait(css).await?;
        let e = self.client.find(Locator::Css(css)).await?;
        e.select_by_value(value)
            .await
            .with_context(|| format!("select {value} in {css}"))?;
        Ok(())
    }

    /// Runs a script in the page.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        Ok(self.client.execute(script, args).await?)
    }

    /// Resizes the window.
    pub async fn resize(&self, width: u32, height: u32) -> Result<()> {
        self.client
            .set_window_rect(0, 0, width, height)
            .await
            .context("resize the window")?;
        // Let layout and the resize observer settle before a picture is taken.
        tokio::time::sleep(Duration::from_millis(400)).await;
        Ok(())
    }

    /// Captures the current screen at every size in [`SIZES`] (grabbed from the X display) and
    /// checks it with axe-core at each. The window is left at desktop size.
    pub async fn capture(&mut self, screen: &str) -> Result<()> {
        for (label, w, h) in SIZES {
            self.resize(w, h).await?;
            let (x, y, ww, wh) = self.client.get_window_rect().await?;
            let file = self
                .artifacts
                .join(format!("{}-{screen}-{label}.png", self.pass));
            let crop = format!("{ww}x{wh}+{x}+{y}");
            let out = Command::new("import")
                .args(["-window", "root", "-crop", &crop, "+repage"])
                .arg(&file)
                .output()
                .context("ImageMagick `import` (Debian imagemagick) is needed for screenshots")?;
            ensure!(
                out.status.success(),
                "import failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            self.shots.push(file);
            // Nothing may be wider than the window: at phone sizes a page that scrolls sideways
            // has content cut off (a form control or a card with a fixed minimum width).
            let overflow = self
                .js(
                    "const out = [];
                     for (const el of [document.documentElement, ...document.querySelectorAll('*')]) {
                       const ox = getComputedStyle(el).overflowX;
                       if (el !== document.documentElement && ox !== 'auto' && ox !== 'scroll') continue;
                       const extra = el.scrollWidth - el.clientWidth;
                       if (extra > 1) out.push((el.id ? '#' + el.id : el.tagName.toLowerCase() + '.' + el.className) + ' +' + extra + 'px');
                     }
                     return out;",
                    vec![],
                )
                .await?;
            ensure!(
                overflow.as_array().is_some_and(Vec::is_empty),
                "{}-{screen}-{label}: content wider than the window, scrolled sideways: {overflow}",
                self.pass
            );
            self.axe(&format!("{}-{screen}-{label}", self.pass)).await?;
        }
        self.resize(SIZES[0].1, SIZES[0].2).await
    }

    /// Runs axe-core on the page; keeps serious and critical findings.
    async fn axe(&mut self, screen: &str) -> Result<()> {
        let loaded = self
            .js("return typeof window.axe === 'object';", vec![])
            .await?;
        if loaded != Value::Bool(true) {
            self.js(&format!("{}\nreturn true;", self.axe_source), vec![])
                .await
                .context("inject axe-core")?;
        }
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.map(v => ({
                        id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
                        targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')) }))))
                    .catch(e => done({ error: String(e) }));",
                vec![],
            )
            .await
            .context("run axe-core")?;
        if let Some(e) = result.get("error") {
            bail!("axe-core failed on {screen}: {e}");
        }
        for v in result.as_array().into_iter().flatten() {
            let impact = v["impact"].as_str().unwrap_or("").to_owned();
            if impact == "serious" || impact == "critical" {
                self.a11y.push(A11yIssue {
                    screen: screen.to_owned(),
                    rule: v["id"].as_str().unwrap_or("").to_owned(),
                    impact,
                    nodes: v["nodes"].as_u64().unwrap_or(0) as usize,
                    help: format!("{} ({})", v["help"].as_str().unwrap_or(""), v["targets"]),
                });
            }
        }
        Ok(())
    }
}

/// Runs `spondon-verifier check` on a file: `(exit code, output)`.
pub fn verifier_check(setup: &Setup, file: &Path) -> Result<(i32, String)> {
    let out = Command::new(&setup.verifier)
        .arg("check")
        .arg("--trust")
        .arg(setup.world.get("WORLD_TRUST_LIST")?)
        .arg("--root-key")
        .arg(setup.world.get("WORLD_ROOT_KEY")?)
        .arg(file)
        .output()
        .with_context(|| format!("run {}", setup.verifier.display()))?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// A second wallet, the `spondon` CLI's, in its own directory (a family member's phone).
#[derive(Debug)]
pub struct CliWallet {
    bin: PathBuf,
    pub dir: PathBuf,
    pass: PathBuf,
    endpoints: String,
}

impl CliWallet {
    /// Creates it with the world's trust list, its keys behind a passphrase file.
    pub fn create(setup: &Setup, dir: &Path) -> Result<CliWallet> {
        std::fs::create_dir_all(dir)?;
        let pass = dir.join("passphrase");
        std::fs::write(&pass, "family member's long passphrase 4821")?;
        let w = CliWallet {
            bin: setup.spondon.clone(),
            dir: dir.join("wallet"),
            pass,
            endpoints: setup.world.get("WORLD_PEER_ENDPOINTS")?.to_owned(),
        };
        w.run(&[
            "init",
            "--trust-list",
            setup.world.get("WORLD_TRUST_LIST")?,
            "--root-key",
            setup.world.get("WORLD_ROOT_KEY")?,
        ])?;
        Ok(w)
    }

    /// Runs a command; its standard output, or an error with both streams.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        let o = std::process::Command::new(&self.bin)
            .args(args)
            .env("SPONDON_WALLET", &self.dir)
            .env("SPONDON_PASSPHRASE_FILE", &self.pass)
            .env("SPONDON_KEYSTORE", "none")
            .env("SPONDON_PEER_ENDPOINTS", &self.endpoints)
            .output()
            .with_context(|| format!("running {}", self.bin.display()))?;
        if !o.status.success() {
            bail!(
                "spondon {} failed ({}): {}{}",
                args.join(" "),
                o.status,
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    }
}
