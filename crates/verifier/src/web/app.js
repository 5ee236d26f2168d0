// Spondon verifier page. No external resources: the QR decoder is the browser's
// BarcodeDetector or, where missing, our rqrr build in WebAssembly served by the node.
// Everything from outside (grant, records, peers' messages) is written as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const timing = (window.spondonTiming = { cameraStart: null, firstFrame: null, decoded: null, verdict: null });
const state = { grant: null, result: null, last: "", lastAt: 0, stream: null, decoder: null, scanning: false, seq: 0, view: "kind", pages: {} };
const PAGE = 20;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}

async function api(path, { body, raw, type } = {}) {
  const opts = { method: body === undefined && raw === undefined ? "GET" : "POST", credentials: "same-origin", headers: { "X-Spondon-Request": "1" } };
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  if (raw !== undefined) { opts.headers["Content-Type"] = type || "application/octet-stream"; opts.body = raw; }
  let r;
  try { r = await fetch(path, opts); } catch (e) { return { status: 0, ok: false, data: { code: "offline", detail: "The clinic node cannot be reached." } }; }
  let data = null;
  try { data = await r.json(); } catch (_) { data = { detail: `HTTP ${r.status}` }; }
  // The session ended (expired, logged out elsewhere, staff member removed): back to the login,
  // with nothing of the patient left on screen.
  if (r.status === 401 && path !== "/api/login" && path !== "/api/status") sessionEnded();
  return { status: r.status, ok: r.ok, data };
}

function sessionEnded() {
  stopCamera(); nextPatient(false); emergencyReset(); show("login");
  $("login-error").textContent = "The session has ended; log in again.";
  $("token").focus();
}

// Dates and times in the browser's own time zone and language.
function time(t) {
  if (t === null || t === undefined || t === "") return "—";
  return new Date(t * 1000).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}
function day(t) { return new Date(t * 1000).toLocaleDateString([], { dateStyle: "medium" }); }
function dayKey(t) { const d = new Date(t * 1000); return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`; }
function hhmm(t) { return new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }
// A FHIR date ("2026-11-02" or a dateTime) as a local date, else the record's issue date.
function fhirDay(s, fallback) {
  if (typeof s === "string" && /^\d{4}-\d{2}-\d{2}/.test(s)) {
    const d = s.length > 10 ? new Date(s) : new Date(`${s}T00:00:00`);
    if (!isNaN(d)) return { text: d.toLocaleDateString([], { dateStyle: "medium" }), t: d.getTime() / 1000 };
  }
  return { text: fallback ? day(fallback) : "—", t: fallback || 0 };
}
function birthWords(p) {
  const sex = { female: "Female", male: "Male", other: "Other sex", unknown: "Sex unknown" }[p.sex] || null;
  let born = null;
  if (p.birth_date) {
    const b = fhirDay(p.birth_date, null);
    born = /^\d{4}-\d{2}-\d{2}$/.test(p.birth_date) ? b.text : p.birth_date;
  }
  const age = p.age !== null && p.age !== undefined ? `${p.age} years` : null;
  return [sex, age && born ? `${age} (born ${born})` : (age || (born && `born ${born}`))].filter(Boolean).join(" · ");
}
function announce(text) { const a = $("announce"); a.textContent = ""; setTimeout(() => { a.textContent = text; }, 50); }

// ---------- session ----------
async function boot() {
  const s = await api("/api/status");
  if (s.status === 401) { show("login"); $("token").focus(); return; }
  if (!s.ok) { $("fresh").textContent = s.data.detail || "error"; return; }
  show("app");
  renderStatus(s.data);
  selectTab("scan", false);
  $("scan-card").focus();
  if (!state.poll) state.poll = setInterval(async () => { const s = await api("/api/status"); if (s.ok) renderStatus(s.data); }, 60000);
}

function show(which) {
  $("login").classList.toggle("hidden", which !== "login");
  $("app").classList.toggle("hidden", which !== "app");
  $("logout").classList.toggle("hidden", which !== "app");
}

function renderStatus(s) {
  $("clinic").textContent = s.clinic;
  fillHospitals(s.freshness.trust_list.hospitals || []);
  const f = s.freshness;
  const rev = f.revocations_as_of ? `record revocations as of ${hhmm(f.revocations_as_of)}` : "record revocations not yet fetched";
  $("fresh").textContent = `Trust list #${f.trust_list.sequence} · ${rev}`;
  $("fresh").title = f.words;
  $("fresh").classList.toggle("stale", !f.revocations_as_of || f.trust_list.expired);
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await api("/api/login", { body: { token: $("token").value.trim() } });
  if (!r.ok) { $("login-error").textContent = r.data.detail || "Login failed"; $("token").focus(); return; }
  $("token").value = "";
  $("login-error").textContent = "";
  boot();
});
$("logout").addEventListener("click", async () => {
  await api("/api/logout", { body: {} });
  stopCamera(); nextPatient(false); emergencyReset(); show("login"); $("token").focus();
});

