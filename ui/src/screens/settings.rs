//! Settings: language, lock time, emergency access, the trust list (signer, sequence, hospitals), backup now,
//! change passphrase, about.

use leptos::prelude::*;
use spondon_app_api::{
    About, ApiError, BackupRequest, BackupResult, ChangePassphraseRequest, KeyProtection,
    Passphrase, Settings, TrustListSummary, UpdateSettingsRequest, UpdateTrustListRequest, cmd,
};

use crate::app::{set_language, use_app};
use crate::components::{ErrorBox, FilePicker, PageHead, PassphraseField, Picked};
use crate::fmt;
use crate::i18n::{K, Lang, use_i18n};
use crate::screens::emergency::EmergencyCard;
use crate::screens::first_run::StrengthMeter;
use crate::screens::lost_phone::LostPhoneCard;
use crate::{ipc, util};

/// Lock-time choices, in seconds (0 = never).
const LOCK_TIMES: [u64; 6] = [60, 300, 600, 1800, 3600, 0];

/// The settings screen.
#[component]
pub fn SettingsScreen() -> impl IntoView {
    let i = use_i18n();
    let version = RwSignal::new(0u32);
    let settings = LocalResource::new(move || {
        version.get();
        async move { ipc::call0::<Settings>(cmd::GET_SETTINGS).await }
    });
    let about = LocalResource::new(|| async { ipc::call0::<About>(cmd::ABOUT).await });
    view! {
        <PageHead title=K::SettingsTitle />
        <div class="settings-grid">
            <div class="stack-lg">
                <Preferences settings=settings />
                <BackupCard />
                <ChangePass />
            </div>
            <div class="stack-lg">
                <EmergencyCard />
                <LostPhoneCard />
                <TrustCard settings=settings version=version />
                <section class="card stack" aria-labelledby="about-title">
                    <h2 id="about-title" class="h3">{move || i.t(K::AboutTitle)}</h2>
                    <p>{move || i.t(K::AboutText)}</p>
                    {move || {
                        about
                            .get()
                            .and_then(|r| r.ok())
                            .map(|a| {
                                let keys = settings.get().and_then(|r| r.ok()).map(|s| s.keys);
                                view! {
                                    <dl class="kv" id="about">
                                        <dt>{i.t(K::AppName)}</dt>
                                        <dd>{i.f(K::Version, &[&a.version])}</dd>
                                        <dt>{i.t(K::WalletLocation)}</dt>
                                        <dd class="mono">{a.wallet_dir.clone()}</dd>
                                        <dt>{i.t(K::KeyStorage)}</dt>
                                        <dd>
                                            {match keys {
                                                Some(KeyProtection::Keychain { name }) => {
                                                    format!("{} ({name})", i.t(K::KeyInKeychain))
                                                }
                                                Some(KeyProtection::PassphraseOnly { .. }) => {
                                                    i.t(K::KeyPassphraseOnly).to_owned()
                                                }
                                                None => "—".to_owned(),
                                            }}
                                        </dd>
                                    </dl>
                                }
                            })
                    }}
                </section>
            </div>
        </div>
    }
}

