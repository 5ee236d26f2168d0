//! Records: the timeline grouped by day, filters (kind, hospital, dates), search, and sync
//! with its live progress.

use leptos::prelude::*;
use spondon_app_api::{
    ApiError, Hospital, RecordFilter, RecordKind, RecordSummary, SyncSummary, TrustLevel, cmd,
    event::PeerSyncState,
};

use crate::app::{Screen, use_app};
use crate::components::{ErrorBox, PageHead};
use crate::i18n::{K, use_i18n};
use crate::{fmt, ipc, util};

/// The records screen.
#[component]
pub fn Records() -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let kind = RwSignal::new(String::new());
    let hospital = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let hospitals = LocalResource::new(move || {
        app.data_version.get();
        async move {
            ipc::call0::<Vec<Hospital>>(cmd::LIST_HOSPITALS)
                .await
                .unwrap_or_default()
        }
    });
    let records = LocalResource::new(move || {
        app.data_version.get();
        let off = util::offset();
        let kind_v = kind.get();
        let filter = RecordFilter {
            kind: util::KINDS
                .into_iter()
                .find(|k| util::kind_value(*k) == kind_v),
            hospital: Some(hospital.get()).filter(|h| !h.is_empty()),
            from: util::parse_date_input(&from.get(), false, off),
            to: util::parse_date_input(&to.get(), true, off),
            text: Some(text.get()).filter(|t| !t.trim().is_empty()),
        };
        async move { ipc::call::<_, Vec<RecordSummary>>(cmd::LIST_RECORDS, &filter).await }
    });
    let filtered = move || {
        !(kind.get().is_empty()
            && hospital.get().is_empty()
            && from.get().is_empty()
            && to.get().is_empty()
            && text.get().is_empty())
    };
    let clear = move |_| {
        kind.set(String::new());
        hospital.set(String::new());
        from.set(String::new());
        to.set(String::new());
        text.set(String::new());
    };
    view! {
        <PageHead title=K::RecordsTitle>
            <SyncButton />
        </PageHead>
        <SyncPanel />
        <section class="filters card" aria-label=move || i.t(K::Search)>
            <div class="field search-field">
                <label for="records-search" class="label">{move || i.t(K::Search)}</label>
                <input
                    id="records-search"
                    class="input"
                    type="search"
                    placeholder=move || i.t(K::SearchPlaceholder)
                    bind:value=text
                />
            </div>
            <div class="filter-row">
                <div class="field">
                    <label for="filter-kind" class="label">{move || i.t(K::FilterKind)}</label>
                    <select id="filter-kind" class="input" bind:value=kind>
                        <option value="">{move || i.t(K::AllKinds)}</option>
                        {util::KINDS
                            .into_iter()
                            .map(|k| {
                                view! {
                                    <option value=util::kind_value(k)>{move || i.t(util::kind(k))}</option>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="filter-hospital" class="label">{move || i.t(K::FilterHospital)}</label>
                    <select id="filter-hospital" class="input" bind:value=hospital>
                        <option value="">{move || i.t(K::AllHospitals)}</option>
                        {move || {
                            hospitals
                                .get()
                                .unwrap_or_default()
                                .into_iter()
                                .map(|h| view! { <option value=h.peer_url.clone()>{h.name.clone()}</option> })
                                .collect_view()
                        }}
                    </select>
                </div>
                <div class="field">
                    <label for="filter-from" class="label">{move || i.t(K::FilterFrom)}</label>
                    <input id="filter-from" class="input" type="date" bind:value=from />
                </div>
                <div class="field">
                    <label for="filter-to" class="label">{move || i.t(K::FilterTo)}</label>
                    <input id="filter-to" class="input" type="date" bind:value=to />
                </div>
            </div>
            <Show when=filtered>
                <button id="filter-clear" type="button" class="btn btn-ghost" on:click=clear>
                    {move || i.t(K::ClearFilters)}
                </button>
            </Show>
        </section>
        <Suspense fallback=move || view! { <p class="muted">{i.t(K::Loading)}</p> }>
            {move || {
                records
                    .get()
                    .map(|r| match r {
                        Err(e) => view! { <p class="alert alert-danger" role="alert">{i.err(&e)}</p> }.into_any(),
                        Ok(rs) if rs.is_empty() => {
                            let k = if filtered() { K::NoMatch } else { K::NoRecords };
                            view! { <p class="empty" id="records-empty">{i.t(k)}</p> }.into_any()
                        }
                        Ok(rs) => view! { <Timeline records=rs /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

/// Records grouped by local day, newest first.
#[component]
pub fn Timeline(records: Vec<RecordSummary>) -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let off = util::offset();
    let mut groups: Vec<(i64, Vec<RecordSummary>)> = Vec::new();
    for r in records {
        let day = fmt::local_day(r.issued_at, off);
        match groups.last_mut() {
            Some((d, v)) if *d == day => v.push(r),
            _ => groups.push((day, vec![r])),
        }
    }
    let count = groups.iter().map(|(_, v)| v.len()).sum::<usize>();
    view! {
        <p class="muted small" role="status">{move || i.f(K::Showing, &[&i.n(count)])}</p>
        <div class="timeline" id="records-list">
            {groups
                .into_iter()
                .map(|(day, rs)| {
                    let first = rs.first().map(|r| r.issued_at).unwrap_or(day * 86_400);
                    view! {
                        <section class="day">
                            <h2 class="day-head">{move || util::date(i.get(), first)}</h2>
                            <ul class="record-list">
                                {rs
                                    .into_iter()
                                    .map(|r| {
                                        let id = r.id.clone();
                                        let dom = util::dom_id("record", &r.id);
                                        let verified = r.trust == TrustLevel::Verified;
                                        let kind = r.kind;
                                        view! {
                                            <li>
                                                <button
                                                    type="button"
                                                    id=dom
                                                    class="record-row record-open"
                                                    data-record-id=r.id.clone()
                                                    on:click=move |_| app.go(Screen::Record(id.clone()))
                                                >
                                                    <span
                                                        class=format!("kind-dot {}", util::kind_class(kind))
                                                        aria-hidden="true"
                                                    ></span>
                                                    <span class="record-main">
                                                        <span class="record-title">
                                                            {
                                                                let t = r.title.clone();
                                                                move || title(i.get(), kind, &t)
                                                            }
                                                        </span>
                                                        <span class="record-meta">
                                                            {move || i.t(util::kind(kind))} " · "
                                                            {r.hospital.clone()}
                                                            {r.doctor.clone().map(|d| format!(" · {d}"))}
                                                        </span>
                                                    </span>
                                                    <span class="record-side">
                                                        <span class="record-time">
                                                            {move || fmt::time(i.get(), r.issued_at, off)}
                                                        </span>
                                                        {if verified {
                                                            view! {
                                                                <span class="badge badge-ok">
                                                                    <span class="icon icon-check" aria-hidden="true"></span>
                                                                    {move || i.t(K::Verified)}
                                                                </span>
                                                            }
                                                                .into_any()
                                                        } else {
                                                            view! {
                                                                <span class="badge badge-muted">
                                                                    {move || i.t(K::Imported)}
                                                                </span>
                                                            }
                                                                .into_any()
                                                        }}
                                                    </span>
                                                </button>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        </section>
                    }
                })
                .collect_view()}
        </div>
    }
}

/// The record's title: the hospital's own title when it names the test or drug; when it is only
/// the kind's name ("prescription") or empty, the kind in the UI's language.
pub fn title(lang: crate::i18n::Lang, kind: RecordKind, title: &str) -> String {
    let t = title.trim();
    let plain = t.to_ascii_lowercase().replace(['_', '-'], " ");
    let generic = t.is_empty()
        || plain == util::kind_value(kind).replace('_', " ")
        || plain
            == util::kind(kind)
                .text(crate::i18n::Lang::En)
                .to_ascii_lowercase()
        || matches!(
            plain.as_str(),
            "prescription"
                | "lab report"
                | "diagnosis"
                | "immunization"
                | "encounter"
                | "payment"
                | "note"
                | "record"
        );
    if generic {
        util::kind(kind).text(lang).to_owned()
    } else {
        t.to_owned()
    }
}

/// The sync button: starts a sync, disabled while one runs.
#[component]
pub fn SyncButton() -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let running = move || app.sync.get().is_some_and(|s| !s.finished);
    let error = RwSignal::new(None::<ApiError>);
    provide_context(SyncError(error));
    let start = move |_| {
        error.set(None);
        app.sync.set(Some(spondon_app_api::event::SyncProgress {
            done: 0,
            total: 0,
            finished: false,
            peers: Vec::new(),
        }));
        leptos::task::spawn_local(async move {
            match ipc::call0::<SyncSummary>(cmd::SYNC).await {
                Ok(_) => {
                    app.sync.update(|s| {
                        if let Some(s) = s {
                            s.finished = true;
                        }
                    });
                }
                Err(e) => {
                    error.set(Some(e));
                    app.sync.set(None);
                }
            }
            app.changed();
        });
    };
    view! {
        <button
            id="sync-button"
            type="button"
            class="btn btn-primary"
            disabled=running
            aria-describedby="sync-status"
            on:click=start
        >
            <span class="icon icon-sync" class:spin=running aria-hidden="true"></span>
            <span>{move || i.t(K::Sync)}</span>
        </button>
        <ErrorBox error=error id="sync-error" />
    }
}

#[derive(Clone, Copy)]
struct SyncError(#[allow(dead_code)] RwSignal<Option<ApiError>>);

/// The sync's live progress: overall bar and one line per hospital, errors in place.
#[component]
pub fn SyncPanel() -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    view! {
        <div id="sync-status" class="live" role="status" aria-live="polite">
            {move || {
                app.sync
                    .get()
                    .map(|s| {
                        let new_records: u64 = s.peers.iter().map(|p| p.records_done).sum();
                        let new_receipts: u64 = s.peers.iter().map(|p| p.receipts).sum();
                        let headline = if s.finished {
                            i.f(K::SyncDone, &[&i.n(new_records), &i.n(new_receipts)])
                        } else {
                            i.f(K::Syncing, &[&i.n(s.done), &i.n(s.total)])
                        };
                        let finished = s.finished;
                        // Peers done count whole; a running peer counts by its records.
                        let partial: f64 = s
                            .peers
                            .iter()
                            .map(|p| match p.state {
                                PeerSyncState::Done
                                | PeerSyncState::Failed
                                | PeerSyncState::Violation => 1.0,
                                PeerSyncState::Running => match p.records_total {
                                    Some(t) if t > 0 => (p.records_done as f64 / t as f64).min(1.0),
                                    _ => 0.0,
                                },
                                PeerSyncState::Waiting => 0.0,
                            })
                            .sum();
                        view! {
                            <div class="card sync-card stack-sm" class:done=finished>
                                <div class="row between">
                                    <p id="sync-headline" class="strong">{headline}</p>
                                    {finished
                                        .then(|| {
                                            view! {
                                                <button
                                                    id="sync-dismiss"
                                                    type="button"
                                                    class="btn btn-ghost small"
                                                    on:click=move |_| app.sync.set(None)
                                                >
                                                    {i.t(K::Close)}
                                                </button>
                                            }
                                        })}
                                </div>
                                <progress
                                    id="sync-progress"
                                    aria-label=i.t(K::SyncProgressLabel)
                                    max=s.total.max(1) as f64
                                    value=if finished { s.total.max(1) as f64 } else { partial }
                                ></progress>
                                <ul class="plain peer-progress">
                                    {s
                                        .peers
                                        .into_iter()
                                        .map(|p| {
                                            let state = match p.state {
                                                PeerSyncState::Waiting => i.t(K::PeerWaiting).to_owned(),
                                                PeerSyncState::Running => {
                                                    match p.records_total {
                                                        Some(t) => {
                                                            i.f(K::PeerRunningOf, &[&i.n(p.records_done), &i.n(t)])
                                                        }
                                                        None => i.f(K::PeerRunning, &[&i.n(p.records_done)]),
                                                    }
                                                }
                                                PeerSyncState::Done => {
                                                    let mut t = i.f(K::PeerDone, &[&i.n(p.records_done)]);
                                                    if let Some(f) = p.file {
                                                        t.push_str(" · ");
                                                        t.push_str(
                                                            &i.f(
                                                                K::PeerFile,
                                                                &[
                                                                    &crate::fmt::bytes(i.get(), f.done),
                                                                    &crate::fmt::bytes(i.get(), f.total),
                                                                ],
                                                            ),
                                                        );
                                                    } else if p.files_kept > 0 {
                                                        t.push_str(" · ");
                                                        t.push_str(&i.f(K::PeerFiles, &[&i.n(p.files_kept)]));
                                                    }
                                                    t
                                                }
                                                PeerSyncState::Failed => {
                                                    match &p.error {
                                                        Some(e) => format!("{}: {}", i.t(K::PeerFailed), i.err(e)),
                                                        None => i.t(K::PeerFailed).to_owned(),
                                                    }
                                                }
                                                PeerSyncState::Violation => {
                                                    match &p.violation {
                                                        Some(v) => {
                                                            format!(
                                                                "{} {}",
                                                                i.t(K::ViolationTitle),
                                                                util::violation(i.get(), v),
                                                            )
                                                        }
                                                        None => i.t(K::ViolationTitle).to_owned(),
                                                    }
                                                }
                                            };
                                            let cls = match p.state {
                                                PeerSyncState::Failed => "peer-line failed",
                                                PeerSyncState::Violation => "peer-line violation",
                                                PeerSyncState::Done => "peer-line ok",
                                                _ => "peer-line",
                                            };
                                            view! {
                                                <li class=cls>
                                                    <span class="strong">{p.hospital_name.clone()}</span>
                                                    <span>{state}</span>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            </div>
                        }
                    })
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn generic_titles_become_the_kind_in_words() {
        assert_eq!(
            title(Lang::Bn, RecordKind::Prescription, "prescription"),
            "প্রেসক্রিপশন"
        );
        assert_eq!(
            title(Lang::En, RecordKind::LabReport, "lab_report"),
            "Test report"
        );
        assert_eq!(title(Lang::En, RecordKind::Diagnosis, " "), "Diagnosis");
        assert_eq!(
            title(Lang::Bn, RecordKind::LabReport, "CBC report"),
            "CBC report"
        );
    }
}
