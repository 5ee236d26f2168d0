// Spondon staff console. Everything from the server or the user goes into the page as text
// (textContent, attributes), never as HTML; QR codes are SVG images from data: URLs.
"use strict";
import { t, setLang, currentLang, applyWords } from "/console/i18n.js";

const $ = (id) => document.getElementById(id);
const state = { csrf: "", roles: [], catalog: null, kind: "prescription", built: null, patient: null, revokeId: null };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}
const word = (key) => el("span", { "data-i18n": key, text: t(key) });

async function api(path, body, { poll = false, key = null } = {}) {
  const opts = { method: body === undefined ? "GET" : "POST", credentials: "same-origin", headers: {} };
  // The background refresh is not activity: the session still ends after 30 minutes unused.
  if (poll) opts.headers["X-Console-Poll"] = "1";
  if (key) opts.headers["Idempotency-Key"] = key;
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.headers["X-CSRF-Token"] = state.csrf;
    opts.body = JSON.stringify(body);
  }
  let r;
  try { r = await fetch("/console/api" + path, opts); } catch (_) { return { ok: false, status: 0, data: { detail: t("network") } }; }
  let data = null;
  try { data = await r.json(); } catch (_) { data = { detail: `HTTP ${r.status}` }; }
  if (r.status === 401 && path !== "/login" && path !== "/session") { show("login"); $("login-error").textContent = t("session_over"); }
  return { status: r.status, ok: r.ok, data };
}

// Each write form holds an idempotency key in a hidden field (docs/peer.md, "Retries"): a
// double submit, or a resubmit after a lost answer, writes once and gets the first answer. A
// success clears it, so the next entry gets a fresh key. (crypto.getRandomValues, not
// randomUUID: the console may be served over plain HTTP on a LAN.)
function newKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}
function formKey(form) {
  const f = form.querySelector('input[name="idempotency_key"]');
  if (!f.value) f.value = newKey();
  return f.value;
}
function clearFormKey(form) {
  form.querySelector('input[name="idempotency_key"]').value = "";
}

function time(s) {
  if (!s) return "—";
  return new Date(s * 1000).toLocaleString(currentLang() === "bn" ? "bn-BD" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
}
function svgImg(svg, alt) {
  return el("img", { src: "data:image/svg+xml;base64," + btoa(svg), alt, class: "qr-img" });
}
const has = (role) => state.roles.includes(role) || state.roles.includes("admin");

// ---------- errors on forms ----------
function clearErrors(form, out) {
  for (const e of form.querySelectorAll(".invalid")) e.classList.remove("invalid");
  for (const e of form.querySelectorAll(".field-error")) e.remove();
  if (out) out.textContent = "";
}
function showError(form, out, data) {
  const detail = data.detail || data.code || "error";
  out.textContent = detail;
  out.dataset.code = data.code || "";
  if (data.field) {
    out.dataset.field = data.field;
    const f = form.querySelector(`[data-field="${CSS.escape(data.field)}"]`);
    if (f) {
      // "invalid field tests[0].value: must be …" reads as "Result: must be …".
      const reason = detail.replace(/^invalid field [^:]+: /, "");
      const label = f.id ? form.querySelector(`label[for="${CSS.escape(f.id)}"]`) : null;
      out.textContent = label ? `${label.textContent}: ${reason}` : detail;
      f.classList.add("invalid");
      f.setAttribute("aria-invalid", "true");
      f.after(el("p", { class: "field-error", text: reason }));
      if (f.focus) f.focus();
    }
  } else {
    delete out.dataset.field;
  }
}

// ---------- session ----------
async function boot() {
  setLang(currentLang());
  for (const b of document.querySelectorAll(".lang")) b.addEventListener("click", () => { setLang(b.dataset.lang); rerender(); });
  const s = await api("/session");
  if (!s.ok) { show("login"); return; }
  await enter(s.data);
}

async function enter(s) {
  state.csrf = s.csrf;
  state.roles = s.roles;
  $("hospital").textContent = s.hospital;
  $("who").textContent = `${s.label} · ${s.roles.map((r) => t("role_w_" + r)).join(", ")}`;
  show("app");
  for (const e of document.querySelectorAll("[data-roles]")) {
    const ok = e.dataset.roles.split(" ").some(has);
    e.classList.toggle("hidden", !ok);
  }
  const c = await api("/catalog");
  if (c.ok) fillCatalog(c.data);
  const first = document.querySelector(".tab:not(.hidden)");
  if (first) tab(first.dataset.tab);
  if (has("records")) {
    await loadEmergency();
    if (!state.emPoll) state.emPoll = setInterval(() => { if (state.csrf) loadEmergency(true); }, 15000);
  }
}

function show(which) {
  $("login").classList.toggle("hidden", which !== "login");
  $("app").classList.toggle("hidden", which !== "app");
  $("logout").classList.toggle("hidden", which !== "app");
  $("who").classList.toggle("hidden", which !== "app");
  if (which === "login") $("token").focus();
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("login-error").textContent = "";
  const r = await api("/login", { token: $("token").value });
  $("token").value = "";
  if (!r.ok) { $("login-error").textContent = r.data.detail || "error"; $("login-error").dataset.code = r.data.code || ""; return; }
  const s = await api("/session");
  if (s.ok) await enter(s.data);
});

