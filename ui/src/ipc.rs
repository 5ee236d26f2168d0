//! The one typed door to the Tauri shell: `call` invokes a command, `listen` subscribes to an
//! event. Outside the app (a plain browser) every call answers the `not_in_app` error.
//!
//! Requests and answers cross as JSON: the request is serialized with serde_json and parsed by
//! the page's `JSON.parse`, the answer the other way round, so the wire shapes are exactly the
//! ones `spondon-app-api` documents and tests.

use js_sys::{Function, JSON, Object, Promise, Reflect};
use serde::Serialize;
use serde::de::DeserializeOwned;
use spondon_app_api::ApiError;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The code of the error answered outside the app.
pub const NOT_IN_APP: &str = "not_in_app";

fn not_in_app() -> ApiError {
    ApiError::new(
        NOT_IN_APP,
        "This page works inside the Spondon app (window.__TAURI__ is missing).",
    )
}

fn internal(what: &str) -> ApiError {
    ApiError::new(spondon_app_api::codes::INTERNAL, what)
}

/// `window.__TAURI__.<ns>.<name>` as a function, if the page runs inside the app.
fn tauri_fn(ns: &str, name: &str) -> Option<Function> {
    let window = web_sys::window()?;
    let tauri = Reflect::get(&window, &JsValue::from_str("__TAURI__")).ok()?;
    if tauri.is_undefined() || tauri.is_null() {
        return None;
    }
    let ns = Reflect::get(&tauri, &JsValue::from_str(ns)).ok()?;
    if ns.is_undefined() || ns.is_null() {
        return None;
    }
    Reflect::get(&ns, &JsValue::from_str(name))
        .ok()?
        .dyn_into::<Function>()
        .ok()
}

/// Whether the page runs inside the app.
pub fn in_app() -> bool {
    tauri_fn("core", "invoke").is_some()
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, ApiError> {
    let text = serde_json::to_string(v).map_err(|e| internal(&format!("request: {e}")))?;
    JSON::parse(&text).map_err(|_| internal("request: not JSON"))
}

fn from_js<T: DeserializeOwned>(v: &JsValue) -> Result<T, ApiError> {
    // `undefined` (a command answering `()`) becomes JSON null.
    let text = if v.is_undefined() {
        "null".to_owned()
    } else {
        JSON::stringify(v)
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_else(|| "null".to_owned())
    };
    serde_json::from_str(&text).map_err(|e| internal(&format!("answer: {e}")))
}

fn rejection(v: &JsValue) -> ApiError {
    if let Some(s) = v.as_string() {
        return ApiError::new(spondon_app_api::codes::INTERNAL, s);
    }
    match from_js::<ApiError>(v) {
        Ok(e) => e,
        Err(_) => {
            let msg = Reflect::get(v, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| "the command failed".to_owned());
            ApiError::new(spondon_app_api::codes::INTERNAL, msg)
        }
    }
}

async fn invoke_raw(name: &str, args: JsValue) -> Result<JsValue, ApiError> {
    let invoke = tauri_fn("core", "invoke").ok_or_else(not_in_app)?;
    let promise = invoke
        .call2(&JsValue::NULL, &JsValue::from_str(name), &args)
        .map_err(|e| rejection(&e))?;
    let promise: Promise = promise
        .dyn_into()
        .map_err(|_| internal("invoke did not return a promise"))?;
    JsFuture::from(promise).await.map_err(|e| rejection(&e))
}

/// Calls a command with its request (sent as the argument `req`).
pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
    name: &str,
    req: &Req,
) -> Result<Resp, ApiError> {
    let args = Object::new();
    Reflect::set(&args, &JsValue::from_str("req"), &to_js(req)?)
        .map_err(|_| internal("request object"))?;
    from_js(&invoke_raw(name, args.into()).await?)
}

/// Calls a command that takes no argument.
pub async fn call0<Resp: DeserializeOwned>(name: &str) -> Result<Resp, ApiError> {
    from_js(&invoke_raw(name, Object::new().into()).await?)
}

/// Scans a QR code with the phone's camera (the shell's barcode-scanner plugin, granted to the
/// page on phones only): the text it holds.
pub async fn scan_qr() -> Result<String, ApiError> {
    #[derive(Serialize)]
    struct ScanArgs {
        formats: [&'static str; 1],
        windowed: bool,
    }
    #[derive(serde::Deserialize)]
    struct Scanned {
        content: String,
    }
    let args = to_js(&ScanArgs {
        formats: ["QR_CODE"],
        windowed: false,
    })?;
    let s: Scanned = from_js(&invoke_raw("plugin:barcode-scanner|scan", args).await?)?;
    Ok(s.content)
}

/// Subscribes to an event for the life of the page; `f` gets each payload. Payloads that do not
/// parse are dropped (the next snapshot replaces them anyway).
pub fn listen<T: DeserializeOwned + 'static>(name: &str, f: impl Fn(T) + 'static) {
    let Some(listen) = tauri_fn("event", "listen") else {
        return;
    };
    let handler = Closure::<dyn Fn(JsValue)>::new(move |event: JsValue| {
        let payload = Reflect::get(&event, &JsValue::from_str("payload")).unwrap_or_default();
        if let Ok(p) = from_js::<T>(&payload) {
            f(p);
        }
    });
    // The promise resolves to an unlisten function; the app listens for its whole life.
    let _ = listen.call2(
        &JsValue::NULL,
        &JsValue::from_str(name),
        handler.as_ref().unchecked_ref(),
    );
    handler.forget();
}

/// Tells the shell the user is active (resets the inactivity lock). Fire and forget.
pub fn touch() {
    wasm_bindgen_futures::spawn_local(async {
        let _ = call0::<()>(spondon_app_api::cmd::TOUCH).await;
    });
}
