// Spondon verifier page. No external resources: the QR decoder is the browser's
// BarcodeDetector or, where missing, our rqrr build in WebAssembly served by the node.
"use strict";

const $ = (id) => document.getElementById(id);
const timing = (window.spondonTiming = { cameraStart: null, firstFrame: null, decoded: null, verdict: null });
const state = { grant: null, verdict: null, last: "", lastAt: 0, stream: null, decoder: null, scanning: false };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (v !== null && v !== undefined) e.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

async function api(path, { body, raw, type } = {}) {
  const opts = { method: body === undefined && raw === undefined ? "GET" : "POST", credentials: "same-origin", headers: { "X-Spondon-Request": "1" } };
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  if (raw !== undefined) { opts.headers["Content-Type"] = type || "application/octet-stream"; opts.body = raw; }
  const r = await fetch(path, opts);
  let data = null;
  try { data = await r.json(); } catch (_) { data = { detail: `HTTP ${r.status}` }; }
  return { status: r.status, ok: r.ok, data };
}

function time(t) {
  if (!t) return "—";
  return new Date(t * 1000).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}
function hhmm(t) { return new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }

// ---------- session ----------
async function boot() {
  const s = await api("/api/status");
  if (s.status === 401) { show("login"); return; }
  if (!s.ok) { $("fresh").textContent = s.data.detail || "error"; return; }
  show("app");
  renderStatus(s.data);
  startCamera();
  setInterval(async () => { const s = await api("/api/status"); if (s.ok) renderStatus(s.data); }, 60000);
}

function show(which) {
  $("login").classList.toggle("hidden", which !== "login");
  $("app").classList.toggle("hidden", which !== "app");
  $("logout").classList.toggle("hidden", which !== "app");
}

function renderStatus(s) {
  $("clinic").textContent = s.clinic;
  const f = s.freshness;
  const rev = f.revocations_as_of ? `revocations as of ${hhmm(f.revocations_as_of)}` : "revocations not yet fetched";
  $("fresh").textContent = `Trust list #${f.trust_list.sequence} · ${rev}`;
  $("fresh").title = f.words;
  $("fresh").classList.toggle("stale", !f.revocations_as_of || f.trust_list.expired);
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await api("/api/login", { body: { token: $("token").value.trim() } });
  if (!r.ok) { $("login-error").textContent = r.data.detail || "Login failed"; return; }
  $("token").value = "";
  boot();
});
$("logout").addEventListener("click", async () => { await api("/api/logout", { body: {} }); stopCamera(); show("login"); });

// ---------- tabs ----------
for (const t of document.querySelectorAll(".tab")) {
  t.addEventListener("click", () => {
    for (const o of document.querySelectorAll(".tab")) o.classList.toggle("active", o === t);
    for (const p of document.querySelectorAll(".tabpane")) p.classList.toggle("hidden", p.id !== `tab-${t.dataset.tab}`);
    if (t.dataset.tab === "scan") startCamera(); else stopCamera();
    if (t.dataset.tab === "doctor") loadDoctor();
  });
}

// ---------- QR decoding ----------
async function decoder() {
  if (state.decoder) return state.decoder;
  const forceWasm = new URLSearchParams(location.search).get("decoder") === "wasm";
  if (!forceWasm && "BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        const d = new window.BarcodeDetector({ formats: ["qr_code"] });
        state.decoder = { name: "BarcodeDetector (browser)", decode: async (src) => (await d.detect(src)).map((b) => b.rawValue) };
        $("decoder").textContent = `QR decoder: ${state.decoder.name}`;
        return state.decoder;
      }
    } catch (_) { /* fall through to WebAssembly */ }
  }
  const wasm = await import("/qr/spondon_qr_wasm.js");
  await wasm.default({ module_or_path: "/qr/spondon_qr_wasm_bg.wasm" });
  const canvas = $("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  state.decoder = {
    name: "rqrr (WebAssembly)",
    decode: async (src) => {
      const w = src.videoWidth || src.naturalWidth || src.width, h = src.videoHeight || src.naturalHeight || src.height;
      if (!w || !h) return [];
      const scale = Math.min(1, 1280 / Math.max(w, h));
      canvas.width = Math.round(w * scale); canvas.height = Math.round(h * scale);
      ctx.drawImage(src, 0, 0, canvas.width, canvas.height);
      const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const out = wasm.decode_rgba(canvas.width, canvas.height, new Uint8Array(img.data.buffer));
      return out ? out.split("\n") : [];
    },
  };
  $("decoder").textContent = `QR decoder: ${state.decoder.name}`;
  return state.decoder;
}

// ---------- camera ----------
async function startCamera() {
  if (state.stream || !navigator.mediaDevices) {
    if (!navigator.mediaDevices) $("cam-status").textContent = "No camera available here: upload a photo or paste the text.";
    return;
  }
  try {
    timing.cameraStart = performance.now();
    state.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
    const v = $("video");
    v.srcObject = state.stream;
    await v.play();
    $("cam-status").textContent = "Hold the QR code inside the frame";
    document.querySelector(".camera").classList.remove("off");
    $("cam-toggle").textContent = "Stop camera";
    state.scanning = true;
    scanLoop();
  } catch (e) {
    state.stream = null;
    $("cam-status").textContent = `Camera unavailable (${e.name || e}). Upload a photo or paste the text.`;
  }
}