$("logout").addEventListener("click", async () => {
  await api("/logout", {});
  state.csrf = "";
  location.reload();
});

function tab(name) {
  for (const b of document.querySelectorAll(".tab")) b.classList.toggle("active", b.dataset.tab === name);
  for (const p of document.querySelectorAll(".tabpane")) p.classList.toggle("hidden", p.id !== "tab-" + name);
  if (name === "doctors") loadDoctors();
  if (name === "staff") loadTokens();
  if (name === "issue") loadDoctorChoices();
  if (name === "emergency") { $("em-done").classList.add("hidden"); loadEmergency(); }
}
for (const b of document.querySelectorAll(".tab")) b.addEventListener("click", () => tab(b.dataset.tab));

function rerender() {
  if (state.catalog) fillCatalog(state.catalog);
  renderLines();
  if (state.patient) renderPatient(state.patient);
  renderSearch();
  renderEmergency();
  const who = $("who");
  if (state.roles.length) who.textContent = `${who.textContent.split(" · ")[0]} · ${state.roles.map((r) => t("role_w_" + r)).join(", ")}`;
}

function fillCatalog(c) {
  state.catalog = c;
  const d = $("r-district");
  const chosen = d.value;
  d.replaceChildren(el("option", { value: "", "data-i18n": "choose", text: t("choose") }), ...c.districts.map((x) => el("option", { value: x, text: x })));
  d.value = chosen;
  $("dl-medicines").replaceChildren(...c.medicines.map((m) => el("option", { value: m.name })));
  $("dl-tests").replaceChildren(...c.lab_tests.map((x) => el("option", { value: `${x.loinc} — ${x.name}` })));
  $("dl-icd").replaceChildren(...c.diagnoses.map((x) => el("option", { value: `${x.code} — ${x.name}` })));
}
const codeOf = (v) => v.split(" — ")[0].trim();

// ---------- patients ----------
$("search-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const q = $("search-q").value.trim();
  $("search-error").textContent = "";
  const r = await api("/patients?q=" + encodeURIComponent(q));
  if (!r.ok) { $("search-error").textContent = r.data.detail; $("search-results").classList.add("hidden"); return; }
  state.found = r.data.patients;
  renderSearch();
});

function renderSearch() {
  if (!state.found) return;
  const tbody = $("search-results").querySelector("tbody");
  tbody.replaceChildren();
  for (const p of state.found) {
    const open = el("button", { type: "button", class: "link", text: p.health_id });
    open.addEventListener("click", () => openPatient(p.health_id));
    tbody.append(el("tr", {}, el("td", {}, open), el("td", { text: p.name }), el("td", { text: p.birth_date }),
      el("td", { text: t(p.sex) }), el("td", { text: `${p.district}, ${p.upazila}` }), el("td", { text: "…" + p.national_id_end })));
  }
  $("search-results").classList.toggle("hidden", state.found.length === 0);
  $("search-empty").classList.toggle("hidden", state.found.length !== 0);
}

async function openPatient(hid) {
  state.codeKey = null;
  tab("patients");
  const r = await api("/patients/" + encodeURIComponent(hid));
  if (!r.ok) { $("search-error").textContent = r.data.detail; return; }
  state.patient = r.data;
  $("p-enroll").replaceChildren();
  renderPatient(r.data);
  $("patient").classList.remove("hidden");
  $("patient").scrollIntoView({ block: "start" });
}

function renderPatient(d) {
  const p = d.patient;
  $("p-name").textContent = p.name;
  $("p-name").dataset.healthId = p.health_id;
  const dl = $("p-details");
  const rows = [["health_id", p.health_id], ["national_id", p.national_id], ["birth_date", p.birth_date], ["sex", t(p.sex)],
    ["mobile", p.phone], ["district", `${p.district}, ${p.upazila}`]];
  dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, word(k)), el("dd", { text: v })]));
  const tb = $("p-records").querySelector("tbody");
  tb.replaceChildren();
  for (const rec of d.records) {
    const status = rec.revoked
      ? el("span", { class: "flag high", text: `${t("revoked")} · ${t("r_" + rec.revoked.reason)}` })
      : el("span", { class: "flag normal", text: t("active") });
    let action = null;
    if (!rec.revoked && has("records")) {
      action = el("button", { type: "button", class: "small-btn", "data-record": rec.id, text: t("revoke") });
      action.addEventListener("click", () => askRevoke(rec.id));
    }
    tb.append(el("tr", { "data-record": rec.id }, el("td", { text: t("k_" + rec.kind) }), el("td", { text: time(rec.issued_at) }),
      el("td", { text: rec.doctor_bmdc || "—" }), el("td", { text: "#" + rec.log_index }), el("td", {}, status), el("td", {}, action)));
  }
  $("p-no-records").classList.toggle("hidden", d.records.length !== 0);
  const ta = $("p-access").querySelector("tbody");
  ta.replaceChildren();
  for (const a of d.access) {
    const ok = a.outcome === "granted" || a.outcome === "allowed";
    const outcome = el("span", { class: "flag " + (ok ? "normal" : "high"), text: (ok ? t("granted") : t("denied")) + (a.reason ? ` · ${a.reason}` : "") });
    ta.append(el("tr", {}, el("td", { text: time(a.at) }), el("td", {}, outcome),
      el("td", { text: a.doctor || (a.audience ? `${t("unknown_key")} ${a.audience.slice(0, 12)}…` : "—") }),
      el("td", { text: String(a.records) }), el("td", { text: "#" + a.log_index })));
  }
  $("p-no-access").classList.toggle("hidden", d.access.length !== 0);
}

