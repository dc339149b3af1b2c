//! The few browser calls the app needs: fetch, time, downloads, clipboard,
//! the page's address, and whether WebGPU is offered.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn window() -> web_sys::Window {
    web_sys::window().expect("running in a browser window")
}

fn describe(error: JsValue) -> String {
    error
        .as_string()
        .or_else(|| {
            js_sys::JSON::stringify(&error)
                .ok()
                .and_then(|s| s.as_string())
        })
        .unwrap_or_else(|| "unknown error".into())
}

/// The bytes at `url`, or a message that says what went wrong.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let response = JsFuture::from(window().fetch_with_str(url))
        .await
        .map_err(|e| format!("cannot fetch {url}: {}", describe(e)))?;
    let response: web_sys::Response = response.dyn_into().map_err(describe)?;
    if !response.ok() {
        return Err(format!(
            "cannot fetch {url}: the server answered {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(describe)?)
        .await
        .map_err(describe)?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Milliseconds from the page's start.
pub fn now_ms() -> f64 {
    window().performance().map_or(0.0, |p| p.now())
}

/// Lets the browser paint before long work starts.
pub async fn next_frame() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    let _ = JsFuture::from(promise).await;
}

/// Offers `text` as a file download named `name`.
pub fn download(name: &str, mime: &str, text: &str) -> Result<(), String> {
    let parts = Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(describe)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(describe)?;
    let anchor: web_sys::HtmlAnchorElement = window()
        .document()
        .expect("a document")
        .create_element("a")
        .map_err(describe)?
        .dyn_into()
        .map_err(|_| "not an anchor element".to_string())?;
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    web_sys::Url::revoke_object_url(&url).map_err(describe)
}

pub fn copy_to_clipboard(text: &str) {
    let _ = window().navigator().clipboard().write_text(text);
}

pub fn set_title(title: &str) {
    if let Some(document) = window().document() {
        document.set_title(title);
    }
}

/// Why an HTTP request to another service did not give an answer.
#[derive(Clone, Debug, PartialEq)]
pub enum HttpError {
    /// No answer: connection refused, DNS, or CORS (browsers do not say which).
    Unreachable(String),
    /// No answer within the time limit; the request was abandoned.
    TimedOut,
    /// An answer that is not 2xx, with its body.
    Status { status: u16, body: String },
}

/// Sends a request (JSON body, if any) and returns the answer's text.
pub async fn http(
    method: &str,
    url: &str,
    json_body: Option<&str>,
    timeout_ms: u32,
) -> Result<String, HttpError> {
    let unreachable = |e: JsValue| HttpError::Unreachable(describe(e));
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let controller = web_sys::AbortController::new().map_err(unreachable)?;
    init.set_signal(Some(&controller.signal()));
    if let Some(body) = json_body {
        let headers = web_sys::Headers::new().map_err(unreachable)?;
        headers
            .set("content-type", "application/json")
            .map_err(unreachable)?;
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(body));
    }
    let request = web_sys::Request::new_with_str_and_init(url, &init).map_err(unreachable)?;
    // A hung service must not hang the page: abort after the time limit.
    let abort = wasm_bindgen::closure::Closure::once_into_js(move || controller.abort());
    let timer = window()
        .set_timeout_with_callback_and_timeout_and_arguments_0(
            abort.unchecked_ref(),
            timeout_ms as i32,
        )
        .ok();
    let outcome = async {
        let response = JsFuture::from(window().fetch_with_request(&request))
            .await
            .map_err(transport_error)?;
        let response: web_sys::Response = response.dyn_into().map_err(unreachable)?;
        let text = JsFuture::from(response.text().map_err(unreachable)?)
            .await
            .map_err(transport_error)?
            .as_string()
            .unwrap_or_default();
        if response.ok() {
            Ok(text)
        } else {
            Err(HttpError::Status {
                status: response.status(),
                body: text,
            })
        }
    }
    .await;
    if let Some(timer) = timer {
        window().clear_timeout_with_handle(timer);
    }
    outcome
}

/// A failed fetch: aborted by our timer, or no answer at all.
fn transport_error(error: JsValue) -> HttpError {
    let aborted = js_sys::Reflect::get(&error, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string())
        .is_some_and(|n| n == "AbortError");
    if aborted {
        HttpError::TimedOut
    } else {
        HttpError::Unreachable(describe(error))
    }
}

/// This page's origin, e.g. `http://127.0.0.1:8080`.
pub fn origin() -> String {
    window().location().origin().unwrap_or_default()
}

/// The value of `name` in the page's query string, if given.
pub fn query_param(name: &str) -> Option<String> {
    let search = window().location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

/// The browser's WebGPU adapter, as far as this app cares.
#[cfg(target_arch = "wasm32")]
pub struct Adapter {
    /// A software adapter (`info.isFallbackAdapter`), such as SwiftShader.
    pub fallback: bool,
    /// Vendor and architecture, e.g. "google swiftshader".
    pub name: String,
}

/// Asks `navigator.gpu` for an adapter; `None` without WebGPU or an adapter.
#[cfg(target_arch = "wasm32")]
pub async fn webgpu_adapter() -> Option<Adapter> {
    let get =
        |target: &JsValue, key: &str| js_sys::Reflect::get(target, &JsValue::from_str(key)).ok();
    let gpu = get(&window().navigator(), "gpu").filter(|g| !g.is_undefined() && !g.is_null())?;
    let request: js_sys::Function = get(&gpu, "requestAdapter")?.dyn_into().ok()?;
    let promise: js_sys::Promise = request.call0(&gpu).ok()?.dyn_into().ok()?;
    let adapter = JsFuture::from(promise)
        .await
        .ok()
        .filter(|a| !a.is_null())?;
    let info = get(&adapter, "info").unwrap_or(JsValue::UNDEFINED);
    let text = |key| {
        get(&info, key)
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    let fallback = get(&info, "isFallbackAdapter")
        .or_else(|| get(&adapter, "isFallbackAdapter"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let name = format!("{} {}", text("vendor"), text("architecture"));
    Some(Adapter {
        fallback,
        name: name.trim().to_string(),
    })
}
