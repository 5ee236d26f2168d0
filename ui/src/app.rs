//! The app root: status gate (first run / unlock / wallet), navigation, global listeners.

use leptos::prelude::*;
use spondon_app_api::event::{
    self, DeepLink, LockReason, Locked, RevokeAllProgress, SyncProgress, TaskProgress,
};
use spondon_app_api::{AppStatus, Language, UpdateSettingsRequest, WalletState, cmd};

use crate::components::LangSwitch;
use crate::i18n::{I18n, K, Lang, use_i18n};
use crate::ipc;
use crate::screens;

/// Where the user is inside an unlocked wallet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    /// The timeline.
    Records,
    /// One record.
    Record(String),
    /// Hospitals and enrollment.
    Hospitals,
    /// Share with a doctor, optionally with records already picked.
    Share(Vec<String>),
    /// Active grants.
    Grants,
    /// Family: delegates, and the patients this wallet helps.
    Family,
    /// Access receipts.
    Access,
    /// Export.
    Export,
    /// Import a card.
    Import,
    /// Settings.
    Settings,
}

/// App-wide state.
#[derive(Clone, Copy, Debug)]
pub struct AppState {
    /// The shell's status (None while loading).
    pub status: RwSignal<Option<AppStatus>>,
    /// The current screen.
    pub screen: RwSignal<Screen>,
    /// Why the wallet was last locked.
    pub lock_reason: RwSignal<Option<LockReason>>,
    /// The latest sync snapshot.
    pub sync: RwSignal<Option<SyncProgress>>,
    /// The latest progress of an export, restore or import (one runs at a time).
    pub task: RwSignal<Option<TaskProgress>>,
    /// The latest revoke-all snapshot.
    pub revoke_all: RwSignal<Option<RevokeAllProgress>>,
    /// Bumped whenever wallet data changed (sync, enroll, import, revoke): lists refetch.
    pub data_version: RwSignal<u32>,
    /// The phone "More" sheet is open.
    pub more_open: RwSignal<bool>,
    /// An error loading the status (outside the app, or the shell failed).
    pub fatal: RwSignal<Option<spondon_app_api::ApiError>>,
    /// Text a `spondon:` link opened the app with, until the screen it belongs to takes it.
    pub link: RwSignal<Option<String>>,
}

impl AppState {
    /// Whether the app runs on a phone (camera scanning, biometrics).
    pub fn mobile(&self) -> bool {
        self.status
            .with(|s| s.as_ref().is_some_and(|s| s.platform.is_mobile()))
    }

    /// Whether the phone's biometric check can stand in for the passphrase: a phone whose
    /// wallet keeps its key in the platform keystore.
    pub fn biometrics(&self) -> bool {
        self.mobile()
            && self
                .status
                .with(|s| s.as_ref().is_some_and(|s| s.key_in_keychain))
    }

    /// Shows the screen a link's text belongs to and keeps the text for it.
    pub fn open_link(&self, text: String) {
        let screen = if text.starts_with("SPONDON-ENROLL:") {
            Screen::Hospitals
        } else {
            Screen::Share(Vec::new())
        };
        self.link.set(Some(text));
        self.screen.set(screen);
    }
}

/// The app state from context.
pub fn use_app() -> AppState {
    use_context::<AppState>().unwrap_or_else(|| AppState {
        status: RwSignal::new(None),
        screen: RwSignal::new(Screen::Records),
        lock_reason: RwSignal::new(None),
        sync: RwSignal::new(None),
        task: RwSignal::new(None),
        revoke_all: RwSignal::new(None),
        data_version: RwSignal::new(0),
        more_open: RwSignal::new(false),
        fatal: RwSignal::new(None),
        link: RwSignal::new(None),
    })
}

impl AppState {
    /// Goes to a screen and moves focus to its heading.
    pub fn go(&self, s: Screen) {
        self.more_open.set(false);
        self.screen.set(s);
        focus_heading();
    }

    /// Records that wallet data changed.
    pub fn changed(&self) {
        self.data_version.update(|v| *v = v.wrapping_add(1));
    }

    /// Takes a new status from the shell.
    pub fn set_status(&self, s: AppStatus) {
        self.status.set(Some(s));
    }