$("p-code").addEventListener("click", async () => {
  const hid = $("p-name").dataset.healthId;
  // A re-binding after an identity check (docs/peer.md, "Lost phone"): staff confirm they checked.
  if (!window.confirm(t("new_code_confirm"))) return;
  if (!state.codeKey) state.codeKey = newKey();
  const r = await api(`/patients/${encodeURIComponent(hid)}/enrollment-code`, {}, { key: state.codeKey });
  if (r.ok) { state.codeKey = null; $("p-enroll").replaceChildren(enrollmentSlip(r.data, state.patient.patient.name)); }
});
$("p-issue").addEventListener("click", () => {
  $("i-hid").value = $("p-name").dataset.healthId;
  tab("issue");
});

function enrollmentSlip(d, name) {
  const print = el("button", { type: "button", class: "no-print", text: t("print") });
  print.addEventListener("click", () => window.print());
  return el("div", { class: "slip", id: "enroll-slip" },
    el("div", { class: "slip-qr" }, svgImg(d.enrollment_qr_svg, "Enrollment QR")),
    el("div", { class: "slip-text" },
      el("h3", {}, word("enrolled_title")),
      el("p", { class: "slip-name", text: name }),
      el("dl", { class: "details" },
        el("dt", {}, word("health_id")), el("dd", { class: "mono", id: "enroll-hid", text: d.health_id }),
        el("dt", {}, word("enroll_code")), el("dd", { class: "mono big", id: "enroll-code", text: d.enrollment_code }),
        el("dt", {}, word("enroll_expires")), el("dd", { id: "enroll-expires", text: time(d.enrollment_code_expires) })),
      el("p", { class: "small muted" }, word("enroll_help")),
      print));
}

// ---------- register ----------
function patientForm() {
  return { national_id: $("r-nid").value, name: $("r-name").value, sex: $("r-sex").value, birth_date: $("r-dob").value,
    phone: $("r-phone").value, district: $("r-district").value, upazila: $("r-upazila").value };
}

async function register(confirm) {
  const form = $("register-form");
  clearErrors(form, $("register-error"));
  $("enrolled").classList.add("hidden");
  const patient = patientForm();
  if (!confirm) {
    const c = await api("/patients/check", patient);
    if (!c.ok) { showError(form, $("register-error"), c.data); return; }
    if (c.data.duplicates.length) { showDuplicates(c.data.duplicates); return; }
  }
  const r = await api("/patients", { patient, confirm_not_duplicate: confirm }, { key: formKey(form) });
  if (!r.ok) { showError(form, $("register-error"), r.data); return; }
  clearFormKey(form);
  $("dups").classList.add("hidden");
  $("enrolled").replaceChildren(enrollmentSlip(r.data, patient.name.trim()));
  $("enrolled").classList.remove("hidden");
  form.reset();
  $("enrolled").scrollIntoView({ block: "start" });
}

function showDuplicates(list) {
  const tb = $("dups").querySelector("tbody");
  tb.replaceChildren(...list.map((p) => {
    const open = el("button", { type: "button", class: "link", text: p.health_id });
    open.addEventListener("click", () => openPatient(p.health_id));
    return el("tr", {}, el("td", {}, open), el("td", { text: p.name }), el("td", { text: p.birth_date }),
      el("td", { text: p.matches.map((m) => t("m_" + m)).join(", ") }));
  }));
  const sameNid = list.some((p) => p.matches.includes("national_id"));
  $("register-anyway").classList.toggle("hidden", sameNid);
  $("dups").classList.remove("hidden");
  $("dups").scrollIntoView({ block: "center" });
}
$("register-form").addEventListener("submit", (e) => { e.preventDefault(); register(false); });
$("register-anyway").addEventListener("click", () => register(true));

// ---------- issue ----------
const lines = { prescription: [{}], lab_report: [{}], diagnosis: [{}], payment: [{}], encounter: [{}] };
const extra = { conclusion: "", method: "cash", e_class: "outpatient", department: "", reason: "", note: "" };

for (const b of document.querySelectorAll(".kind")) b.addEventListener("click", () => { saveLines(); state.kind = b.dataset.kind; renderLines(); hidePreview(); });

