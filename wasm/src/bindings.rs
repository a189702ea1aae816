//! The JavaScript API: `#[wasm_bindgen]` newtypes over the model, camelCase names, and Rust errors
//! turned into JavaScript `Error`s in one place (`js_error`).
//!
//! Times cross the boundary as JavaScript numbers of milliseconds since the epoch (`Date.now()`).

use crate::frames;
use crate::model::PageModel;
use crate::words;
use pairing_core::format;
use pairing_core::protocol::ApiError;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// Every Rust error becomes a JavaScript `Error` whose message is the plain-words `Display`.
pub(crate) fn js_error(e: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&e.to_string()).into()
}

/// A Rust value as a plain JavaScript object (through JSON, which every view type is).
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(js_error)?;
    js_sys::JSON::parse(&text)
}

/// A JavaScript time in milliseconds as the model's `u64`; nonsense (NaN, negative) counts as 0.
fn ms(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

/// The approval page's model: feed it socket events, clicks and the time; send what it returns;
/// render `view(now)`.
#[wasm_bindgen(js_name = Page)]
pub struct Page {
    model: PageModel,
}

impl Default for Page {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen(js_class = Page)]
impl Page {
    /// A page that knows no token yet.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Page {
        Page {
            model: PageModel::new(env!("CARGO_PKG_VERSION")),
        }
    }

    /// Takes the operator token; throws "Enter the gateway token." for a blank one.
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&mut self, token: &str) -> Result<(), JsValue> {
        self.model.set_token(token).map_err(js_error)
    }

    /// The token to keep in sessionStorage; `undefined` once the gateway refused it.
    #[wasm_bindgen(getter)]
    pub fn token(&self) -> Option<String> {
        self.model.token().map(str::to_owned)
    }

    /// `connecting`, `connected`, `reconnecting` or `need-token`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        self.model.conn().as_str().to_owned()
    }

    /// The glue is about to open a socket; `false` when it should not (no token).
    #[wasm_bindgen(js_name = socketOpening)]
    pub fn socket_opening(&mut self, now: f64) -> bool {
        self.model.socket_opening(ms(now))
    }

    /// The socket closed (with the close frame's reason, if any); returns the delay in ms before
    /// reconnecting, or `undefined` to wait for a token.
    #[wasm_bindgen(js_name = socketClosed)]
    pub fn socket_closed(&mut self, now: f64, reason: Option<String>) -> Option<f64> {
        self.model
            .socket_closed_with(ms(now), reason.as_deref().unwrap_or(""))
            .map(|d| d as f64)
    }

    /// A text frame from the gateway; returns the frames to send back.
    pub fn receive(&mut self, text: &str, now: f64) -> Vec<String> {
        self.model.receive(text, ms(now))
    }

    /// About once a second; returns frames to send (periodic `node.list`).
    pub fn tick(&mut self, now: f64) -> Vec<String> {
        self.model.tick(ms(now))
    }

    /// The frame approving a request; throws a plain-words error when it cannot be sent.
    pub fn approve(&mut self, request_id: &str) -> Result<String, JsValue> {
        self.model.approve(request_id).map_err(js_error)
    }

    /// The frame rejecting a request.
    pub fn reject(&mut self, request_id: &str) -> Result<String, JsValue> {
        self.model.reject(request_id).map_err(js_error)
    }

    /// The frame renaming a paired node.
    pub fn rename(&mut self, node_id: &str, display_name: &str) -> Result<String, JsValue> {
        self.model.rename(node_id, display_name).map_err(js_error)
    }

    /// The frame removing a paired node.
    pub fn remove(&mut self, node_id: &str) -> Result<String, JsValue> {
        self.model.remove(node_id).map_err(js_error)
    }

    /// Hides a notice.
    #[wasm_bindgen(js_name = dismissNotice)]
    pub fn dismiss_notice(&mut self, id: f64) {
        self.model.dismiss_notice(ms(id));
    }

    /// Everything the page shows at `now`: `{conn, connText, showTokenForm, synced, pending[], paired[],
    /// notices[], error}`.
    pub fn view(&self, now: f64) -> Result<JsValue, JsValue> {
        to_js(&self.model.view(ms(now)))
    }
}

/// The frame codec on its own: `connect` and `req` frames with increasing ids, and parsing.
#[wasm_bindgen(js_name = Codec)]
#[derive(Default)]
pub struct Codec {
    inner: frames::Codec,
}

#[wasm_bindgen(js_class = Codec)]
impl Codec {
    /// A codec whose first request gets id "1".
    #[wasm_bindgen(constructor)]
    pub fn new() -> Codec {
        Codec::default()
    }

    /// The `connect` request of an operator with `token`.
    pub fn connect(&mut self, token: &str) -> String {
        self.inner.connect(token, env!("CARGO_PKG_VERSION")).1
    }

    /// A `req` frame; `params_json` must be JSON (throws otherwise).
    pub fn request(&mut self, method: &str, params_json: &str) -> Result<String, JsValue> {
        let params: serde_json::Value = serde_json::from_str(params_json).map_err(js_error)?;
        Ok(self.inner.request(method, &params).1)
    }

    /// Parses a frame from the gateway into `{type:"res", id, ok, payload, error}` or
    /// `{type:"event", event, payload, seq}`; `undefined` for anything else.
    pub fn parse(text: &str) -> Result<JsValue, JsValue> {
        match frames::parse(text) {
            None => Ok(JsValue::UNDEFINED),
            Some(_) => js_sys::JSON::parse(text),
        }
    }
}

/// "4m 59s" until `expiresAtMs`, or "expired".
#[wasm_bindgen(js_name = formatCountdown)]
pub fn format_countdown(expires_at_ms: f64, now: f64) -> String {
    format::countdown_to(ms(expires_at_ms), ms(now)).unwrap_or_else(|| "expired".to_owned())
}

/// "just now", "45s ago", "3m ago", …
#[wasm_bindgen(js_name = formatAge)]
pub fn format_age(ts: f64, now: f64) -> String {
    format::ago(ms(ts), ms(now))
}

/// The scopes approving a node with these commands needs (as the gateway decides it).
#[wasm_bindgen(js_name = requiredApproveScopes)]
pub fn required_approve_scopes(commands: Vec<String>) -> Vec<String> {
    pairing_core::scopes::required_approve_scopes(Some(&commands))
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

/// An error object from a `res` frame (as JSON) in plain words.
#[wasm_bindgen(js_name = explainError)]
pub fn explain_error(error_json: &str) -> String {
    match serde_json::from_str::<ApiError>(error_json) {
        Ok(e) => words::explain(&e),
        Err(_) => "The gateway sent an error this page cannot read.".to_owned(),
    }
}
