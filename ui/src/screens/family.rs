//! Family: delegates. The patient lets a family member's wallet help (see the records, share
//! them with a doctor, manage shares) until a date, and revokes it; a family member adds the
//! delegation a patient gave them, reads that patient's records and shares them with a doctor
//! (a grant carrying both signatures). Each delegate action reaches the patient as a receipt.

use leptos::prelude::*;
use spondon_app_api::{
    AddDelegationRequest, ApiError, Category, CreateDelegationRequest, DelegateKey, DelegateScope,
    DelegateSyncResult, DelegatedPatientInfo, DelegatedRequest, DelegationInfo, DoctorInfo,
    GrantCreated, Passphrase, RevokeDelegationRequest, RevokeResult, ShareAsDelegateRequest,
    TextOrImage, cmd,
};

use crate::components::{ErrorBox, PageHead, PassphraseField, svg_data_url};
use crate::i18n::{K, Lang, use_i18n};
use crate::{ipc, util};

/// Every scope, in menu order.
pub const SCOPES: [DelegateScope; 3] = [
    DelegateScope::View,
    DelegateScope::Share,
    DelegateScope::Manage,
];

/// A scope in words.
pub fn scope(s: DelegateScope) -> K {
    match s {
        DelegateScope::View => K::ScopeView,
        DelegateScope::Share => K::ScopeShare,
        DelegateScope::Manage => K::ScopeManage,
    }
}

fn scope_value(s: DelegateScope) -> &'static str {
    match s {
        DelegateScope::View => "view",
        DelegateScope::Share => "share",
        DelegateScope::Manage => "manage",
    }
}