function input(field, key, value, { label, ...attrs } = {}) {
  const id = "f-" + field.replace(/[^a-z0-9]/gi, "-");
  const i = el("input", { id, "data-field": field, "data-key": key, value: value || "", autocomplete: "off", ...attrs });
  return el("div", { class: "cell" + (attrs.class === "wide" ? " wide" : "") }, el("label", { for: id }, word(label || key)), i);
}
function select(field, key, value, options, label) {
  const id = "f-" + field.replace(/[^a-z0-9]/gi, "-");
  const s = el("select", { id, "data-field": field, "data-key": key }, ...options.map(([v, k]) => el("option", { value: v, text: t(k) })));
  s.value = value || options[0][0];
  return el("div", { class: "cell" }, el("label", { for: id }, word(label || key)), s);
}

function saveLines() {
  const box = $("form-lines");
  const list = lines[state.kind];
  for (const row of box.querySelectorAll("[data-line]")) {
    const i = Number(row.dataset.line);
    list[i] = list[i] || {};
    for (const f of row.querySelectorAll("[data-key]")) list[i][f.dataset.key] = f.value;
  }
  for (const f of box.querySelectorAll("[data-extra]")) extra[f.dataset.extra] = f.value;
}

function unitHint(loincText, unitCode) {
  if (!state.catalog) return "";
  const test = state.catalog.lab_tests.find((x) => x.loinc === codeOf(loincText || ""));
  const code = unitCode || (test && test.unit) || "";
  const u = state.catalog.units.find((x) => x.code === code);
  const parts = [];
  if (u) parts.push(`${u.symbol} = ${currentLang() === "bn" ? u.bn : u.en}`);
  if (test && test.low !== null && test.high !== null) parts.push(`${test.low}–${test.high}`);
  if (test && !test.unit) parts.push("positive / negative");
  return parts.join(" · ");
}

function renderLines() {
  for (const b of document.querySelectorAll(".kind")) b.classList.toggle("active", b.dataset.kind === state.kind);
  const box = $("form-lines");
  box.replaceChildren();
  const k = state.kind;
  const list = lines[k];
  const unitOptions = [["", "unit"], ...((state.catalog && state.catalog.units) || []).map((u) => [u.code, u.symbol])];
  list.forEach((l, i) => {
    let cells = [];
    if (k === "prescription") {
      cells = [input(`medications[${i}].medicine`, "medicine", l.medicine, { list: "dl-medicines", class: "wide" }),
        input(`medications[${i}].dose`, "dose", l.dose, { placeholder: "1 tablet" }),
        select(`medications[${i}].frequency`, "frequency", l.frequency, ["once_daily", "twice_daily", "thrice_daily", "four_times_daily", "at_night", "as_needed"].map((f) => [f, "f_" + f])),
        input(`medications[${i}].days`, "days", l.days, { inputmode: "numeric" }),
        input(`medications[${i}].instructions`, "instructions", l.instructions)];
    } else if (k === "lab_report") {
      const hint = el("p", { class: "hint small muted", "data-hint": String(i), text: unitHint(l.loinc, l.unit) });
      cells = [input(`tests[${i}].loinc`, "loinc", l.loinc, { list: "dl-tests", label: "test", class: "wide" }),
        input(`tests[${i}].value`, "value", l.value),
        el("div", { class: "cell" }, el("label", { for: `f-u-${i}` }, word("unit")),
          (() => { const s = el("select", { id: `f-u-${i}`, "data-field": `tests[${i}].unit`, "data-key": "unit" }, ...unitOptions.map(([v, lab]) => el("option", { value: v, text: v ? lab : "—" }))); s.value = l.unit || ""; return s; })()),
        input(`tests[${i}].low`, "low", l.low, { inputmode: "decimal" }),
        input(`tests[${i}].high`, "high", l.high, { inputmode: "decimal" }),
        input(`tests[${i}].name`, "name", l.name, { label: "test_name" }), hint];
    } else if (k === "diagnosis") {
      cells = [input(`conditions[${i}].code`, "code", l.code, { list: "dl-icd", label: "icd", class: "wide" }),
        select(`conditions[${i}].status`, "status", l.status, [["confirmed", "confirmed"], ["provisional", "provisional"]], "c_status"),
        input(`conditions[${i}].name`, "name", l.name, { label: "icd_name" }),
        input(`conditions[${i}].note`, "note", l.note)];
    } else if (k === "payment") {
      cells = [input(`items[${i}].description`, "description", l.description, { label: "item", class: "wide" }),
        input(`items[${i}].amount`, "amount", l.amount, { inputmode: "decimal" })];
    }
    if (k === "encounter") return;
    const remove = el("button", { type: "button", class: "small-btn", "aria-label": t("remove"), text: "✕" });
    remove.addEventListener("click", () => { saveLines(); if (list.length > 1) list.splice(i, 1); renderLines(); });
    box.append(el("div", { class: "line line-" + k, "data-line": String(i) }, ...cells, list.length > 1 ? remove : null));
  });
  if (k !== "encounter") {
    const addKey = { prescription: "add_medicine", lab_report: "add_test", diagnosis: "add_condition", payment: "add_item" }[k];
    const add = el("button", { type: "button", class: "add", id: "add-line", text: "+ " + t(addKey) });
    add.addEventListener("click", () => { saveLines(); list.push({}); renderLines(); });
    box.append(add);
  }
  if (k === "lab_report") {
    box.append(el("div", { class: "cell" }, el("label", { for: "f-conclusion" }, word("conclusion")),
      el("textarea", { id: "f-conclusion", "data-field": "conclusion", "data-extra": "conclusion", rows: "2" }, extra.conclusion)));
  }
  if (k === "payment") {
    const s = select("method", "method", extra.method, ["cash", "card", "mobile_banking", "unpaid"].map((m) => [m, "m_" + m]));
    s.querySelector("select").dataset.extra = "method";
    box.append(s);
  }
  if (k === "encounter") {
    const c = select("class", "e_class", extra.e_class, ["outpatient", "inpatient", "emergency"].map((m) => [m, "e_" + m]));
    c.querySelector("select").dataset.extra = "e_class";
    const dep = input("department", "department", extra.department);
    dep.querySelector("input").dataset.extra = "department";
    const rea = input("reason", "visit_reason", extra.reason);
    rea.querySelector("input").dataset.extra = "reason";
    box.append(el("div", { class: "line" }, c, dep, rea),
      el("div", { class: "cell" }, el("label", { for: "f-note" }, word("encounter_note")),
        el("textarea", { id: "f-note", "data-field": "note", "data-extra": "note", rows: "4" }, extra.note)));
  }
  for (const f of box.querySelectorAll("[data-key='loinc'], [data-key='unit']")) {
    f.addEventListener("change", () => {
      const row = f.closest("[data-line]");
      const h = row.querySelector("[data-hint]");
      const lo = row.querySelector("[data-key='loinc']").value;
      const test = state.catalog && state.catalog.lab_tests.find((x) => x.loinc === codeOf(lo));
      const unit = row.querySelector("[data-key='unit']");
      if (f.dataset.key === "loinc" && test && test.unit) unit.value = test.unit;
      h.textContent = unitHint(lo, unit.value);
    });
  }
}

