//! First run: create a wallet (passphrase with strength hint, keychain said plainly), then the
//! backup reminder; or restore from a backup file.

use leptos::prelude::*;
use spondon_app_api::{
    ApiError, AppStatus, BackupRequest, BackupResult, CreateWalletRequest, KeyProtection,
    Passphrase, PassphraseStrength, PassphraseStrengthRequest, RestoreRequest, RestoreResult, cmd,
};

use crate::app::{Brand, use_app};
use crate::components::{ErrorBox, FilePicker, LangSwitch, PassphraseField, Picked};
use crate::i18n::{K, use_i18n};
use crate::{ipc, util};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Create,
    Restore,
}

/// The first-run screen.
#[component]
pub fn FirstRun() -> impl IntoView {
    let i = use_i18n();
    let tab = RwSignal::new(Tab::Create);
    // After creation: the backup reminder (holds the passphrase until it is dismissed).
    let created = RwSignal::new(None::<(AppStatus, String)>);
    view! {
        <div class="top-right">
            <LangSwitch />
        </div>
        <main id="main" class="center-page">
            <div class="card welcome stack-lg">
                <Brand />
                {move || match created.get() {
                    Some((status, pass)) => {
                        view! { <BackupReminder status=status passphrase=pass created=created /> }
                            .into_any()
                    }
                    None => {
                        view! {
                            <div class="stack">
                                <h1 id="page-title" tabindex="-1">{move || i.t(K::WelcomeTitle)}</h1>
                                <p class="lead">{move || i.t(K::WelcomeBody)}</p>
                            </div>
                            <div class="segmented" role="group">
                                <button
                                    id="first-run-create"
                                    type="button"
                                    aria-pressed=move || (tab.get() == Tab::Create).to_string()
                                    on:click=move |_| tab.set(Tab::Create)
                                >
                                    {move || i.t(K::CreateWallet)}
                                </button>
                                <button
                                    id="first-run-restore"
                                    type="button"
                                    aria-pressed=move || (tab.get() == Tab::Restore).to_string()
                                    on:click=move |_| tab.set(Tab::Restore)
                                >
                                    {move || i.t(K::RestoreWallet)}
                                </button>
                            </div>
                            {move || match tab.get() {
                                Tab::Create => view! { <CreateForm created=created /> }.into_any(),
                                Tab::Restore => view! { <RestoreForm /> }.into_any(),
                            }}
                        }
                            .into_any()
                    }
                }}
            </div>
        </main>
    }
}

/// The passphrase strength meter, asking the shell as the user types.
#[component]
pub fn StrengthMeter(pass: RwSignal<String>) -> impl IntoView {
    let i = use_i18n();
    let strength = LocalResource::new(move || {
        let p = pass.get();
        async move {
            if p.is_empty() {
                return None;
            }
            let req = PassphraseStrengthRequest {
                passphrase: Passphrase(p),
            };
            ipc::call::<_, PassphraseStrength>(cmd::PASSPHRASE_STRENGTH, &req)
                .await
                .ok()
        }
    });
    view! {
        <div id="passphrase-strength" class="strength" aria-live="polite">
            {move || {
                strength
                    .get()
                    .flatten()
                    .map(|s| {
                        let lang = i.get();
                        view! {
                            <div class=format!("meter score-{}", s.score) aria-hidden="true">
                                <span></span>
                                <span></span>
                                <span></span>
                                <span></span>
                            </div>
                            <p class="help">
                                <strong>
                                    {i.t(K::Strength)}": " {i.t(util::strength(s.score))}
                                </strong>
                                " — "
                                {util::hint(lang, s.hint, s.min_length)}
                            </p>
                        }
                    })
            }}
        </div>
    }
}