// ---------- tabs (WAI-ARIA tabs: roving tabindex, arrow keys, Home/End) ----------
const tabs = [...document.querySelectorAll(".tab")];
function selectTab(name, focus) {
  for (const t of tabs) {
    const on = t.dataset.tab === name;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    t.classList.toggle("active", on);
    if (on && focus) t.focus();
  }
  for (const p of document.querySelectorAll(".tabpane")) p.classList.toggle("hidden", p.id !== `tab-${name}`);
  if (name === "scan") startCamera(); else stopCamera();
  if (name === "doctor") loadDoctor();
  if (name === "emergency" && !focus && !$("em-ask").classList.contains("hidden")) $("em-hid").focus();
}
for (const t of tabs) {
  t.addEventListener("click", () => selectTab(t.dataset.tab, false));
  t.addEventListener("keydown", (e) => {
    const i = tabs.indexOf(t);
    let n = null;
    if (e.key === "ArrowRight") n = (i + 1) % tabs.length;
    else if (e.key === "ArrowLeft") n = (i - 1 + tabs.length) % tabs.length;
    else if (e.key === "Home") n = 0;
    else if (e.key === "End") n = tabs.length - 1;
    if (n === null) return;
    e.preventDefault();
    selectTab(tabs[n].dataset.tab, true);
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
  // The camera sees the same QR many times a second: it is checked once (checking it redeems
  // it at the hospitals) until "Next patient", another QR, or an explicit paste or photo.
  if (text === state.last && source === "camera") return;
  state.last = text; state.lastAt = now;
  if (timing.decoded === null) timing.decoded = now;
  $("cam-status").textContent = source === "camera" ? "QR read from camera" : `Checked: ${source}`;
  await checkGrant(text);
}

$("photo").addEventListener("change", async (e) => {
  const f = e.target.files[0];
  if (!f) return;
  const seq = clearPatient();
  setVerdict("pending", "Reading the photo…");
  try {
    const bmp = await createImageBitmap(f);
    const d = await decoder();
    const texts = await d.decode(bmp);
    if (seq !== state.seq) return;
    if (!texts.length) { finalVerdict("bad", "No QR code found", "No QR code could be read in this photo. Try a sharper, closer picture.", { code: "no_qr" }); return; }
    state.last = "";
    await found(texts[0].trim(), "photo");
  } catch (err) {
    finalVerdict("bad", "Unreadable photo", `This file cannot be read as a picture (${err.message || err}).`, { code: "unreadable" });
  } finally { e.target.value = ""; }
});

$("paste-check").addEventListener("click", () => { state.last = ""; const t = $("paste").value.trim(); if (t) found(t, "pasted text"); });

// ---------- grant ----------
function setVerdict(kind, headline, text, { code = "", status = "" } = {}) {
  const v = $("verdict");
  v.className = `verdict ${kind}`;
  $("verdict-headline").textContent = headline;
  $("verdict-text").textContent = text || "";
  v.dataset.code = code;
  v.dataset.status = status;
}

// A final verdict: shown, scrolled into view and announced to screen readers.
function finalVerdict(kind, headline, text, opts = {}) {
  setVerdict(kind, headline, text, opts);
  timing.verdict = performance.now();
  $("next-patient").classList.remove("hidden");
  $("verdict-card").scrollIntoView({ block: "start", behavior: "auto" });
  const who = state.result && state.result.patient ? ` Patient: ${$("who-name").textContent}, ${$("who-facts").textContent}.` : "";
  announce(`${headline}. ${text || ""}${who}`);
}

function checks(items) {
  $("checks").replaceChildren(...items.map(([cls, text]) => el("li", { class: cls }, text)));
}

function dl(rows) {
  const d = $("verdict-details");
  d.replaceChildren();
  for (const [k, v] of rows) if (v) d.append(el("dt", {}, k), el("dd", {}, v));
  $("grant-details").classList.toggle("hidden", !rows.some(([, v]) => v));
}

// Forgets the previous grant entirely (a new scan, a failed one, "Next patient"). Returns the
// new sequence number: answers to an older scan are ignored.
function clearPatient() {
  state.seq += 1;
  state.grant = null; state.result = null; state.pages = {};
  setVerdict("empty", "Show the patient's grant QR to the camera.", "");
  for (const id of ["who-name", "who-facts", "who-id", "who-source"]) $(id).textContent = "";
  $("who").classList.add("hidden");
  $("checks").replaceChildren();
  $("verdict-warnings").replaceChildren();
  dl([]);
  $("grant-details").open = false;
  for (const id of ["load-records", "go-write", "passcode-form", "write", "records"]) $(id).classList.add("hidden");
  $("records").replaceChildren();
  $("write-form").reset();
  $("write-result").textContent = "";
  $("passcode").value = "";
  return state.seq;
}

function nextPatient(focus = true) {
  clearPatient();
  state.last = ""; state.lastAt = 0;
  $("paste").value = "";
  $("paste-box").open = false;
  $("next-patient").classList.add("hidden");
  $("cam-status").textContent = state.stream ? "Hold the QR code inside the frame" : "Camera off: start it, upload a photo or paste the text";
  announce("Ready for the next patient.");
  if (focus) { window.scrollTo(0, 0); $("scan-card").focus(); }
}
$("next-patient").addEventListener("click", () => nextPatient(true));

function grantRows(g) {
  return [
    ["Shared with", g.audience],
    ["Records", g.scopes.join(", ") + (g.record_ids.length ? ` + ${g.record_ids.length} named` : "")],
    ["May add", g.write ? "a prescription or note" : "nothing (read only)"],
    ["Purpose", g.purpose],
    ["Valid", `${time(g.not_before)} – ${time(g.expires)}`],
    ["From", g.peers.map((p) => p.hospital || p.peer).join(", ")],
    ["Uses", g.use_limit ? String(g.use_limit) : "unlimited until expiry"],
  ];
}

async function checkGrant(text) {
  const seq = clearPatient();
  setVerdict("pending", "Checking the grant…", "");
  const r = await api("/api/grant/check", { body: { grant: text } });
  if (seq !== state.seq) return;
  if (!r.ok) {
    finalVerdict("bad", "Not a grant", r.data.detail, { code: r.data.code });
    return;
  }
  const v = r.data;
  if (v.grant) dl(grantRows(v.grant));
  for (const w of v.warnings || []) $("verdict-warnings").append(el("p", { class: "warn-note" }, w));
  if (!v.accepted) {
    finalVerdict("bad", "Not valid", v.summary, { code: v.code, status: "refused" });
    return;
  }
  state.grant = text;
  const hospitals = v.grant.peers.map((p) => p.hospital || p.peer).join(", ");
  checks([["pass", "The patient's signature is valid, and the grant is for this clinic, now."],
          ["wait", `Checking with ${hospitals} that it was not revoked…`]]);
  if (v.grant.audience_kind === "bearer") {
    setVerdict("warn", "Passcode needed", "A one-time grant: enter the patient's passcode to check it with the hospital.", { code: v.code, status: "passcode" });
    $("passcode-form").classList.remove("hidden");
    $("passcode").focus();
    return;
  }
  setVerdict("pending", "Signature valid", `Checking revocation with ${hospitals}…`, { code: v.code, status: "checking" });
  await redeem(seq, v, null);
}

$("passcode-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!state.grant) return;
  const seq = state.seq;
  const r = await api("/api/grant/check", { body: { grant: state.grant } });
  if (seq !== state.seq || !r.ok) return;
  $("passcode-form").classList.add("hidden");
  await redeem(seq, r.data, $("passcode").value.trim());
});

const STATUS = {
  valid: ["ok", "Valid"],
  revoked: ["bad", "Revoked"],
  refused: ["bad", "Refused by the hospital"],
  unchecked: ["warn", "Revocation not checked"],
  unidentified: ["warn", "Patient not identified"],
};

// What was shared, in words, without the patient's key (the name is shown above it).
function sharedWords(g) {
  const list = g.scopes.concat(g.record_ids.length ? [`${g.record_ids.length} named record(s)`] : []);
  const what = list.length > 1 ? `${list.slice(0, -1).join(", ")} and ${list[list.length - 1]}` : (list[0] || "no records");
  const from = g.peers.map((p) => p.hospital || p.peer).join(", ");
  return `${what[0].toUpperCase()}${what.slice(1)} shared with this clinic for ${g.purpose} until ${time(g.expires)}, from ${from}.${g.write ? " The doctor may add a prescription." : ""}`;
}

async function redeem(seq, v, passcode) {
  const body = { grant: state.grant };
  if (passcode) body.passcode = passcode;
  const r = await api("/api/grant/records", { body });
  if (seq !== state.seq) return;
  if (r.status === 0 || r.status >= 500) {
    checks([["pass", "The patient's signature is valid."], ["unknown", `Revocation could not be checked: ${r.data.detail}`]]);
    finalVerdict("warn", "Revocation not checked", "The clinic node could not ask the hospitals. Try again.", { code: r.data.code || "error", status: "error" });
    return;
  }
  if (!r.ok) {
    checks([["pass", "The patient's signature is valid."], ["unknown", r.data.detail]]);
    finalVerdict("bad", "Not valid", r.data.detail, { code: r.data.code || "error", status: "refused" });
    return;
  }
  const out = r.data;
  state.result = out;
  const p = out.patient;
  const rev = out.revocation;
  const items = [["pass", "The patient's signature is valid, and the grant is for this clinic, now."]];
  if (v.grant && v.grant.delegate) {
    // A delegate's grant (docs/protocol.md §16): a family member shared under the patient's delegation.
    items.push(["pass", `Shared by the patient's delegate (key ${v.grant.delegate.slice(0, 8)}…), a family member the patient named in a signed delegation; both signatures check, and the hospitals refuse it once the patient revokes the delegation.`]);
  }
  items.push([rev.state === "not_revoked" ? "pass" : rev.state === "unchecked" ? "unknown" : "fail", rev.words]);
  if (p) {
    $("who-name").textContent = p.name || "Name not given";
    $("who-facts").textContent = birthWords(p);
    $("who-id").textContent = p.health_id ? `Health ID ${p.health_id}` : "";
    $("who-source").textContent = `As ${p.hospital} signed it in the patient's records. Check that this is the person in front of you.`;
    $("who").classList.remove("hidden");
    items.push(["pass", `The patient is named by a record ${p.hospital} signed.`]);
  } else if (rev.state === "not_revoked") {
    items.push(["unknown", "No record signed by a hospital names the patient (nothing was shared, or nothing found): check their identity another way."]);
  }
  checks(items);
  for (const w of out.records.warnings || []) $("verdict-warnings").append(el("p", { class: "warn-note" }, w));
  for (const f of out.records.failures || []) {
    // Revoked, unreachable peers and refused certificates are in the checks above already.
    if (f.peer_code === "revoked" || f.code === "unreachable" || f.code === "tls") continue;
    $("verdict-warnings").append(el("p", { class: "warn-note" }, `${f.hospital || f.peer}: ${f.message}${f.peer_code ? ` (${f.peer_code})` : ""}`));
  }
  const [kind, headline] = STATUS[out.status] || ["bad", "Not valid"];
  const n = out.records.timeline.length;
  const usable = out.status === "valid" || out.status === "unchecked" || out.status === "unidentified";
  if (usable && n) {
    $("load-records").textContent = `Show records (${n})`;
    $("load-records").classList.remove("hidden");
  }
  if (out.status === "valid" && v.grant && v.grant.write) { $("go-write").classList.remove("hidden"); $("write").classList.remove("hidden"); }
  const text = {
    valid: sharedWords(v.grant),
    unchecked: "Not every hospital could be asked whether the patient withdrew this grant (see below). Ask the patient, or try again when the hospital can be reached.",
    unidentified: "Not revoked, but no record signed by a hospital names the patient: check their identity another way.",
    revoked: "The patient withdrew this grant. Do not use it; ask the patient to share again if they wish.",
    refused: "The hospital would not release records under this grant (the reason is below).",
  }[out.status] || rev.words;
  finalVerdict(kind, headline, text, { code: v.code, status: out.status });
}

$("load-records").addEventListener("click", () => {
  if (!state.result) return;
  $("load-records").classList.add("hidden");
  renderRecords(state.result.records);
  $("records").classList.remove("hidden");
  $("records-card").focus();
});
$("go-write").addEventListener("click", () => { $("write").scrollIntoView({ block: "start" }); $("w-med").focus(); });

// ---------- records: by kind or by visit, paginated; lab results with dates and trends ----------
function pager(key, total, redraw) {
  const pages = Math.max(1, Math.ceil(total / PAGE));
  const page = Math.min(state.pages[key] || 0, pages - 1);
  if (pages === 1) return { page, nav: null };
  const go = (p) => { state.pages[key] = p; redraw(); };
  const nav = el("nav", { class: "pager", "aria-label": `${key} pages` },
    el("button", { type: "button", disabled: page === 0, "data-pager": "prev" }, "Previous"),
    el("span", {}, `Page ${page + 1} of ${pages} · ${total} in all`),
    el("button", { type: "button", disabled: page >= pages - 1, "data-pager": "next" }, "Next"));
  nav.querySelector("[data-pager=prev]").addEventListener("click", () => go(page - 1));
  nav.querySelector("[data-pager=next]").addEventListener("click", () => go(page + 1));
  return { page, nav };
}

function table(headers, rows) {
  return el("table", { class: "stack" }, el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => el("td", { "data-label": headers[i] }, c))))));
}

