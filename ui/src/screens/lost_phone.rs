//! "I lost my phone" (Settings): from a wallet restored on a new device, revoke everything the
//! old key signed at every hospital and move the wallet to a new key, hospital by hospital with
//! progress; where the old key cannot sign any more, bind the new key with a new code from the
//! hospital's registration desk.

use leptos::prelude::*;
use spondon_app_api::event::{self, LostPhoneProgress};
use spondon_app_api::{
    ApiError, Hospital, KeyRotationInfo, LostPhoneHospital, LostPhoneRequest, LostPhoneResult,
    LostPhoneStatus, Passphrase, RebindRequest, TextOrImage, cmd,
};

use crate::app::use_app;
use crate::components::{ErrorBox, PassphraseField};
use crate::i18n::{K, use_i18n};
use crate::{ipc, util};

/// A hospital's outcome, in words.
pub fn status(s: LostPhoneStatus) -> K {
    match s {
        LostPhoneStatus::Rotated => K::LostRotated,
        LostPhoneStatus::AlreadyDone => K::LostAlreadyDone,
        LostPhoneStatus::IdentityCheckNeeded => K::LostIdentityCheck,
        LostPhoneStatus::Failed => K::LostFailed,
    }
}

#[component]
fn Answers(list: Vec<LostPhoneHospital>) -> impl IntoView {
    let i = use_i18n();
    view! {
        <ul class="plain stack-sm" id="lost-answers">
            {list
                .into_iter()
                .map(|h| {
                    let ok = matches!(h.status, LostPhoneStatus::Rotated | LostPhoneStatus::AlreadyDone);
                    let err = h.error.clone();
                    view! {
                        <li class="alert" class:alert-success=ok class:alert-warn=!ok data-peer=h.peer.clone()>
                            <p>
                                <span class="strong">{h.hospital_name.clone()}</span>
                                ": "
                                {move || i.t(status(h.status))}
                                {err.clone().map(|e| format!(" ({})", i.err(&e)))}
                            </p>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// The "I lost my phone" card.
#[component]
pub fn LostPhoneCard() -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let version = RwSignal::new(0u32);
    let rotation = LocalResource::new(move || {
        version.get();
        async move { ipc::call0::<Option<KeyRotationInfo>>(cmd::KEY_ROTATION_STATUS).await }
    });
    let open = RwSignal::new(false);
    let understood = RwSignal::new(false);
    let pass = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let progress = RwSignal::new(None::<LostPhoneProgress>);
    let result = RwSignal::new(None::<LostPhoneResult>);
    ipc::listen::<LostPhoneProgress>(event::LOST_PHONE, move |p| progress.set(Some(p)));
    let run = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        result.set(None);
        progress.set(None);
        let req = LostPhoneRequest {
            passphrase: Passphrase(pass.get_untracked()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, LostPhoneResult>(cmd::LOST_PHONE, &req).await {
                Ok(r) => {
                    pass.set(String::new());
                    result.set(Some(r));
                    version.update(|v| *v += 1);
                    app.data_version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    // The identity-check path: a new code from the registration desk.
    let code = RwSignal::new(String::new());
    let code_pass = RwSignal::new(String::new());
    let code_error = RwSignal::new(None::<ApiError>);
    let code_busy = RwSignal::new(false);
    let rebound = RwSignal::new(None::<String>);
    let rebind = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        code_error.set(None);
        rebound.set(None);
        let req = RebindRequest {
            input: TextOrImage::Text {
                text: code.get_untracked(),
            },
            passphrase: Passphrase(code_pass.get_untracked()),
        };
        code_busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, Hospital>(cmd::REBIND, &req).await {
                Ok(h) => {
                    code.set(String::new());
                    code_pass.set(String::new());
                    rebound.set(Some(h.name));
                    version.update(|v| *v += 1);
                }
                Err(e) => code_error.set(Some(e)),
            }
            code_busy.set(false);
        });
    };
    view! {
        <section class="card stack danger-card" aria-labelledby="lost-title" id="lost-phone-card">
            <h2 id="lost-title" class="h3">{move || i.t(K::LostTitle)}</h2>
            <p class="help">{move || i.t(K::LostHelp)}</p>
            {move || {
                rotation
                    .get()
                    .and_then(|r| r.ok())
                    .flatten()
                    .map(|r| {
                        let text = match r.completed_at {
                            Some(at) => i.f(K::LostCompletedOn, &[&util::date_time(i.get(), at)]),
                            None => i.f(K::LostPendingAt, &[&r.pending.join(", ")]),
                        };
                        let done = r.completed_at.is_some();
                        view! {
                            <p class="alert" class:alert-success=done class:alert-warn=!done id="lost-status">
                                {text}
                            </p>
                        }
                    })
            }}
            <Show when=move || !open.get()>
                <button id="lost-open" type="button" class="btn btn-danger-outline" on:click=move |_| open.set(true)>
                    {move || i.t(K::LostOpen)}
                </button>
            </Show>
            <Show when=move || open.get()>
                <form class="stack" on:submit=run>
                    <div class="alert alert-warn" role="note" id="lost-warning">
                        <span class="alert-icon" aria-hidden="true">"!"</span>
                        <p>{move || i.t(K::LostWarning)}</p>
                    </div>
                    <label class="check" for="lost-understood">
                        <input type="checkbox" id="lost-understood" bind:checked=understood />
                        <span>{move || i.t(K::LostUnderstood)}</span>
                    </label>
                    <PassphraseField id="lost-passphrase" label=K::Passphrase value=pass />
                    <ErrorBox error=error id="lost-error" />
                    <div class="live" role="status" aria-live="polite">
                        {move || {
                            if busy.get() {
                                progress
                                    .get()
                                    .map(|p| {
                                        view! {
                                            <div class="stack-sm" id="lost-progress">
                                                <progress max=p.total.max(1) value=p.done></progress>
                                                <p class="small">{i.f(K::LostProgress, &[&i.n(p.done), &i.n(p.total)])}</p>
                                            </div>
                                        }
                                            .into_any()
                                    })
                                    .unwrap_or_else(|| view! { <p class="muted">{i.t(K::Working)}</p> }.into_any())
                            } else {
                                ().into_any()
                            }
                        }}
                        {move || {
                            result
                                .get()
                                .map(|r| {
                                    let summary = if r.complete {
                                        i.t(K::LostComplete).to_owned()
                                    } else {
                                        i.t(K::LostIncomplete).to_owned()
                                    };
                                    view! {
                                        <div class="stack-sm" id="lost-result">
                                            <p class="strong" class:complete=r.complete>{summary}</p>
                                            <Answers list=r.hospitals.clone() />
                                        </div>
                                    }
                                })
                        }}
                    </div>
                    <div class="row">
                        <button
                            id="lost-run"
                            type="submit"
                            class="btn btn-danger"
                            disabled=move || busy.get() || !understood.get()
                        >
                            {move || if busy.get() { i.t(K::Working) } else { i.t(K::LostRun) }}
                        </button>
                        <button type="button" class="btn btn-ghost" on:click=move |_| open.set(false)>
                            {move || i.t(K::Close)}
                        </button>
                    </div>
                </form>
                <form class="stack-sm" on:submit=rebind>
                    <h3 class="label">{move || i.t(K::RebindTitle)}</h3>
                    <p class="help">{move || i.t(K::RebindHelp)}</p>
                    <div class="field">
                        <label class="label" for="rebind-code">{move || i.t(K::RebindCode)}</label>
                        <textarea id="rebind-code" class="input mono" rows="2" spellcheck="false" bind:value=code></textarea>
                    </div>
                    <PassphraseField id="rebind-passphrase" label=K::Passphrase value=code_pass />
                    <ErrorBox error=code_error id="rebind-error" />
                    <div class="live" role="status" aria-live="polite">
                        {move || {
                            rebound
                                .get()
                                .map(|h| view! { <p class="alert alert-success" id="rebind-done">{i.f(K::RebindDone, &[&h])}</p> })
                        }}
                    </div>
                    <button
                        id="rebind-button"
                        type="submit"
                        class="btn btn-secondary"
                        disabled=move || code_busy.get() || code.get().trim().is_empty()
                    >
                        {move || if code_busy.get() { i.t(K::Working) } else { i.t(K::RebindButton) }}
                    </button>
                </form>
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn every_outcome_has_words_in_both_languages() {
        for s in [
            LostPhoneStatus::Rotated,
            LostPhoneStatus::AlreadyDone,
            LostPhoneStatus::IdentityCheckNeeded,
            LostPhoneStatus::Failed,
        ] {
            assert!(!status(s).text(Lang::En).is_empty());
            assert_ne!(status(s).text(Lang::En), status(s).text(Lang::Bn));
        }
    }
}
