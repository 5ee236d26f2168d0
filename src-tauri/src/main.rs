//! The desktop entry point: everything lives in the library (shared with the mobile builds).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    spondon_app::run()
}