const SVG = "http://www.w3.org/2000/svg";
function spark(values) {
  const w = 64, h = 20, min = Math.min(...values), max = Math.max(...values);
  const x = (i) => (values.length === 1 ? w / 2 : 2 + (i * (w - 4)) / (values.length - 1));
  const y = (v) => (max === min ? h / 2 : h - 2 - ((v - min) * (h - 4)) / (max - min));
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("width", w); svg.setAttribute("height", h); svg.setAttribute("aria-hidden", "true");
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("class", "spark");
  line.setAttribute("points", values.map((v, i) => `${x(i)},${y(v)}`).join(" "));
  const dot = document.createElementNS(SVG, "circle");
  dot.setAttribute("class", "dot"); dot.setAttribute("r", "2.5");
  dot.setAttribute("cx", x(values.length - 1)); dot.setAttribute("cy", y(values[values.length - 1]));
  svg.append(line, dot);
  return svg;
}

// For each lab result, the same test's earlier values (oldest first) up to and including it.
function labSeries(labs) {
  const byKey = new Map();
  for (const [i, o] of labs.entries()) {
    const d = fhirDay(o.date, o.issued_at);
    o._day = d;
    o._i = i;
    if (!byKey.has(o.key)) byKey.set(o.key, []);
    byKey.get(o.key).push(o);
  }
  // Oldest first; results of one day in the order they came.
  for (const list of byKey.values()) list.sort((a, b) => a._day.t - b._day.t || a._i - b._i);
  return byKey;
}

