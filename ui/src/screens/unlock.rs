//! Unlock (the wallet is locked on demand or after inactivity).

use leptos::prelude::*;
use spondon_app_api::{ApiError, AppStatus, Passphrase, UnlockRequest, cmd, event::LockReason};

use crate::app::{Brand, use_app};
use crate::components::{ErrorBox, LangSwitch, PassphraseField};
use crate::i18n::{K, use_i18n};
use crate::ipc;

/// The unlock screen.
#[component]
pub fn Unlock() -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let pass = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    // Set by the button that submits: the passphrase, or the phone's biometric check (offered
    // when the key is kept in the phone's keystore).
    let bio = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let biometric = bio.get_untracked();
        let req = UnlockRequest {
            passphrase: Passphrase(if biometric {
                String::new()
            } else {
                pass.get_untracked()
            }),
            biometric,
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, AppStatus>(cmd::UNLOCK, &req).await {
                Ok(s) => {
                    pass.set(String::new());
                    app.lock_reason.set(None);
                    app.set_status(s);
                    crate::app::focus_heading();
                }
                Err(e) => {
                    error.set(Some(e));
                    focus_input();
                }
            }
            busy.set(false);
        });
    };
    Effect::new(move |_| {
        focus_input();
        // The screen is usable from here on: a standard performance mark, which the app's
        // benchmark (tests/bench.rs) reads to measure cold start.
        if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
            let _ = p.mark("spondon:interactive");
        }
    });
    view! {
        <div class="top-right">
            <LangSwitch />
        </div>
        <main id="main" class="center-page">
            <form class="card narrow stack-lg" on:submit=submit>
                <Brand />
                <div class="lock-illustration" aria-hidden="true">
                    <span class="icon icon-lock big"></span>
                </div>
                <div class="stack">
                    <h1 id="page-title" tabindex="-1">{move || i.t(K::UnlockTitle)}</h1>
                    {move || {
                        app.lock_reason
                            .get()
                            .map(|r| {
                                let k = match r {
                                    LockReason::Inactivity => K::LockedInactivity,
                                    LockReason::Requested => K::LockedRequested,
                                    LockReason::Background => K::LockedBackground,
                                };
                                view! {
                                    <p class="alert alert-info" id="lock-reason" role="status">
                                        {i.t(k)}
                                    </p>
                                }
                            })
                    }}
                    <p class="lead">{move || i.t(K::UnlockHelp)}</p>
                </div>
                <PassphraseField id="unlock-passphrase" label=K::Passphrase value=pass />
                <ErrorBox error=error id="unlock-error" />
                <button
                    id="unlock-button"
                    type="submit"
                    class="btn btn-primary btn-block"
                    disabled=move || busy.get()
                    on:click=move |_| bio.set(false)
                >
                    {move || if busy.get() { i.t(K::Working) } else { i.t(K::Unlock) }}
                </button>
                {move || app.biometrics().then(|| view! {
                    <button
                        id="unlock-biometric"
                        type="submit"
                        class="btn btn-secondary btn-block"
                        disabled=move || busy.get()
                        on:click=move |_| bio.set(true)
                    >
                        {i.t(K::UnlockBiometric)}
                    </button>
                })}
            </form>
        </main>
    }
}

fn focus_input() {
    request_animation_frame(|| {
        if let Some(el) = document().get_element_by_id("unlock-passphrase")
            && let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el)
        {
            let _ = el.focus();
        }
    });
}
