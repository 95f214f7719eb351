//! The few browser services the page needs, each behind a small function: yielding to the event
//! loop, local storage, the URL, downloads, reading files, fetching shipped files, and the
//! WebGPU adapter's name.

use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The page's window.
fn window() -> web_sys::Window {
    web_sys::window().expect("the page runs in a window")
}

/// A JavaScript error as text.
fn message(error: JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

/// Lets the browser paint and handle input before the computation goes on.
pub async fn yield_now() {
    let promise = Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback(&resolve);
    });
    let _ = JsFuture::from(promise).await;
}

/// Milliseconds since the epoch, for ETAs and timings.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The text stored under `key`, if any.
pub fn load(key: &str) -> Option<String> {
    window().local_storage().ok()??.get_item(key).ok()?
}

/// Stores `text` under `key`; `Err` says why not (storage full or disabled).
pub fn store(key: &str, text: &str) -> Result<(), String> {
    let storage = window()
        .local_storage()
        .map_err(message)?
        .ok_or("this browser offers no local storage")?;
    storage.set_item(key, text).map_err(|e| {
        format!(
            "could not keep the runs in browser storage ({}); export them to keep them",
            message(e)
        )
    })
}

/// The page URL's query string, without `?`.
pub fn query() -> String {
    window()
        .location()
        .search()
        .unwrap_or_default()
        .trim_start_matches('?')
        .to_string()
}

/// Replaces the URL's query without reloading, so the address bar is a link to the run.
pub fn set_query(query: &str) {
    let url = format!("?{query}");
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

/// Offers `text` as a file download named `name`.
pub fn download(name: &str, mime: &str, text: &str) {
    let parts = Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    let document = window().document().expect("a document");
    if let Ok(anchor) = document.create_element("a") {
        let anchor: web_sys::HtmlAnchorElement = anchor.unchecked_into();
        anchor.set_href(&url);
        anchor.set_download(name);
        anchor.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// The markup of the first `<svg>` inside the element with id `id`, ready to save as a file.
pub fn svg_markup(id: &str) -> Option<String> {
    let document = window().document()?;
    let svg = document
        .get_element_by_id(id)?
        .query_selector("svg")
        .ok()??;
    Some(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        svg.outer_html()
    ))
}

/// The text of the first file chosen in a file input.
pub async fn read_chosen_file(
    input: &web_sys::HtmlInputElement,
) -> Result<(String, String), String> {
    let file = input
        .files()
        .and_then(|files| files.get(0))
        .ok_or("no file chosen")?;
    let text = JsFuture::from(file.text()).await.map_err(message)?;
    Ok((file.name(), text.as_string().unwrap_or_default()))
}

/// The text of a file shipped with the page (`path` relative to the page).
pub async fn fetch_text(path: &str) -> Result<String, String> {
    let response = JsFuture::from(window().fetch_with_str(path))
        .await
        .map_err(message)?;
    let response: web_sys::Response = response.unchecked_into();
    if !response.ok() {
        return Err(format!("{path}: HTTP {}", response.status()));
    }
    let text = JsFuture::from(response.text().map_err(message)?)
        .await
        .map_err(message)?;
    Ok(text.as_string().unwrap_or_default())
}

/// A WebGPU adapter as the browser describes it.
pub struct Adapter {
    /// Vendor, architecture, device and description, as far as the browser tells.
    pub name: String,
    /// A software (CPU-emulated) adapter: flagged as the fallback adapter, or SwiftShader,
    /// llvmpipe or lavapipe by name.
    pub software: bool,
}

/// The WebGPU adapter the browser offers, or why there is none.
pub async fn webgpu_adapter() -> Result<Adapter, String> {
    let navigator = window().navigator();
    let gpu = Reflect::get(&navigator, &"gpu".into()).map_err(message)?;
    if gpu.is_undefined() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
    }
    let request: js_sys::Function = Reflect::get(&gpu, &"requestAdapter".into())
        .map_err(message)?
        .unchecked_into();
    let promise: Promise = request.call0(&gpu).map_err(message)?.unchecked_into();
    let adapter = JsFuture::from(promise).await.map_err(message)?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("WebGPU offered no adapter".into());
    }
    let info = Reflect::get(&adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    let field = |name: &str| {
        Reflect::get(&info, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    let parts: Vec<String> = ["vendor", "architecture", "device", "description"]
        .into_iter()
        .filter_map(field)
        .collect();
    let name = if parts.is_empty() {
        "unnamed adapter".to_string()
    } else {
        parts.join(" / ")
    };
    let flagged = Reflect::get(&info, &"isFallbackAdapter".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let lower = name.to_lowercase();
    let software = flagged
        || ["swiftshader", "llvmpipe", "lavapipe"]
            .iter()
            .any(|s| lower.contains(s));
    Ok(Adapter { name, software })
}