function trendCell(o, series) {
  const list = series.get(o.key) || [];
  const upto = list.slice(0, list.indexOf(o) + 1).filter((x) => typeof x.number === "number");
  if (typeof o.number !== "number" || upto.length < 2) return "first result";
  const prev = upto[upto.length - 2];
  const diff = o.number - prev.number;
  const arrow = diff > 0 ? "↑ up" : diff < 0 ? "↓ down" : "→ same";
  return el("span", { class: "trend" }, spark(upto.slice(-8).map((x) => x.number)),
    `${arrow} from ${prev.number} (${prev._day.text})`);
}

const KINDS = [
  ["medications", "Medications"], ["lab_results", "Lab results"], ["diagnoses", "Diagnoses"], ["immunizations", "Vaccinations"],
  ["documents", "Documents"],
];

function sizeWords(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${Math.ceil(n / 1024)} KB`;
  return `${(n / 1048576).toFixed(1)} MB`;
}

// A document record's file: checked by the node against the hospital-signed card before it is
// offered; the node never renders it, the browser downloads it.
function documentCheck(d) {
  if (d.verified) return el("span", { class: "doc-ok" }, el("span", { class: "badge", title: "Size and SHA-256 match the hospital-signed card" }, "verified"), ` ${d.statement}`);
  const p = d.problem || {};
  return el("span", { class: "doc-bad" }, `Refused: ${p.message || "the file could not be checked"}${p.code ? ` (${p.code})` : ""}${p.peer_code ? ` [${p.peer_code}]` : ""}`);
}

function documentLink(d) {
  return d.verified && d.download ? el("a", { href: d.download, download: d.file_name || "", class: "doc-download", "data-record": d.record_id }, "Download") : "";
}

function renderRecords(rec) {
  const box = $("records");
  const card = el("section", { class: "card", id: "records-card", tabindex: "-1", "aria-labelledby": "records-title" });
  const draw = () => {
    const seg = el("div", { class: "seg", role: "group", "aria-label": "Group records" },
      el("button", { type: "button", "aria-pressed": String(state.view === "kind"), "data-view": "kind" }, "By kind"),
      el("button", { type: "button", "aria-pressed": String(state.view === "visit"), "data-view": "visit" }, "By visit"));
    for (const b of seg.querySelectorAll("button")) b.addEventListener("click", () => { state.view = b.dataset.view; draw(); card.querySelector(`[data-view=${state.view}]`).focus(); });
    const who = state.result && state.result.patient && state.result.patient.name;
    card.replaceChildren(el("div", { class: "records-head" },
      el("h2", { id: "records-title" }, `Records${who ? ` of ${who}` : ""}`), seg));
    for (const f of rec.failures) {
      card.append(el("p", { class: "warn-note" }, `${f.hospital || f.peer}: ${f.message}${f.peer_code ? ` (${f.peer_code})` : ""}`));
    }
    if (!rec.timeline.length) { card.append(el("p", { class: "muted" }, "No records were shared.")); return; }
    if (state.view === "kind") drawKinds(card, rec, draw); else drawVisits(card, rec, draw);
  };
  draw();
  box.replaceChildren(card);
}

function drawKinds(card, rec, redraw) {
  const nav = el("nav", { class: "kind-nav", "aria-label": "Kinds of record" });
  card.append(nav);
  const sorted = (list) => [...list].sort((a, b) => (b.issued_at || 0) - (a.issued_at || 0));
  for (const [key, title] of KINDS) {
    if (key === "lab_results") labSeries(rec.lab_results);
    const list = key === "lab_results" ? [...rec.lab_results].sort((a, b) => b._day.t - a._day.t || b._i - a._i) : sorted(rec[key] || []);
    if (!list.length) continue;
    nav.append(el("a", { href: `#kind-${key}` }, `${title} (${list.length})`));
    card.append(el("h3", { id: `kind-${key}`, tabindex: "-1" }, `${title} (${list.length})`));
    const { page, nav: pnav } = pager(title, list.length, redraw);
    const rows = list.slice(page * PAGE, (page + 1) * PAGE);
    if (key === "medications") {
      card.append(table(["Date", "Medicine", "Dosage", "Status", "Hospital"], rows.map((m) => [fhirDay(m.date, m.issued_at).text, m.medication, m.dosage || "", m.status || "", m.hospital])));
    } else if (key === "lab_results") {
      const series = labSeries(rec.lab_results);
      card.append(table(["Date", "Test", "Result", "Range", "Flag", "Trend"], rows.map((o) => [
        o._day.text, o.name, el("span", { class: "num" }, o.value), o.range || "",
        o.flag ? el("span", { class: `flag ${o.flag}` }, o.flag) : "", trendCell(o, series)])));
    } else if (key === "documents") {
      card.append(table(["Date", "Document", "File", "Hospital", "Check", "Download"], rows.map((d) => [
        day(d.issued_at), [d.title, d.description ? el("div", { class: "muted" }, d.description) : null],
        `${d.file_name || ""}${d.type_words ? ` · ${d.type_words}` : ""}${d.size ? ` · ${sizeWords(d.size)}` : ""}`,
        d.hospital, documentCheck(d), documentLink(d)])));
    } else if (key === "diagnoses") {
      card.append(table(["Date", "Diagnosis", "Code", "Hospital"], rows.map((d) => [fhirDay(d.date, d.issued_at).text, d.diagnosis, d.code || "", d.hospital])));
    } else {
      card.append(table(["Date", "Vaccine", "Hospital"], rows.map((i) => [fhirDay(i.date, i.issued_at).text, i.vaccine, i.hospital])));
    }
    if (pnav) card.append(pnav);
  }
}

