//! Spondon's wallet UI: Leptos (client-side rendering) compiled to WebAssembly. It calls the
//! Tauri shell through [`ipc`] only and does no cryptography.

pub mod app;
pub mod components;
pub mod fmt;
pub mod i18n;
pub mod ipc;
pub mod screens;
pub mod util;

/// Mounts the app on `<body>`.
pub fn start() {
    leptos::mount::mount_to_body(app::App);
}
