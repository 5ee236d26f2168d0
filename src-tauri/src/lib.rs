//! The Spondon wallet app: a thin Tauri v2 shell over [`spondon_wallet::WalletSession`].
//!
//! Every command is a short wrapper (see [`commands`]); the IPC contract — command names, event
//! names, request and response types — is the crate `spondon-app-api`, shared with the UI. The
//! webview never receives a private key, the database key, or a passphrase: passphrases travel
//! only from the page to the shell and are dropped after use.
//!
//! Configuration (environment, read once at start): see [`config::AppConfig::from_env`].

pub mod commands;
pub mod config;
mod files;
pub mod links;
#[cfg(mobile)]
mod mobile;
pub mod state;

use std::time::Duration;

use spondon_app_api::event;
use tauri::{Emitter as _, Manager as _, Runtime};

pub use config::AppConfig;
pub use state::AppState;

/// How often the inactivity timer looks at the clock.
const LOCK_TICK: Duration = Duration::from_secs(2);

/// Registers the commands and the managed state on `builder` (a host that builds the app
/// itself, e.g. the tests, then calls [`start_inactivity_lock`]).
pub fn setup<R: Runtime>(builder: tauri::Builder<R>, state: AppState) -> tauri::Builder<R> {
    builder.manage(state).invoke_handler(commands::handler())
}

/// Starts the inactivity timer of a built app.
pub fn start_inactivity_lock<R: Runtime>(app: &tauri::AppHandle<R>) {
    tauri::async_runtime::spawn(inactivity_lock(app.clone()));
}

/// Locks the session after the configured inactivity and tells the window.
async fn inactivity_lock<R: Runtime>(app: tauri::AppHandle<R>) {
    loop {
        tokio::time::sleep(LOCK_TICK).await;
        let state = app.state::<AppState>();
        let limit = match state.session.preferences().await {
            Ok(p) => Duration::from_secs(p.lock_after_secs),
            Err(_) => spondon_wallet::session::DEFAULT_LOCK_AFTER,
        };
        if let Ok(true) = state.session.lock_if_idle(limit).await {
            let _ = app.emit(
                event::LOCKED,
                event::Locked {
                    reason: event::LockReason::Inactivity,
                },
            );
        }
    }
}

/// Runs the app (desktop and mobile entry point).
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let builder = tauri::Builder::default();
    #[cfg(mobile)]
    let builder = mobile::plugins(builder);
    let builder = builder
        .setup(|app| {
            let config = AppConfig::from_env(app.handle())?;
            app.manage(AppState::new(config));
            start_inactivity_lock(app.handle());
            #[cfg(mobile)]
            mobile::setup(app.handle());
            Ok(())
        })
        .on_window_event(|_window, _event| {
            // A phone app sent to the background locks at once.
            #[cfg(mobile)]
            if matches!(_event, tauri::WindowEvent::Suspended) {
                mobile::lock_in_background(_window.app_handle());
            }
        })
        .invoke_handler(commands::handler());
    if let Err(e) = builder.run(tauri::generate_context!()) {
        eprintln!("spondon-app: cannot start: {e}");
        std::process::exit(1);
    }
}