function stopCamera() {
  state.scanning = false;
  if (state.stream) for (const t of state.stream.getTracks()) t.stop();
  state.stream = null;
  $("video").srcObject = null;
  document.querySelector(".camera").classList.add("off");
  $("cam-toggle").textContent = "Start camera";
  $("cam-status").textContent = "Camera stopped";
}
$("cam-toggle").addEventListener("click", () => (state.stream ? stopCamera() : startCamera()));

async function scanLoop() {
  const v = $("video");
  let d;
  try { d = await decoder(); } catch (e) { $("cam-status").textContent = `QR decoder unavailable: ${e.message || e}`; return; }
  while (state.scanning) {
    if (v.readyState >= 2) {
      if (timing.firstFrame === null) timing.firstFrame = performance.now();
      try {
        const texts = await d.decode(v);
        const t = texts.find((x) => x && x.trim());
        if (t) await found(t.trim(), "camera");
      } catch (_) { /* a frame that cannot be read */ }
    }
    await new Promise((r) => setTimeout(r, 120));
  }
}

async function found(text, source) {
  const now = performance.now();
  if (text === state.last && now - state.lastAt < 8000) return;
  state.last = text; state.lastAt = now;
  if (timing.decoded === null) timing.decoded = now;
  $("cam-status").textContent = source === "camera" ? "QR read from camera" : `Checked: ${source}`;
  await checkGrant(text);
}

$("photo").addEventListener("change", async (e) => {
  const f = e.target.files[0];
  if (!f) return;
  setVerdict("pending", "Reading the photo…");
  try {
    const bmp = await createImageBitmap(f);
    const d = await decoder();
    const texts = await d.decode(bmp);
    if (!texts.length) { setVerdict("bad", "No QR code could be read in this photo. Try a sharper, closer picture.", "no_qr"); return; }
    state.last = "";
    await found(texts[0].trim(), "photo");
  } catch (err) {
    setVerdict("bad", `This file cannot be read as a picture (${err.message || err}).`, "unreadable");
  } finally { e.target.value = ""; }
});

$("paste-check").addEventListener("click", () => { state.last = ""; const t = $("paste").value.trim(); if (t) found(t, "pasted text"); });

// ---------- grant ----------
function setVerdict(kind, text, code) {
  const v = $("verdict");
  v.className = `verdict ${kind}`;
  v.textContent = text;
  v.dataset.code = code || "";
}

function dl(rows) {
  const d = $("verdict-details");
  d.replaceChildren();
  for (const [k, v] of rows) if (v) d.append(el("dt", {}, k), el("dd", {}, v));
}

async function checkGrant(text) {
  setVerdict("pending", "Checking…");
  $("records").classList.add("hidden");
  $("write").classList.add("hidden");
  $("load-records").classList.add("hidden");
  dl([]);
  const r = await api("/api/grant/check", { body: { grant: text } });
  timing.verdict = performance.now();
  if (!r.ok) {
    setVerdict("bad", `Not a grant: ${r.data.detail}`, r.data.code);
    state.grant = null;
    return;
  }
  const v = r.data;
  state.grant = text; state.verdict = v;
  setVerdict(v.accepted ? "ok" : "bad", v.summary, v.code);
  const g = v.grant;
  if (g) {
    dl([
      ["Patient", v.patient && (v.patient.health_id || `key ${v.patient.key.slice(0, 12)}…`)],
      ["Shared with", g.audience],
      ["Records", g.scopes.join(", ") + (g.record_ids.length ? ` + ${g.record_ids.length} named` : "")],
      ["May add", g.write ? "a prescription or note" : "nothing (read only)"],
      ["Purpose", g.purpose],
      ["Valid", `${time(g.not_before)} – ${time(g.expires)}`],
      ["From", g.peers.map((p) => p.hospital || p.peer).join(", ")],
      ["Uses", g.use_limit ? String(g.use_limit) : "unlimited until expiry"],
    ]);
  }
  for (const w of v.warnings || []) $("verdict-details").after(el("p", { class: "warn" }, w));
  if (v.accepted) {
    $("load-records").classList.remove("hidden");
    if (g && g.write) $("write").classList.remove("hidden");
  }
}

$("load-records").addEventListener("click", async () => {
  if (!state.grant) return;
  const box = $("records");
  box.classList.remove("hidden");
  box.replaceChildren(el("div", { class: "card" }, el("p", { class: "muted" }, "Fetching and verifying records from the hospitals…")));
  const r = await api("/api/grant/records", { body: { grant: state.grant } });
  if (!r.ok) { box.replaceChildren(el("div", { class: "card" }, el("p", { class: "error" }, r.data.detail))); return; }
  renderRecords(r.data.records);
});

