// The console's words in English and Bangla. Keys are used by data-i18n attributes in
// index.html and by t() in app.js.
export const WORDS = {
  en: {
    console: "Staff console", logout: "Log out", login_title: "Staff login",
    login_help: "Enter the staff token the hospital administrator gave you.", staff_token: "Staff token", login: "Log in",
    tab_patients: "Patients", tab_register: "Register patient", tab_issue: "Issue record", tab_doctors: "Doctors", tab_staff: "Staff tokens",
    search_label: "Search patients", search_placeholder: "Health ID, NID, mobile number or name", search: "Search",
    health_id: "Health ID", name: "Name", full_name: "Full name", birth_date: "Date of birth", sex: "Sex", district: "District",
    upazila: "Upazila / thana", nid_end: "NID ends", no_patients: "No patient matches.", new_code: "New enrollment code (new or lost phone)",
    new_code_confirm: "Lost or new phone: check the patient's identity (NID, photo) first. Redeeming this code binds the new phone and retires the old phone's key; every grant made with it stops working.",
    issue_for: "Issue a record", records: "Records", kind: "Kind", issued: "Issued", doctor: "Doctor", log_index: "Log entry",
    status: "Status", no_records: "No records yet.", access_log: "Access log",
    access_help: "Every use of a patient's grant at this hospital — allowed or refused — as recorded in the transparency log.",
    when: "When", outcome: "Outcome", who: "Who", records_n: "Records", no_access: "Nobody has used a grant of this patient here.",
    register_title: "Register a patient",
    register_help: "Check the national ID card or birth certificate first. The patient scans the enrollment QR with the Spondon app.",
    national_id: "NID or birth registration number", choose: "Choose…", female: "Female", male: "Male", other: "Other", unknown: "Unknown",
    mobile: "Mobile number", dup_found: "These registered patients may be the same person. Open one to continue with it, or register a new patient if you have checked they differ.",
    matched_on: "Matched on", register_anyway: "They are different people: register", register: "Register",
    issue_title: "Issue a record", no_doctor: "— none —", k_prescription: "Prescription", k_lab_report: "Lab report",
    k_diagnosis: "Diagnosis", k_payment: "Payment slip", k_encounter: "Encounter note", k_immunization: "Immunization",
    preview: "Preview", preview_title: "Check before signing", fhir: "FHIR content of the card", sign: "Sign and issue", edit: "Change",
    doctor_register: "Register a doctor", bmdc: "BMDC registration number", bmdc_short: "BMDC", specialty: "Specialty",
    doctor_key: "Doctor's public key (JWK, from their clinic node)", doctors: "Doctors", registered: "Registered",
    token_new: "New staff token", token_label: "Who it is for", roles: "Roles", role_registration: "Registration desk",
    role_records: "Records", role_admin: "Administrator", token_days: "Valid for (days)", create: "Create", tokens: "Staff tokens",
    expires: "Expires", revoke_title: "Revoke this record?",
    revoke_help: "A revoked record stops verifying everywhere. This cannot be undone; to correct a record, issue a new one instead.",
    reason: "Reason", r_wrong_patient: "Issued to the wrong patient", r_entered_in_error: "Entered in error",
    r_duplicate: "Duplicate of another record", r_other: "Other", revoke: "Revoke", cancel: "Cancel",
    // Built by app.js
    medicine: "Medicine", dose: "Dose", frequency: "How often", days: "Days", instructions: "Instructions",
    f_once_daily: "Once a day", f_twice_daily: "Twice a day", f_thrice_daily: "Three times a day", f_four_times_daily: "Four times a day",
    f_at_night: "At night", f_as_needed: "When needed", add_medicine: "Add a medicine", add_test: "Add a test",
    add_condition: "Add a diagnosis", add_item: "Add an item", remove: "Remove",
    test: "Test (LOINC)", value: "Result", unit: "Unit", low: "Range from", high: "Range to", conclusion: "Conclusion",
    test_name: "Test name (if not in the list)", icd: "Diagnosis (ICD-10)", icd_name: "Name (if not in the list)",
    c_status: "Certainty", confirmed: "Confirmed", provisional: "Provisional", note: "Note",
    item: "Item", amount: "Amount (৳)", method: "Payment", m_cash: "Cash", m_card: "Card", m_mobile_banking: "Mobile banking", m_unpaid: "Not yet paid",
    e_class: "Visit", e_outpatient: "Outpatient", e_inpatient: "Inpatient", e_emergency: "Emergency", department: "Department",
    visit_reason: "Reason for visit", encounter_note: "Note",
    enrolled_title: "Patient registered", enroll_code: "Enrollment code", enroll_expires: "Valid until",
    enroll_help: "Ask the patient to scan this QR with the Spondon app, or type the code. It works once.",
    print: "Print", issued_title: "Record signed and logged", record_id: "Record id", log_kind: "Entry kind",
    log_time: "Logged at", commitment: "Commitment", tree: "Log size / root", open_patient: "Open the patient",
    credential_title: "Doctor credential", credential_help: "Give this credential to the doctor's clinic node: save the text below and run spondon-verifier doctor-credential import.",
    show_qr: "Credential QR", token_once: "Copy this token now: it is not shown again.", revoked: "Revoked",
    active: "Active", granted: "Allowed", denied: "Refused", unknown_key: "unknown key", session_over: "Your session has ended. Log in again.",
    network: "The server could not be reached.", revoked_at: "revoked", expired_t: "expired", roles_w: "Roles",
    role_w_registration: "registration", role_w_records: "records", role_w_admin: "admin",
    m_national_id: "NID", m_phone: "mobile", m_name_birth_date: "name + date of birth", range_hint: "Unit and range",
    test_unit_words: "", sign_ok: "Signed",
    flag_low: "low", flag_high: "high", flag_normal: "normal", flag_positive: "positive", flag_negative: "negative",
  },
  bn: {
    console: "কর্মী কনসোল", logout: "লগ আউট", login_title: "কর্মী লগইন",
    login_help: "হাসপাতালের প্রশাসক আপনাকে যে কর্মী টোকেন দিয়েছেন তা লিখুন।", staff_token: "কর্মী টোকেন", login: "লগইন",
    tab_patients: "রোগী", tab_register: "রোগী নিবন্ধন", tab_issue: "রেকর্ড প্রদান", tab_doctors: "চিকিৎসক", tab_staff: "কর্মী টোকেন",
    search_label: "রোগী খুঁজুন", search_placeholder: "হেলথ আইডি, এনআইডি, মোবাইল নম্বর বা নাম", search: "খুঁজুন",
    health_id: "হেলথ আইডি", name: "নাম", full_name: "পূর্ণ নাম", birth_date: "জন্ম তারিখ", sex: "লিঙ্গ", district: "জেলা",
    upazila: "উপজেলা / থানা", nid_end: "এনআইডির শেষ", no_patients: "কোনো রোগী মেলেনি।", new_code: "নতুন নিবন্ধন কোড (নতুন বা হারানো ফোন)",
    new_code_confirm: "হারানো বা নতুন ফোন: আগে রোগীর পরিচয় (এনআইডি, ছবি) যাচাই করুন। এই কোড ব্যবহার করলে নতুন ফোন যুক্ত হবে এবং পুরোনো ফোনের চাবি বাতিল হবে; তা দিয়ে দেওয়া সব অনুমতি বন্ধ হয়ে যাবে।",
    issue_for: "রেকর্ড প্রদান করুন", records: "রেকর্ড", kind: "ধরন", issued: "প্রদানের সময়", doctor: "চিকিৎসক", log_index: "লগ এন্ট্রি",
    status: "অবস্থা", no_records: "এখনও কোনো রেকর্ড নেই।", access_log: "অ্যাক্সেস লগ",
    access_help: "এই হাসপাতালে রোগীর অনুমতি ব্যবহারের প্রতিটি চেষ্টা — অনুমোদিত বা প্রত্যাখ্যাত — স্বচ্ছতা লগে যেমন লেখা আছে।",
    when: "কখন", outcome: "ফলাফল", who: "কে", records_n: "রেকর্ড", no_access: "এখানে এই রোগীর কোনো অনুমতি কেউ ব্যবহার করেনি।",
    register_title: "রোগী নিবন্ধন",
    register_help: "আগে জাতীয় পরিচয়পত্র বা জন্ম সনদ যাচাই করুন। রোগী স্পন্দন অ্যাপ দিয়ে নিবন্ধন কিউআর স্ক্যান করবেন।",
    national_id: "এনআইডি বা জন্ম নিবন্ধন নম্বর", choose: "বাছাই করুন…", female: "নারী", male: "পুরুষ", other: "অন্যান্য", unknown: "অজানা",
    mobile: "মোবাইল নম্বর", dup_found: "এই নিবন্ধিত রোগীরা একই ব্যক্তি হতে পারেন। একজনকে খুলে তাঁর সাথে এগিয়ে যান, অথবা ভিন্ন ব্যক্তি নিশ্চিত হলে নতুন নিবন্ধন করুন।",
    matched_on: "যা মিলেছে", register_anyway: "তাঁরা ভিন্ন ব্যক্তি: নিবন্ধন করুন", register: "নিবন্ধন করুন",
    issue_title: "রেকর্ড প্রদান", no_doctor: "— কেউ না —", k_prescription: "প্রেসক্রিপশন", k_lab_report: "ল্যাব রিপোর্ট",
    k_diagnosis: "রোগনির্ণয়", k_payment: "পেমেন্ট স্লিপ", k_encounter: "সাক্ষাৎ নোট", k_immunization: "টিকা",
    preview: "প্রিভিউ", preview_title: "স্বাক্ষরের আগে যাচাই করুন", fhir: "কার্ডের FHIR বিষয়বস্তু", sign: "স্বাক্ষর করে প্রদান করুন", edit: "পরিবর্তন",
    doctor_register: "চিকিৎসক নিবন্ধন", bmdc: "বিএমডিসি নিবন্ধন নম্বর", bmdc_short: "বিএমডিসি", specialty: "বিশেষজ্ঞতা",
    doctor_key: "চিকিৎসকের পাবলিক কী (JWK, তাঁর ক্লিনিক নোড থেকে)", doctors: "চিকিৎসক", registered: "নিবন্ধিত",
    token_new: "নতুন কর্মী টোকেন", token_label: "কার জন্য", roles: "ভূমিকা", role_registration: "নিবন্ধন ডেস্ক",
    role_records: "রেকর্ড", role_admin: "প্রশাসক", token_days: "মেয়াদ (দিন)", create: "তৈরি করুন", tokens: "কর্মী টোকেন",
    expires: "মেয়াদ শেষ", revoke_title: "এই রেকর্ড বাতিল করবেন?",
    revoke_help: "বাতিল রেকর্ড কোথাও আর যাচাই হবে না। এটি ফেরানো যায় না; সংশোধনের জন্য নতুন রেকর্ড প্রদান করুন।",
    reason: "কারণ", r_wrong_patient: "ভুল রোগীকে দেওয়া হয়েছে", r_entered_in_error: "ভুলবশত লেখা হয়েছে",
    r_duplicate: "অন্য রেকর্ডের অনুলিপি", r_other: "অন্যান্য", revoke: "বাতিল করুন", cancel: "ফিরে যান",
    medicine: "ওষুধ", dose: "মাত্রা", frequency: "কতবার", days: "দিন", instructions: "নির্দেশনা",
    f_once_daily: "দিনে একবার", f_twice_daily: "দিনে দুইবার", f_thrice_daily: "দিনে তিনবার", f_four_times_daily: "দিনে চারবার",
    f_at_night: "রাতে", f_as_needed: "প্রয়োজনে", add_medicine: "ওষুধ যোগ করুন", add_test: "পরীক্ষা যোগ করুন",
    add_condition: "রোগনির্ণয় যোগ করুন", add_item: "আইটেম যোগ করুন", remove: "সরান",
    test: "পরীক্ষা (LOINC)", value: "ফলাফল", unit: "একক", low: "সীমা থেকে", high: "সীমা পর্যন্ত", conclusion: "উপসংহার",
    test_name: "পরীক্ষার নাম (তালিকায় না থাকলে)", icd: "রোগনির্ণয় (ICD-10)", icd_name: "নাম (তালিকায় না থাকলে)",
    c_status: "নিশ্চয়তা", confirmed: "নিশ্চিত", provisional: "প্রাথমিক", note: "নোট",
    item: "আইটেম", amount: "পরিমাণ (৳)", method: "পরিশোধ", m_cash: "নগদ", m_card: "কার্ড", m_mobile_banking: "মোবাইল ব্যাংকিং", m_unpaid: "এখনও পরিশোধ হয়নি",
    e_class: "সাক্ষাৎ", e_outpatient: "বহির্বিভাগ", e_inpatient: "অন্তর্বিভাগ", e_emergency: "জরুরি বিভাগ", department: "বিভাগ",
    visit_reason: "আসার কারণ", encounter_note: "নোট",
    enrolled_title: "রোগী নিবন্ধিত হয়েছেন", enroll_code: "নিবন্ধন কোড", enroll_expires: "মেয়াদ",
    enroll_help: "রোগীকে স্পন্দন অ্যাপ দিয়ে এই কিউআর স্ক্যান করতে বলুন, অথবা কোডটি লিখতে বলুন। এটি একবারই কাজ করে।",
    print: "প্রিন্ট", issued_title: "রেকর্ড স্বাক্ষরিত ও লগ করা হয়েছে", record_id: "রেকর্ড আইডি", log_kind: "এন্ট্রির ধরন",
    log_time: "লগের সময়", commitment: "কমিটমেন্ট", tree: "লগের আকার / রুট", open_patient: "রোগীর পাতা খুলুন",
    credential_title: "চিকিৎসকের ক্রেডেনশিয়াল", credential_help: "এই ক্রেডেনশিয়ালটি চিকিৎসকের ক্লিনিক নোডে দিন: নিচের লেখাটি সংরক্ষণ করে spondon-verifier doctor-credential import চালান।",
    show_qr: "ক্রেডেনশিয়াল কিউআর", token_once: "টোকেনটি এখনই কপি করুন: এটি আর দেখানো হবে না।", revoked: "বাতিল",
    active: "সক্রিয়", granted: "অনুমোদিত", denied: "প্রত্যাখ্যাত", unknown_key: "অজানা কী", session_over: "আপনার সেশন শেষ হয়েছে। আবার লগইন করুন।",
    network: "সার্ভারে পৌঁছানো যায়নি।", revoked_at: "বাতিল", expired_t: "মেয়াদোত্তীর্ণ", roles_w: "ভূমিকা",
    role_w_registration: "নিবন্ধন", role_w_records: "রেকর্ড", role_w_admin: "প্রশাসক",
    m_national_id: "এনআইডি", m_phone: "মোবাইল", m_name_birth_date: "নাম + জন্ম তারিখ", range_hint: "একক ও সীমা",
    test_unit_words: "", sign_ok: "স্বাক্ষরিত",
    flag_low: "কম", flag_high: "বেশি", flag_normal: "স্বাভাবিক", flag_positive: "পজিটিভ", flag_negative: "নেগেটিভ",
  },
};

let lang = "en";
try { lang = localStorage.getItem("spondon-console-lang") === "bn" ? "bn" : "en"; } catch (_) { /* storage blocked */ }

export function currentLang() { return lang; }

export function setLang(l) {
  lang = l === "bn" ? "bn" : "en";
  try { localStorage.setItem("spondon-console-lang", lang); } catch (_) { /* storage blocked */ }
  document.documentElement.lang = lang;
  applyWords(document);
}

export function t(key) {
  return (WORDS[lang] && WORDS[lang][key]) || WORDS.en[key] || key;
}

export function applyWords(root) {
  for (const e of root.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  for (const e of root.querySelectorAll("[data-i18n-placeholder]")) e.placeholder = t(e.dataset.i18nPlaceholder);
  for (const b of root.querySelectorAll(".lang")) b.classList.toggle("active", b.dataset.lang === lang);
}
