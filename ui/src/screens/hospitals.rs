//! Hospitals: enroll with the code (pasted or its QR image, dropped too), and the list with the
//! last sync and any alert — a hospital that rewrote its history is shown loudly.

use leptos::prelude::*;
use spondon_app_api::{ApiError, EnrollRequest, Hospital, TextOrImage, cmd};

use crate::app::use_app;
use crate::components::{ErrorBox, FilePicker, PageHead, Picked, ScanButton};
use crate::i18n::{K, use_i18n};
use crate::{ipc, util};

/// The hospitals screen.
#[component]
pub fn Hospitals() -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let list = LocalResource::new(move || {
        app.data_version.get();
        async move { ipc::call0::<Vec<Hospital>>(cmd::LIST_HOSPITALS).await }
    });
    let jump = move |_| {
        if let Some(el) = document().get_element_by_id("enroll-code")
            && let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el)
        {
            el.scroll_into_view();
            let _ = el.focus();
        }
    };
    view! {
        <PageHead title=K::HospitalsTitle>
            <button id="enroll-jump" type="button" class="btn btn-secondary only-narrow" on:click=jump>
                <span class="icon icon-hospital" aria-hidden="true"></span>
                {move || i.t(K::EnrollTitle)}
            </button>
        </PageHead>
        <div class="two-col">
            <section class="stack" aria-labelledby="hospital-list-title">
                <h2 id="hospital-list-title" class="sr-only">{move || i.t(K::HospitalsTitle)}</h2>
                <Suspense fallback=move || view! { <p class="muted">{i.t(K::Loading)}</p> }>
                    {move || {
                        list.get()
                            .map(|r| match r {
                                Err(e) => view! { <p class="alert alert-danger" role="alert">{i.err(&e)}</p> }
                                    .into_any(),
                                Ok(hs) if hs.is_empty() => {
                                    view! { <p class="empty" id="hospitals-empty">{i.t(K::NoHospitals)}</p> }
                                        .into_any()
                                }
                                Ok(hs) => {
                                    view! {
                                        <ul class="cards" id="hospital-list">
                                            {hs
                                                .into_iter()
                                                .map(|h| view! { <HospitalCard h=h /> })
                                                .collect_view()}
                                        </ul>
                                    }
                                        .into_any()
                                }
                            })
                    }}
                </Suspense>
            </section>
            <EnrollForm />
        </div>
    }
}

#[component]
fn HospitalCard(h: Hospital) -> impl IntoView {
    let i = use_i18n();
    let alert = !h.alerts.is_empty();
    let alerts = h.alerts.clone();
    view! {
        <li class="card hospital" class:danger-card=alert>
            <div class="row between">
                <h3 class="h3">{h.name.clone()}</h3>
                <span class="muted small">{move || i.f(K::RecordsCount, &[&i.n(h.records)])}</span>
            </div>
            <p class="muted small">
                {move || i.t(K::HealthId)}": " <span class="mono">{h.health_id.clone()}</span>
            </p>
            <p class="small">
                {move || match h.last_sync {
                    Some(t) => i.f(K::LastSync, &[&util::date_time(i.get(), t)]),
                    None => i.t(K::NeverSynced).to_owned(),
                }}
            </p>
            {alert
                .then(|| {
                    view! {
                        <div class="alert alert-danger loud" role="alert">
                            <span class="alert-icon" aria-hidden="true">"!"</span>
                            <div class="stack-sm">
                                <p>
                                    <strong>{move || i.t(K::ViolationTitle)}</strong>
                                </p>
                                <p>{move || i.t(K::ViolationBody)}</p>
                                <ul class="plain">
                                    {alerts
                                        .iter()
                                        .map(|a| {
                                            let a = a.clone();
                                            view! {
                                                <li class="small">
                                                    {move || util::violation(i.get(), &a.violation)} " "
                                                    {move || {
                                                        i.f(K::FoundOn, &[&util::date_time(i.get(), a.at)])
                                                    }}
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            </div>
                        </div>
                    }
                })}
        </li>
    }
}

#[component]
fn EnrollForm() -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let code = RwSignal::new(String::new());
    let image = RwSignal::new(None::<Picked>);
    let error = RwSignal::new(None::<ApiError>);
    let done = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // An enrollment link that opened the app: offered, never sent by itself.
    let from_link = RwSignal::new(false);
    Effect::new(move || {
        if app.link.with(|l| {
            l.as_deref()
                .is_some_and(|t| t.starts_with("SPONDON-ENROLL:"))
        }) && let Some(t) = app.link.try_update(Option::take).flatten()
        {
            code.set(t);
            from_link.set(true);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        done.set(None);
        let text = code.get_untracked();
        let input = match image.get_untracked() {
            Some(p) if text.trim().is_empty() => TextOrImage::Image {
                image_base64: p.content,
            },
            _ => TextOrImage::Text { text },
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, Hospital>(cmd::ENROLL, &EnrollRequest { input }).await {
                Ok(h) => {
                    done.set(Some(h.name));
                    code.set(String::new());
                    image.set(None);
                    app.changed();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card stack" aria-labelledby="enroll-title">
            <h2 id="enroll-title" class="h2">{move || i.t(K::EnrollTitle)}</h2>
            <p class="help">{move || i.t(K::EnrollHelp)}</p>
            <form class="stack" on:submit=submit>
                {move || from_link.get().then(|| view! { <p class="alert" id="enroll-from-link">{i.t(K::LinkOpened)}</p> })}
                <ScanButton id="enroll-scan" text=code error=error />
                <div class="field">
                    <label for="enroll-code" class="label">{move || i.t(K::EnrollCode)}</label>
                    <textarea
                        id="enroll-code"
                        class="input mono"
                        rows="3"
                        spellcheck="false"
                        placeholder="SPONDON-ENROLL:1:…"
                        bind:value=code
                    ></textarea>
                </div>
                <p class="or">{move || i.t(K::Or)}</p>
                <FilePicker id="enroll-qr-file" label=K::EnrollQr accept="image/*" picked=image />
                <ErrorBox error=error id="enroll-error" />
                <div class="live" role="status" aria-live="polite">
                    {move || {
                        done.get()
                            .map(|n| {
                                view! {
                                    <p class="alert alert-success" id="enroll-done">{i.f(K::Enrolled, &[&n])}</p>
                                }
                            })
                    }}
                </div>
                <button
                    id="enroll-button"
                    type="submit"
                    class="btn btn-primary btn-block"
                    disabled=move || {
                        busy.get() || (code.get().trim().is_empty() && image.get().is_none())
                    }
                >
                    {move || if busy.get() { i.t(K::Working) } else { i.t(K::Enroll) }}
                </button>
            </form>
        </section>
    }
}
