// A stand-in for the Tauri shell, for looking at the UI in a plain browser (ui/serve.py --mock).
// Never shipped: build-ui.sh does not copy it. Start state from the URL: ?state=no_wallet|locked|unlocked
(function () {
  const params = new URLSearchParams(location.search);
  let state = params.get("state") || "unlocked";
  const listeners = {};
  const now = Math.floor(Date.now() / 1000);
  const day = 86400;
  const emit = (name, payload) => (listeners[name] || []).forEach((f) => f({ event: name, payload }));
  const trust = { signer: "Directorate General of Health Services (DGHS)", signer_kid: "kMq3cT0pX9pV1kZ5n0_5Fz2oQ8aYw7bR4e6Hn1sJt2U", sequence: 7, issued_at: now - 20 * day, expires: null,
    hospitals: [{ id: "dmch", name: "Dhaka Medical College Hospital", peer_url: "https://dmch.spondon.example" },
                { id: "ctg-diag", name: "Chattogram Diagnostic Centre", peer_url: "https://ctgdiag.spondon.example" }] };
  const status = () => ({ state, keys: { type: "keychain", name: "Secret Service (GNOME Keyring)" }, key_in_keychain: false,
    language: "en", lock_after_secs: 300, consortium_configured: true, trust_list: trust });
  const hospitals = [
    { peer_url: "https://dmch.spondon.example", hospital_id: "dmch", name: "Dhaka Medical College Hospital", health_id: "HID-8841-2290-17",
      enrolled_at: now - 60 * day, last_sync: now - 3600, records: 6, alerts: [] },
    { peer_url: "https://ctgdiag.spondon.example", hospital_id: "ctg-diag", name: "Chattogram Diagnostic Centre", health_id: "HID-8841-2290-17",
      enrolled_at: now - 30 * day, last_sync: now - 5 * day, records: 2,
      alerts: [{ at: now - 2 * day, violation: { type: "fork", from: 120, to: 131, reason: "no consistency proof" } }] },
  ];
  const rec = (id, kind, title, t, hosp, doctor, trustLevel) => ({ id, kind, title, issued_at: t, hospital: hosp,
    issuer: "https://dmch.spondon.example", trust: trustLevel || "verified", doctor, supersedes: null });
  const records = [
    rec("r1", "lab_report", "Complete blood count (CBC)", now - 2 * 3600, "Dhaka Medical College Hospital", "Dr. Nasrin Akter"),
    rec("r2", "prescription", "Prescription: dengue fever care", now - 3 * 3600, "Dhaka Medical College Hospital", "Dr. Nasrin Akter"),
    rec("r3", "diagnosis", "Dengue fever (NS1 positive)", now - 3 * 3600 - 600, "Dhaka Medical College Hospital", "Dr. Nasrin Akter"),
    rec("r4", "payment", "Payment slip: outpatient visit", now - 1 * day - 7200, "Dhaka Medical College Hospital", null),
    rec("r5", "lab_report", "Fasting blood glucose", now - 9 * day, "Chattogram Diagnostic Centre", null),
    rec("r6", "immunization", "COVID-19 vaccine, booster", now - 40 * day, "Dhaka Medical College Hospital", null),
    rec("r7", "encounter", "Outpatient visit, medicine", now - 40 * day - 3600, "Dhaka Medical College Hospital", "Dr. Rafiq Hasan"),
    rec("r8", "other", "Allergy: penicillin", now - 90 * day, "Imported card", null, "imported_trusted"),
  ];
  const detail = (id) => {
    const s = records.find((r) => r.id === id) || records[0];
    const items = {
      r1: [
        { type: "lab_result", test: "Haemoglobin", value: "11.2", unit: "g/dL", unit_words: "grams per decilitre", reference_range: "12.0–15.5", abnormal: "low" },
        { type: "lab_result", test: "White blood cells", value: "3.1", unit: "10*3/uL", unit_words: "thousand per microlitre", reference_range: "4.0–11.0", abnormal: "low" },
        { type: "lab_result", test: "Platelets", value: "92", unit: "10*3/uL", unit_words: "thousand per microlitre", reference_range: "150–450", abnormal: "low" },
        { type: "lab_result", test: "Haematocrit", value: "41", unit: "%", unit_words: "percent", reference_range: "36–46", abnormal: null },
      ],
      r2: [
        { type: "medication", drug: "Paracetamol 500 mg tablet", dose: "1 tablet (500 mg)", schedule: "3 times a day, after meals, for 5 days", instructions: "Do not take more than 6 tablets in 24 hours." },
        { type: "medication", drug: "Oral rehydration salts", dose: "1 sachet in 500 mL water", schedule: "After each loose stool", instructions: null },
      ],
      r3: [{ type: "diagnosis", text: "Dengue fever [classical dengue]", code: "ICD-10 A90" }],
    }[s.id] || [{ type: "other", resource_type: "Observation", text: s.title }];
    return { summary: s, items, proof: s.trust === "verified" ? {
      signature: { alg: "ES256", kid: "3pQ9x-JbVw2Q7KtZ0yq1", issuer: "https://dmch.spondon.example" },
      log_index: 1184,
      checkpoint: { origin: "dmch.spondon.example/log", size: 1203, root: "q0c7mR8yC3uRk2e3m0QyZ4dF1iC8bX3h9kLwTq5sV2E=" },
      witnesses: [{ name: "dghs.gov.bd/witness", verified: true }, { name: "ctgdiag.spondon.example/witness", verified: true }],
    } : null };
  };
  const doctors = [
    { kid: "doc1", name: "Dr. Nasrin Akter", bmdc_number: "A-41287", department: "Medicine", hospital_id: "dmch", hospital_name: "Dhaka Medical College Hospital", expires: now + 300 * day },
    { kid: "doc2", name: "Dr. Rafiq Hasan", bmdc_number: "A-30911", department: "Cardiology", hospital_id: "dmch", hospital_name: "Dhaka Medical College Hospital", expires: now + 200 * day },
  ];
  const grants = [
    { id: "g1", doctor_name: "Dr. Nasrin Akter", doctor_kid: "doc1", categories: ["lab_result", "prescription"], record_ids: [], purpose: "treatment",
      write: true, issued_at: now - 1800, expires: now + 2 * 3600, peers: ["https://dmch.spondon.example"], status: "active", revoked_at: null },
    { id: "g2", doctor_name: "Dr. Rafiq Hasan", doctor_kid: "doc2", categories: [], record_ids: ["r5"], purpose: "referral",
      write: false, issued_at: now - 3 * day, expires: now + 4 * day, peers: ["https://ctgdiag.spondon.example"], status: "active", revoked_at: null },
  ];
  const receipts = [
    { at: now - 1200, peer: "https://dmch.spondon.example", hospital_name: "Dhaka Medical College Hospital",
      who: { type: "doctor", name: "Dr. Nasrin Akter", bmdc_number: "A-41287", hospital_name: "DMCH" },
      records: [{ id: "r1", kind: "lab_report", title: "Complete blood count (CBC)" }], allowed: true, reason: null, grant_id: "g1", text: "" },
    { at: now - 1100, peer: "https://dmch.spondon.example", hospital_name: "Dhaka Medical College Hospital",
      who: { type: "doctor", name: "Dr. Nasrin Akter", bmdc_number: "A-41287", hospital_name: "DMCH" },
      records: [{ id: "r2", kind: "prescription", title: "Prescription: dengue fever care" }], allowed: true, reason: null, grant_id: "g1", text: "" },
    { at: now - 2 * day, peer: "https://ctgdiag.spondon.example", hospital_name: "Chattogram Diagnostic Centre",
      who: { type: "unknown_key", kid: "Zx81Qp0aLm3kV7" }, records: [], allowed: false, reason: "grant_revoked", grant_id: "g0", text: "" },
  ];
  const qr = () => {
    let s = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 41 41' shape-rendering='crispEdges'><rect width='41' height='41' fill='#fff'/><path fill='#000' d='";
    let seed = 7;
    for (let y = 0; y < 37; y++) for (let x = 0; x < 37; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const finder = (x < 7 && y < 7) || (x > 29 && y < 7) || (x < 7 && y > 29);
      const on = finder ? (x % 36 === 0 || y % 36 === 0 || x === 6 || y === 6 || x === 30 || y === 30 || ((x % 30 >= 2 && x % 30 <= 4) && (y % 30 >= 2 && y % 30 <= 4))) : (seed >> 16) & 1;
      if (on) s += `M${x + 2} ${y + 2}h1v1h-1z`;
    }
    return s + "'/></svg>";
  };
  const delay = (ms) => new Promise((r) => setTimeout(r, ms));
  const err = (code, message) => Promise.reject({ code, message });
  async function invoke(cmd, args) {
    const req = args && args.req;
    await delay(60);
    switch (cmd) {
      case "app_status": return status();
      case "passphrase_strength": {
        const n = req.passphrase.length;
        const score = n < 8 ? 0 : n < 12 ? 1 : n < 16 ? 2 : n < 22 ? 3 : 4;
        return { score, hint: ["too_short", "add_words", "add_variety", "good", "strong"][score], acceptable: n >= 12, min_length: 12 };
      }
      case "create_wallet": state = "unlocked"; return status();
      case "restore_wallet": state = "unlocked"; return { hospitals: 2, records: 8, grants: 2, receipts: 3, status: status() };
      case "unlock": if (req.passphrase.passphrase === "wrong" || req.passphrase === "wrong") return err("wrong_passphrase", "wrong passphrase"); state = "unlocked"; return status();
      case "lock": state = "locked"; emit("locked", { reason: "requested" }); return status();
      case "touch": return null;
      case "list_hospitals": return hospitals;
      case "enroll": if (!req.input.text || !req.input.text.startsWith("SPONDON-ENROLL")) return err("bad_enrollment_code", "not an enrollment code"); return hospitals[0];
      case "sync": {
        const peers = hospitals.map((h) => ({ peer: h.peer_url, hospital_name: h.name, state: "waiting", records_done: 0, records_total: null, receipts: 0, error: null, violation: null }));
        for (let k = 0; k <= 10; k++) {
          peers[0].state = k < 10 ? "running" : "done"; peers[0].records_done = k * 3; peers[0].records_total = 30; peers[0].receipts = k > 5 ? 2 : 0;
          if (k === 6) { peers[1].state = "failed"; peers[1].error = { code: "peer_unreachable", message: "connection refused" }; }
          emit("sync-progress", { done: (k === 10 ? 1 : 0) + (k >= 6 ? 1 : 0), total: 2, finished: k === 10, peers: JSON.parse(JSON.stringify(peers)) });
          await delay(params.get("slow") ? 900 : 150);
        }
        return { peers: [] };
      }
      case "list_records": {
        let rs = records.slice();
        if (req.kind) rs = rs.filter((r) => r.kind === req.kind);
        if (req.text) rs = rs.filter((r) => r.title.toLowerCase().includes(req.text.toLowerCase()));
        return rs;
      }
      case "get_record": return detail(req.id);
      case "add_doctor": return doctors[0];
      case "list_doctors": return doctors;
      case "create_grant": {
        const d = doctors.find((x) => x.kid === req.doctor_kid) || doctors[0];
        return { grant: { id: "g9", doctor_name: d.name, doctor_kid: d.kid, categories: req.categories, record_ids: req.record_ids, purpose: req.purpose,
          write: req.write, issued_at: now, expires: Math.floor(Date.now() / 1000) + req.duration_secs, peers: [], status: "active", revoked_at: null },
          qr_svg: qr(), text: "SPONDON:1:GRANT:6BFOXN*TS0BI$ZD.P9UOL97O4-2HH77HRM3DSPTLRR+%3" };
      }
      case "list_grants": return grants;
      case "revoke_grant": return { answers: [{ peer: "https://dmch.spondon.example", hospital_name: "Dhaka Medical College Hospital", ok: true, error: null }] };
      case "revoke_all": return { answers: [
        { peer: "https://dmch.spondon.example", hospital_name: "Dhaka Medical College Hospital", ok: true, error: null },
        { peer: "https://ctgdiag.spondon.example", hospital_name: "Chattogram Diagnostic Centre", ok: false, error: { code: "peer_unreachable", message: "timeout" } }] };
      case "list_receipts": return receipts;
      case "export": return { files: [{ format: "pdf", path: "/home/rahima/Documents/Spondon/summary-2026-12-05.pdf" }, { format: "shc", path: "/home/rahima/Documents/Spondon/summary-2026-12-05.smart-health-card" }],
        verdict: { valid: true, cards: [], problems: [] }, records: 3, receipts: 0, link: null, link_qr_svg: null };
      case "import_card": return { cards: [{ id: "r8", issuer: "https://spec.smarthealth.cards/examples/issuer", trust: "issuer_not_trusted", status: "", already_present: false }] };
      case "get_settings": return { language: "en", lock_after_secs: 300, trust_list: trust, export_dir: "/home/rahima/Documents/Spondon", wallet_dir: "/home/rahima/.local/share/spondon", keys: status().keys };
      case "update_settings": return { language: "en", lock_after_secs: req.lock_after_secs || 300, trust_list: trust, export_dir: "", wallet_dir: "", keys: status().keys };
      case "backup_now": return { path: "/home/rahima/Documents/Spondon/spondon-backup-2026-12-05.spbak" };
      case "change_passphrase": return null;
      case "about": return { version: "0.1.0", api_version: "0.1.0", wallet_dir: "/home/rahima/.local/share/spondon" };
      default: return err("internal", "mock: no such command " + cmd);
    }
  }
  window.__TAURI__ = {
    core: { invoke },
    event: { listen: (name, f) => { (listeners[name] = listeners[name] || []).push(f); return Promise.resolve(() => {}); } },
  };
})();