    /// Reloads the status.
    pub fn refresh(self) {
        leptos::task::spawn_local(async move {
            match ipc::call0::<AppStatus>(cmd::APP_STATUS).await {
                Ok(s) => {
                    self.fatal.set(None);
                    self.status.set(Some(s));
                }
                Err(e) => self.fatal.set(Some(e)),
            }
        });
    }
}

/// Moves keyboard focus to the page heading after navigation (screen readers announce it).
pub fn focus_heading() {
    focus_id("page-title");
}

/// Moves keyboard focus (and so the view) to an element, once it is rendered: a result that
/// appears below the form that asked for it.
pub fn focus_id(id: &'static str) {
    request_animation_frame(move || {
        if let Some(el) = document().get_element_by_id(id)
            && let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el)
        {
            let _ = el.focus();
            // Focus scrolls only as far as the element's edge: bring what follows it into view.
            el.scroll_into_view_with_bool(true);
        }
    });
}

fn api_lang(l: Lang) -> Language {
    match l {
        Lang::En => Language::En,
        Lang::Bn => Language::Bn,
    }
}

/// Sets the UI language: the signal, `<html lang>`, local storage, and (when `persist`) the
/// shell's settings.
pub fn set_language(i: I18n, lang: Lang, persist: bool) {
    i.lang.set(lang);
    if let Some(html) = document().document_element() {
        let _ = html.set_attribute("lang", lang.tag());
    }
    if let Ok(Some(st)) = window().local_storage() {
        let _ = st.set_item("spondon.lang", lang.tag());
    }
    if persist {
        leptos::task::spawn_local(async move {
            let req = UpdateSettingsRequest {
                language: Some(api_lang(lang)),
                lock_after_secs: None,
            };
            let _ = ipc::call::<_, spondon_app_api::Settings>(cmd::UPDATE_SETTINGS, &req).await;
        });
    }
}

fn initial_lang() -> Lang {
    let stored = window()
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item("spondon.lang").ok().flatten());
    match stored {
        Some(tag) => Lang::from_tag(&tag),
        None => Lang::from_tag(&window().navigator().language().unwrap_or_default()),
    }
}

/// The root component.
#[component]
pub fn App() -> impl IntoView {
    let i = I18n {
        lang: RwSignal::new(initial_lang()),
    };
    provide_context(i);
    set_language(i, i.lang.get_untracked(), false);
    let app = AppState {
        status: RwSignal::new(None),
        screen: RwSignal::new(Screen::Records),
        lock_reason: RwSignal::new(None),
        sync: RwSignal::new(None),
        task: RwSignal::new(None),
        revoke_all: RwSignal::new(None),
        data_version: RwSignal::new(0),
        more_open: RwSignal::new(false),
        fatal: RwSignal::new(None),
        link: RwSignal::new(None),
    };
    provide_context(app);

    // First status: language from the shell's settings wins over the browser's.
    leptos::task::spawn_local(async move {
        match ipc::call0::<AppStatus>(cmd::APP_STATUS).await {
            Ok(s) => {
                let lang = match s.language {
                    Language::En => Lang::En,
                    Language::Bn => Lang::Bn,
                };
                let stored = window()
                    .local_storage()
                    .ok()
                    .flatten()
                    .and_then(|st| st.get_item("spondon.lang").ok().flatten());
                if stored.is_none() {
                    set_language(i, lang, false);
                }
                let opened_with = s.opened_with.clone();
                app.status.set(Some(s));
                if let Some(text) = opened_with {
                    app.open_link(text);
                }
            }
            Err(e) => app.fatal.set(Some(e)),
        }
    });

    ipc::listen::<Locked>(event::LOCKED, move |l| {
        app.lock_reason.set(Some(l.reason));
        app.status.update(|s| {
            if let Some(s) = s {
                s.state = WalletState::Locked;
            }
        });
        app.screen.set(Screen::Records);
        app.sync.set(None);
    });
    ipc::listen::<DeepLink>(event::DEEP_LINK, move |l| app.open_link(l.text));
    for name in [event::EXPORT, event::RESTORE, event::IMPORT] {
        ipc::listen::<TaskProgress>(name, move |p| app.task.set(Some(p)));
    }
    ipc::listen::<RevokeAllProgress>(event::REVOKE_ALL, move |p| app.revoke_all.set(Some(p)));
    ipc::listen::<SyncProgress>(event::SYNC, move |p| {
        let finished = p.finished;
        app.sync.set(Some(p));
        if finished {
            app.changed();
        }
    });

    // User activity resets the shell's inactivity lock (throttled to one call per 20 s).
    let last_touch = StoredValue::new(0.0f64);
    let touch = move || {
        let now = js_sys::Date::now();
        if now - last_touch.get_value() > 20_000.0 {
            last_touch.set_value(now);
            if app.status.get_untracked().map(|s| s.state) == Some(WalletState::Unlocked) {
                ipc::touch();
            }
        }
    };
    let h1 = window_event_listener(leptos::ev::keydown, move |_| touch());
    let h2 = window_event_listener(leptos::ev::pointerdown, move |_| touch());
    // Escape closes the phone "More" sheet.
    let h3 = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && app.more_open.get_untracked() {
            app.more_open.set(false);
        }
    });
    on_cleanup(move || {
        h1.remove();
        h2.remove();
        h3.remove();
    });

    view! {
        <a class="skip-link" href="#main">{move || i.t(K::SkipToContent)}</a>
        {move || match app.status.get().map(|s| s.state) {
            None => {
                match app.fatal.get() {
                    Some(e) => view! { <Fatal error=e /> }.into_any(),
                    None => view! { <Splash /> }.into_any(),
                }
            }
            Some(WalletState::NoWallet) => view! { <screens::first_run::FirstRun /> }.into_any(),
            Some(WalletState::Locked) => view! { <screens::unlock::Unlock /> }.into_any(),
            Some(WalletState::Unlocked) => view! { <Shell /> }.into_any(),
        }}
    }
}