function formRequest() {
  saveLines();
  const k = state.kind;
  const list = lines[k];
  const clean = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== ""));
  let form;
  if (k === "prescription") form = { kind: k, medications: list.map((l) => ({ medicine: l.medicine || "", dose: l.dose || "", frequency: l.frequency || "once_daily", days: Number.parseInt(l.days || "0", 10) || 0, ...clean({ instructions: l.instructions }) })) };
  if (k === "lab_report") form = { kind: k, tests: list.map((l) => ({ loinc: codeOf(l.loinc || ""), value: l.value || "", ...clean({ unit: l.unit, low: l.low, high: l.high, name: l.name }) })), ...clean({ conclusion: extra.conclusion }) };
  if (k === "diagnosis") form = { kind: k, conditions: list.map((l) => ({ code: codeOf(l.code || ""), status: l.status || "confirmed", ...clean({ name: l.name, note: l.note }) })) };
  if (k === "payment") form = { kind: k, items: list.map((l) => ({ description: l.description || "", amount: l.amount || "" })), method: extra.method || "cash" };
  if (k === "encounter") form = { kind: k, class: extra.e_class || "outpatient", department: extra.department || "", reason: extra.reason || "", ...clean({ note: extra.note }) };
  const doctor = $("i-doctor").value;
  return { health_id: $("i-hid").value.trim(), form, lang: currentLang(), ...(doctor ? { doctor_bmdc: doctor } : {}) };
}

function hidePreview() { $("preview-card").classList.add("hidden"); state.built = null; }

$("issue-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = $("issue-form");
  clearErrors(form, $("issue-error"));
  $("issued-card").classList.add("hidden");
  const req = formRequest();
  const r = await api("/records/preview", req);
  if (!r.ok) { hidePreview(); showError(form, $("issue-error"), r.data); return; }
  state.built = req;
  const tb = $("preview-table").querySelector("tbody");
  tb.replaceChildren(...r.data.summary.map((s) => el("tr", {}, el("th", { text: s.item }),
    el("td", {}, s.detail, s.flag ? el("span", { class: "flag " + s.flag, text: t("flag_" + s.flag) }) : null))));
  $("preview-fhir").textContent = JSON.stringify(r.data.bundle, null, 2);
  $("preview-card").classList.remove("hidden");
  $("preview-card").scrollIntoView({ block: "start" });
});
$("edit").addEventListener("click", () => { hidePreview(); $("i-hid").focus(); });
$("sign").addEventListener("click", async () => {
  if (!state.built) return;
  $("sign").disabled = true;
  const r = await api("/records", state.built, { key: formKey($("issue-form")) });
  $("sign").disabled = false;
  if (!r.ok) { showError($("issue-form"), $("issue-error"), r.data); hidePreview(); return; }
  clearFormKey($("issue-form"));
  hidePreview();
  showIssued(r.data);
  lines[state.kind] = [{}];
  renderLines();
});

