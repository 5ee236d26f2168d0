//! Import a SMART Health Card: a file, a QR image, or pasted shc:/ text; the verdict shown.

use leptos::prelude::*;
use spondon_app_api::{ApiError, ImportInput, ImportRequest, ImportResult, TrustLevel, cmd};

use crate::app::{Screen, use_app};
use crate::components::{ErrorBox, FilePicker, PageHead, Picked};
use crate::i18n::{K, use_i18n};
use crate::ipc;

/// The import screen.
#[component]
pub fn Import() -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let text = RwSignal::new(String::new());
    let file = RwSignal::new(None::<Picked>);
    let fetch_keys = RwSignal::new(true);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let result = RwSignal::new(None::<ImportResult>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        result.set(None);
        let t = text.get_untracked();
        let input = match file.get_untracked() {
            Some(p) if t.trim().is_empty() => {
                if p.is_image {
                    ImportInput::Image {
                        image_base64: p.content,
                    }
                } else {
                    ImportInput::File {
                        file_base64: p.content,
                    }
                }
            }
            _ => ImportInput::Text { text: t },
        };
        let req = ImportRequest {
            input,
            fetch_keys: fetch_keys.get_untracked(),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, ImportResult>(cmd::IMPORT_CARD, &req).await {
                Ok(r) => {
                    result.set(Some(r));
                    text.set(String::new());
                    file.set(None);
                    app.changed();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <PageHead title=K::ImportTitle help=K::ImportHelp />
        <form class="card stack" on:submit=submit>
            <div class="field">
                <label for="import-text" class="label">{move || i.t(K::ImportText)}</label>
                <textarea
                    id="import-text"
                    class="input mono"
                    rows="4"
                    spellcheck="false"
                    placeholder="shc:/5676290952432060346029243740…"
                    bind:value=text
                ></textarea>
            </div>
            <p class="or">{move || i.t(K::Or)}</p>
            <FilePicker
                id="import-file"
                label=K::ImportFile
                accept=".smart-health-card,.json,.txt,image/*"
                picked=file
            />
            <label class="check" for="import-fetch-keys">
                <input type="checkbox" id="import-fetch-keys" bind:checked=fetch_keys />
                <span>{move || i.t(K::FetchKeys)}</span>
            </label>
            <ErrorBox error=error id="import-error" />
            <button
                id="import-button"
                type="submit"
                class="btn btn-primary btn-block"
                disabled=move || busy.get() || (text.get().trim().is_empty() && file.get().is_none())
            >
                <span class="icon icon-import" aria-hidden="true"></span>
                {move || if busy.get() { i.t(K::Working) } else { i.t(K::ImportButton) }}
            </button>
        </form>
        <div class="live" id="import-result" role="status" aria-live="polite">
            {move || {
                result
                    .get()
                    .map(|r| {
                        let n = r.cards.iter().filter(|c| !c.already_present).count();
                        view! {
                            <section class="card stack">
                                <p class="alert alert-success">{i.f(K::ImportedN, &[&i.n(n)])}</p>
                                <ul class="plain stack-sm">
                                    {r
                                        .cards
                                        .into_iter()
                                        .map(|c| {
                                            let (cls, k) = match c.trust {
                                                TrustLevel::Verified | TrustLevel::ImportedTrusted => {
                                                    ("alert alert-success", K::VerdictValid)
                                                }
                                                TrustLevel::IssuerNotTrusted => {
                                                    ("alert alert-warn", K::VerdictUnknownIssuer)
                                                }
                                                TrustLevel::SignatureNotChecked => {
                                                    ("alert alert-warn", K::TrustSignatureNotChecked)
                                                }
                                            };
                                            let id = c.id.clone();
                                            view! {
                                                <li class=cls>
                                                    <div class="stack-sm">
                                                        <p class="strong import-verdict">{i.t(k)}</p>
                                                        <p class="small">
                                                            {i.t(K::Issuer)}": " <span class="mono">{c.issuer.clone()}</span>
                                                        </p>
                                                        {c.already_present.then(|| view! { <p class="small">{i.t(K::AlreadyPresent)}</p> })}
                                                        <button
                                                            type="button"
                                                            class="btn btn-secondary small"
                                                            on:click=move |_| app.go(Screen::Record(id.clone()))
                                                        >
                                                            {i.t(K::OpenRecord)}
                                                        </button>
                                                    </div>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            </section>
                        }
                    })
            }}
        </div>
    }
}
