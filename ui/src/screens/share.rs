//! Share with a doctor: pick or add the doctor (pasted credential or its QR image), choose
//! kinds or single records, purpose, duration, whether they may add a prescription; the
//! passphrase before signing; then a large QR with the doctor's name, scopes and a countdown.

use leptos::prelude::*;
use spondon_app_api::{
    AddDoctorRequest, ApiError, Category, CreateGrantRequest, DoctorInfo, GrantCreated, Passphrase,
    Purpose, RecordFilter, RecordSummary, TextOrImage, cmd,
};

use crate::app::{Screen, use_app};
use crate::components::{
    ErrorBox, FilePicker, PageHead, PassphraseField, Picked, ScanButton, svg_data_url,
};
use crate::fmt::{self, Unit};
use crate::i18n::{K, use_i18n};
use crate::{ipc, util};

/// The share screen.
#[component]
pub fn Share(preselected: Vec<String>) -> impl IntoView {
    let created = RwSignal::new(None::<GrantCreated>);
    view! {
        {move || match created.get() {
            Some(g) => view! { <ShowQr g=g created=created /> }.into_any(),
            None => view! { <ShareForm preselected=preselected.clone() created=created /> }.into_any(),
        }}
    }
}

/// A live clock (UNIX seconds), ticking every second while the component lives.
pub fn ticking_now() -> RwSignal<i64> {
    let now = RwSignal::new(util::now());
    if let Ok(h) = set_interval_with_handle(
        move || now.set(util::now()),
        std::time::Duration::from_secs(1),
    ) {
        on_cleanup(move || h.clear());
    }
    now
}

/// The scopes of a grant in words.
pub fn scopes_text(
    lang: crate::i18n::Lang,
    categories: &[Category],
    record_ids: &[String],
) -> String {
    let mut parts: Vec<String> = categories
        .iter()
        .map(|c| util::category(*c).text(lang).to_owned())
        .collect();
    if !record_ids.is_empty() {
        parts.push(format!(
            "{} ({})",
            K::ByRecord.text(lang),
            fmt::num(lang, record_ids.len())
        ));
    }
    parts.join(", ")
}

