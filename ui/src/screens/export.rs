//! Export for a visa medical or any office: pick records, then PDF / .smart-health-card /
//! SMART Health Link; the file is verified before it is saved; where it went is shown.

use leptos::prelude::*;
use spondon_app_api::{
    ApiError, ExportFormat, ExportRequest, ExportResult, Passphrase, RecordFilter, RecordSummary,
    TrustLevel, cmd,
};

use crate::app::use_app;
use crate::components::{ErrorBox, PageHead, PassphraseField, svg_data_url};
use crate::i18n::{K, use_i18n};
use crate::{ipc, util};

/// The export screen.
#[component]
pub fn Export() -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let records = LocalResource::new(move || async move {
        ipc::call::<_, Vec<RecordSummary>>(cmd::LIST_RECORDS, &RecordFilter::default()).await
    });
    let picked = RwSignal::new(Vec::<String>::new());
    let pdf = RwSignal::new(true);
    let shc = RwSignal::new(true);
    let shl = RwSignal::new(false);
    let link_url = RwSignal::new(String::new());
    let receipts = RwSignal::new(false);
    let pass = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let result = RwSignal::new(None::<ExportResult>);
    let all_ids = move || -> Vec<String> {
        records
            .get()
            .and_then(|r| r.ok())
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.trust == TrustLevel::Verified)
            .map(|r| r.id)
            .collect()
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        result.set(None);
        let lang = i.lang.get_untracked();
        let mut formats = Vec::new();
        if pdf.get_untracked() {
            formats.push(ExportFormat::Pdf);
        }
        if shc.get_untracked() {
            formats.push(ExportFormat::Shc);
        }
        if shl.get_untracked() {
            formats.push(ExportFormat::Shl);
        }
        if formats.is_empty() {
            error.set(Some(ApiError::new("invalid", K::PickFormat.text(lang))));
            return;
        }
        let ids = picked.get_untracked();
        if ids.is_empty() {
            error.set(Some(ApiError::new("invalid", K::PickAtLeastOne.text(lang))));
            return;
        }
        let url = link_url.get_untracked();
        let req = ExportRequest {
            record_ids: ids,
            formats,
            include_receipts: receipts.get_untracked(),
            link_url: Some(url).filter(|u| shl.get_untracked() && !u.trim().is_empty()),
            passphrase: Passphrase(pass.get_untracked()),
            ..Default::default()
        };
        busy.set(true);
        app.task.set(None);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, ExportResult>(cmd::EXPORT, &req).await {
                Ok(r) => {
                    pass.set(String::new());
                    result.set(Some(r));
                    crate::app::focus_id("export-done-title");
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <PageHead title=K::ExportTitle help=K::ExportHelp />
        <form class="stack-lg" on:submit=submit>
            <section class="card stack" aria-labelledby="export-records-title">
                <div class="row between">
                    <h2 id="export-records-title" class="h3">{move || i.t(K::NavRecords)}</h2>
                    <div class="row">
                        <span class="muted small" aria-live="polite">
                            {move || i.f(K::Selected, &[&i.n(picked.get().len())])}
                        </span>
                        <button
                            id="export-select-all"
                            type="button"
                            class="btn btn-ghost small"
                            on:click=move |_| picked.set(all_ids())
                        >
                            {move || i.t(K::SelectAll)}
                        </button>
                        <button
                            id="export-select-none"
                            type="button"
                            class="btn btn-ghost small"
                            on:click=move |_| picked.set(Vec::new())
                        >
                            {move || i.t(K::SelectNone)}
                        </button>
                    </div>
                </div>
                <fieldset class="step">
                    <legend class="sr-only">{move || i.t(K::NavRecords)}</legend>
                    <div class="scroll-list" id="export-records">
                        {move || {
                            match records.get() {
                                None => view! { <p class="muted">{i.t(K::Loading)}</p> }.into_any(),
                                Some(Err(e)) => view! { <p class="alert alert-danger">{i.err(&e)}</p> }.into_any(),
                                Some(Ok(rs)) if rs.is_empty() => view! { <p class="muted">{i.t(K::NoRecords)}</p> }.into_any(),
                                Some(Ok(rs)) => {
                                    rs.into_iter()
                                        .map(|r| {
                                            let id = util::dom_id("export-record", &r.id);
                                            let for_id = id.clone();
                                            let rid = r.id.clone();
                                            let rid2 = r.id.clone();
                                            view! {
                                                <label class="choice" for=for_id>
                                                    <input
                                                        type="checkbox"
                                                        id=id
                                                        class="export-record"
                                                        prop:checked=move || picked.get().contains(&rid)
                                                        on:change=move |ev| {
                                                            let on = event_target_checked(&ev);
                                                            let rid = rid2.clone();
                                                            picked.update(|v| {
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
                                                            {move || i.t(util::kind(r.kind))} " · " {r.hospital.clone()}
                                                            " · " {move || util::date(i.get(), r.issued_at)}
                                                        </small>
                                                    </span>
                                                </label>
                                            }
                                        })
                                        .collect_view()
                                        .into_any()
                                }
                            }
                        }}
                    </div>
                </fieldset>
            </section>
            <section class="card stack" aria-labelledby="export-format-title">
                <h2 id="export-format-title" class="h3">{move || i.t(K::Format)}</h2>
                <div class="format-list">
                    <label class="choice" for="export-format-pdf">
                        <input type="checkbox" id="export-format-pdf" bind:checked=pdf />
                        <span>{move || i.t(K::FormatPdf)}</span>
                    </label>
                    <label class="choice" for="export-format-shc">
                        <input type="checkbox" id="export-format-shc" bind:checked=shc />
                        <span>{move || i.t(K::FormatShc)}</span>
                    </label>
                    <label class="choice" for="export-format-shl">
                        <input type="checkbox" id="export-format-shl" bind:checked=shl />
                        <span>{move || i.t(K::FormatShl)}</span>
                    </label>
                </div>
                <Show when=move || shl.get()>
                    <div class="field">
                        <label for="export-link-url" class="label">{move || i.t(K::LinkUrl)}</label>
                        <input
                            id="export-link-url"
                            class="input"
                            type="url"
                            placeholder="https://"
                            bind:value=link_url
                        />
                    </div>
                </Show>
                <label class="check" for="export-receipts">
                    <input type="checkbox" id="export-receipts" bind:checked=receipts />
                    <span>{move || i.t(K::IncludeReceipts)}</span>
                </label>
            </section>
            <section class="card stack">
                <PassphraseField id="export-passphrase" label=K::ConfirmExport value=pass />
                <div class="live" role="status" aria-live="polite">
                    {move || {
                        busy.get()
                            .then(|| {
                                app.task
                                    .get()
                                    .map(|p| {
                                        view! {
                                            <p class="help">{i.t(util::step(p.step))}</p>
                                            <progress
                                                id="export-progress"
                                                aria-label=i.t(K::NavExport)
                                                max=p.total.max(1) as f64
                                                value=p.done as f64
                                            ></progress>
                                        }
                                    })
                            })
                    }}
                </div>
                <ErrorBox error=error id="export-error" />
                <button
                    id="export-button"
                    type="submit"
                    class="btn btn-primary btn-block"
                    disabled=move || busy.get()
                >
                    <span class="icon icon-export" aria-hidden="true"></span>
                    {move || if busy.get() { i.t(K::Working) } else { i.t(K::ExportButton) }}
                </button>
            </section>
        </form>
        <div class="live" id="export-result" role="status" aria-live="polite">
            {move || result.get().map(|r| view! { <ExportDone r=r /> })}
        </div>
    }
}

#[component]
fn ExportDone(r: ExportResult) -> impl IntoView {
    let i = use_i18n();
    let valid = r.verdict.valid;
    let problems: Vec<String> = r
        .verdict
        .problems
        .iter()
        .cloned()
        .chain(r.verdict.cards.iter().flat_map(|c| c.problems.clone()))
        .collect();
    view! {
        <section class="card stack" aria-labelledby="export-done-title">
            <h2 id="export-done-title" class="h3" tabindex="-1">{move || i.t(K::Done)}</h2>
            {if valid {
                view! {
                    <p class="alert alert-success" id="export-verified">
                        <span class="icon icon-shield" aria-hidden="true"></span>
                        {move || i.t(K::ExportVerified)}
                    </p>
                }
                    .into_any()
            } else {
                view! {
                    <div class="alert alert-danger" id="export-not-verified">
                        <p>{move || i.t(K::ErrExportInvalid)}</p>
                        <ul>{problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                    </div>
                }
                    .into_any()
            }}
            <ul class="result-files" id="export-files">
                {r
                    .files
                    .into_iter()
                    .map(|f| {
                        let fmt_k = util::format(f.format);
                        view! {
                            <li>
                                <span class="strong">{move || i.t(fmt_k)}</span>
                                <br />
                                <span class="mono export-path">{move || i.f(K::ExportSaved, &[&f.path])}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            {r
                .link
                .map(|l| {
                    view! {
                        <p class="mono small" id="export-link">
                            {move || i.f(K::ExportLink, &[&l])}
                        </p>
                    }
                })}
            {r
                .link_qr_svg
                .map(|svg| {
                    view! {
                        <img
                            class="qr-img"
                            id="export-link-qr"
                            src=svg_data_url(&svg)
                            alt=move || i.t(K::FormatShl)
                        />
                    }
                })}
        </section>
    }
}