function showIssued(data) {
  const rec = data.record;
  const le = data.log_entry;
  const open = el("button", { type: "button", class: "primary inline", text: t("open_patient") });
  open.addEventListener("click", () => openPatient(rec.health_id));
  $("issued-card").replaceChildren(el("h2", { class: "ok-title" }, "✓ ", word("issued_title")),
    el("dl", { class: "details", id: "issued-details" },
      el("dt", {}, word("record_id")), el("dd", { class: "mono", id: "issued-id", text: rec.id }),
      el("dt", {}, word("kind")), el("dd", { text: t("k_" + rec.kind) }),
      el("dt", {}, word("health_id")), el("dd", { class: "mono", text: rec.health_id }),
      el("dt", {}, word("log_index")), el("dd", { class: "mono", id: "issued-log-index", text: "#" + le.index }),
      el("dt", {}, word("log_kind")), el("dd", { class: "mono", text: le.kind }),
      el("dt", {}, word("log_time")), el("dd", { text: time(le.time) }),
      el("dt", {}, word("commitment")), el("dd", { class: "mono small", text: le.commitment }),
      el("dt", {}, word("tree")), el("dd", { class: "mono small", text: `${le.tree_size} / ${le.root}` })),
    el("div", { class: "row" }, open));
  $("issued-card").classList.remove("hidden");
  $("issued-card").scrollIntoView({ block: "start" });
}

// ---------- documents: upload the file, then issue the record naming it ----------
$("doc-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = $("doc-form");
  const out = $("doc-error");
  clearErrors(form, out);
  $("issued-card").classList.add("hidden");
  const file = $("d-file").files[0];
  if (!file) { showError(form, out, { code: "invalid_field", field: "file", detail: t("doc_choose_file") }); return; }
  $("doc-submit").disabled = true;
  out.textContent = t("doc_uploading");
  let up;
  try {
    const r = await fetch("/console/api/files", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": file.type || "application/octet-stream", "X-CSRF-Token": state.csrf }, body: file });
    let data = null;
    try { data = await r.json(); } catch (_) { data = { detail: `HTTP ${r.status}` }; }
    up = { ok: r.ok, data };
  } catch (_) { up = { ok: false, data: { detail: t("network") } }; }
  out.textContent = "";
  if (!up.ok) { $("doc-submit").disabled = false; showError(form, out, { ...up.data, field: "file" }); return; }
  const doctor = $("i-doctor").value;
  const r = await api("/documents", { health_id: $("d-hid").value.trim(), doc_type: $("d-type").value,
    category: $("d-category").value, title: $("d-title").value, sha256: up.data.sha256, content_type: up.data.content_type,
    ...(doctor ? { doctor_bmdc: doctor } : {}) }, { key: formKey(form) });
  $("doc-submit").disabled = false;
  if (!r.ok) { showError(form, out, r.data); return; }
  clearFormKey(form);
  showIssued(r.data);
  form.reset();
});

async function loadDoctorChoices() {
  const r = await api("/doctors");
  if (!r.ok) return;
  const s = $("i-doctor");
  const v = s.value;
  s.replaceChildren(el("option", { value: "", "data-i18n": "no_doctor", text: t("no_doctor") }),
    ...r.data.doctors.map((d) => el("option", { value: d.bmdc_number, text: `${d.name} (${d.bmdc_number}) — ${d.department}` })));
  s.value = v;
}

// ---------- revoke ----------
function askRevoke(id) {
  state.revokeId = id;
  clearFormKey($("revoke-form"));
  $("revoke-error").textContent = "";
  $("revoke-dialog").showModal();
}
$("revoke-cancel").addEventListener("click", () => $("revoke-dialog").close());
$("revoke-confirm").addEventListener("click", async () => {
  const r = await api(`/records/${encodeURIComponent(state.revokeId)}/revoke`, { reason: $("revoke-reason").value },
    { key: formKey($("revoke-form")) });
  if (!r.ok) { $("revoke-error").textContent = r.data.detail; return; }
  $("revoke-dialog").close();
  await openPatient($("p-name").dataset.healthId);
});