#[component]
fn ShareForm(preselected: Vec<String>, created: RwSignal<Option<GrantCreated>>) -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let doctors_version = RwSignal::new(0u32);
    let doctors = LocalResource::new(move || {
        doctors_version.get();
        async move { ipc::call0::<Vec<DoctorInfo>>(cmd::LIST_DOCTORS).await }
    });
    let records = LocalResource::new(move || async move {
        ipc::call::<_, Vec<RecordSummary>>(cmd::LIST_RECORDS, &RecordFilter::default()).await
    });
    let doctor = RwSignal::new(None::<String>);
    let cats = RwSignal::new(Vec::<Category>::new());
    let ids = RwSignal::new(preselected.clone());
    let purpose = RwSignal::new("treatment".to_owned());
    let amount = RwSignal::new(fmt::num(i.lang.get_untracked(), 1));
    let unit = RwSignal::new("hour".to_owned());
    let write = RwSignal::new(false);
    let pass = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let show_records = RwSignal::new(!preselected.is_empty());

    // The list is by name: a doctor is picked for the user only when there is just one.
    Effect::new(move |_| {
        if doctor.get_untracked().is_none()
            && let Some(Ok(ds)) = doctors.get()
            && let [d] = ds.as_slice()
        {
            doctor.set(Some(d.kid.clone()));
        }
    });

    let duration_secs = move || -> Option<u64> {
        let n = fmt::parse_number(&amount.get())?;
        let u = match unit.get().as_str() {
            "minute" => Unit::Minute,
            "hour" => Unit::Hour,
            "day" => Unit::Day,
            _ => Unit::Month,
        };
        let secs = n.checked_mul(u.seconds())?;
        (300..=12 * 30 * 86_400).contains(&secs).then_some(secs)
    };

    // Set by the button that submits: the passphrase, or the phone's biometric check.
    let bio = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let lang = i.lang.get_untracked();
        let Some(kid) = doctor.get_untracked() else {
            error.set(Some(ApiError::new("invalid", K::PickDoctor.text(lang))));
            return;
        };
        let categories = cats.get_untracked();
        let record_ids = ids.get_untracked();
        if categories.is_empty() && record_ids.is_empty() {
            error.set(Some(ApiError::new("invalid", K::PickAtLeastOne.text(lang))));
            return;
        }
        let Some(duration_secs) = duration_secs() else {
            error.set(Some(ApiError::new(
                "invalid",
                K::DurationInvalid.text(lang),
            )));
            return;
        };
        let purpose = util::PURPOSES
            .into_iter()
            .find(|p| util::purpose_value(*p) == purpose.get_untracked())
            .unwrap_or(Purpose::Treatment);
        let req = CreateGrantRequest {
            doctor_kid: kid,
            categories,
            record_ids,
            purpose,
            duration_secs,
            write: write.get_untracked(),
            passphrase: Passphrase(if bio.get_untracked() {
                String::new()
            } else {
                pass.get_untracked()
            }),
            confirm_with_biometrics: bio.get_untracked(),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, GrantCreated>(cmd::CREATE_GRANT, &req).await {
                Ok(g) => {
                    pass.set(String::new());
                    created.set(Some(g));
                    crate::app::focus_heading();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    let presets: [(u64, Unit); 5] = [
        (15, Unit::Minute),
        (1, Unit::Hour),
        (1, Unit::Day),
        (7, Unit::Day),
        (1, Unit::Month),
    ];

    view! {
        <PageHead title=K::ShareTitle help=K::ShareHelp />
        <form class="stack-lg" on:submit=submit>
            <section class="card stack" aria-labelledby="step-doctor">
                <h2 id="step-doctor" class="h3">{move || i.t(K::StepDoctor)}</h2>
                <Suspense fallback=move || view! { <p class="muted">{i.t(K::Loading)}</p> }>
                    {move || {
                        doctors
                            .get()
                            .map(|r| match r {
                                Err(e) => view! { <p class="alert alert-danger">{i.err(&e)}</p> }.into_any(),
                                Ok(ds) if ds.is_empty() => {
                                    view! { <p class="muted" id="doctors-empty">{i.t(K::NoDoctors)}</p> }.into_any()
                                }
                                Ok(ds) => {
                                    view! {
                                        <fieldset class="step">
                                            <legend class="label">{i.t(K::RecentDoctors)}</legend>
                                            <ul class="doctor-list" id="doctor-list">
                                                {ds
                                                    .into_iter()
                                                    .enumerate()
                                                    .map(|(n, d)| {
                                                        let kid = d.kid.clone();
                                                        let kid2 = d.kid.clone();
                                                        let id = format!("doctor-{n}");
                                                        let for_id = id.clone();
                                                        view! {
                                                            <li>
                                                                <label class="choice" for=for_id>
                                                                    <input
                                                                        type="radio"
                                                                        name="doctor"
                                                                        id=id
                                                                        data-kid=d.kid.clone()
                                                                        prop:checked=move || {
                                                                            doctor.get().as_deref() == Some(kid.as_str())
                                                                        }
                                                                        on:change=move |_| doctor.set(Some(kid2.clone()))
                                                                    />
                                                                    <span class="choice-text">
                                                                        <span class="strong">{d.name.clone()}</span>
                                                                        <small>
                                                                            {d.department.clone()} " · " {d.hospital_name.clone()}
                                                                            " · "
                                                                            {move || i.f(K::Registration, &[&d.bmdc_number])}
                                                                        </small>
                                                                    </span>
                                                                </label>
                                                            </li>
                                                        }
                                                    })
                                                    .collect_view()}
                                            </ul>
                                        </fieldset>
                                    }
                                        .into_any()
                                }
                            })
                    }}
                </Suspense>
                <AddDoctor doctor=doctor version=doctors_version />
            </section>

            <section class="card stack" aria-labelledby="step-what">
                <h2 id="step-what" class="h3">{move || i.t(K::StepWhat)}</h2>
                <fieldset class="step">
                    <legend class="label">{move || i.t(K::ByKind)}</legend>
                    <div class="chips">
                        {util::CATEGORIES
                            .into_iter()
                            .map(|c| {
                                let id = format!("scope-{}", util::category_value(c));
                                let for_id = id.clone();
                                view! {
                                    <label class="chip" for=for_id>
                                        <input
                                            type="checkbox"
                                            id=id
                                            prop:checked=move || cats.get().contains(&c)
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                cats.update(|v| {
                                                    v.retain(|x| *x != c);
                                                    if on {
                                                        v.push(c);
                                                    }
                                                });
                                            }
                                        />
                                        {move || i.t(util::category(c))}
                                    </label>
                                }
                            })
                            .collect_view()}
                    </div>
                </fieldset>
                <button
                    id="scope-records-toggle"
                    type="button"
                    class="btn btn-ghost"
                    aria-expanded=move || show_records.get().to_string()
                    aria-controls="scope-records"
                    on:click=move |_| show_records.update(|v| *v = !*v)
                >
                    {move || i.t(K::ByRecord)}
                    {move || {
                        let n = ids.get().len();
                        (n > 0).then(|| format!(" ({})", i.n(n)))
                    }}
                </button>
                <Show when=move || show_records.get()>
                    <fieldset class="step" id="scope-records">
                        <legend class="sr-only">{move || i.t(K::ByRecord)}</legend>
                        <div class="scroll-list">
                            {move || {
                                records
                                    .get()
                                    .and_then(|r| r.ok())
                                    .unwrap_or_default()
                                    .into_iter()
                                    .map(|r| {
                                        let id = util::dom_id("scope-record", &r.id);
                                        let for_id = id.clone();
                                        let rid = r.id.clone();
                                        let rid2 = r.id.clone();
                                        view! {
                                            <label class="choice" for=for_id>
                                                <input
                                                    type="checkbox"
                                                    id=id
                                                    prop:checked=move || ids.get().contains(&rid)
                                                    on:change=move |ev| {
                                                        let on = event_target_checked(&ev);
                                                        let rid = rid2.clone();
                                                        ids.update(|v| {
                                                            v.retain(|x| *x != rid);
                                                            if on {
                                                                v.push(rid);
                                                            }
                                                        });
                                                    }
                                                />
                                                <span class="choice-text">
                                                    <span class="strong">
                                                        {
                                                            let t = r.title.clone();
                                                            move || crate::screens::records::title(i.get(), r.kind, &t)
                                                        }
                                                    </span>
                                                    <small>
                                                        {move || i.t(util::kind(r.kind))} " · " {r.hospital.clone()} " · "
                                                        {move || util::date(i.get(), r.issued_at)}
                                                    </small>
                                                </span>
                                            </label>
                                        }
                                    })
                                    .collect_view()
                            }}
                        </div>
                    </fieldset>
                </Show>
            </section>

            <section class="card stack" aria-labelledby="step-how">
                <h2 id="step-how" class="h3">{move || i.t(K::StepHow)}</h2>
                <div class="field">
                    <label for="share-purpose" class="label">{move || i.t(K::Purpose)}</label>
                    <select id="share-purpose" class="input" bind:value=purpose>
                        {util::PURPOSES
                            .into_iter()
                            .map(|p| view! { <option value=util::purpose_value(p)>{move || i.t(util::purpose(p))}</option> })
                            .collect_view()}
                    </select>
                </div>
                <fieldset class="step">
                    <legend class="label">{move || i.t(K::Duration)}</legend>
                    <div class="chips" role="group">
                        {presets
                            .into_iter()
                            .enumerate()
                            .map(|(n, (a, u))| {
                                let uv = match u {
                                    Unit::Minute => "minute",
                                    Unit::Hour => "hour",
                                    Unit::Day => "day",
                                    Unit::Month => "month",
                                };
                                let selected = move || {
                                    fmt::parse_number(&amount.get()) == Some(a) && unit.get() == uv
                                };
                                view! {
                                    <button
                                        type="button"
                                        id=format!("share-duration-preset-{n}")
                                        class="chip"
                                        aria-pressed=move || selected().to_string()
                                        on:click=move |_| {
                                            amount.set(fmt::num(i.lang.get_untracked(), a));
                                            unit.set(uv.to_owned());
                                        }
                                    >
                                        {move || fmt::amount(i.get(), a, u)}
                                    </button>
                                }
                            })
                            .collect_view()}
                    </div>
                    <div class="duration-row">
                        <div class="field">
                            <label for="share-duration-amount" class="label">{move || i.t(K::DurationAmount)}</label>
                            <input
                                id="share-duration-amount"
                                class="input"
                                type="text"
                                inputmode="numeric"
                                bind:value=amount
                            />
                        </div>
                        <div class="field">
                            <label for="share-duration-unit" class="label">{move || i.t(K::DurationUnit)}</label>
                            <select id="share-duration-unit" class="input" bind:value=unit>
                                <option value="minute">{move || i.t(K::Minutes)}</option>
                                <option value="hour">{move || i.t(K::Hours)}</option>
                                <option value="day">{move || i.t(K::Days)}</option>
                                <option value="month">{move || i.t(K::Months)}</option>
                            </select>
                        </div>
                    </div>
                    <p class="help" aria-live="polite" id="share-duration-words">
                        {move || match duration_secs() {
                            Some(s) => fmt::duration(i.get(), s),
                            None => i.t(K::DurationInvalid).to_owned(),
                        }}
                    </p>
                </fieldset>
                <label class="switch" for="share-write">
                    <input type="checkbox" role="switch" id="share-write" bind:checked=write />
                    <span class="choice-text">
                        <span class="strong">{move || i.t(K::MayWrite)}</span>
                        <small>{move || i.t(K::MayWriteHelp)}</small>
                    </span>
                </label>
            </section>

            <section class="card stack" aria-labelledby="step-confirm">
                <h2 id="step-confirm" class="h3">{move || i.t(K::StepConfirm)}</h2>
                <PassphraseField id="share-passphrase" label=K::ConfirmPassphrase value=pass />
                <ErrorBox error=error id="share-error" />
                <button
                    id="share-create"
                    type="submit"
                    class="btn btn-primary btn-block"
                    disabled=move || busy.get()
                    on:click=move |_| bio.set(false)
                >
                    <span class="icon icon-share" aria-hidden="true"></span>
                    {move || if busy.get() { i.t(K::Working) } else { i.t(K::CreateShare) }}
                </button>
                {move || app.biometrics().then(|| view! {
                    <button
                        id="share-create-biometric"
                        type="submit"
                        class="btn btn-secondary btn-block"
                        disabled=move || busy.get()
                        on:click=move |_| bio.set(true)
                    >
                        {i.t(K::ConfirmBiometric)}
                    </button>
                })}
            </section>
        </form>
    }
}

#[component]
fn AddDoctor(doctor: RwSignal<Option<String>>, version: RwSignal<u32>) -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let text = RwSignal::new(String::new());
    let image = RwSignal::new(None::<Picked>);
    let error = RwSignal::new(None::<ApiError>);
    let added = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let open = RwSignal::new(false);
    // A doctor's credential link that opened the app: offered, never added by itself.
    Effect::new(move || {
        if app
            .link
            .with(|l| l.as_deref().is_some_and(|t| t.starts_with("SPONDON:")))
            && let Some(t) = app.link.try_update(Option::take).flatten()
        {
            text.set(t);
            open.set(true);
        }
    });
    let add = move |_| {
        error.set(None);
        added.set(None);
        let t = text.get_untracked();
        let input = match image.get_untracked() {
            Some(p) if t.trim().is_empty() => TextOrImage::Image {
                image_base64: p.content,
            },
            _ => TextOrImage::Text { text: t },
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, DoctorInfo>(cmd::ADD_DOCTOR, &AddDoctorRequest { input }).await {
                Ok(d) => {
                    added.set(Some(d.name.clone()));
                    doctor.set(Some(d.kid));
                    text.set(String::new());
                    image.set(None);
                    version.update(|v| *v += 1);
                    open.set(false);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="live" role="status" aria-live="polite">
            {move || {
                added.get().map(|n| view! { <p class="alert alert-success" id="doctor-added">{i.f(K::DoctorAdded, &[&n])}</p> })
            }}
        </div>
        <button
            id="add-doctor-toggle"
            type="button"
            class="btn btn-secondary"
            aria-expanded=move || open.get().to_string()
            aria-controls="add-doctor"
            on:click=move |_| open.update(|o| *o = !*o)
        >
            {move || i.t(K::AddDoctor)}
        </button>
        <Show when=move || open.get()>
            <div class="notice stack" id="add-doctor">
                <ScanButton id="doctor-scan" text=text error=error />
                <div class="field">
                    <label for="doctor-credential" class="label">{move || i.t(K::DoctorCredential)}</label>
                    <textarea
                        id="doctor-credential"
                        class="input mono"
                        rows="3"
                        spellcheck="false"
                        placeholder="SPONDON:1:…"
                        bind:value=text
                    ></textarea>
                </div>
                <FilePicker id="doctor-qr-file" label=K::DoctorQr accept="image/*" picked=image />
                <ErrorBox error=error id="doctor-error" />
                <button
                    id="doctor-add"
                    type="button"
                    class="btn btn-primary"
                    disabled=move || busy.get() || (text.get().trim().is_empty() && image.get().is_none())
                    on:click=add
                >
                    {move || if busy.get() { i.t(K::Working) } else { i.t(K::AddDoctor) }}
                </button>
            </div>
        </Show>
    }
}

#[component]
fn ShowQr(g: GrantCreated, created: RwSignal<Option<GrantCreated>>) -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let now = ticking_now();
    let expires = g.grant.expires;
    let name = g.grant.doctor_name.clone();
    let name2 = name.clone();
    let name3 = name.clone();
    let src = svg_data_url(&g.qr_svg);
    let cats = g.grant.categories.clone();
    let rids = g.grant.record_ids.clone();
    let write = g.grant.write;
    let left = move || (expires - now.get()).max(0) as u64;
    view! {
        <PageHead title=K::ShareTitle />
        <section class="card qr-card" aria-labelledby="qr-for">
            <img
                id="share-qr"
                class="qr-img"
                src=src
                alt=move || i.f(K::ShareQrLabel, &[&name2])
                data-doctor=name3
            />
            <div class="qr-info stack">
                <h2 id="qr-for" class="h2">{move || i.f(K::ShowToDoctor, &[&name])}</h2>
                <p class="countdown" class:expired=move || left() == 0 id="share-countdown" aria-live="off">
                    <span class="icon icon-clock" aria-hidden="true"></span>
                    {move || {
                        if left() == 0 {
                            i.t(K::Expired).to_owned()
                        } else {
                            i.f(K::ExpiresIn, &[&fmt::countdown(i.get(), left())])
                        }
                    }}
                </p>
                <p class="muted small">{move || i.f(K::Until, &[&util::date_time(i.get(), expires)])}</p>
                <p class="scopes" id="share-scopes">
                    {move || i.f(K::ShareScopes, &[&scopes_text(i.get(), &cats, &rids)])}
                </p>
                <p class="small strong">{move || if write { i.t(K::CanWrite) } else { i.t(K::ReadOnly) }}</p>
                <details class="copy-text">
                    <summary>{move || i.t(K::Details)}</summary>
                    <p class="mono" id="share-text">{g.text.clone()}</p>
                </details>
                <div class="row">
                    <button id="share-again" type="button" class="btn btn-secondary" on:click=move |_| created.set(None)>
                        {move || i.t(K::ShareAnother)}
                    </button>
                    <button id="share-to-grants" type="button" class="btn btn-ghost" on:click=move |_| app.go(Screen::Grants)>
                        {move || i.t(K::NavGrants)}
                    </button>
                </div>
            </div>
        </section>
    }
}