function kindWords(kind) {
  const w = { document: "Document", lab_report: "Lab report", prescription: "Prescription", diagnosis: "Diagnosis", immunization: "Vaccination", encounter: "Visit", payment: "Payment", note: "Note" }[kind];
  return w || String(kind).replace(/_/g, " ");
}

function drawVisits(card, rec, redraw) {
  // A visit: one hospital on one day. The timeline (newest first) is paginated by record, so a
  // long visit continues on the next page under the same heading.
  const { page, nav } = pager("Records", rec.timeline.length, redraw);
  const visits = [];
  for (const t of rec.timeline.slice(page * PAGE, (page + 1) * PAGE)) {
    const k = `${t.hospital}|${dayKey(t.issued_at)}`;
    const last = visits[visits.length - 1];
    if (last && last.key === k) last.records.push(t);
    else visits.push({ key: k, hospital: t.hospital, at: t.issued_at, records: [t] });
  }
  for (const v of visits) {
    card.append(el("div", { class: "visit" },
      el("h4", {}, `${day(v.at)} · ${v.hospital}`),
      el("ul", {}, v.records.map((t) => el("li", {},
        `${hhmm(t.issued_at)} · ${kindWords(t.kind)}: ${t.items.map((i) => i.text).filter(Boolean).join(", ")}`,
        t.document ? [" ", documentCheck(t.document), " ", documentLink(t.document)] : null,
        t.verified ? el("span", { class: "badge", title: "Signature and log inclusion verified" }, "verified") : null,
        t.quorum > 0 ? (t.cosignatures >= t.quorum ? el("span", { class: "badge", title: `Its log checkpoint carries ${t.cosignatures} witness cosignature(s); ${t.quorum} required` }, "witnessed") : el("span", { class: "badge warn", title: `${t.cosignatures} of ${t.quorum} witness cosignatures so far` }, "not yet witnessed")) : null)))));
  }
  if (nav) card.append(nav);
}