#[component]
fn CreateForm(created: RwSignal<Option<(AppStatus, String)>>) -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let pass = RwSignal::new(String::new());
    let pass2 = RwSignal::new(String::new());
    let keychain = RwSignal::new(true);
    let trust_file = RwSignal::new(None::<Picked>);
    let root_file = RwSignal::new(None::<Picked>);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let status = app.status.get_untracked();
    let keychain_name = match status.as_ref().map(|s| &s.keys) {
        Some(KeyProtection::Keychain { name }) => Some(name.clone()),
        _ => None,
    };
    let has_keychain = keychain_name.is_some();
    let configured = status.as_ref().is_some_and(|s| s.consortium_configured);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let p = pass.get_untracked();
        if p != pass2.get_untracked() {
            error.set(Some(ApiError::new(
                "invalid",
                K::PassphraseMismatch.text(i.lang.get_untracked()),
            )));
            return;
        }
        let req = CreateWalletRequest {
            passphrase: Passphrase(p.clone()),
            keep_in_keychain: has_keychain && keychain.get_untracked(),
            trust_list: trust_file.get_untracked().map(|f| f.content),
            root_key: root_file.get_untracked().map(|f| f.content),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, AppStatus>(cmd::CREATE_WALLET, &req).await {
                Ok(s) => created.set(Some((s, p))),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="stack" on:submit=submit>
            <PassphraseField
                id="create-passphrase"
                label=K::Passphrase
                value=pass
                autocomplete="new-password"
                describedby="create-passphrase-help"
            />
            <p class="help" id="create-passphrase-help">{move || i.t(K::PassphraseHelp)}</p>
            <StrengthMeter pass=pass />
            <PassphraseField
                id="create-passphrase-repeat"
                label=K::PassphraseRepeat
                value=pass2
                autocomplete="new-password"
            />
            <section class="notice" aria-labelledby="keychain-title">
                <h2 id="keychain-title" class="h3">{move || i.t(K::KeychainTitle)}</h2>
                {if has_keychain {
                    view! {
                        <p>{move || i.t(K::KeychainYes)}</p>
                        <p class="help">{keychain_name.clone()}</p>
                        <label class="check" for="create-keychain">
                            <input type="checkbox" id="create-keychain" bind:checked=keychain />
                            <span>{move || i.t(K::UseKeychain)}</span>
                        </label>
                    }
                        .into_any()
                } else {
                    view! { <p id="create-passphrase-only">{move || i.t(K::KeychainNo)}</p> }.into_any()
                }}
            </section>
            {(!configured)
                .then(|| {
                    view! {
                        <p class="alert alert-info" id="create-consortium-needed">{move || i.t(K::ConsortiumNeeded)}</p>
                        <FilePicker
                            id="create-trust-list-file"
                            label=K::TrustListFile
                            as_text=true
                            picked=trust_file
                        />
                        <FilePicker
                            id="create-root-key-file"
                            label=K::RootKeyFile
                            accept=".json,.jwk"
                            as_text=true
                            picked=root_file
                        />
                    }
                })}
            <ErrorBox error=error id="create-error" />
            <button
                id="create-wallet"
                type="submit"
                class="btn btn-primary btn-block"
                disabled=move || busy.get()
            >
                {move || if busy.get() { i.t(K::Working) } else { i.t(K::CreateWallet) }}
            </button>
        </form>
    }
}

