//! Phone-only parts (`cfg(mobile)`): the camera scanner, biometric and deep-link plugins, the
//! lock when the app goes to the background, and re-authorization by the phone's biometric
//! check. The page calls the scanner plugin itself (`plugin:barcode-scanner|scan`, granted by
//! `capabilities/mobile.json`); biometrics are run here, by the shell, so the page cannot claim
//! a check that did not happen.

use spondon_app_api::{self as api, ApiError, codes, event};
use spondon_wallet::{Authorization, Wallet};
use tauri::{AppHandle, Emitter as _, Manager as _, Runtime};
use tauri_plugin_biometric::{AuthOptions, BiometricExt as _};
use tauri_plugin_deep_link::DeepLinkExt as _;

use crate::state::AppState;

/// Registers the phone plugins.
pub fn plugins<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .plugin(tauri_plugin_barcode_scanner::init())
        .plugin(tauri_plugin_biometric::init())
        .plugin(tauri_plugin_deep_link::init())
}

/// After the state is managed: links that open the app reach the page.
pub fn setup<R: Runtime>(app: &AppHandle<R>) {
    if let Ok(Some(urls)) = app.deep_link().get_current()
        && let Some(text) = urls
            .iter()
            .find_map(|u| crate::links::link_text(u.as_str()))
    {
        app.state::<AppState>().set_opened_with(text);
    }
    let handle = app.clone();
    app.deep_link().on_open_url(move |e| {
        for text in e
            .urls()
            .iter()
            .filter_map(|u| crate::links::link_text(u.as_str()))
        {
            let _ = handle.emit(event::DEEP_LINK, event::DeepLink { text });
        }
    });
}

/// Locks the wallet when the app goes to the background and tells the page.
pub fn lock_in_background<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Ok(true) = app.state::<AppState>().session.lock().await {
            let _ = app.emit(
                event::LOCKED,
                event::Locked {
                    reason: event::LockReason::Background,
                },
            );
        }
    });
}

/// The phone's biometric check (no device PIN fallback: the passphrase is the fallback).
pub async fn biometric_check<R: Runtime>(app: &AppHandle<R>, reason: &str) -> Result<(), ApiError> {
    let app2 = app.clone();
    let reason = reason.to_owned();
    tauri::async_runtime::spawn_blocking(move || {
        app2.biometric().authenticate(
            reason,
            AuthOptions {
                allow_device_credential: false,
                title: Some("Spondon".into()),
                ..Default::default()
            },
        )
    })
    .await
    .map_err(|e| ApiError::new(codes::INTERNAL, e.to_string()))?
    .map_err(|e| ApiError::new(codes::BIOMETRIC_FAILED, format!("biometric check: {e}")))
}

/// The biometric check, then an authorization vouched for by the platform.
pub async fn biometric_authorization<R: Runtime>(
    app: &AppHandle<R>,
    w: &Wallet,
    reason: &str,
) -> Result<Authorization, ApiError> {
    biometric_check(app, reason).await?;
    Ok(w.authorize_by_platform().await?)
}

/// This build's platform.
pub const PLATFORM: api::Platform = if cfg!(target_os = "android") {
    api::Platform::Android
} else {
    api::Platform::Ios
};