#[component]
fn Preferences(settings: LocalResource<Result<Settings, ApiError>>) -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let lock = RwSignal::new(String::new());
    let saved = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    Effect::new(move |_| {
        if let Some(Ok(s)) = settings.get() {
            lock.set(s.lock_after_secs.to_string());
        }
    });
    let lang_value = RwSignal::new(i.lang.get_untracked().tag().to_owned());
    Effect::new(move |_| lang_value.set(i.get().tag().to_owned()));
    let on_lang = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        set_language(i, Lang::from_tag(&v), true);
    };
    let on_lock = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        let Ok(secs) = v.parse::<u64>() else {
            return;
        };
        lock.set(v);
        saved.set(false);
        error.set(None);
        leptos::task::spawn_local(async move {
            let req = UpdateSettingsRequest {
                language: None,
                lock_after_secs: Some(secs),
            };
            match ipc::call::<_, Settings>(cmd::UPDATE_SETTINGS, &req).await {
                Ok(s) => {
                    saved.set(true);
                    app.status.update(|st| {
                        if let Some(st) = st {
                            st.lock_after_secs = s.lock_after_secs;
                        }
                    });
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card stack" aria-labelledby="prefs-title">
            <h2 id="prefs-title" class="h3">{move || i.t(K::Preferences)}</h2>
            <div class="field">
                <label for="settings-language" class="label">{move || i.t(K::Language)}</label>
                <select id="settings-language" class="input" prop:value=move || lang_value.get() on:change=on_lang>
                    <option value="en" lang="en">"English"</option>
                    <option value="bn" lang="bn">"বাংলা"</option>
                </select>
            </div>
            <div class="field">
                <label for="settings-lock-after" class="label">{move || i.t(K::LockAfter)}</label>
                <select
                    id="settings-lock-after"
                    class="input"
                    aria-describedby="settings-lock-help"
                    prop:value=move || lock.get()
                    on:change=on_lock
                >
                    {LOCK_TIMES
                        .into_iter()
                        .map(|s| {
                            view! {
                                <option value=s.to_string()>
                                    {move || {
                                        if s == 0 { i.t(K::Never).to_owned() } else { fmt::duration(i.get(), s) }
                                    }}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <p class="help" id="settings-lock-help">{move || i.t(K::LockAfterHelp)}</p>
            </div>
            <ErrorBox error=error />
            <div class="live" role="status" aria-live="polite">
                {move || saved.get().then(|| view! { <p class="alert alert-success">{i.t(K::Saved)}</p> })}
            </div>
        </section>
    }
}

#[component]
fn TrustCard(
    settings: LocalResource<Result<Settings, ApiError>>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let i = use_i18n();
    let file = RwSignal::new(None::<Picked>);
    let error = RwSignal::new(None::<ApiError>);
    let done = RwSignal::new(false);
    let install = move |_| {
        let Some(f) = file.get_untracked() else {
            return;
        };
        error.set(None);
        done.set(false);
        leptos::task::spawn_local(async move {
            let req = UpdateTrustListRequest {
                trust_list: f.content,
            };
            match ipc::call::<_, TrustListSummary>(cmd::UPDATE_TRUST_LIST, &req).await {
                Ok(_) => {
                    done.set(true);
                    file.set(None);
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card stack" aria-labelledby="trust-title">
            <h2 id="trust-title" class="h3">{move || i.t(K::TrustListTitle)}</h2>
            {move || match settings.get() {
                None => view! { <p class="muted">{i.t(K::Loading)}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert alert-danger">{i.err(&e)}</p> }.into_any(),
                Some(Ok(s)) => {
                    match s.trust_list {
                        None => view! { <p class="muted">{i.t(K::NoTrustListInfo)}</p> }.into_any(),
                        Some(t) => {
                            view! {
                                <dl class="kv" id="trust-list">
                                    <dt>{i.t(K::TrustSigner)}</dt>
                                    <dd id="trust-signer">
                                        {t.signer.clone()}
                                        <br />
                                        <span class="mono small muted">{t.signer_kid.clone()}</span>
                                    </dd>
                                    <dt>{i.t(K::TrustSequence)}</dt>
                                    <dd id="trust-sequence">{i.n(t.sequence)}</dd>
                                    <dt>{i.t(K::TrustIssued)}</dt>
                                    <dd>{util::date(i.get(), t.issued_at)}</dd>
                                </dl>
                                <h3 class="label">{i.t(K::TrustHospitals)}</h3>
                                <ul class="plain stack-sm" id="trust-hospitals">
                                    {t
                                        .hospitals
                                        .into_iter()
                                        .map(|h| {
                                            view! {
                                                <li>
                                                    <span class="strong">{h.name}</span>
                                                    <br />
                                                    <span class="mono small muted">{h.peer_url}</span>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                    }
                }
            }}
            <FilePicker id="trust-list-file" label=K::UpdateTrustList as_text=true picked=file />
            <ErrorBox error=error id="trust-list-error" />
            <div class="live" role="status" aria-live="polite">
                {move || done.get().then(|| view! { <p class="alert alert-success">{i.t(K::Saved)}</p> })}
            </div>
            <button
                id="trust-list-install"
                type="button"
                class="btn btn-secondary"
                disabled=move || file.get().is_none()
                on:click=install
            >
                {move || i.t(K::UpdateTrustList)}
            </button>
        </section>
    }
}

#[component]
fn BackupCard() -> impl IntoView {
    let i = use_i18n();
    let pass = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let saved = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        saved.set(None);
        let req = BackupRequest {
            passphrase: Passphrase(pass.get_untracked()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, BackupResult>(cmd::BACKUP_NOW, &req).await {
                Ok(r) => {
                    pass.set(String::new());
                    saved.set(Some(r.path));
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="card stack" aria-labelledby="backup-title" on:submit=submit>
            <h2 id="backup-title" class="h3">{move || i.t(K::BackupTitle)}</h2>
            <p class="help">{move || i.t(K::BackupReminder)}</p>
            <PassphraseField id="backup-passphrase" label=K::Passphrase value=pass />
            <ErrorBox error=error id="backup-error" />
            <div class="live" role="status" aria-live="polite">
                {move || {
                    saved
                        .get()
                        .map(|p| view! { <p class="alert alert-success" id="backup-saved">{i.f(K::BackupSaved, &[&p])}</p> })
                }}
            </div>
            <button id="backup-now" type="submit" class="btn btn-primary" disabled=move || busy.get()>
                {move || if busy.get() { i.t(K::Working) } else { i.t(K::BackupNow) }}
            </button>
        </form>
    }
}

#[component]
fn ChangePass() -> impl IntoView {
    let i = use_i18n();
    let old = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let new2 = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        done.set(false);
        if new.get_untracked() != new2.get_untracked() {
            error.set(Some(ApiError::new(
                "invalid",
                K::PassphraseMismatch.text(i.lang.get_untracked()),
            )));
            return;
        }
        let req = ChangePassphraseRequest {
            old: Passphrase(old.get_untracked()),
            new: Passphrase(new.get_untracked()),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, ()>(cmd::CHANGE_PASSPHRASE, &req).await {
                Ok(()) => {
                    old.set(String::new());
                    new.set(String::new());
                    new2.set(String::new());
                    done.set(true);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="card stack" aria-labelledby="change-pass-title" on:submit=submit>
            <h2 id="change-pass-title" class="h3">{move || i.t(K::ChangePassphrase)}</h2>
            <PassphraseField id="old-passphrase" label=K::CurrentPassphrase value=old />
            <PassphraseField id="new-passphrase" label=K::NewPassphrase value=new autocomplete="new-password" />
            <StrengthMeter pass=new />
            <PassphraseField
                id="new-passphrase-repeat"
                label=K::PassphraseRepeat
                value=new2
                autocomplete="new-password"
            />
            <ErrorBox error=error id="change-passphrase-error" />
            <div class="live" role="status" aria-live="polite">
                {move || done.get().then(|| view! { <p class="alert alert-success" id="passphrase-changed">{i.t(K::PassphraseChanged)}</p> })}
            </div>
            <button
                id="change-passphrase-button"
                type="submit"
                class="btn btn-secondary"
                disabled=move || busy.get()
            >
                {move || if busy.get() { i.t(K::Working) } else { i.t(K::ChangePassphrase) }}
            </button>
        </form>
    }
}