// ---------- doctors ----------
async function loadDoctors() {
  const r = await api("/doctors");
  if (!r.ok) return;
  const tb = $("doctor-list").querySelector("tbody");
  tb.replaceChildren(...r.data.doctors.map((d) => {
    const b = el("button", { type: "button", class: "small-btn", text: t("show_qr") });
    b.addEventListener("click", async () => {
      const c = await api(`/doctors/${encodeURIComponent(d.bmdc_number)}/credential`);
      if (c.ok) showCredential(c.data, d.name);
    });
    return el("tr", {}, el("td", { class: "mono", text: d.bmdc_number }), el("td", { text: d.name }), el("td", { text: d.department }),
      el("td", { text: time(d.registered_at) }), el("td", {}, b));
  }));
}
function showCredential(c, name) {
  const print = el("button", { type: "button", class: "no-print", text: t("print") });
  print.addEventListener("click", () => window.print());
  $("doctor-credential").replaceChildren(el("h2", {}, word("credential_title")), el("p", { class: "slip-name", text: `${name} · ${c.bmdc_number}` }),
    el("div", { class: "slip-qr" }, svgImg(c.qr_svg, "Doctor credential QR")),
    el("p", { class: "small muted" }, word("credential_help")),
    el("details", {}, el("summary", { text: "SPONDON:1:…" }), el("pre", { class: "report", id: "credential-text", text: c.credential })), print);
  $("doctor-credential").classList.remove("hidden");
}
$("doctor-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = $("doctor-form");
  clearErrors(form, $("doctor-error"));
  const body = { bmdc_number: $("d-bmdc").value, name: $("d-name").value, specialty: $("d-spec").value, public_key: $("d-key").value };
  const r = await api("/doctors", body, { key: formKey(form) });
  if (!r.ok) { showError(form, $("doctor-error"), r.data); return; }
  clearFormKey(form);
  showCredential(r.data, body.name.trim());
  form.reset();
  loadDoctors();
});

// ---------- staff tokens ----------
async function loadTokens() {
  const r = await api("/staff-tokens");
  if (!r.ok) return;
  const now = Date.now() / 1000;
  const tb = $("token-list").querySelector("tbody");
  tb.replaceChildren(...r.data.tokens.map((tk) => {
    let action = null;
    const dead = tk.revoked_at || (tk.expires_at && tk.expires_at <= now);
    if (!dead) {
      action = el("button", { type: "button", class: "small-btn", text: t("revoke") });
      action.addEventListener("click", async () => { const x = await api(`/staff-tokens/${encodeURIComponent(tk.id)}/revoke`, {}); if (x.ok) loadTokens(); else $("token-error").textContent = x.data.detail; });
    }
    const status = tk.revoked_at ? `${t("revoked_at")} ${time(tk.revoked_at)}` : (dead ? t("expired_t") : time(tk.expires_at));
    return el("tr", {}, el("td", { text: tk.label }), el("td", { text: tk.roles.split(",").map((x) => t("role_w_" + x)).join(", ") }),
      el("td", { text: status }), el("td", {}, action));
  }));
}
$("token-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = $("token-form");
  clearErrors(form, $("token-error"));
  const roles = [...form.querySelectorAll("input[type=checkbox]:checked")].map((c) => c.value);
  const r = await api("/staff-tokens", { label: $("t-label").value, roles, days: Number.parseInt($("t-days").value || "0", 10) || 0 });
  if (!r.ok) { showError(form, $("token-error"), r.data); return; }
  $("token-new").replaceChildren(el("p", { class: "warn" }, word("token_once")), el("pre", { class: "report mono", id: "new-token", text: r.data.token }));
  $("token-new").classList.remove("hidden");
  form.reset();
  loadTokens();
});

// ---------- emergency (break-glass) access ----------
function minutesLeft(until, now) {
  const m = Math.max(0, Math.ceil((until - now) / 60));
  return t("em_minutes").replace("{n}", currentLang() === "bn" ? m.toLocaleString("bn-BD") : String(m));
}
const reasonWords = (r) => t("er_" + r) === "er_" + r ? r : t("er_" + r);

async function loadEmergency(poll = false) {
  if (!has("records")) return;
  const r = await api("/emergency/pending", undefined, { poll });
  if (!r.ok) { if (r.status !== 401) $("em-error").textContent = r.data.detail || r.data.code; return; }
  state.emPending = r.data;
  state.emSkew = r.data.now - Date.now() / 1000;
  if (has("admin")) {
    const a = await api("/emergency", undefined, { poll });
    if (a.ok) state.emAll = a.data;
    // Who confirmed: the staff token's label (the list names its id).
    const tk = await api("/staff-tokens", undefined, { poll });
    if (tk.ok) state.emTokens = Object.fromEntries(tk.data.tokens.map((x) => [x.id, x.label]));
  }
  renderEmergency();
}

function emField(key, ...value) { return [el("dt", {}, word(key)), el("dd", {}, ...value)]; }

