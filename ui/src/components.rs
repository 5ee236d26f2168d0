//! Small building blocks shared by the screens: file picking (button and drag-and-drop),
//! passphrase fields, error and progress regions, the language switch.

use leptos::prelude::*;
use spondon_app_api::ApiError;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::i18n::{K, Lang, use_i18n};

/// The most a page reads from a file (backups and images larger than this are refused).
pub const MAX_FILE: f64 = 20_000_000.0;

/// A file the user picked: its name and content (a `data:` URL, or text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picked {
    /// The file name.
    pub name: String,
    /// `data:…;base64,…` or the text.
    pub content: String,
    /// Whether it looks like an image (by MIME type).
    pub is_image: bool,
}

/// Reads a file in the page: as a `data:` URL (base64, what the shell accepts for binary
/// inputs) or as text.
pub fn read_file(
    file: web_sys::File,
    as_text: bool,
    done: impl FnOnce(Result<Picked, K>) + 'static,
) {
    if file.size() > MAX_FILE {
        done(Err(K::FileTooBig));
        return;
    }
    let Ok(reader) = web_sys::FileReader::new() else {
        done(Err(K::FileReadFailed));
        return;
    };
    let name = file.name();
    let is_image = file.type_().starts_with("image/");
    let r2 = reader.clone();
    let done = std::cell::RefCell::new(Some(done));
    let onload = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        let result = r2.result().ok().and_then(|v| v.as_string());
        if let Some(done) = done.borrow_mut().take() {
            done(match result {
                Some(content) => Ok(Picked {
                    name: name.clone(),
                    content,
                    is_image,
                }),
                None => Err(K::FileReadFailed),
            });
        }
    });
    reader.set_onload(Some(onload.as_ref().unchecked_ref()));
    reader.set_onerror(Some(onload.as_ref().unchecked_ref()));
    onload.forget();
    let started = if as_text {
        reader.read_as_text(&file)
    } else {
        reader.read_as_data_url(&file)
    };
    if started.is_err() {
        // The closure above was not called; nothing else to do but say so.
        web_sys::console::warn_1(&JsValue::from_str("FileReader failed to start"));
    }
}

/// On phones: a button that opens the camera scanner and puts the QR code's text into `text`.
/// Renders nothing on desktops (they pick or drop an image instead).
#[component]
pub fn ScanButton(
    /// The button's id.
    id: &'static str,
    /// Where the scanned text goes.
    text: RwSignal<String>,
    /// Where a failure is shown.
    error: RwSignal<Option<spondon_app_api::ApiError>>,
) -> impl IntoView {
    let i = use_i18n();
    let app = crate::app::use_app();
    let busy = RwSignal::new(false);
    let scan = move |_| {
        error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            match crate::ipc::scan_qr().await {
                Ok(t) => text.set(t),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    move || {
        app.mobile().then(|| {
            view! {
                <button id=id type="button" class="btn btn-secondary btn-block" on:click=scan disabled=move || busy.get()>
                    <span class="icon icon-share" aria-hidden="true"></span>
                    {move || i.t(K::ScanWithCamera)}
                </button>
            }
        })
    }
}

/// A file chooser with a drop zone. `accept` is the input's accept attribute.
#[component]
pub fn FilePicker(
    /// The id of the `<input type=file>`.
    id: &'static str,
    /// Label text.
    label: K,
    /// Accepted types.
    #[prop(default = "")]
    accept: &'static str,
    /// Read as text instead of base64.
    #[prop(default = false)]
    as_text: bool,
    /// Where the picked file goes.
    picked: RwSignal<Option<Picked>>,
) -> impl IntoView {
    let i = use_i18n();
    let over = RwSignal::new(false);
    let problem = RwSignal::new(None::<K>);
    let take = move |file: web_sys::File| {
        problem.set(None);
        read_file(file, as_text, move |r| match r {
            Ok(p) => picked.set(Some(p)),
            Err(k) => {
                picked.set(None);
                problem.set(Some(k));
            }
        });
    };
    let on_change = move |ev: web_sys::Event| {
        let input = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
        if let Some(file) = input.and_then(|i| i.files()).and_then(|f| f.get(0)) {
            take(file);
        }
    };
    let on_drop = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        over.set(false);
        if let Some(file) = ev
            .data_transfer()
            .and_then(|d| d.files())
            .and_then(|f| f.get(0))
        {
            take(file);
        }
    };
    let help_id = format!("{id}-help");
    view! {
        <div
            class="dropzone"
            class:over=move || over.get()
            on:dragover=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                over.set(true);
            }
            on:dragleave=move |_| over.set(false)
            on:drop=on_drop
        >
            <label for=id class="label">{move || i.t(label)}</label>
            <p class="help" id=help_id.clone()>{move || i.t(K::DropHere)}</p>
            <input
                type="file"
                id=id
                class="file-input"
                accept=accept
                aria-describedby=help_id
                on:change=on_change
            />
            {move || {
                picked
                    .get()
                    .map(|p| view! { <p class="file-name">{i.f(K::FileChosen, &[&p.name])}</p> })
            }}
            {move || problem.get().map(|k| view! { <p class="field-error" role="alert">{i.t(k)}</p> })}
        </div>
    }
}

