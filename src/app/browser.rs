//! The few browser services the page needs, each behind a small function: workers, local
//! storage, the URL, downloads, reading files, fetching shipped files, and the WebGPU adapter's
//! name.

use js_sys::{Array, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
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

/// Marks this moment in the page's performance timeline (tests and benchmarks read it).
pub fn mark(name: &str) {
    if let Some(performance) = window().performance() {
        let _ = performance.mark(name);
    }
}

/// Scrolls the element `id` into view, if it is on the page.
pub fn scroll_to(id: &str) {
    if let Some(element) = window().document().and_then(|d| d.get_element_by_id(id)) {
        element.scroll_into_view();
    }
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
    // The page's or the worker's navigator.
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).map_err(message)?;
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

/// Threads the browser offers (`navigator.hardwareConcurrency`), at least 1.
pub fn hardware_threads() -> usize {
    (window().navigator().hardware_concurrency() as usize).max(1)
}

/// The address of the page's JavaScript module, found through the page's preload link: what a
/// worker imports to run this page's WebAssembly module.
pub fn module_url() -> Result<String, String> {
    let document = window().document().ok_or("no document")?;
    let base = document
        .base_uri()
        .map_err(message)?
        .unwrap_or_else(|| window().location().href().unwrap_or_default());
    let href = document
        .query_selector("link[rel=modulepreload]")
        .map_err(message)?
        .and_then(|link| link.get_attribute("href"))
        .ok_or("the page does not preload its JavaScript module")?;
    Ok(web_sys::Url::new_with_base(&href, &base)
        .map_err(message)?
        .href())
}

/// A dedicated worker running this page's own WebAssembly module (see `worker.rs`), started
/// from the page or from a worker: the JavaScript `module` ([`module_url`]), instantiated with
/// the already compiled wasm module (posted to the worker first, so nothing is fetched or
/// compiled again). `on_message` gets each message; `on_error` an error that ended the worker.
pub fn spawn_worker(
    module: &str,
    on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
) -> Result<WorkerHandle, String> {
    let script = format!(
        "self.onmessage = async (event) => {{\n  self.onmessage = null;\n  const {{ default: init }} = await import({module:?});\n  await init({{ module_or_path: event.data }});\n}};\n"
    );
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/javascript");
    let blob =
        web_sys::Blob::new_with_str_sequence_and_options(&Array::of1(&script.into()), &options)
            .map_err(message)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(message)?;
    let worker_options = web_sys::WorkerOptions::new();
    worker_options.set_type(web_sys::WorkerType::Module);
    let worker = web_sys::Worker::new_with_options(&url, &worker_options).map_err(message);
    let _ = web_sys::Url::revoke_object_url(&url);
    let worker = worker?;
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    worker
        .post_message(&wasm_bindgen::module())
        .map_err(message)?;
    Ok(WorkerHandle {
        worker,
        _on_message: on_message,
        _on_error: on_error,
    })
}

/// The buffers of `message` (its byte and float arrays) to transfer rather than copy.
pub fn transferables(message: &Array) -> Array {
    message
        .iter()
        .filter_map(|part| {
            let bytes = part.dyn_ref::<Uint8Array>().map(Uint8Array::buffer);
            bytes.or_else(|| part.dyn_ref::<js_sys::Float32Array>().map(|f| f.buffer()))
        })
        .map(JsValue::from)
        .collect()
}

/// A worker and the handlers of its messages, which live as long as it does.
pub struct WorkerHandle {
    worker: web_sys::Worker,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

impl WorkerHandle {
    /// Posts `message`, transferring its byte arrays.
    pub fn post(&self, data: &Array) -> Result<(), String> {
        let transfer = transferables(data);
        self.worker
            .post_message_with_transfer(data, &transfer)
            .map_err(message)
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        // Stop it before its handlers go.
        self.worker.terminate();
    }
}
