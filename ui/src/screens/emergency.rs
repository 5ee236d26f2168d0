//! Emergency (break-glass) access, the patient's side: the setting in Settings (any member
//! hospital, none, or only chosen ones) and the receipts of emergency accesses at the top of
//! the access log, each with a way to dispute it.

use leptos::prelude::*;
use spondon_app_api::{
    ApiError, DisputeEmergencyRequest, DisputeEmergencyResult, EmergencyMode, EmergencyPolicyInfo,
    EmergencyReason, EmergencyReceipt, Hospital, Passphrase, Receipt, SetEmergencyPolicyRequest,
    SetEmergencyPolicyResult, cmd,
};

use crate::components::{ErrorBox, PassphraseField};
use crate::fmt;
use crate::i18n::{K, Lang, fill, use_i18n};
use crate::ipc;

/// The stated reason, in words.
pub fn reason(r: EmergencyReason) -> K {
    match r {
        EmergencyReason::Unconscious => K::ReasonUnconscious,
        EmergencyReason::CannotCommunicate => K::ReasonCannotCommunicate,
        EmergencyReason::LifeThreatening => K::ReasonLifeThreatening,
        EmergencyReason::NoWalletAvailable => K::ReasonNoWallet,
        EmergencyReason::Other => K::ReasonOther,
    }
}

/// A mode, in words.
pub fn mode(m: EmergencyMode) -> K {
    match m {
        EmergencyMode::Allow => K::EmergencyAllow,
        EmergencyMode::OptOut => K::EmergencyOptOut,
        EmergencyMode::Only => K::EmergencyOnly,
    }
}

fn mode_value(m: EmergencyMode) -> &'static str {
    match m {
        EmergencyMode::Allow => "allow",
        EmergencyMode::OptOut => "opt_out",
        EmergencyMode::Only => "only",
    }
}

/// The receipt's headline: "Dr … (Medicine, BMDC A-1) opened your emergency summary at
/// Dhaka Medical College Hospital at 14:05 on 5 December 2026".
pub fn headline(lang: Lang, r: &Receipt, e: &EmergencyReceipt, offset_min: i32) -> String {
    let who = fill(
        K::EmergencyBy.text(lang),
        &[
            &e.doctor_name,
            &e.department,
            &e.doctor_bmdc,
            &r.hospital_name,
        ],
    );
    let when = fill(
        K::ReceiptAt.text(lang),
        &[
            &fmt::time(lang, r.at, offset_min),
            &fmt::date(lang, r.at, offset_min),
        ],
    );
    format!("{who} {when}")
}