$("write-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!state.grant) return;
  const med = $("w-med").value.trim(), dose = $("w-dose").value.trim();
  const res = [{ resourceType: "MedicationRequest", status: "active", intent: "order",
    medicationCodeableConcept: { text: med }, dosageInstruction: [{ text: dose }] }];
  const r = await api("/api/grant/write", { body: { grant: state.grant, kind: "prescription", resources: res } });
  $("write-result").textContent = r.ok ? `Prescription added and logged at the hospital: ${med}, ${dose}.` : `Not added: ${r.data.detail}`;
  $("write-result").className = r.ok ? "" : "error";
  if (r.ok) { $("write-form").reset(); $("w-med").focus(); }
});

// ---------- document check: a human result ----------
async function checkDocument(raw, type) {
  const out = $("doc-result");
  out.replaceChildren(el("p", { class: "muted" }, "Checking…"));
  const r = await api("/api/document/check", { raw, type });
  if (!r.ok) { out.replaceChildren(el("p", { class: "error", "data-code": r.data.code || "" }, r.data.detail)); return; }
  const v = r.data.view;
  const parts = [el("div", { class: `verdict ${v.valid ? "ok" : "bad"}`, "data-valid": String(v.valid) },
    el("p", { class: "headline" }, v.valid ? "Valid" : "Not valid"), el("p", { class: "verdict-text" }, v.headline))];
  if (v.patient) {
    parts.push(el("div", { class: "who" },
      el("p", { class: "who-name" }, v.patient.name || "Name not given"),
      el("p", { class: "who-facts" }, birthWords(v.patient)),
      v.patient.health_id ? el("p", { class: "who-id" }, `Health ID ${v.patient.health_id}`) : null,
      el("p", { class: "who-source small" }, `As ${v.patient.hospital} signed it.`)));
  }
  if (v.exported) parts.push(el("p", { class: "muted" }, `Exported by the patient's wallet on ${time(v.exported)}.`));
  for (const c of v.records) {
    parts.push(el("div", { class: "doc-card" },
      el("h4", {}, `${c.kind}${c.issuer ? ` from ${c.issuer}` : ""}`, c.valid ? el("span", { class: "badge" }, "valid") : el("span", { class: "badge warn" }, "not valid")),
      c.issued_at ? el("p", { class: "when" }, `Issued ${time(c.issued_at)}`) : null,
      c.shared && c.shared.length ? el("p", { class: "when" }, `Shared ${c.shared.map(time).join("; ")}`) : null,
      c.witnessed === false ? el("p", { class: "warn-note" }, "Not yet witnessed: only the hospital vouches for its log so far.") : null,
      c.lines.length ? el("ul", {}, c.lines.map((l) => el("li", {}, l))) : null,
      c.problems.length ? el("ul", { class: "error" }, c.problems.map((p) => el("li", {}, p))) : null));
  }
  if (v.details.length) parts.push(el("ul", { class: "doc-card" }, v.details.map((d) => el("li", {}, d))));
  parts.push(el("details", {}, el("summary", {}, "Technical details"), el("pre", { class: "report" }, r.data.text)));
  out.replaceChildren(...parts);
  out.querySelector(".verdict").scrollIntoView({ block: "start" });
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

// ---------- emergency (break-glass) access ----------
// The page asks the node, which signs each request with this clinic's doctor key; the hospital
// opens the summary after a second staff member confirms there. The page polls until then.
const EM_POLL_MS = 3000;
const em = { timer: null, access: null };

function fillHospitals(list) {
  const s = $("em-peer");
  const chosen = s.value;
  s.replaceChildren(...list.map((h) => el("option", { value: h.peer_url }, h.name)));
  if (chosen && list.some((h) => h.peer_url === chosen)) s.value = chosen;
}

// A Health ID typed, or found in pasted text (a card's text, a document).
function healthIdOf(text) {
  const m = String(text).match(/\b(\d{4})[- ]?(\d{4})[- ]?(\d{4})[- ]?(\d{2})\b/);
  return m ? `${m[1]}-${m[2]}-${m[3]}-${m[4]}` : String(text).trim();
}
$("em-hid").addEventListener("change", () => { $("em-hid").value = healthIdOf($("em-hid").value); });

function hospitalName(peer) {
  const o = [...$("em-peer").options].find((x) => x.value === peer);
  return o ? o.textContent : peer;
}

// Words for every refusal: what it means and what to do.
function emergencyWords(code, detail, hospital) {
  const h = hospital || "the hospital";
  const words = {
    unknown_patient: `No patient with this Health ID is registered at ${h}. Check the number, or ask the hospital that holds the patient's records.`,
    doctor_not_registered: `This clinic's doctor key is not registered at ${h}, so it cannot ask there. Ask ${h}'s administrator to register it (staff console, Doctors), or ask the hospital where it is registered.`,
    emergency_opted_out: `The patient has opted out of emergency access. Nothing was opened; the attempt is logged and shown to the patient.`,
    emergency_hospital_not_allowed: `The patient allows emergency access only at other hospitals, not at ${h}. Nothing was opened; the attempt is logged and shown to the patient.`,
    emergency_expired: `The time is over: either no staff member confirmed within 30 minutes, or the access has ended. Ask again if it is still needed.`,
    confirmation_required: `Not confirmed yet by a second staff member at ${h}.`,
    unknown_emergency_access: `${h} does not know this request for this clinic's doctor key.`,
    already_confirmed: `This request was already confirmed.`,
    reason_required: `Choose a reason and write what happened: both are required.`,
    invalid_field: detail || "A field is not valid.",
    rate_limited: `${h} is receiving too many requests; wait a minute and try again.`,
    unknown_peer: `This hospital is not in the trust list.`,
    unreachable: `${h} cannot be reached. Check the connection and try again.`,
    tls: `${h}'s certificate was refused; the request was not sent.`,
    bad_response: `${h}'s answer did not verify, so nothing is shown. (${detail || "bad response"})`,
    offline: "The clinic node cannot be reached.",
    session_expired: "The session has ended; log in again.",
  };
  return words[code] || detail || "The request failed.";
}

function emergencyError(code, detail, hospital, field) {
  const e = $("em-error");
  e.textContent = emergencyWords(code, detail, hospital);
  e.dataset.code = code || "";
  for (const f of ["em-hid", "em-reason", "em-details", "em-hours"]) $(f).removeAttribute("aria-invalid");
  if (field) { $(field).setAttribute("aria-invalid", "true"); $(field).focus(); }
}

function emergencyShow(which) {
  $("em-ask").classList.toggle("hidden", which !== "ask");
  $("em-wait").classList.toggle("hidden", which !== "wait");
  $("em-summary").classList.toggle("hidden", which !== "summary");
}

function emergencyStop() { if (em.timer) clearTimeout(em.timer); em.timer = null; }

function emergencyReset() {
  emergencyStop();
  em.access = null;
  for (const id of ["em-name", "em-facts", "em-id", "em-source", "em-expires", "em-verified", "em-blood"]) $(id).textContent = "";
  for (const id of ["em-allergies", "em-meds", "em-problems"]) $(id).replaceChildren();
  emergencyShow("ask");
}

$("em-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const hid = healthIdOf($("em-hid").value);
  $("em-hid").value = hid;
  const form = { peer: $("em-peer").value, health_id: hid, reason: $("em-reason").value, details: $("em-details").value, hours: Number.parseInt($("em-hours").value || "4", 10) };
  if (!/^\d{4}-\d{4}-\d{4}-\d{2}$/.test(hid)) { emergencyError("invalid_field", "Type the patient's Health ID: 14 digits, as 1234-5678-9012-34.", null, "em-hid"); return; }
  if (!form.reason) { emergencyError("reason_required", null, null, "em-reason"); return; }
  if (!form.details.trim()) { emergencyError("reason_required", null, null, "em-details"); return; }
  if (!(form.hours >= 1 && form.hours <= 12)) { emergencyError("invalid_field", "Hours must be between 1 and 12.", null, "em-hours"); return; }
  $("em-error").textContent = ""; $("em-error").dataset.code = "";
  $("em-submit").disabled = true;
  const r = await api("/api/emergency/request", { body: form });
  $("em-submit").disabled = false;
  const hospital = hospitalName(form.peer);
  if (!r.ok) {
    const field = { unknown_patient: "em-hid", reason_required: "em-details" }[r.data.code] || null;
    emergencyError(r.data.code, r.data.detail, hospital, field);
    if (!field) $("em-error").focus();
    return;
  }
  em.access = { peer: form.peer, access_id: r.data.access_id, health_id: hid, hospital: r.data.hospital || hospital, confirm_by: r.data.confirm_by, asked: Date.now() / 1000 };
  $("em-wait").dataset.access = r.data.access_id;
  $("em-wait-hospital").textContent = em.access.hospital;
  $("em-wait-text").textContent = `Asked at ${hhmm(em.access.asked)} for Health ID ${hid}. A staff member of ${em.access.hospital} with the records role must confirm it in the staff console (Emergency) by ${hhmm(r.data.confirm_by)}.`;
  $("em-wait-poll").textContent = "Checking every few seconds…";
  emergencyShow("wait");
  $("em-wait").focus();
  announce(`Waiting for a second staff confirmation at ${em.access.hospital}.`);
  em.timer = setTimeout(emergencyPoll, EM_POLL_MS);
});