function table(headers, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c))))));
}

function renderRecords(rec) {
  const box = $("records");
  const card = el("div", { class: "card", id: "records-card" });
  card.append(el("h2", {}, `Records${rec.patient_name ? ` of ${rec.patient_name}` : ""}`));
  for (const f of rec.failures) {
    card.append(el("p", { class: "warn" }, `${f.hospital || f.peer}: ${f.message}${f.peer_code ? ` (${f.peer_code})` : ""}`));
  }
  if (rec.medications.length) {
    card.append(el("h3", {}, "Medications"));
    card.append(table(["Medicine", "Dosage", "Status", "Hospital"], rec.medications.map((m) => [m.medication, m.dosage || "", m.status || "", m.hospital])));
  }
  if (rec.lab_results.length) {
    card.append(el("h3", {}, "Lab results"));
    card.append(table(["Test", "Result", "Range", "Flag"], rec.lab_results.map((o) => [o.name, o.value, o.range || "", o.flag ? el("span", { class: `flag ${o.flag}` }, o.flag) : ""])));
  }
  if (rec.diagnoses.length) {
    card.append(el("h3", {}, "Diagnoses"));
    card.append(table(["Diagnosis", "Code", "Hospital"], rec.diagnoses.map((d) => [d.diagnosis, d.code || "", d.hospital])));
  }
  if (rec.immunizations.length) {
    card.append(el("h3", {}, "Immunizations"));
    card.append(table(["Vaccine", "Date"], rec.immunizations.map((i) => [i.vaccine, i.date || ""])));
  }
  card.append(el("h3", {}, "Timeline"));
  if (!rec.timeline.length) card.append(el("p", { class: "muted" }, "No records were shown."));
  card.append(el("ul", { class: "timeline" }, rec.timeline.map((t) => el("li", {},
    el("div", { class: "when" }, `${time(t.issued_at)} · ${t.hospital}`),
    el("div", {}, `${t.kind.replace("_", " ")}: ${t.items.map((i) => i.text).filter(Boolean).join(", ")}`, t.verified ? el("span", { class: "badge", title: "Signature and log inclusion verified" }, "verified") : null, t.quorum > 0 ? (t.cosignatures >= t.quorum ? el("span", { class: "badge", title: `Its log checkpoint carries ${t.cosignatures} witness cosignature(s); ${t.quorum} required` }, "witnessed") : el("span", { class: "badge warn", title: `${t.cosignatures} of ${t.quorum} witness cosignatures so far: the hospital has signed it, independent witnesses have not yet` }, "not yet witnessed")) : null)))));
  box.replaceChildren(card);
}

$("write-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const res = [{ resourceType: "MedicationRequest", status: "active", intent: "order",
    medicationCodeableConcept: { text: $("w-med").value.trim() }, dosageInstruction: [{ text: $("w-dose").value.trim() }] }];
  const r = await api("/api/grant/write", { body: { grant: state.grant, kind: "prescription", resources: res } });
  $("write-result").textContent = r.ok ? "Prescription added and logged at the hospital." : `Not added: ${r.data.detail}`;
  $("write-result").className = r.ok ? "" : "error";
});

// ---------- document check ----------
async function checkDocument(raw, type) {
  const out = $("doc-result");
  out.replaceChildren(el("p", { class: "muted" }, "Checking…"));
  const r = await api("/api/document/check", { raw, type });
  if (!r.ok) { out.replaceChildren(el("p", { class: "error", "data-code": r.data.code }, r.data.detail)); return; }
  const valid = r.data.report.valid;
  out.replaceChildren(
    el("div", { class: `verdict ${valid ? "ok" : "bad"}`, "data-valid": String(valid) }, valid ? "Valid: issued by a trusted issuer and unaltered." : "Not valid: see the details below."),
    el("pre", { class: "report" }, r.data.text));
}
function docType(f) {
  if (/\.smart-health-card$/i.test(f.name)) return "application/smart-health-card";
  return ["image/png", "image/jpeg", "application/pdf", "application/json", "text/plain"].includes(f.type) ? f.type : "application/octet-stream";
}
$("doc-file").addEventListener("change", (e) => { const f = e.target.files[0]; if (f) checkDocument(f, docType(f)); e.target.value = ""; });
$("doc-check").addEventListener("click", () => { const t = $("doc-text").value.trim(); if (t) checkDocument(t, "text/plain"); });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); const f = e.dataTransfer.files[0]; if (f) checkDocument(f, docType(f)); });

// ---------- doctor QR ----------
async function loadDoctor() {
  const r = await api("/api/doctor-credential");
  if (!r.ok) { $("doctor-info").textContent = r.data.detail; return; }
  const img = el("img", { alt: "Doctor credential QR code", src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(r.data.qr_svg || "")}` });
  $("doctor-qr").replaceChildren(img);
  $("doctor-info").textContent = `${r.data.name} · BMDC ${r.data.bmdc_number}`;
}

boot();