function renderEmergency() {
  if (!state.emPending) return;
  const now = Date.now() / 1000 + (state.emSkew || 0);
  const list = state.emPending.pending.filter((p) => p.confirm_by >= now);
  const count = $("em-count");
  count.textContent = list.length ? String(list.length) : "";
  count.classList.toggle("hidden", !list.length);
  count.setAttribute("aria-label", `${list.length} ${t("em_waiting")}`);
  const box = $("em-pending");
  box.replaceChildren(...list.map((p) => {
    const b = el("button", { type: "button", class: "danger", "data-access": p.access_id, text: t("em_confirm") });
    b.addEventListener("click", () => askConfirmEmergency(p));
    return el("article", { class: "em-request", "data-access": p.access_id, "aria-label": `${t("em_request")} ${p.health_id}` },
      el("div", { class: "em-head" },
        el("span", { class: "flag high", text: reasonWords(p.reason) }),
        el("span", { class: "em-left", text: `${t("em_time_left")}: ${minutesLeft(p.confirm_by, now)}` })),
      el("dl", { class: "details" },
        emField("doctor", el("span", { text: `${p.doctor_name} (${p.doctor_bmdc}) — ${p.doctor_department}` })),
        emField("health_id", el("span", { class: "mono", text: p.health_id })),
        emField("name", el("span", { text: `${p.patient_name} · ${p.patient_birth_date}` })),
        emField("em_details", el("span", { class: "em-details", text: p.details })),
        emField("em_hours", el("span", { text: String(p.hours) })),
        emField("em_requested", el("span", { text: time(p.requested_at) }))),
      el("div", { class: "row" }, b));
  }));
  $("em-none").classList.toggle("hidden", list.length !== 0);
  if (!state.emAll || !has("admin")) return;
  const accesses = state.emAll.accesses;
  const disputes = accesses.filter((a) => a.dispute).sort((x, y) => y.dispute.disputed_at - x.dispute.disputed_at);
  $("em-dispute-list").querySelector("tbody").replaceChildren(...disputes.map((a) => el("tr", { "data-access": a.access_id },
    el("td", { text: time(a.dispute.disputed_at) }), el("td", { class: "mono", text: a.health_id }),
    el("td", { text: `${a.doctor_name} (${a.doctor_bmdc})` }), el("td", { class: "em-details", text: a.dispute.text }),
    el("td", { text: `${time(a.requested_at)} · ${reasonWords(a.reason)}` }))));
  $("em-dispute-list").classList.toggle("hidden", !disputes.length);
  $("em-no-disputes").classList.toggle("hidden", disputes.length !== 0);
  $("em-all").querySelector("tbody").replaceChildren(...accesses.map((a) => {
    const flag = { pending: "warnflag", active: "high", expired: "normal", lapsed: "normal" }[a.status] || "normal";
    return el("tr", { "data-access": a.access_id, class: a.dispute ? "disputed" : "" },
      el("td", { text: time(a.requested_at) }), el("td", { class: "mono", text: a.health_id }),
      el("td", { text: `${a.doctor_name} (${a.doctor_bmdc})` }),
      el("td", {}, el("strong", { text: reasonWords(a.reason) }), el("br"), el("span", { class: "em-details small", text: a.details })),
      el("td", {}, el("span", { class: "flag " + flag, text: t("es_" + a.status) }), a.dispute ? el("span", { class: "flag high", text: t("em_disputed") }) : null),
      el("td", {}, ...(a.confirmed_by ? [el("span", { text: (state.emTokens || {})[a.confirmed_by] || `${a.confirmed_by.slice(0, 12)}…` }), el("br"),
        el("span", { class: "small muted", text: time(a.confirmed_at) })] : ["—"])),
      el("td", { text: a.expires_at ? time(a.expires_at) : "—" }),
      el("td", { text: a.log_index !== null && a.log_index !== undefined ? "#" + a.log_index : "—" }));
  }));
  $("em-all").classList.toggle("hidden", !accesses.length);
  $("em-no-accesses").classList.toggle("hidden", accesses.length !== 0);
}

function askConfirmEmergency(p) {
  state.emConfirm = p;
  $("em-dialog-error").textContent = "";
  $("em-dialog-details").replaceChildren(
    ...emField("doctor", el("span", { text: `${p.doctor_name} (${p.doctor_bmdc})` })),
    ...emField("health_id", el("span", { class: "mono", text: p.health_id })),
    ...emField("name", el("span", { text: p.patient_name })),
    ...emField("reason", el("span", { text: reasonWords(p.reason) })),
    ...emField("em_details", el("span", { class: "em-details", text: p.details })),
    ...emField("em_hours", el("span", { text: String(p.hours) })));
  $("em-dialog").showModal();
  $("em-dialog-cancel").focus();
}
$("em-dialog-cancel").addEventListener("click", () => $("em-dialog").close());
$("em-dialog-confirm").addEventListener("click", async () => {
  const p = state.emConfirm;
  if (!p) return;
  $("em-dialog-confirm").disabled = true;
  // One key per access: confirming it twice from this session answers the first confirmation.
  const r = await api(`/emergency/${encodeURIComponent(p.access_id)}/confirm`, {}, { key: "confirm-" + p.access_id });
  $("em-dialog-confirm").disabled = false;
  if (!r.ok) { $("em-dialog-error").textContent = r.data.detail || r.data.code; $("em-dialog-error").dataset.code = r.data.code || ""; return; }
  $("em-dialog").close();
  const done = $("em-done");
  done.textContent = t("em_confirmed").replace("{hid}", p.health_id).replace("{until}", time(r.data.expires_at)).replace("{log}", "#" + r.data.log_index);
  done.dataset.access = r.data.access_id;
  done.classList.remove("hidden");
  state.emConfirm = null;
  await loadEmergency();
  done.focus();
});
$("em-refresh").addEventListener("click", () => { $("em-error").textContent = ""; loadEmergency(); });

renderLines();
applyWords(document);
boot();
