//! Tauri's build step, with the app's own commands declared so that each needs a permission
//! (`allow-<command>`) and the capability file grants exactly the list in `spondon-app-api`.

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(spondon_app_api::cmd::ALL));
    if let Err(e) = tauri_build::try_build(attributes) {
        println!("cargo:warning=tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
