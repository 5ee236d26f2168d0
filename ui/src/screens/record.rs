//! One record in words: medications with dose and schedule, results with units in words,
//! reference ranges and abnormal flags, diagnoses; the issuer, and the "verified" badge that
//! opens its proof (signature, log entry, checkpoint, witnesses).

use leptos::prelude::*;
use spondon_app_api::{
    ApiError, DocumentPreview, RecordDetail, RecordItem, RecordProof, RecordRequest, SavedDocument,
    TrustLevel, cmd,
};

use crate::app::{Screen, use_app};
use crate::i18n::{K, use_i18n};
use crate::{ipc, util};

/// The record detail screen.
#[component]
pub fn RecordView(id: String) -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let req = RecordRequest { id };
    let detail = LocalResource::new(move || {
        let req = req.clone();
        async move { ipc::call::<_, RecordDetail>(cmd::GET_RECORD, &req).await }
    });
    view! {
        <button
            id="record-back"
            type="button"
            class="btn btn-ghost back"
            on:click=move |_| app.go(Screen::Records)
        >
            <span class="icon icon-back" aria-hidden="true"></span>
            {move || i.t(K::Back)}
        </button>
        <Suspense fallback=move || {
            view! {
                <h1 id="page-title" tabindex="-1">{i.t(K::RecordTitle)}</h1>
                <p class="muted">{i.t(K::Loading)}</p>
            }
        }>
            {move || {
                detail
                    .get()
                    .map(|r| match r {
                        Ok(d) => view! { <Detail d=d /> }.into_any(),
                        Err(e) => {
                            view! {
                                <h1 id="page-title" tabindex="-1">{i.t(K::RecordTitle)}</h1>
                                <p class="alert alert-danger" role="alert">{i.err(&e)}</p>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Detail(d: RecordDetail) -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let s = d.summary.clone();
    let kind = s.kind;
    let open = RwSignal::new(false);
    let verified = s.trust == TrustLevel::Verified;
    let proof = d.proof.clone();
    let share_id = s.id.clone();
    let meds: Vec<RecordItem> = d
        .items
        .iter()
        .filter(|it| matches!(it, RecordItem::Medication { .. }))
        .cloned()
        .collect();
    let labs: Vec<RecordItem> = d
        .items
        .iter()
        .filter(|it| matches!(it, RecordItem::LabResult { .. }))
        .cloned()
        .collect();
    let dx: Vec<RecordItem> = d
        .items
        .iter()
        .filter(|it| matches!(it, RecordItem::Diagnosis { .. }))
        .cloned()
        .collect();
    let docs: Vec<RecordItem> = d
        .items
        .iter()
        .filter(|it| matches!(it, RecordItem::Document { .. }))
        .cloned()
        .collect();
    let doc_record = s.id.clone();
    let other: Vec<RecordItem> = d
        .items
        .iter()
        .filter(|it| {
            !matches!(
                it,
                RecordItem::Medication { .. }
                    | RecordItem::LabResult { .. }
                    | RecordItem::Diagnosis { .. }
                    | RecordItem::Document { .. }
            )
        })
        .cloned()
        .collect();
    let issued = s.issued_at;
    view! {
        <article class="stack-lg" aria-labelledby="page-title">
            <header class="card stack">
                <div class="detail-head">
                    <span class=format!("kind-dot {}", util::kind_class(kind)) aria-hidden="true"></span>
                    <div class="stack-sm">
                        <p class="muted small strong">{move || i.t(util::kind(kind))}</p>
                        <h1 id="page-title" tabindex="-1">
                            {
                                let t = s.title.clone();
                                move || crate::screens::records::title(i.get(), kind, &t)
                            }
                        </h1>
                    </div>
                </div>
                <dl class="meta-list">
                    <dt>{move || i.t(K::Issuer)}</dt>
                    <dd id="record-issuer">{s.hospital.clone()}</dd>
                    <dt>{move || i.t(K::TrustIssued)}</dt>
                    <dd>{move || util::date_time(i.get(), issued)}</dd>
                    {s
                        .doctor
                        .clone()
                        .map(|doc| {
                            view! {
                                <dt>{move || i.t(K::Doctor)}</dt>
                                <dd>{doc}</dd>
                            }
                        })}
                </dl>
                {s.supersedes.is_some().then(|| view! { <p class="badge badge-warn">{move || i.t(K::Corrects)}</p> })}
                <div class="row">
                    {if verified {
                        view! {
                            <button
                                id="proof-toggle"
                                type="button"
                                class="verified-btn"
                                aria-expanded=move || open.get().to_string()
                                aria-controls="record-proof"
                                on:click=move |_| open.update(|o| *o = !*o)
                            >
                                <span class="icon icon-shield" aria-hidden="true"></span>
                                {move || i.t(K::Verified)}
                                <span class="verified-hint">
                                    {move || {
                                        if open.get() { i.t(K::HideProof) } else { i.t(K::ShowProof) }
                                    }}
                                </span>
                            </button>
                        }
                            .into_any()
                    } else {
                        view! {
                            <span id="record-trust" class="badge badge-warn">{move || i.t(util::trust(s.trust))}</span>
                        }
                            .into_any()
                    }}
                    <button
                        id="record-share"
                        type="button"
                        class="btn btn-secondary"
                        on:click=move |_| app.go(Screen::Share(vec![share_id.clone()]))
                    >
                        <span class="icon icon-share" aria-hidden="true"></span>
                        {move || i.t(K::ShareThis)}
                    </button>
                </div>
            </header>
            <div id="record-proof" class="live">
                {move || {
                    (open.get())
                        .then(|| proof.clone().map(|p| view! { <Proof p=p /> }))
                        .flatten()
                }}
            </div>
            {docs
                .into_iter()
                .map(|it| view! { <DocumentFile item=it record_id=doc_record.clone() /> })
                .collect_view()}
            {(!meds.is_empty())
                .then(|| {
                    view! {
                        <section class="card stack" aria-labelledby="meds-title">
                            <h2 id="meds-title" class="h2">{move || i.t(K::Medications)}</h2>
                            <ul class="plain items">
                                {meds.into_iter().map(|m| view! { <Med item=m /> }).collect_view()}
                            </ul>
                        </section>
                    }
                })}
            {(!labs.is_empty())
                .then(|| {
                    view! {
                        <section class="card stack" aria-labelledby="labs-title">
                            <h2 id="labs-title" class="h2">{move || i.t(K::Results)}</h2>
                            <div class="table-wrap">
                                <table class="results">
                                    <thead>
                                        <tr>
                                            <th scope="col">{move || i.t(K::Test)}</th>
                                            <th scope="col">{move || i.t(K::Value)}</th>
                                            <th scope="col">{move || i.t(K::ReferenceRange)}</th>
                                            <th scope="col">{move || i.t(K::Flag)}</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {labs.into_iter().map(|l| view! { <Lab item=l /> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        </section>
                    }
                })}
            {(!dx.is_empty())
                .then(|| {
                    view! {
                        <section class="card stack" aria-labelledby="dx-title">
                            <h2 id="dx-title" class="h2">{move || i.t(K::Diagnoses)}</h2>
                            <ul class="plain items">
                                {dx
                                    .into_iter()
                                    .map(|it| match it {
                                        RecordItem::Diagnosis { text, code } => {
                                            view! {
                                                <li class="med">
                                                    <span class="med-name">{text}</span>
                                                    {code.map(|c| view! { <span class="muted small mono">{c}</span> })}
                                                </li>
                                            }
                                                .into_any()
                                        }
                                        _ => ().into_any(),
                                    })
                                    .collect_view()}
                            </ul>
                        </section>
                    }
                })}
            {(!other.is_empty())
                .then(|| {
                    view! {
                        <section class="card stack" aria-labelledby="other-title">
                            <h2 id="other-title" class="h2">{move || i.t(K::Details)}</h2>
                            <ul class="plain items">
                                {other.into_iter().map(|it| view! { <OtherItem item=it /> }).collect_view()}
                            </ul>
                        </section>
                    }
                })}
        </article>
    }
}

/// A document's file: what the signed card says of it, and, once the wallet holds it (checked
/// against the card), the image shown or a copy saved. A PDF is never rendered by the app.
#[component]
fn DocumentFile(item: RecordItem, record_id: String) -> impl IntoView {
    let i = use_i18n();
    let RecordItem::Document {
        kind,
        title,
        description,
        content_type,
        size,
        sha256,
        kept,
    } = item
    else {
        return ().into_any();
    };
    let is_image = content_type.starts_with("image/");
    let type_key = match content_type.as_str() {
        "application/pdf" => K::DocPdf,
        "image/jpeg" => K::DocJpeg,
        _ => K::DocPng,
    };
    let preview = RwSignal::new(None::<DocumentPreview>);
    let saved = RwSignal::new(None::<SavedDocument>);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let req = RecordRequest { id: record_id };
    let show = {
        let req = req.clone();
        move |_| {
            let req = req.clone();
            busy.set(true);
            error.set(None);
            leptos::task::spawn_local(async move {
                match ipc::call::<_, DocumentPreview>(cmd::DOCUMENT_PREVIEW, &req).await {
                    Ok(p) => preview.set(Some(p)),
                    Err(e) => error.set(Some(e)),
                }
                busy.set(false);
            });
        }
    };
    let save = move |_| {
        let req = req.clone();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, SavedDocument>(cmd::SAVE_DOCUMENT, &req).await {
                Ok(s) => {
                    saved.set(Some(s));
                    // Who signed it, and when (checked again; the image is not shown here).
                    if preview.get_untracked().is_none()
                        && let Ok(p) =
                            ipc::call::<_, DocumentPreview>(cmd::DOCUMENT_PREVIEW, &req).await
                    {
                        preview.set(Some(DocumentPreview {
                            image_data_url: None,
                            ..p
                        }));
                    }
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card stack doc-file" aria-labelledby="doc-title" id="record-document">
            <h2 id="doc-title" class="h2">{move || i.t(K::DocFile)}</h2>
            <dl class="meta-list">
                {title
                    .clone()
                    .map(|t| {
                        view! {
                            <dt>{move || i.t(K::DocName)}</dt>
                            <dd id="doc-name">{t}</dd>
                        }
                    })}
                {kind
                    .clone()
                    .map(|k| {
                        view! {
                            <dt>{move || i.t(K::DocKind)}</dt>
                            <dd id="doc-kind">{k}</dd>
                        }
                    })}
                <dt>{move || i.t(K::DocFormat)}</dt>
                <dd id="doc-type">
                    {move || {
                        format!("{}, {}", i.t(type_key), crate::fmt::bytes(i.get(), size))
                    }}
                </dd>
                <dt>{move || i.t(K::DocFingerprint)}</dt>
                <dd class="mono small" id="doc-sha256">{sha256.clone()}</dd>
            </dl>
            {description.map(|d| view! { <p>{d}</p> })}
            {if kept {
                view! {
                    <div class="row">
                        {is_image
                            .then(|| {
                                view! {
                                    <button
                                        id="doc-show"
                                        type="button"
                                        class="btn btn-secondary"
                                        disabled=move || busy.get()
                                        on:click=show.clone()
                                    >
                                        {move || i.t(K::DocShow)}
                                    </button>
                                }
                            })}
                        <button
                            id="doc-save"
                            type="button"
                            class="btn btn-primary"
                            disabled=move || busy.get()
                            on:click=save
                        >
                            {move || i.t(K::DocSave)}
                        </button>
                    </div>
                    {(!is_image).then(|| view! { <p class="small muted">{move || i.t(K::DocPdfNote)}</p> })}
                }
                    .into_any()
            } else {
                view! { <p class="alert alert-info" id="doc-not-kept">{move || i.t(K::DocNotKept)}</p> }
                    .into_any()
            }}
            <div class="live" aria-live="polite">
                {move || {
                    preview
                        .get()
                        .map(|p| {
                            let when = p.signed_at;
                            let by = p.signed_by.clone();
                            view! {
                                <p class="alert alert-success" id="doc-checked">
                                    {move || i.f(K::DocChecked, &[&by, &util::date_time(i.get(), when)])}
                                </p>
                                {p
                                    .image_data_url
                                    .map(|src| {
                                        view! {
                                            <img
                                                id="doc-image"
                                                class="doc-preview"
                                                src=src
                                                alt=move || i.t(K::DocPreviewAlt)
                                            />
                                        }
                                    })}
                            }
                        })
                }}
                {move || {
                    saved
                        .get()
                        .map(|s| {
                            view! { <p class="small" id="doc-saved">{move || i.f(K::DocSaved, &[&s.path])}</p> }
                        })
                }}
                {move || {
                    error.get().map(|e| view! { <p class="alert alert-danger" role="alert">{i.err(&e)}</p> })
                }}
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn Med(item: RecordItem) -> impl IntoView {
    let i = use_i18n();
    let RecordItem::Medication {
        drug,
        dose,
        schedule,
        instructions,
    } = item
    else {
        return ().into_any();
    };
    view! {
        <li class="med">
            <span class="med-name">{drug}</span>
            <div class="med-facts">
                {dose
                    .map(|d| {
                        view! {
                            <span>
                                <b>{move || i.t(K::Dose)}</b>
                                {d}
                            </span>
                        }
                    })}
                {schedule
                    .map(|s| {
                        view! {
                            <span>
                                <b>{move || i.t(K::Schedule)}</b>
                                {s}
                            </span>
                        }
                    })}
            </div>
            {instructions.map(|t| view! { <p class="small">{t}</p> })}
        </li>
    }
    .into_any()
}

#[component]
fn Lab(item: RecordItem) -> impl IntoView {
    let i = use_i18n();
    let RecordItem::LabResult {
        test,
        value,
        unit,
        unit_words,
        reference_range,
        abnormal,
    } = item
    else {
        return ().into_any();
    };
    let (flag_class, flag_key) = match abnormal {
        Some(a) => (
            match a {
                spondon_app_api::Abnormal::High => "flag-high",
                spondon_app_api::Abnormal::Low => "flag-low",
                spondon_app_api::Abnormal::Abnormal => "flag-abnormal",
            },
            util::abnormal(a),
        ),
        None => ("flag-normal", K::FlagNormal),
    };
    let has_range = reference_range.is_some();
    view! {
        <tr class:abnormal=abnormal.is_some()>
            <td>{test}</td>
            <td>
                <span class="value">{value.unwrap_or_else(|| "—".to_owned())}</span>
                " "
                {unit.clone()}
                {unit_words.filter(|w| Some(w) != unit.as_ref()).map(|w| view! { <span class="unit-words">{w}</span> })}
            </td>
            <td>{reference_range.unwrap_or_else(|| "—".to_owned())}</td>
            <td class=flag_class>
                {move || {
                    if abnormal.is_some() || has_range { i.t(flag_key).to_owned() } else { "—".to_owned() }
                }}
            </td>
        </tr>
    }
    .into_any()
}

#[component]
fn OtherItem(item: RecordItem) -> impl IntoView {
    let i = use_i18n();
    let (label, text, date): (Option<K>, String, Option<String>) = match item {
        RecordItem::Immunization { vaccine, date } => (Some(K::KindImmunization), vaccine, date),
        RecordItem::Visit { class, date } => (Some(K::KindEncounter), class, date),
        RecordItem::Payment { total, date } => (Some(K::KindPayment), total, date),
        RecordItem::Other {
            resource_type,
            text,
        } => (None, text.unwrap_or(resource_type), None),
        RecordItem::Medication { drug, .. } => (Some(K::Medications), drug, None),
        RecordItem::LabResult { test, .. } => (Some(K::Results), test, None),
        RecordItem::Diagnosis { text, .. } => (Some(K::Diagnoses), text, None),
        RecordItem::Document { title, kind, .. } => (
            Some(K::KindDocument),
            title.or(kind).unwrap_or_default(),
            None,
        ),
    };
    view! {
        <li class="med">
            {label.map(|k| view! { <span class="muted small strong">{move || i.t(k)}</span> })}
            <span class="med-name">{text}</span>
            {date.map(|d| view! { <span class="small muted">{d}</span> })}
        </li>
    }
}

#[component]
fn Proof(p: RecordProof) -> impl IntoView {
    let i = use_i18n();
    let verified = p.witnesses.iter().filter(|w| w.verified).count();
    let total = p.witnesses.len();
    let sig = p.signature.clone();
    let cp = p.checkpoint.clone();
    let witnesses = p.witnesses.clone();
    view! {
        <section class="card proof stack" aria-labelledby="proof-title">
            <h2 id="proof-title" class="h3">{move || i.t(K::ProofTitle)}</h2>
            <dl>
                <div>
                    <dt>{move || i.t(K::ProofSignature)}</dt>
                    <dd>
                        {move || i.f(K::ProofSignatureOk, &[&sig.issuer, &sig.kid])} " (" {p.signature.alg.clone()}
                        ")"
                    </dd>
                </div>
                <div>
                    <dt>{move || i.t(K::ProofLog)}</dt>
                    <dd>{move || i.f(K::ProofLogEntry, &[&i.n(p.log_index)])}</dd>
                </div>
                <div>
                    <dt>{move || i.t(K::ProofCheckpoint)}</dt>
                    <dd>
                        <span>{cp.origin.clone()}</span>
                        <br />
                        {move || i.f(K::ProofCheckpointText, &[&i.n(cp.size)])}
                        <br />
                        <span class="mono">{p.checkpoint.root.clone()}</span>
                    </dd>
                </div>
                <div>
                    <dt>{move || i.t(K::ProofWitnesses)}</dt>
                    <dd>
                        {move || i.f(K::ProofWitnessesText, &[&i.n(verified), &i.n(total)])}
                        <ul class="plain">
                            {witnesses
                                .into_iter()
                                .map(|w| {
                                    view! {
                                        <li>
                                            {if w.verified { "✓ " } else { "✗ " }}
                                            <span class="mono">{w.name}</span>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    </dd>
                </div>
            </dl>
        </section>
    }
}