/// "may see records, share them with a doctor · prescriptions, lab reports".
pub fn what_they_may_do(lang: Lang, scopes: &[DelegateScope], cats: &[Category]) -> String {
    let s: Vec<&str> = scopes.iter().map(|x| scope(*x).text(lang)).collect();
    let c = if cats.is_empty() {
        K::AllRecords.text(lang).to_owned()
    } else {
        cats.iter()
            .map(|c| util::category(*c).text(lang))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("{} · {c}", s.join(", "))
}

/// The family screen.
#[component]
pub fn Family() -> impl IntoView {
    // Bumped when a delegation is made, so the list of delegations given shows it.
    let given = RwSignal::new(0u32);
    view! {
        <PageHead title=K::FamilyTitle help=K::FamilyHelp />
        <div class="settings-grid">
            <div class="stack-lg">
                <Delegate given=given />
                <Given version=given />
            </div>
            <div class="stack-lg">
                <MyKey />
                <Helped />
            </div>
        </div>
    }
}

/// This wallet's key, for a family member to be named in a delegation.
#[component]
fn MyKey() -> impl IntoView {
    let i = use_i18n();
    let key = LocalResource::new(|| async { ipc::call0::<DelegateKey>(cmd::DELEGATE_KEY).await });
    view! {
        <section class="card stack" aria-labelledby="family-key-title" id="family-my-key">
            <h2 id="family-key-title" class="h3">{move || i.t(K::FamilyMyKey)}</h2>
            <p class="help">{move || i.t(K::FamilyMyKeyHelp)}</p>
            {move || match key.get() {
                None => view! { <p class="muted">{i.t(K::Loading)}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert alert-danger">{i.err(&e)}</p> }.into_any(),
                Some(Ok(k)) => {
                    view! {
                        <img class="qr-img qr-small" id="family-my-key-qr" src=svg_data_url(&k.qr_svg) alt=i.t(K::FamilyMyKey) />
                        <details class="copy-text">
                            <summary>{i.t(K::Details)}</summary>
                            <p class="mono" id="family-my-key-text">{k.text}</p>
                        </details>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

/// The patient's side: a new delegation.
#[component]
fn Delegate(given: RwSignal<u32>) -> impl IntoView {
    let i = use_i18n();
    let key = RwSignal::new(String::new());
    let label = RwSignal::new(String::new());
    let scopes = RwSignal::new(vec![DelegateScope::View]);
    let cats = RwSignal::new(Vec::<Category>::new());
    let days = RwSignal::new("30".to_owned());
    let minor = RwSignal::new(false);
    let pass = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let created = RwSignal::new(None::<DelegationInfo>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        created.set(None);
        let lang = i.lang.get_untracked();
        let Some(d) = days
            .get_untracked()
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=400).contains(d))
        else {
            error.set(Some(ApiError::new(
                "invalid",
                K::FamilyDaysInvalid.text(lang),
            )));
            return;
        };
        let req = CreateDelegationRequest {
            delegate_key: key.get_untracked().trim().to_owned(),
            label: label.get_untracked().trim().to_owned(),
            scopes: scopes.get_untracked(),
            categories: cats.get_untracked(),
            days: d,
            minor: minor.get_untracked(),
            passphrase: Passphrase(pass.get_untracked()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, DelegationInfo>(cmd::CREATE_DELEGATION, &req).await {
                Ok(d) => {
                    pass.set(String::new());
                    key.set(String::new());
                    created.set(Some(d));
                    given.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="card stack" aria-labelledby="family-new-title" id="family-new" on:submit=submit>
            <h2 id="family-new-title" class="h3">{move || i.t(K::FamilyNew)}</h2>
            <p class="help">{move || i.t(K::FamilyNewHelp)}</p>
            <div class="field">
                <label class="label" for="family-delegate-key">{move || i.t(K::FamilyTheirKey)}</label>
                <textarea id="family-delegate-key" class="input mono" rows="3" spellcheck="false" bind:value=key></textarea>
            </div>
            <div class="field">
                <label class="label" for="family-label">{move || i.t(K::FamilyName)}</label>
                <input id="family-label" class="input" type="text" maxlength="64" bind:value=label />
            </div>
            <fieldset class="bare stack-sm">
                <legend class="label">{move || i.t(K::FamilyMay)}</legend>
                <div class="chips">
                    {SCOPES
                        .into_iter()
                        .map(|s| {
                            let id = format!("family-scope-{}", scope_value(s));
                            let for_id = id.clone();
                            view! {
                                <label class="chip" for=for_id>
                                    <input
                                        type="checkbox"
                                        id=id
                                        prop:checked=move || scopes.get().contains(&s)
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            scopes.update(|v| {
                                                v.retain(|x| *x != s);
                                                if on {
                                                    v.push(s);
                                                    v.sort();
                                                }
                                            });
                                        }
                                    />
                                    {move || i.t(scope(s))}
                                </label>
                            }
                        })
                        .collect_view()}
                </div>
            </fieldset>
            <fieldset class="bare stack-sm">
                <legend class="label">{move || i.t(K::FamilyWhich)}</legend>
                <p class="help">{move || i.t(K::FamilyWhichHelp)}</p>
                <div class="chips">
                    {util::CATEGORIES
                        .into_iter()
                        .map(|c| {
                            let id = format!("family-cat-{}", util::category_value(c));
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
            <div class="field">
                <label class="label" for="family-days">{move || i.t(K::FamilyDays)}</label>
                <input id="family-days" class="input" type="number" inputmode="numeric" min="1" max="400" bind:value=days />
            </div>
            <label class="switch" for="family-minor">
                <input type="checkbox" role="switch" id="family-minor" bind:checked=minor />
                <span class="choice-text">
                    <span class="strong">{move || i.t(K::FamilyMinor)}</span>
                    <small>{move || i.t(K::FamilyMinorHelp)}</small>
                </span>
            </label>
            <PassphraseField id="family-passphrase" label=K::Passphrase value=pass />
            <ErrorBox error=error id="family-error" />
            <div class="live" role="status" aria-live="polite">
                {move || {
                    created
                        .get()
                        .map(|d| {
                            view! {
                                <div class="stack-sm" id="family-created">
                                    <p class="alert alert-success">{i.f(K::FamilyCreated, &[&d.label])}</p>
                                    <img class="qr-img qr-small" id="family-created-qr" src=svg_data_url(&d.qr_svg) alt=i.f(K::FamilyCreated, &[&d.label]) />
                                    <p class="mono small" id="family-created-text">{d.text.clone()}</p>
                                </div>
                            }
                        })
                }}
            </div>
            <button id="family-create" type="submit" class="btn btn-primary" disabled=move || busy.get()>
                {move || if busy.get() { i.t(K::Working) } else { i.t(K::FamilyCreate) }}
            </button>
        </form>
    }
}

/// The delegations this wallet gave, with revocation.
#[component]
fn Given(version: RwSignal<u32>) -> impl IntoView {
    let i = use_i18n();
    let list = LocalResource::new(move || {
        version.get();
        async move { ipc::call0::<Vec<DelegationInfo>>(cmd::LIST_DELEGATIONS).await }
    });
    view! {
        <section class="card stack" aria-labelledby="family-given-title">
            <h2 id="family-given-title" class="h3">{move || i.t(K::FamilyGiven)}</h2>
            {move || match list.get() {
                None => view! { <p class="muted">{i.t(K::Loading)}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert alert-danger">{i.err(&e)}</p> }.into_any(),
                Some(Ok(ds)) if ds.is_empty() => {
                    view! { <p class="empty" id="family-given-empty">{i.t(K::FamilyGivenEmpty)}</p> }.into_any()
                }
                Some(Ok(ds)) => {
                    view! {
                        <ul class="plain stack-sm" id="family-delegations">
                            {ds
                                .into_iter()
                                .enumerate()
                                .map(|(n, d)| view! { <GivenItem d=d n=n version=version /> })
                                .collect_view()}
                        </ul>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

#[component]
fn GivenItem(d: DelegationInfo, n: usize, version: RwSignal<u32>) -> impl IntoView {
    let i = use_i18n();
    let open = RwSignal::new(false);
    let pass = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let id = d.id.clone();
    let revoked = d.revoked_at.is_some();
    let expired = d.expires <= util::now();
    let revoke = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let req = RevokeDelegationRequest {
            id: id.clone(),
            passphrase: Passphrase(pass.get_untracked()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, RevokeResult>(cmd::REVOKE_DELEGATION, &req).await {
                Ok(_) => version.update(|v| *v += 1),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let scopes = d.scopes.clone();
    let cats = d.categories.clone();
    let expires = d.expires;
    view! {
        <li class="choice" data-delegation-id=d.id.clone()>
            <div class="choice-text stack-sm">
                <span class="strong">{d.label.clone()}</span>
                <small>{move || what_they_may_do(i.get(), &scopes, &cats)}</small>
                <small>
                    {move || {
                        if revoked {
                            i.t(K::StatusRevoked).to_owned()
                        } else if expired {
                            i.t(K::StatusExpired).to_owned()
                        } else {
                            i.f(K::Until, &[&util::date_time(i.get(), expires)])
                        }
                    }}
                </small>
                <Show when=move || !revoked && !open.get()>
                    <button type="button" class="btn btn-danger-outline" id=format!("family-revoke-{n}") on:click=move |_| open.set(true)>
                        {move || i.t(K::FamilyRevoke)}
                    </button>
                </Show>
                <Show when=move || open.get()>
                    <form class="stack-sm" on:submit=revoke.clone()>
                        <PassphraseField id=format!("family-revoke-passphrase-{n}") label=K::Passphrase value=pass />
                        <ErrorBox error=error />
                        <button type="submit" class="btn btn-danger" id=format!("family-revoke-confirm-{n}") disabled=move || busy.get()>
                            {move || if busy.get() { i.t(K::Working) } else { i.t(K::FamilyRevoke) }}
                        </button>
                    </form>
                </Show>
            </div>
        </li>
    }
}

/// The family member's side: patients this wallet helps.
#[component]
fn Helped() -> impl IntoView {
    let i = use_i18n();
    let version = RwSignal::new(0u32);
    let list = LocalResource::new(move || {
        version.get();
        async move { ipc::call0::<Vec<DelegatedPatientInfo>>(cmd::LIST_DELEGATED_PATIENTS).await }
    });
    let text = RwSignal::new(String::new());
    let label = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let req = AddDelegationRequest {
            input: TextOrImage::Text {
                text: text.get_untracked(),
            },
            label: label.get_untracked().trim().to_owned(),
        };
        leptos::task::spawn_local(async move {
            match ipc::call::<_, DelegatedPatientInfo>(cmd::ADD_DELEGATION, &req).await {
                Ok(_) => {
                    text.set(String::new());
                    label.set(String::new());
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card stack" aria-labelledby="family-helped-title">
            <h2 id="family-helped-title" class="h3">{move || i.t(K::FamilyHelped)}</h2>
            <form class="stack-sm" on:submit=add>
                <div class="field">
                    <label class="label" for="family-add-text">{move || i.t(K::FamilyAdd)}</label>
                    <textarea id="family-add-text" class="input mono" rows="3" spellcheck="false" bind:value=text></textarea>
                </div>
                <div class="field">
                    <label class="label" for="family-add-label">{move || i.t(K::FamilyTheirName)}</label>
                    <input id="family-add-label" class="input" type="text" maxlength="64" bind:value=label />
                </div>
                <ErrorBox error=error id="family-add-error" />
                <button id="family-add-button" type="submit" class="btn btn-secondary" disabled=move || text.get().trim().is_empty() || label.get().trim().is_empty()>
                    {move || i.t(K::FamilyAddButton)}
                </button>
            </form>
            {move || match list.get() {
                None => view! { <p class="muted">{i.t(K::Loading)}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert alert-danger">{i.err(&e)}</p> }.into_any(),
                Some(Ok(ps)) if ps.is_empty() => {
                    view! { <p class="empty" id="family-helped-empty">{i.t(K::FamilyHelpedEmpty)}</p> }.into_any()
                }
                Some(Ok(ps)) => {
                    view! {
                        <ul class="plain stack" id="family-patients">
                            {ps.into_iter().enumerate().map(|(n, p)| view! { <HelpedItem p=p n=n /> }).collect_view()}
                        </ul>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

#[component]
fn HelpedItem(p: DelegatedPatientInfo, n: usize) -> impl IntoView {
    let i = use_i18n();
    let id = p.id.clone();
    let id2 = p.id.clone();
    let can_share = p.scopes.contains(&DelegateScope::Share);
    let records = RwSignal::new(None::<DelegateSyncResult>);
    let sync_error = RwSignal::new(None::<ApiError>);
    let syncing = RwSignal::new(false);
    let sync = move |_| {
        sync_error.set(None);
        syncing.set(true);
        let req = DelegatedRequest { id: id.clone() };
        leptos::task::spawn_local(async move {
            match ipc::call::<_, DelegateSyncResult>(cmd::SYNC_DELEGATED, &req).await {
                Ok(r) => records.set(Some(r)),
                Err(e) => sync_error.set(Some(e)),
            }
            syncing.set(false);
        });
    };
    let sharing = RwSignal::new(false);
    let scopes = p.scopes.clone();
    let cats = p.categories.clone();
    let allowed = if p.categories.is_empty() {
        util::CATEGORIES.to_vec()
    } else {
        p.categories.clone()
    };
    let expires = p.expires;
    view! {
        <li class="card-inner stack-sm" data-delegation-id=p.id.clone() id=format!("family-patient-{n}")>
            <p class="strong">
                {p.label.clone()}
                {p.minor.then(|| view! { " " <span class="badge badge-muted">{move || i.t(K::FamilyChild)}</span> })}
            </p>
            <p class="small muted">{move || what_they_may_do(i.get(), &scopes, &cats)}</p>
            <p class="small muted">
                {move || i.f(K::Until, &[&util::date_time(i.get(), expires)])} " · " {p.hospitals.join(", ")}
            </p>
            <div class="row">
                <button type="button" class="btn btn-secondary" id=format!("family-sync-{n}") on:click=sync disabled=move || syncing.get()>
                    {move || if syncing.get() { i.t(K::Working) } else { i.t(K::FamilySeeRecords) }}
                </button>
                {can_share
                    .then(|| {
                        view! {
                            <button type="button" class="btn btn-ghost" id=format!("family-share-open-{n}") on:click=move |_| sharing.set(true)>
                                {move || i.t(K::FamilyShare)}
                            </button>
                        }
                    })}
            </div>
            <ErrorBox error=sync_error />
            {move || {
                records
                    .get()
                    .map(|r| {
                        view! {
                            <div class="stack-sm" id=format!("family-records-{n}")>
                                <p class="small">{i.f(K::FamilyRecordsCount, &[&i.n(r.records.len()), &i.n(r.receipts)])}</p>
                                <ul class="plain stack-sm">
                                    {r
                                        .records
                                        .iter()
                                        .map(|x| {
                                            view! {
                                                <li class="record-row">
                                                    <span class=format!("kind-dot {}", util::kind_class(x.kind)) aria-hidden="true"></span>
                                                    <span class="record-main">
                                                        <span class="record-title">{x.title.clone()}</span>
                                                        <span class="record-meta">
                                                            {x.hospital_name.clone()} " · " {util::date(i.get(), x.issued_at)}
                                                        </span>
                                                    </span>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                                {r
                                    .failures
                                    .iter()
                                    .map(|f| view! { <p class="alert alert-warn">{i.f(K::NotSynced, &[&f.hospital_name])}</p> })
                                    .collect_view()}
                            </div>
                        }
                    })
            }}
            <Show when=move || sharing.get()>
                <ShareFor id=id2.clone() n=n allowed=allowed.clone() />
            </Show>
        </li>
    }
}

/// A delegate shares the patient's records with a doctor.
#[component]
fn ShareFor(id: String, n: usize, allowed: Vec<Category>) -> impl IntoView {
    let i = use_i18n();
    let doctors =
        LocalResource::new(|| async { ipc::call0::<Vec<DoctorInfo>>(cmd::LIST_DOCTORS).await });
    let doctor = RwSignal::new(None::<String>);
    let cats = RwSignal::new(Vec::<Category>::new());
    let pass = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let created = RwSignal::new(None::<GrantCreated>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let lang = i.lang.get_untracked();
        let Some(kid) = doctor.get_untracked() else {
            error.set(Some(ApiError::new("invalid", K::PickDoctor.text(lang))));
            return;
        };
        let req = ShareAsDelegateRequest {
            id: id.clone(),
            doctor_kid: kid,
            categories: cats.get_untracked(),
            duration_secs: 86_400,
            passphrase: Passphrase(pass.get_untracked()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, GrantCreated>(cmd::SHARE_AS_DELEGATE, &req).await {
                Ok(g) => {
                    pass.set(String::new());
                    created.set(Some(g));
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="stack-sm" on:submit=submit>
            <p class="help">{move || i.t(K::FamilyShareHelp)}</p>
            {move || match doctors.get() {
                None => view! { <p class="muted">{i.t(K::Loading)}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert alert-danger">{i.err(&e)}</p> }.into_any(),
                Some(Ok(ds)) if ds.is_empty() => view! { <p class="muted">{i.t(K::NoDoctors)}</p> }.into_any(),
                Some(Ok(ds)) => {
                    view! {
                        <fieldset class="bare stack-sm">
                            <legend class="label">{i.t(K::Doctor)}</legend>
                            {ds
                                .into_iter()
                                .enumerate()
                                .map(|(k, d)| {
                                    let rid = format!("family-doctor-{n}-{k}");
                                    let rfor = rid.clone();
                                    let kid = d.kid.clone();
                                    let kid2 = d.kid.clone();
                                    view! {
                                        <label class="choice" for=rfor>
                                            <input
                                                type="radio"
                                                name=format!("family-doctor-{n}")
                                                id=rid
                                                prop:checked=move || doctor.get().as_deref() == Some(kid.as_str())
                                                on:change=move |_| doctor.set(Some(kid2.clone()))
                                            />
                                            <span class="choice-text">
                                                <span class="strong">{d.name.clone()}</span>
                                                <small>{d.department.clone()} " · " {d.hospital_name.clone()}</small>
                                            </span>
                                        </label>
                                    }
                                })
                                .collect_view()}
                        </fieldset>
                    }
                        .into_any()
                }
            }}
            <div class="chips">
                {allowed
                    .into_iter()
                    .map(|c| {
                        let cid = format!("family-share-cat-{n}-{}", util::category_value(c));
                        let cfor = cid.clone();
                        view! {
                            <label class="chip" for=cfor>
                                <input
                                    type="checkbox"
                                    id=cid
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
            <PassphraseField id=format!("family-share-passphrase-{n}") label=K::Passphrase value=pass />
            <ErrorBox error=error />
            <button type="submit" class="btn btn-primary" id=format!("family-share-create-{n}") disabled=move || busy.get() || cats.get().is_empty()>
                {move || if busy.get() { i.t(K::Working) } else { i.t(K::FamilyShareCreate) }}
            </button>
            {move || {
                created
                    .get()
                    .map(|g| {
                        view! {
                            <div class="qr-card stack-sm" id=format!("family-share-qr-{n}")>
                                <img class="qr-img" src=svg_data_url(&g.qr_svg) alt=i.f(K::ShowToDoctor, &[&g.grant.doctor_name]) />
                                <p class="strong">{i.f(K::ShowToDoctor, &[&g.grant.doctor_name])}</p>
                                <details class="copy-text">
                                    <summary>{i.t(K::Details)}</summary>
                                    <p class="mono" id=format!("family-share-text-{n}")>{g.text.clone()}</p>
                                </details>
                            </div>
                        }
                    })
            }}
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_delegate_may_do_reads_in_both_languages() {
        let en = what_they_may_do(
            Lang::En,
            &[DelegateScope::View, DelegateScope::Share],
            &[Category::LabResult],
        );
        assert_eq!(
            en,
            "see your records, share them with a doctor · Test report"
        );
        let all = what_they_may_do(Lang::En, &[DelegateScope::View], &[]);
        assert_eq!(all, "see your records · all records");
        let bn = what_they_may_do(Lang::Bn, &[DelegateScope::View], &[]);
        assert_ne!(bn, all);
    }
}
