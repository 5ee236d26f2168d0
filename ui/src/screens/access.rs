//! The access log: every receipt in words, newest first.

use leptos::prelude::*;
use spondon_app_api::{Accessor, Receipt, cmd};

use crate::app::use_app;
use crate::components::PageHead;
use crate::fmt;
use crate::i18n::{K, Lang, fill, use_i18n};
use crate::screens::emergency::EmergencyReceiptItem;
use crate::{ipc, util};

/// Who, in words.
pub fn who(lang: Lang, a: &Accessor) -> String {
    match a {
        Accessor::Doctor {
            name,
            hospital_name,
            ..
        } => format!("{name} ({hospital_name})"),
        Accessor::UnknownKey { kid } => {
            let short: String = kid.chars().take(10).collect();
            format!("{} {short}…", K::UnknownKeyWho.text(lang))
        }
        Accessor::Passcode => K::PasscodeWho.text(lang).to_owned(),
        Accessor::GrantHolder => K::GrantHolderWho.text(lang).to_owned(),
    }
}

/// What, in words: the records' titles (or kinds).
pub fn what(lang: Lang, r: &Receipt) -> String {
    if r.records.is_empty() {
        return K::YourRecords.text(lang).to_owned();
    }
    let names: Vec<String> = r
        .records
        .iter()
        .map(|x| match (&x.title, x.kind) {
            (Some(t), _) => t.clone(),
            (None, Some(k)) => util::kind(k).text(lang).to_owned(),
            (None, None) => K::ARecord.text(lang).to_owned(),
        })
        .collect();
    names.join(", ")
}

/// The whole sentence: "Dr. … viewed your CBC report at 14:05 on 5 December 2026".
pub fn sentence(lang: Lang, r: &Receipt, offset_min: i32) -> String {
    let key = match (r.allowed, r.wrote, r.downloaded) {
        (true, true, _) => K::ReceiptAdded,
        (true, false, true) => K::ReceiptDownloaded,
        (true, false, false) => K::ReceiptViewed,
        (false, _, _) => K::ReceiptRefused,
    };
    let main = fill(key.text(lang), &[&who(lang, &r.who), &what(lang, r)]);
    let when = fill(
        K::ReceiptAt.text(lang),
        &[
            &fmt::time(lang, r.at, offset_min),
            &fmt::date(lang, r.at, offset_min),
        ],
    );
    format!("{main} {when}")
}

/// Why a peer refused access, in words (the peer's code when the UI does not know it).
pub fn refusal(lang: Lang, code: &str) -> String {
    let k = match code {
        "grant_revoked" | "revoked" => K::RefusedRevoked,
        "grant_expired" | "expired" => K::RefusedExpired,
        "not_in_scope" | "out_of_scope" | "scope" => K::RefusedScope,
        "bad_proof" | "bad_signature" | "wrong_audience" | "audience" => K::RefusedProof,
        _ => return code.to_owned(),
    };
    k.text(lang).to_owned()
}