#[component]
fn BackupReminder(
    status: AppStatus,
    passphrase: String,
    created: RwSignal<Option<(AppStatus, String)>>,
) -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let error = RwSignal::new(None::<ApiError>);
    let saved = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let status2 = status.clone();
    let finish = move || {
        created.set(None);
        app.set_status(status2.clone());
    };
    let finish2 = finish.clone();
    let backup = move |_| {
        let req = BackupRequest {
            passphrase: Passphrase(passphrase.clone()),
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, BackupResult>(cmd::BACKUP_NOW, &req).await {
                Ok(r) => saved.set(Some(r.path)),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="stack" id="backup-reminder">
            <div class="alert alert-success" role="status">
                <p>{move || i.t(K::WalletCreated)}</p>
            </div>
            <h1 id="page-title" tabindex="-1">{move || i.t(K::BackupReminderTitle)}</h1>
            <p class="lead">{move || i.t(K::BackupReminder)}</p>
            <ErrorBox error=error />
            {move || {
                saved
                    .get()
                    .map(|p| {
                        view! {
                            <div class="alert alert-success" role="status">
                                <p id="backup-saved-path">{i.f(K::BackupSaved, &[&p])}</p>
                            </div>
                        }
                    })
            }}
            <div class="row">
                {move || {
                    if saved.get().is_some() {
                        let f = finish.clone();
                        view! {
                            <button
                                id="backup-continue"
                                type="button"
                                class="btn btn-primary"
                                on:click=move |_| f()
                            >
                                {i.t(K::Continue)}
                            </button>
                        }
                            .into_any()
                    } else {
                        let b = backup.clone();
                        let f = finish2.clone();
                        view! {
                            <button
                                id="backup-now-first"
                                type="button"
                                class="btn btn-primary"
                                disabled=move || busy.get()
                                on:click=b
                            >
                                {move || if busy.get() { i.t(K::Working) } else { i.t(K::BackupNow) }}
                            </button>
                            <button
                                id="backup-later"
                                type="button"
                                class="btn btn-secondary"
                                on:click=move |_| f()
                            >
                                {move || i.t(K::BackupLater)}
                            </button>
                        }
                            .into_any()
                    }
                }}
            </div>
        </div>
    }
}

#[component]
fn RestoreForm() -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let file = RwSignal::new(None::<Picked>);
    let pass = RwSignal::new(String::new());
    let new_pass = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let progress = app.task;
    let done = RwSignal::new(None::<RestoreResult>);
    let keep = app
        .status
        .get_untracked()
        .is_some_and(|s| matches!(s.keys, KeyProtection::Keychain { .. }));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let Some(f) = file.get_untracked() else {
            error.set(Some(ApiError::new(
                "invalid",
                K::BackupFile.text(i.lang.get_untracked()),
            )));
            return;
        };
        let p = pass.get_untracked();
        let np = new_pass.get_untracked();
        let req = RestoreRequest {
            backup_base64: f.content,
            backup_passphrase: Passphrase(p.clone()),
            new_passphrase: Passphrase(if np.is_empty() { p } else { np }),
            keep_in_keychain: keep,
        };
        busy.set(true);
        progress.set(None);
        leptos::task::spawn_local(async move {
            match ipc::call::<_, RestoreResult>(cmd::RESTORE_WALLET, &req).await {
                Ok(r) => done.set(Some(r)),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="stack" on:submit=submit>
            <h2 class="h2">{move || i.t(K::RestoreTitle)}</h2>
            <p class="help">{move || i.t(K::RestoreHelp)}</p>
            <FilePicker id="restore-file" label=K::BackupFile picked=file />
            <PassphraseField id="restore-passphrase" label=K::Passphrase value=pass />
            <PassphraseField
                id="restore-new-passphrase"
                label=K::NewPassphrase
                value=new_pass
                autocomplete="new-password"
            />
            <div class="live" aria-live="polite">
                {move || {
                    (busy.get())
                        .then(|| {
                            progress
                                .get()
                                .map(|p| {
                                    view! {
                                        <label class="help" for="restore-progress">
                                            {i.t(util::step(p.step))}
                                        </label>
                                        <progress
                                            id="restore-progress"
                                            max=p.total.max(1) as f64
                                            value=p.done as f64
                                        ></progress>
                                    }
                                })
                        })
                }}
            </div>
            <ErrorBox error=error id="restore-error" />
            {move || {
                done.get()
                    .map(|r| {
                        let status = r.status.clone();
                        view! {
                            <div class="alert alert-success" role="status">
                                <p id="restore-result">
                                    {i.f(K::Restored, &[&i.n(r.records), &i.n(r.hospitals)])}
                                </p>
                            </div>
                            <button
                                id="restore-continue"
                                type="button"
                                class="btn btn-primary btn-block"
                                on:click=move |_| app.set_status(status.clone())
                            >
                                {i.t(K::Continue)}
                            </button>
                        }
                    })
            }}
            <button
                id="restore-button"
                type="submit"
                class="btn btn-primary btn-block"
                disabled=move || busy.get() || done.get().is_some()
            >
                {move || if busy.get() { i.t(K::Working) } else { i.t(K::RestoreWallet) }}
            </button>
        </form>
    }
}