#[component]
fn Splash() -> impl IntoView {
    let i = use_i18n();
    view! {
        <main id="main" class="center-page">
            <div class="brand-mark big" aria-hidden="true"></div>
            <p role="status">{move || i.t(K::Loading)}</p>
        </main>
    }
}

#[component]
fn Fatal(error: spondon_app_api::ApiError) -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let e = error.clone();
    view! {
        <div class="top-right">
            <LangSwitch />
        </div>
        <main id="main" class="center-page">
            <div class="card narrow stack">
                <Brand />
                <h1 id="page-title" tabindex="-1">{move || i.t(K::Error)}</h1>
                <div class="alert alert-warn" role="alert">
                    <p id="fatal-error">{move || i.err(&e)}</p>
                </div>
                <button id="retry-status" class="btn btn-primary" on:click=move |_| app.refresh()>
                    {move || i.t(K::Retry)}
                </button>
            </div>
        </main>
    }
}

/// The logo and name.
#[component]
pub fn Brand() -> impl IntoView {
    let i = use_i18n();
    view! {
        <div class="brand">
            <span class="brand-mark" aria-hidden="true"></span>
            <span class="brand-name">{move || i.t(K::AppName)}</span>
        </div>
    }
}

struct NavItem {
    id: &'static str,
    label: K,
    icon: &'static str,
    primary: bool,
    screen: Screen,
}

fn nav_items() -> Vec<NavItem> {
    vec![
        NavItem {
            id: "nav-records",
            label: K::NavRecords,
            icon: "icon-records",
            primary: true,
            screen: Screen::Records,
        },
        NavItem {
            id: "nav-hospitals",
            label: K::NavHospitals,
            icon: "icon-hospital",
            primary: true,
            screen: Screen::Hospitals,
        },
        NavItem {
            id: "nav-share",
            label: K::NavShare,
            icon: "icon-share",
            primary: true,
            screen: Screen::Share(Vec::new()),
        },
        NavItem {
            id: "nav-access",
            label: K::NavAccess,
            icon: "icon-eye",
            primary: true,
            screen: Screen::Access,
        },
        NavItem {
            id: "nav-grants",
            label: K::NavGrants,
            icon: "icon-key",
            primary: false,
            screen: Screen::Grants,
        },
        NavItem {
            id: "nav-family",
            label: K::NavFamily,
            icon: "icon-family",
            primary: false,
            screen: Screen::Family,
        },
        NavItem {
            id: "nav-export",
            label: K::NavExport,
            icon: "icon-export",
            primary: false,
            screen: Screen::Export,
        },
        NavItem {
            id: "nav-import",
            label: K::NavImport,
            icon: "icon-import",
            primary: false,
            screen: Screen::Import,
        },
        NavItem {
            id: "nav-settings",
            label: K::NavSettings,
            icon: "icon-settings",
            primary: false,
            screen: Screen::Settings,
        },
    ]
}

