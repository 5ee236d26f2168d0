//! Active grants: revoke one, revoke all (lost phone), with each hospital's answer.

use leptos::prelude::*;
use spondon_app_api::{
    ApiError, GrantInfo, GrantStatus, ListGrantsRequest, Passphrase, PeerAnswer, RevokeAllRequest,
    RevokeRequest, RevokeResult, cmd,
};

use crate::app::use_app;
use crate::components::{ErrorBox, PageHead, PassphraseField};
use crate::fmt;
use crate::i18n::{K, use_i18n};
use crate::screens::share::{scopes_text, ticking_now};
use crate::{ipc, util};

/// The grants screen.
#[component]
pub fn Grants() -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let show_all = RwSignal::new(false);
    let grants = LocalResource::new(move || {
        app.data_version.get();
        let req = ListGrantsRequest {
            active_only: !show_all.get(),
        };
        async move { ipc::call::<_, Vec<GrantInfo>>(cmd::LIST_GRANTS, &req).await }
    });
    let now = ticking_now();
    view! {
        <PageHead title=K::GrantsTitle help=K::GrantsHelp />
        <label class="check" for="grants-show-all">
            <input type="checkbox" id="grants-show-all" bind:checked=show_all />
            <span>{move || i.t(K::ShowInactive)}</span>
        </label>
        <Suspense fallback=move || view! { <p class="muted">{i.t(K::Loading)}</p> }>
            {move || {
                grants
                    .get()
                    .map(|r| match r {
                        Err(e) => view! { <p class="alert alert-danger" role="alert">{i.err(&e)}</p> }.into_any(),
                        Ok(gs) if gs.is_empty() => {
                            view! { <p class="empty" id="grants-empty">{i.t(K::NoGrants)}</p> }.into_any()
                        }
                        Ok(gs) => {
                            view! {
                                <ul class="cards" id="grant-list">
                                    {gs.into_iter().map(|g| view! { <GrantCard g=g now=now /> }).collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
        <RevokeAll />
    }
}

/// The answers of the hospitals to a revocation.
#[component]
pub fn Answers(answers: Vec<PeerAnswer>, #[prop(default = "")] id: &'static str) -> impl IntoView {
    let i = use_i18n();
    view! {
        <ul class="plain answers" id=id>
            {answers
                .into_iter()
                .map(|a| {
                    let ok = a.ok;
                    let err = a.error.clone();
                    view! {
                        <li>
                            <span class="strong">{a.hospital_name.clone()}</span>
                            <span class=if ok { "ok" } else { "bad" }>
                                {move || {
                                    if ok {
                                        i.t(K::PeerAccepted).to_owned()
                                    } else {
                                        match &err {
                                            Some(e) => i.err(e),
                                            None => i.t(K::PeerRejected).to_owned(),
                                        }
                                    }
                                }}
                            </span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

#[component]
fn GrantCard(g: GrantInfo, now: RwSignal<i64>) -> impl IntoView {
    let i = use_i18n();
    let confirm = RwSignal::new(false);
    let pass = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let answers = RwSignal::new(None::<Vec<PeerAnswer>>);
    let busy = RwSignal::new(false);
    let gid = StoredValue::new(g.id.clone());
    let dom = util::dom_id("revoke", &g.id);
    let pass_id: &'static str = "revoke-passphrase";
    let expires = g.expires;
    let status = g.status;
    let name = g.doctor_name.clone();
    let name2 = name.clone();
    let cats = g.categories.clone();
    let rids = g.record_ids.clone();
    let write = g.write;
    let purpose = g.purpose;
    let issued = g.issued_at;
    let revoke = move |_: leptos::ev::MouseEvent| {
        error.set(None);
        let req = RevokeRequest {
            grant_id: gid.get_value(),
            passphrase: Passphrase(pass.get_untracked()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, RevokeResult>(cmd::REVOKE_GRANT, &req).await {
                Ok(r) => {
                    pass.set(String::new());
                    answers.set(Some(r.answers));
                    confirm.set(false);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let (badge_class, badge_key) = match status {
        GrantStatus::Active => ("badge badge-ok", K::StatusActive),
        GrantStatus::Expired => ("badge badge-muted", K::StatusExpired),
        GrantStatus::Revoked => ("badge badge-danger", K::StatusRevoked),
    };
    view! {
        <li class="card grant" data-grant-id=g.id.clone()>
            <div class="grant-head">
                <div class="stack-sm">
                    <h2 class="h3">{name.clone()}</h2>
                    <p class="small muted">
                        {move || i.t(util::purpose(purpose))} " · "
                        {move || if write { i.t(K::CanWrite) } else { i.t(K::ReadOnly) }}
                    </p>
                </div>
                {move || {
                    let (c, k) = if answers.get().is_some() {
                        ("badge badge-danger", K::StatusRevoked)
                    } else {
                        (badge_class, badge_key)
                    };
                    view! { <span class=c>{i.t(k)}</span> }
                }}
            </div>
            <p class="small">{move || i.f(K::ShareScopes, &[&scopes_text(i.get(), &cats, &rids)])}</p>
            <p class="small muted">
                {move || i.f(K::GrantedOn, &[&util::date_time(i.get(), issued)])}
                " · "
                {move || {
                    if status == GrantStatus::Active && expires > now.get() {
                        i.f(K::ExpiresIn, &[&fmt::countdown(i.get(), (expires - now.get()) as u64)])
                    } else {
                        i.f(K::Until, &[&util::date_time(i.get(), expires)])
                    }
                }}
            </p>
            <div class="live" role="status" aria-live="polite">
                {move || {
                    answers
                        .get()
                        .map(|a| {
                            view! {
                                <p class="alert alert-success">{i.t(K::Revoked)}</p>
                                <Answers answers=a id="revoke-answers" />
                            }
                        })
                }}
            </div>
            {(status == GrantStatus::Active)
                .then(|| {
                    view! {
                        <Show when=move || answers.get().is_none()>
                            <Show
                                when=move || confirm.get()
                                fallback={
                                    let dom = dom.clone();
                                    let name = name2.clone();
                                    move || {
                                        let name = name.clone();
                                        view! {
                                            <button
                                                id=dom.clone()
                                                type="button"
                                                class="btn btn-danger-outline revoke-open"
                                                aria-label=move || i.f(K::RevokeOne, &[&name])
                                                on:click=move |_| confirm.set(true)
                                            >
                                                {move || i.t(K::Revoke)}
                                            </button>
                                        }
                                    }
                                }
                            >
                                <div class="confirm stack">
                                    <PassphraseField id=pass_id label=K::RevokeConfirm value=pass />
                                    <ErrorBox error=error id="revoke-error" />
                                    <div class="row">
                                        <button
                                            id="revoke-confirm"
                                            type="button"
                                            class="btn btn-danger"
                                            disabled=move || busy.get()
                                            on:click=revoke
                                        >
                                            {move || if busy.get() { i.t(K::Working) } else { i.t(K::Revoke) }}
                                        </button>
                                        <button
                                            type="button"
                                            class="btn btn-ghost"
                                            on:click=move |_| confirm.set(false)
                                        >
                                            {move || i.t(K::Cancel)}
                                        </button>
                                    </div>
                                </div>
                            </Show>
                        </Show>
                    }
                })}
        </li>
    }
}

#[component]
fn RevokeAll() -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let open = RwSignal::new(false);
    let pass = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let result = RwSignal::new(None::<Vec<PeerAnswer>>);
    let go = move |_| {
        error.set(None);
        app.revoke_all.set(None);
        let req = RevokeAllRequest {
            passphrase: Passphrase(pass.get_untracked()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, RevokeResult>(cmd::REVOKE_ALL, &req).await {
                Ok(r) => {
                    pass.set(String::new());
                    result.set(Some(r.answers));
                    open.set(false);
                    app.changed();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card danger-zone stack" aria-labelledby="revoke-all-title">
            <h2 id="revoke-all-title" class="h3">{move || i.t(K::RevokeAll)}</h2>
            <p class="help">{move || i.t(K::RevokeAllHelp)}</p>
            <div class="live" role="status" aria-live="polite">
                {move || {
                    busy.get()
                        .then(|| {
                            app.revoke_all
                                .get()
                                .map(|p| {
                                    view! {
                                        <progress
                                            id="revoke-all-progress"
                                            aria-label=i.t(K::RevokeAll)
                                            max=p.total.max(1) as f64
                                            value=p.done as f64
                                        ></progress>
                                        <Answers answers=p.answers />
                                    }
                                })
                        })
                }}
                {move || {
                    result
                        .get()
                        .map(|a| {
                            view! {
                                <p class="alert alert-success">{i.t(K::Revoked)}</p>
                                <Answers answers=a id="revoke-all-answers" />
                            }
                        })
                }}
            </div>
            <Show
                when=move || open.get()
                fallback=move || {
                    view! {
                        <button
                            id="revoke-all"
                            type="button"
                            class="btn btn-danger"
                            on:click=move |_| open.set(true)
                        >
                            {move || i.t(K::RevokeAll)}
                        </button>
                    }
                }
            >
                <div class="confirm stack">
                    <PassphraseField id="revoke-all-passphrase" label=K::RevokeConfirm value=pass />
                    <ErrorBox error=error id="revoke-all-error" />
                    <div class="row">
                        <button
                            id="revoke-all-confirm"
                            type="button"
                            class="btn btn-danger"
                            disabled=move || busy.get()
                            on:click=go
                        >
                            {move || if busy.get() { i.t(K::Working) } else { i.t(K::RevokeAll) }}
                        </button>
                        <button type="button" class="btn btn-ghost" on:click=move |_| open.set(false)>
                            {move || i.t(K::Cancel)}
                        </button>
                    </div>
                </div>
            </Show>
        </section>
    }
}