/// The access log screen.
#[component]
pub fn Access() -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let receipts = LocalResource::new(move || {
        app.data_version.get();
        async move { ipc::call0::<Vec<Receipt>>(cmd::LIST_RECEIPTS).await }
    });
    view! {
        <PageHead title=K::AccessTitle help=K::AccessHelp />
        <Suspense fallback=move || view! { <p class="muted">{i.t(K::Loading)}</p> }>
            {move || {
                receipts
                    .get()
                    .map(|r| match r {
                        Err(e) => view! { <p class="alert alert-danger" role="alert">{i.err(&e)}</p> }.into_any(),
                        Ok(rs) if rs.is_empty() => {
                            view! { <p class="empty" id="receipts-empty">{i.t(K::NoReceipts)}</p> }.into_any()
                        }
                        Ok(mut rs) => {
                            rs.sort_by_key(|r| std::cmp::Reverse(r.at));
                            let off = util::offset();
                            // Emergency accesses (opened without a grant) come first, apart.
                            let (urgent, rs): (Vec<Receipt>, Vec<Receipt>) = rs
                                .into_iter()
                                .partition(|r| r.allowed && r.emergency.is_some());
                            let urgent = (!urgent.is_empty())
                                .then(|| {
                                    view! {
                                        <section class="stack-sm" aria-labelledby="emergency-receipts-title">
                                            <h2 class="h3" id="emergency-receipts-title">{move || i.t(K::EmergencyReceipts)}</h2>
                                            <ul class="receipts" id="emergency-receipts">
                                                {urgent
                                                    .into_iter()
                                                    .enumerate()
                                                    .filter_map(|(n, r)| {
                                                        let e = r.emergency.clone()?;
                                                        Some(view! { <EmergencyReceiptItem receipt=r emergency=e n=n offset=off /> })
                                                    })
                                                    .collect_view()}
                                            </ul>
                                        </section>
                                    }
                                });
                            view! {
                                {urgent}
                                <ul class="receipts" id="receipts-list">
                                    {rs
                                        .into_iter()
                                        .map(|r| {
                                            let allowed = r.allowed;
                                            let hosp = r.hospital_name.clone();
                                            let reason = r.reason.clone();
                                            view! {
                                                <li class="receipt" class:refused=!allowed>
                                                    <span class="kind-dot" aria-hidden="true"></span>
                                                    <div class="stack-sm">
                                                        <p class="receipt-text">{move || sentence(i.get(), &r, off)}</p>
                                                        <p class="receipt-meta">
                                                            {move || i.f(K::ReceiptVia, &[&hosp])}
                                                            {move || {
                                                                reason.clone().map(|c| format!(" · {}", refusal(i.get(), &c)))
                                                            }}
                                                        </p>
                                                    </div>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spondon_app_api::{ReceiptRecord, RecordKind};

    #[test]
    fn receipts_read_as_sentences() {
        let r = Receipt {
            at: 1_796_428_800 + 14 * 3600 + 5 * 60,
            peer: "https://dmch.example".into(),
            hospital_name: "Dhaka Medical College Hospital".into(),
            who: Accessor::Doctor {
                name: "Dr. Nasrin Akter".into(),
                bmdc_number: "A-12345".into(),
                hospital_name: "DMCH".into(),
            },
            records: vec![ReceiptRecord {
                id: "r1".into(),
                kind: Some(RecordKind::LabReport),
                title: Some("CBC report".into()),
            }],
            allowed: true,
            wrote: false,
            downloaded: false,
            reason: None,
            grant_id: Some("g1".into()),
            text: String::new(),
            emergency: None,
        };
        assert_eq!(
            sentence(Lang::En, &r, 0),
            "Dr. Nasrin Akter (DMCH) viewed your CBC report at 14:05 on 5 December 2026"
        );
        let added = Receipt {
            wrote: true,
            ..r.clone()
        };
        assert_eq!(
            sentence(Lang::En, &added, 0),
            "Dr. Nasrin Akter (DMCH) added to your records: CBC report at 14:05 on 5 December 2026"
        );
        let downloaded = Receipt {
            downloaded: true,
            ..r.clone()
        };
        assert_eq!(
            sentence(Lang::En, &downloaded, 0),
            "Dr. Nasrin Akter (DMCH) downloaded the file of your CBC report at 14:05 on 5 December 2026"
        );
        let bn = sentence(Lang::Bn, &r, 0);
        assert!(bn.contains("৫ ডিসেম্বর ২০২৬"), "{bn}");
        assert!(bn.contains("১৪:০৫"), "{bn}");
    }
}

#[cfg(test)]
mod refusal_tests {
    use super::*;

    #[test]
    fn refusal_reasons_in_words_with_the_code_as_fallback() {
        assert_eq!(
            refusal(Lang::En, "grant_revoked"),
            "the share had been revoked"
        );
        assert_eq!(
            refusal(Lang::Bn, "grant_expired"),
            "শেয়ারের মেয়াদ শেষ হয়ে গিয়েছিল"
        );
        assert_eq!(refusal(Lang::Bn, "rate_limited"), "rate_limited");
    }
}