/// The emergency access setting (Settings).
#[component]
pub fn EmergencyCard() -> impl IntoView {
    let i = use_i18n();
    let version = RwSignal::new(0u32);
    let policy = LocalResource::new(move || {
        version.get();
        async move { ipc::call0::<EmergencyPolicyInfo>(cmd::GET_EMERGENCY_POLICY).await }
    });
    let hospitals =
        LocalResource::new(|| async { ipc::call0::<Vec<Hospital>>(cmd::LIST_HOSPITALS).await });
    let choice = RwSignal::new(EmergencyMode::Allow);
    let chosen = RwSignal::new(Vec::<String>::new());
    let pass = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let result = RwSignal::new(None::<SetEmergencyPolicyResult>);
    Effect::new(move |_| {
        if let Some(Ok(p)) = policy.get() {
            choice.set(p.mode);
            chosen.set(p.hospitals.clone());
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        result.set(None);
        let mode = choice.get_untracked();
        let hospitals = if mode == EmergencyMode::Only {
            chosen.get_untracked()
        } else {
            Vec::new()
        };
        if mode == EmergencyMode::Only && hospitals.is_empty() {
            error.set(Some(ApiError::new(
                "invalid",
                K::EmergencyPickOne.text(i.lang.get_untracked()),
            )));
            return;
        }
        let req = SetEmergencyPolicyRequest {
            mode,
            hospitals,
            passphrase: Passphrase(pass.get_untracked()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, SetEmergencyPolicyResult>(cmd::SET_EMERGENCY_POLICY, &req).await {
                Ok(r) => {
                    pass.set(String::new());
                    result.set(Some(r));
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let options = [
        (EmergencyMode::Allow, K::EmergencyAllowHelp),
        (EmergencyMode::OptOut, K::EmergencyOptOutHelp),
        (EmergencyMode::Only, K::EmergencyOnlyHelp),
    ];
    view! {
        <form class="card stack" aria-labelledby="emergency-title" id="emergency-card" on:submit=submit>
            <h2 id="emergency-title" class="h3">{move || i.t(K::EmergencyTitle)}</h2>
            <p class="help">{move || i.t(K::EmergencyHelp)}</p>
            <p id="emergency-current" class="strong">
                {move || match policy.get() {
                    Some(Ok(p)) if p.set_at.is_some() => i.f(K::EmergencyCurrent, &[i.t(mode(p.mode))]),
                    Some(Ok(_)) => i.t(K::EmergencyNeverSet).to_owned(),
                    _ => String::new(),
                }}
            </p>
            {move || {
                policy
                    .get()
                    .and_then(|r| r.ok())
                    .filter(|p| !p.pending.is_empty())
                    .map(|p| {
                        view! {
                            <p class="alert alert-warn" id="emergency-pending">
                                {i.f(K::EmergencyPending, &[&p.pending.join(", ")])}
                            </p>
                        }
                    })
            }}
            <fieldset class="bare stack-sm">
                <legend class="label">{move || i.t(K::EmergencyWho)}</legend>
                {options
                    .into_iter()
                    .map(|(m, help)| {
                        let id = format!("emergency-mode-{}", mode_value(m));
                        let for_id = id.clone();
                        view! {
                            <label class="choice" for=for_id>
                                <input
                                    type="radio"
                                    name="emergency-mode"
                                    id=id
                                    value=mode_value(m)
                                    prop:checked=move || choice.get() == m
                                    on:change=move |_| choice.set(m)
                                />
                                <span class="choice-text">
                                    <span class="strong">{move || i.t(mode(m))}</span>
                                    <small>{move || i.t(help)}</small>
                                </span>
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            {move || {
                (choice.get() == EmergencyMode::Only)
                    .then(|| {
                        let list = hospitals.get().and_then(|r| r.ok()).unwrap_or_default();
                        if list.is_empty() {
                            return view! { <p class="muted">{i.t(K::EmergencyNoHospitals)}</p> }.into_any();
                        }
                        view! {
                            <fieldset class="bare stack-sm" id="emergency-hospitals">
                                <legend class="label">{i.t(K::EmergencyPickHospitals)}</legend>
                                {list
                                    .into_iter()
                                    .enumerate()
                                    .map(|(n, h)| {
                                        let id = format!("emergency-hospital-{n}");
                                        let for_id = id.clone();
                                        let url = h.peer_url.clone();
                                        let url2 = h.peer_url.clone();
                                        view! {
                                            <label class="choice" for=for_id>
                                                <input
                                                    type="checkbox"
                                                    id=id
                                                    data-peer=h.peer_url.clone()
                                                    prop:checked=move || chosen.get().contains(&url)
                                                    on:change=move |ev| {
                                                        let on = event_target_checked(&ev);
                                                        let u = url2.clone();
                                                        chosen
                                                            .update(|v| {
                                                                v.retain(|x| *x != u);
                                                                if on {
                                                                    v.push(u);
                                                                }
                                                            });
                                                    }
                                                />
                                                <span class="choice-text">
                                                    <span class="strong">{h.name.clone()}</span>
                                                    <small class="mono">{h.peer_url.clone()}</small>
                                                </span>
                                            </label>
                                        }
                                    })
                                    .collect_view()}
                            </fieldset>
                        }
                            .into_any()
                    })
            }}
            <PassphraseField id="emergency-passphrase" label=K::Passphrase value=pass />
            <ErrorBox error=error id="emergency-error" />
            <div class="live" role="status" aria-live="polite">
                {move || {
                    result
                        .get()
                        .map(|r| {
                            view! {
                                <ul class="plain stack-sm" id="emergency-answers">
                                    {r
                                        .answers
                                        .into_iter()
                                        .map(|a| {
                                            if a.ok {
                                                view! {
                                                    <li class="alert alert-success">
                                                        {i.f(K::EmergencyInForce, &[&a.hospital_name])}
                                                    </li>
                                                }
                                            } else {
                                                view! {
                                                    <li class="alert alert-warn">
                                                        {i.f(K::EmergencyNotReached, &[&a.hospital_name])}
                                                    </li>
                                                }
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            }
                        })
                }}
            </div>
            <button id="emergency-save" type="submit" class="btn btn-primary" disabled=move || busy.get()>
                {move || if busy.get() { i.t(K::Working) } else { i.t(K::EmergencySave) }}
            </button>
        </form>
    }
}

/// One emergency access, prominent, with its dispute form.
#[component]
pub fn EmergencyReceiptItem(
    /// The receipt.
    receipt: Receipt,
    /// Its emergency part.
    emergency: EmergencyReceipt,
    /// Its place in the list (element ids).
    n: usize,
    /// Minutes east of UTC.
    offset: i32,
) -> impl IntoView {
    let i = use_i18n();
    let open = RwSignal::new(false);
    let text = RwSignal::new(String::new());
    let pass = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let disputed = RwSignal::new(emergency.disputed_at);
    let hosp = receipt.hospital_name.clone();
    let access_id = emergency.access_id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let t = text.get_untracked();
        if t.trim().is_empty() {
            error.set(Some(ApiError::new(
                "invalid",
                K::DisputeEmpty.text(i.lang.get_untracked()),
            )));
            return;
        }
        let req = DisputeEmergencyRequest {
            access_id: access_id.clone(),
            text: t,
            passphrase: Passphrase(pass.get_untracked()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, DisputeEmergencyResult>(cmd::DISPUTE_EMERGENCY, &req).await {
                Ok(r) => {
                    pass.set(String::new());
                    open.set(false);
                    disputed.set(Some(r.disputed_at));
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let text_id = format!("dispute-text-{n}");
    let text_for = text_id.clone();
    let pass_id = format!("dispute-passphrase-{n}");
    let r2 = receipt.clone();
    let e2 = emergency.clone();
    let until = emergency.expires_at;
    view! {
        <li class="receipt emergency" id=format!("emergency-receipt-{n}")>
            <span class="kind-dot" aria-hidden="true"></span>
            <div class="stack-sm">
                <p class="badge badge-danger">{move || i.t(K::EmergencyTitle)}</p>
                <p class="receipt-text strong">{move || headline(i.get(), &r2, &e2, offset)}</p>
                <p>{move || i.f(K::EmergencyReasonLabel, &[i.t(reason(emergency.reason))])}</p>
                <p class="quote">{move || i.f(K::EmergencyDetails, &[&emergency.details])}</p>
                {until
                    .map(|t| {
                        view! {
                            <p class="receipt-meta">{move || i.f(K::EmergencyUntil, &[&fmt::date_time(i.get(), t, offset)])}</p>
                        }
                    })}
                {move || {
                    let hosp = hosp.clone();
                    match disputed.get() {
                        Some(at) => {
                            view! {
                                <p class="alert alert-info" id=format!("dispute-done-{n}")>
                                    {move || i.f(K::Disputed, &[&fmt::date_time(i.get(), at, offset), &hosp])}
                                </p>
                            }
                                .into_any()
                        }
                        None if !open.get() => {
                            view! {
                                <p>
                                    <button
                                        type="button"
                                        class="btn btn-danger-outline dispute-open"
                                        id=format!("dispute-open-{n}")
                                        on:click=move |_| open.set(true)
                                    >
                                        {move || i.t(K::DisputeOpen)}
                                    </button>
                                </p>
                            }
                                .into_any()
                        }
                        None => ().into_any(),
                    }
                }}
                <Show when=move || open.get() && disputed.get().is_none()>
                    <form class="stack-sm" on:submit=submit.clone()>
                        <div class="field">
                            <label class="label" for=text_for.clone()>{move || i.t(K::DisputeText)}</label>
                            <textarea id=text_id.clone() class="input" rows="3" maxlength="1000" bind:value=text></textarea>
                        </div>
                        <PassphraseField id=pass_id.clone() label=K::Passphrase value=pass />
                        <ErrorBox error=error />
                        <div class="row">
                            <button type="submit" class="btn btn-danger" id=format!("dispute-send-{n}") disabled=move || busy.get()>
                                {move || if busy.get() { i.t(K::Working) } else { i.t(K::DisputeSend) }}
                            </button>
                            <button type="button" class="btn btn-ghost" on:click=move |_| open.set(false)>
                                {move || i.t(K::Cancel)}
                            </button>
                        </div>
                    </form>
                </Show>
            </div>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spondon_app_api::Accessor;

    fn sample() -> (Receipt, EmergencyReceipt) {
        let e = EmergencyReceipt {
            access_id: "AAAA".into(),
            doctor_name: "Dr. Rezaul Karim".into(),
            doctor_bmdc: "A-54321".into(),
            department: "Medicine".into(),
            reason: EmergencyReason::Unconscious,
            details: "road accident".into(),
            expires_at: Some(1_796_428_800 + 18 * 3600),
            disputed_at: None,
        };
        let r = Receipt {
            at: 1_796_428_800 + 14 * 3600 + 5 * 60,
            peer: "https://dmch.example".into(),
            hospital_name: "Dhaka Medical College Hospital".into(),
            who: Accessor::UnknownKey { kid: "k".into() },
            records: Vec::new(),
            allowed: true,
            wrote: false,
            downloaded: false,
            reason: None,
            grant_id: None,
            text: String::new(),
            emergency: Some(e.clone()),
        };
        (r, e)
    }

    #[test]
    fn an_emergency_receipt_names_the_doctor_the_hospital_and_the_time() {
        let (r, e) = sample();
        assert_eq!(
            headline(Lang::En, &r, &e, 0),
            "Dr. Rezaul Karim (Medicine, BMDC A-54321) opened your emergency summary at Dhaka \
             Medical College Hospital at 14:05 on 5 December 2026"
        );
        let bn = headline(Lang::Bn, &r, &e, 0);
        assert!(
            bn.contains("Dr. Rezaul Karim") && bn.contains("১৪:০৫"),
            "{bn}"
        );
    }

    #[test]
    fn every_reason_and_mode_has_words_in_both_languages() {
        for r in [
            EmergencyReason::Unconscious,
            EmergencyReason::CannotCommunicate,
            EmergencyReason::LifeThreatening,
            EmergencyReason::NoWalletAvailable,
            EmergencyReason::Other,
        ] {
            assert!(!reason(r).text(Lang::En).is_empty());
            assert_ne!(reason(r).text(Lang::En), reason(r).text(Lang::Bn));
        }
        for m in [
            EmergencyMode::Allow,
            EmergencyMode::OptOut,
            EmergencyMode::Only,
        ] {
            assert_ne!(mode(m).text(Lang::En), mode(m).text(Lang::Bn));
        }
    }
}