/// A passphrase input with a "show" switch.
#[component]
pub fn PassphraseField(
    /// The input's id.
    #[prop(into)]
    id: String,
    /// Label.
    label: K,
    /// The value.
    value: RwSignal<String>,
    /// `autocomplete`: "current-password" or "new-password".
    #[prop(default = "current-password")]
    autocomplete: &'static str,
    /// Extra description id for aria-describedby.
    #[prop(optional)]
    describedby: Option<&'static str>,
) -> impl IntoView {
    let i = use_i18n();
    let show = RwSignal::new(false);
    let show_id = format!("{id}-show");
    let show_for = show_id.clone();
    let label_for = id.clone();
    view! {
        <div class="field">
            <label for=label_for class="label">{move || i.t(label)}</label>
            <input
                id=id
                class="input"
                type=move || if show.get() { "text" } else { "password" }
                autocomplete=autocomplete
                spellcheck="false"
                autocapitalize="off"
                aria-describedby=describedby
                bind:value=value
            />
            <label class="check small" for=show_for>
                <input type="checkbox" id=show_id bind:checked=show />
                <span>{move || i.t(K::ShowPassphrase)}</span>
            </label>
        </div>
    }
}

/// An error region (role=alert), empty when there is no error.
#[component]
pub fn ErrorBox(
    /// The error.
    error: RwSignal<Option<ApiError>>,
    /// Its element id.
    #[prop(default = "")]
    id: &'static str,
) -> impl IntoView {
    let i = use_i18n();
    view! {
        <div id=id class="live" role="alert" aria-live="assertive">
            {move || {
                error
                    .get()
                    .map(|e| {
                        view! {
                            <div class="alert alert-danger">
                                <span class="alert-icon" aria-hidden="true">"!"</span>
                                <p>{i.err(&e)}</p>
                            </div>
                        }
                    })
            }}
        </div>
    }
}

/// A status line (role=status, polite).
#[component]
pub fn StatusLine(
    /// The message.
    message: Signal<Option<String>>,
    /// Its element id.
    #[prop(default = "")]
    id: &'static str,
) -> impl IntoView {
    view! {
        <div id=id class="live" role="status" aria-live="polite">
            {move || {
                message.get().map(|m| view! { <div class="alert alert-success"><p>{m}</p></div> })
            }}
        </div>
    }
}

/// The language switch (a button that flips English ⇄ Bangla).
#[component]
pub fn LangSwitch() -> impl IntoView {
    let i = use_i18n();
    let flip = move |_| {
        let next = match i.lang.get_untracked() {
            Lang::En => Lang::Bn,
            Lang::Bn => Lang::En,
        };
        crate::app::set_language(i, next, true);
    };
    view! {
        <button
            id="lang-switch"
            type="button"
            class="btn btn-ghost lang-switch"
            aria-label=move || i.t(K::LangSwitchLabel)
            lang=move || match i.get() {
                Lang::En => "bn",
                Lang::Bn => "en",
            }
            on:click=flip
        >
            <span aria-hidden="true" class="globe">"অ/A"</span>
            <span>{move || i.t(K::LangSwitchTo)}</span>
        </button>
    }
}

/// The page heading of a screen.
#[component]
pub fn PageHead(
    /// The title.
    title: K,
    /// An optional line under it.
    #[prop(optional)]
    help: Option<K>,
    /// Actions at the right.
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let i = use_i18n();
    view! {
        <header class="page-head">
            <div class="page-title">
                <h1 id="page-title" tabindex="-1">{move || i.t(title)}</h1>
                {help.map(|h| view! { <p class="lead">{move || i.t(h)}</p> })}
            </div>
            {children.map(|c| view! { <div class="page-actions">{c()}</div> })}
        </header>
    }
}

/// The inline SVG of a QR code made by the shell, shown as an image (a `data:` URL, so no
/// inline styles meet the page's CSP).
pub fn svg_data_url(svg: &str) -> String {
    format!(
        "data:image/svg+xml,{}",
        String::from(js_sys::encode_uri_component(svg))
    )
}