async function emergencyPoll() {
  em.timer = null;
  const a = em.access;
  if (!a) return;
  const r = await api("/api/emergency/summary", { body: { peer: a.peer, access_id: a.access_id, health_id: a.health_id } });
  if (em.access !== a) return;
  if (r.ok && r.data.status === "waiting") {
    $("em-wait-poll").textContent = `Last checked at ${new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })}; not confirmed yet.`;
    em.timer = setTimeout(emergencyPoll, EM_POLL_MS);
    return;
  }
  if (!r.ok) {
    if (r.status === 401) return;
    if (["unreachable", "offline", "rate_limited"].includes(r.data.code)) {
      $("em-wait-poll").textContent = emergencyWords(r.data.code, r.data.detail, a.hospital) + " Trying again…";
      em.timer = setTimeout(emergencyPoll, EM_POLL_MS * 2);
      return;
    }
    emergencyShow("ask");
    emergencyError(r.data.code, r.data.detail, a.hospital, null);
    $("em-error").focus();
    em.access = null;
    return;
  }
  renderEmergencySummary(r.data);
}

function itemList(id, items, text, empty) {
  const ul = $(id);
  ul.replaceChildren(...(items.length ? items.map((i) => el("li", {}, text(i))) : [el("li", { class: "muted none" }, empty)]));
}