fn same_section(a: &Screen, b: &Screen) -> bool {
    matches!(
        (a, b),
        (Screen::Records, Screen::Records)
            | (Screen::Record(_), Screen::Records)
            | (Screen::Hospitals, Screen::Hospitals)
            | (Screen::Share(_), Screen::Share(_))
            | (Screen::Grants, Screen::Grants)
            | (Screen::Family, Screen::Family)
            | (Screen::Access, Screen::Access)
            | (Screen::Export, Screen::Export)
            | (Screen::Import, Screen::Import)
            | (Screen::Settings, Screen::Settings)
    )
}

#[component]
fn Shell() -> impl IntoView {
    let i = use_i18n();
    let app = use_app();
    let lock = move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(s) = ipc::call0::<AppStatus>(cmd::LOCK).await {
                app.lock_reason.set(Some(LockReason::Requested));
                app.set_status(s);
            }
        });
    };
    let items = nav_items()
        .into_iter()
        .map(|item| {
            let target = item.screen.clone();
            let target2 = item.screen.clone();
            let current = move || same_section(&app.screen.get(), &target2);
            view! {
                <li class:primary=item.primary class:secondary=!item.primary>
                    <button
                        id=item.id
                        type="button"
                        class="nav-item"
                        class:active=current.clone()
                        aria-current=move || if current() { Some("page") } else { None }
                        on:click=move |_| app.go(target.clone())
                    >
                        <span class=format!("icon {}", item.icon) aria-hidden="true"></span>
                        <span class="nav-label">{move || i.t(item.label)}</span>
                    </button>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="shell" class:more-open=move || app.more_open.get()>
            <header class="topbar">
                <Brand />
                <div class="topbar-actions">
                    <LangSwitch />
                    <button id="lock-button" type="button" class="btn btn-ghost" on:click=lock>
                        <span class="icon icon-lock" aria-hidden="true"></span>
                        <span class="btn-label">{move || i.t(K::Lock)}</span>
                    </button>
                </div>
            </header>
            <nav class="sidebar" aria-label=move || i.t(K::MainNav)>
                <ul class="nav-list" id="nav-list">
                    {items}
                    <li class="more-item">
                        <button
                            id="nav-more"
                            type="button"
                            class="nav-item"
                            class:active=move || {
                                matches!(
                                    app.screen.get(),
                                    Screen::Grants
                                        | Screen::Family
                                        | Screen::Export
                                        | Screen::Import
                                        | Screen::Settings
                                )
                            }
                            aria-expanded=move || if app.more_open.get() { "true" } else { "false" }
                            aria-controls="nav-list"
                            on:click=move |_| app.more_open.update(|o| *o = !*o)
                        >
                            <span class="icon icon-more" aria-hidden="true"></span>
                            <span class="nav-label">{move || i.t(K::NavMore)}</span>
                        </button>
                    </li>
                </ul>
            </nav>
            <main id="main" class="content" tabindex="-1">
                {move || match app.screen.get() {
                    Screen::Records => view! { <screens::records::Records /> }.into_any(),
                    Screen::Record(id) => view! { <screens::record::RecordView id=id /> }.into_any(),
                    Screen::Hospitals => view! { <screens::hospitals::Hospitals /> }.into_any(),
                    Screen::Share(pre) => view! { <screens::share::Share preselected=pre /> }.into_any(),
                    Screen::Grants => view! { <screens::grants::Grants /> }.into_any(),
                    Screen::Family => view! { <screens::family::Family /> }.into_any(),
                    Screen::Access => view! { <screens::access::Access /> }.into_any(),
                    Screen::Export => view! { <screens::export::Export /> }.into_any(),
                    Screen::Import => view! { <screens::import::Import /> }.into_any(),
                    Screen::Settings => view! { <screens::settings::SettingsScreen /> }.into_any(),
                }}
            </main>
        </div>
    }
}