function renderEmergencySummary(d) {
  const p = d.patient;
  $("em-summary").dataset.access = d.access_id;
  $("em-expires").textContent = `Open until ${time(d.expires_at)} (${d.hospital}). Only what an emergency needs is shown.`;
  $("em-name").textContent = p.name || "—";
  $("em-facts").textContent = birthWords({ sex: p.sex, birth_date: p.birth_date, age: null });
  $("em-id").textContent = `Health ID ${p.health_id}`;
  $("em-source").textContent = `As registered at ${d.hospital}`;
  itemList("em-allergies", d.allergies, (i) => i.text + (i.code ? ` (${i.code})` : ""), "No allergy recorded at this hospital");
  itemList("em-meds", d.medications, (i) => i.medication + (i.dosage ? ` — ${i.dosage}` : ""), "No current medicine recorded");
  itemList("em-problems", d.problems, (i) => i.text + (i.code ? ` (${i.code})` : ""), "No active problem recorded");
  $("em-blood").textContent = d.blood_group || "Not recorded";
  $("em-blood").classList.toggle("muted", !d.blood_group);
  const wit = d.quorum ? `, witnessed (${d.cosignatures} of ${d.quorum})` : "";
  $("em-verified").textContent = `${d.verified_records} record${d.verified_records === 1 ? "" : "s"} verified: the hospital's signature and its transparency log${wit}. Records this hospital does not hold are not included.`;
  emergencyShow("summary");
  $("em-summary").focus();
  announce(`Emergency access open until ${time(d.expires_at)}. ${p.name}. Allergies: ${d.allergies.length ? d.allergies.map((i) => i.text).join(", ") : "none recorded"}. Blood group: ${d.blood_group || "not recorded"}.`);
}

$("em-stop").addEventListener("click", () => { emergencyStop(); em.access = null; emergencyShow("ask"); $("em-hid").focus(); });
$("em-new").addEventListener("click", () => { emergencyReset(); $("em-form").reset(); $("em-hid").focus(); });

boot();
